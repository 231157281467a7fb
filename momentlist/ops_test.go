package momentlist

import (
	"strings"
	"testing"

	"github.com/vmoments/vmoments/conf"
)

// docs/libvirt.md §2 "Delete" (test driver reference), on libvirt's example tree:
//
//	s1 ─┬─ s7 ── s8
//	    └─ s3 ─┬─ s6 ─┬─ s4
//	           │      └─ s5
//	           └─ s2
func TestDelete(t *testing.T) {
	tests := []struct {
		name, target string
		mode         DeleteMode
		current      string // set before deleting ("" keeps s8)
		wantTopo     string
		wantCurrent  string
		wantRule     CurrentRule
		wantParents  string // name=Def().Parent for some moments
	}{
		{"plain leaf", "s2", DeletePlain, "", "s1 s7 s8 s3 s6 s4 s5", "s8", CurrentCreated, ""},
		{"plain middle: children to grandparent, first, order kept", "s6", DeletePlain, "",
			"s1 s7 s8 s3 s4 s5 s2", "s8", CurrentCreated, "s4=s3 s5=s3"},
		{"plain root: children become roots", "s1", DeletePlain, "",
			"s7 s8 s3 s6 s4 s5 s2", "s8", CurrentCreated, "s7= s3="},
		{"plain current moves to parent", "s8", DeletePlain, "", "s1 s7 s3 s6 s4 s5 s2", "s7", CurrentAfterDelete, ""},
		{"plain current middle moves to parent", "s6", DeletePlain, "s6", "s1 s7 s8 s3 s4 s5 s2", "s3", CurrentAfterDelete, "s4=s3"},
		{"plain current root: none", "s1", DeletePlain, "s1", "s7 s8 s3 s6 s4 s5 s2", "", CurrentNone, ""},
		{"children", "s3", DeleteChildren, "", "s1 s7 s8", "s8", CurrentCreated, ""},
		{"children, current inside: target then its parent", "s3", DeleteChildren, "s4", "s1 s7 s8", "s1", CurrentAfterDelete, ""},
		{"children of a root, current inside", "s1", DeleteChildren, "s5", "", "", CurrentNone, ""},
		{"children-only", "s3", DeleteChildrenOnly, "", "s1 s7 s8 s3", "s8", CurrentCreated, ""},
		{"children-only, current inside: target", "s3", DeleteChildrenOnly, "s5", "s1 s7 s8 s3", "s3", CurrentAfterDelete, ""},
		{"children-only, target current stays", "s6", DeleteChildrenOnly, "s6", "s1 s7 s8 s3 s6 s2", "s6", CurrentSet, ""},
		{"children-only of a leaf", "s2", DeleteChildrenOnly, "", "s1 s7 s8 s3 s6 s4 s5 s2", "s8", CurrentCreated, ""},
	}
	// docs/libvirt.md §3: checkpoints delete with the same algorithm.
	for _, kind := range []conf.Kind{conf.Snapshot, conf.Checkpoint} {
		for _, tt := range tests {
			t.Run(kind.String()+"/"+tt.name, func(t *testing.T) {
				l := libvirtExample(t, kind)
				if tt.current != "" {
					l.SetCurrent(l.Find(tt.current))
				}
				if err := l.Delete(l.Find(tt.target), tt.mode); err != nil {
					t.Fatal(err)
				}
				if got := names(ok(l.Select(nil, Topological))); got != tt.wantTopo {
					t.Fatalf("after delete: %q, want %q", got, tt.wantTopo)
				}
				if currentName(l) != tt.wantCurrent || l.CurrentRule() != tt.wantRule {
					t.Fatalf("current %q (%v), want %q (%v)", currentName(l), l.CurrentRule(), tt.wantCurrent, tt.wantRule)
				}
				for _, p := range strings.Fields(tt.wantParents) {
					n, parent, _ := strings.Cut(p, "=")
					if got := l.Find(n).Def().Parent; got != parent {
						t.Fatalf("%s Def().Parent = %q, want %q", n, got, parent)
					}
				}
				checkInvariants(t, l)
			})
		}
	}
	l := libvirtExample(t, conf.Snapshot)
	if err := l.Delete(l.Find("s1"), DeleteMode(7)); err == nil || err.Error() != "unsupported delete mode DeleteMode(7) for snapshot s1" {
		t.Fatalf("bad mode: %v", err)
	}
	if DeletePlain.String() != "plain" || DeleteChildren.String() != "children" || DeleteChildrenOnly.String() != "children-only" {
		t.Fatal("DeleteMode.String")
	}
}

// A moment added but never linked can still be deleted.
func TestDeleteUnlinked(t *testing.T) {
	l := New(conf.Snapshot)
	m := ok(l.add(snap("u", "", "running")))
	if err := l.Delete(m, DeletePlain); err != nil || l.Len() != 0 {
		t.Fatalf("delete unlinked: %v, len %d", err, l.Len())
	}
}

// docs/libvirt.md §2 "Redefine": replace keeps children and re-links first in the new parent's list;
// checkCycles runs first; parents must come first.
func TestRedefine(t *testing.T) {
	l := libvirtExample(t, conf.Snapshot)
	s6 := l.Find("s6")
	nd := snap("s6", "s7", "running")
	m := ok(l.Redefine(nd, KeepCurrent))
	if m != s6 || m.Def() != nd {
		t.Fatal("redefine did not reuse the moment or replace its definition")
	}
	if got := names(ok(l.Select(nil, Topological))); got != "s1 s7 s6 s4 s5 s8 s3 s2" {
		t.Fatalf("after moving s6 under s7: %q", got)
	}
	if got := names(l.All()); got != "s1 s3 s2 s6 s5 s4 s7 s8" {
		t.Fatalf("insertion order changed: %q", got)
	}
	if currentName(l) != "s8" {
		t.Fatal("redefine without CURRENT changed current")
	}
	checkInvariants(t, l)

	// would create a cycle: nothing changes
	_, err := l.Redefine(snap("s7", "s4", "running"), KeepCurrent)
	if err == nil || err.Error() != "invalid argument: parent s6 would create cycle to s7" {
		t.Fatalf("cycle: %v", err)
	}
	if l.Find("s7").Parent() != l.Find("s1") {
		t.Fatal("failed redefine changed the tree")
	}
	// non-topological redefine (docs/libvirt.md §2: "parent s3 for moment s2 not found")
	l2 := New(conf.Snapshot)
	_, err = l2.Redefine(snap("s2", "s3", "running"), KeepCurrent)
	if err == nil || err.Error() != "invalid argument: parent s3 for moment s2 not found" {
		t.Fatalf("child before parent: %v", err)
	}
	if _, err := l2.Redefine(snap("s1", "s1", "running"), KeepCurrent); err == nil ||
		err.Error() != "invalid argument: cannot set moment s1 as its own parent" {
		t.Fatalf("own parent: %v", err)
	}
	// a root redefined again stays a root, first among roots
	ok(l2.Redefine(snap("a", "", "running"), KeepCurrent))
	ok(l2.Redefine(snap("b", "", "running"), KeepCurrent))
	ok(l2.Redefine(snap("a", "", "shutoff"), KeepCurrent))
	if got := names(l2.roots()); got != "a b" {
		t.Fatalf("roots after re-redefining a: %q", got)
	}
	for _, d := range []*conf.Def{nil, snap("", "", "running")} {
		if _, err := l2.Redefine(d, KeepCurrent); err == nil {
			t.Fatalf("Redefine(%v) succeeded", d)
		}
	}
	checkInvariants(t, l2)
}

func TestCreateErrors(t *testing.T) {
	l := New(conf.Checkpoint)
	ok(l.Create(ckpt("c1", "")))
	if _, err := l.Create(ckpt("c1", "")); err == nil || err.Error() != "operation failed: domain moment c1 already exists" {
		t.Fatalf("duplicate: %v", err)
	}
	if _, err := l.Create(ckpt("", "")); err == nil || err.Error() != "a created checkpoint must have a name" {
		t.Fatalf("no name: %v", err)
	}
	if _, err := l.Create(nil); err == nil {
		t.Fatal("Create(nil) succeeded")
	}
	if l.Len() != 1 || currentName(l) != "c1" {
		t.Fatal("failed creates changed the list")
	}
}

// A duplicate name in a load is skipped and reported; the rest loads.
func TestLoadDuplicate(t *testing.T) {
	l := New(conf.Snapshot)
	err := l.Load([]*conf.Def{snap("a", "", "running"), snap("a", "", "shutoff"), snap("b", "a", "running")}, "b")
	if err == nil || err.Error() != "operation failed: domain moment a already exists" {
		t.Fatalf("duplicate load: %v", err)
	}
	if l.Len() != 2 || l.Find("a").Def().State != "running" || currentName(l) != "b" {
		t.Fatalf("duplicate load result: len %d, current %q", l.Len(), currentName(l))
	}
	checkInvariants(t, l)
}

// libvirt looks the new current up by the deleted moment's parent name: a root that lost its
// parent to a broken cycle hands current to the moment it names.
func TestDeleteCurrentBrokenCycle(t *testing.T) {
	l := New(conf.Snapshot)
	// a→b→c→a, broken at c (added last): c is a root whose Def().Parent is still "a".
	_ = l.Load([]*conf.Def{snap("a", "b", "running"), snap("b", "c", "running"), snap("c", "a", "running")}, "")
	c := l.Find("c")
	if c.Parent() != nil {
		t.Fatal("cycle not broken at c")
	}
	l.SetCurrent(c)
	if err := l.Delete(c, DeletePlain); err != nil {
		t.Fatal(err)
	}
	if currentName(l) != "a" || l.Find("b").Parent() != nil || l.Find("b").Def().Parent != "" {
		t.Fatalf("current %q, b parent %v %q", currentName(l), l.Find("b").Parent(), l.Find("b").Def().Parent)
	}
	// own-parent root: nothing to hand current to
	l2 := New(conf.Snapshot)
	_ = l2.Load([]*conf.Def{snap("s", "s", "running")}, "s")
	l2.SetCurrent(l2.Find("s"))
	if err := l2.Delete(l2.Find("s"), DeletePlain); err != nil || l2.Current() != nil {
		t.Fatalf("own-parent delete: %v, current %q", err, currentName(l2))
	}
}
