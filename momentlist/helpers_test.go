package momentlist

import (
	"strings"
	"testing"

	"github.com/vmoments/vmoments/conf"
)

// snap builds a snapshot definition. disks are "name:mode" (mode internal, external, no).
func snap(name, parent, state string, disks ...string) *conf.Def {
	d := &conf.Def{Kind: conf.Snapshot, Name: name, Parent: parent, State: state}
	for _, s := range disks {
		n, mode, _ := strings.Cut(s, ":")
		d.Disks = append(d.Disks, conf.DiskSpec{Name: n, Mode: mode})
	}
	return d
}

// ckpt builds a checkpoint definition; disks are "name:bitmap" or "name:no".
func ckpt(name, parent string, disks ...string) *conf.Def {
	d := &conf.Def{Kind: conf.Checkpoint, Name: name, Parent: parent}
	for _, s := range disks {
		n, mode, _ := strings.Cut(s, ":")
		d.Disks = append(d.Disks, conf.DiskSpec{Name: n, Mode: mode})
	}
	return d
}

// names joins the moments' names with spaces.
func names(ms []*Moment) string {
	s := make([]string, len(ms))
	for i, m := range ms {
		s[i] = m.Name()
	}
	return strings.Join(s, " ")
}

// ok returns v, and panics (failing the test) on err: ok(l.Create(d)).
func ok[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// libvirtExample builds docs/libvirt.md §1 step 7's tree through the operations libvirt ran: create s1,
// s3, s2, revert s3, create s6, s5, revert s6, create s4, revert s1, create s7, s8.
func libvirtExample(t testing.TB, kind conf.Kind) *List {
	t.Helper()
	l := New(kind)
	mk := func(n string) *conf.Def {
		if kind == conf.Checkpoint {
			return ckpt(n, "")
		}
		return snap(n, "", "running")
	}
	create := func(ns ...string) {
		for _, n := range ns {
			ok(l.Create(mk(n)))
		}
	}
	revert := func(n string) { l.Revert(l.Find(n)) }
	create("s1", "s3", "s2")
	revert("s3")
	create("s6", "s5")
	revert("s6")
	create("s4")
	revert("s1")
	create("s7", "s8")
	return l
}

// load builds a list from defs with Load and fails on any error.
func load(t testing.TB, kind conf.Kind, current string, defs ...*conf.Def) *List {
	t.Helper()
	l := New(kind)
	if err := l.Load(defs, current); err != nil {
		t.Fatal(err)
	}
	return l
}

// checkInvariants verifies the internal consistency every mutation must keep.
func checkInvariants(t testing.TB, l *List) {
	t.Helper()
	seen := 0
	for m := l.first; m != nil; m = m.next {
		seen++
		if m.list != l {
			t.Fatalf("moment %s: list pointer wrong", m.Name())
		}
		if l.byName[m.Name()] != m {
			t.Fatalf("moment %s: not indexed by its name", m.Name())
		}
		if m.next != nil && m.next.prev != m {
			t.Fatalf("moment %s: insertion links broken", m.Name())
		}
		if m.parent == nil {
			t.Fatalf("moment %s: not linked (orphan)", m.Name())
		}
		// its parent's child list holds it exactly once
		found := 0
		n := 0
		for c := m.parent.firstChild; c != nil; c = c.sibling {
			n++
			if c == m {
				found++
			}
			if c.parent != m.parent {
				t.Fatalf("moment %s: sibling %s has another parent", m.Name(), c.Name())
			}
		}
		if found != 1 || n != m.parent.nchildren {
			t.Fatalf("moment %s: in parent's list %d times; parent counts %d children, has %d", m.Name(), found, m.parent.nchildren, n)
		}
		// Def.Parent names the parent (roots: "")
		want := ""
		if p := m.Parent(); p != nil {
			want = p.Name()
			if l.byName[want] != p {
				t.Fatalf("moment %s: parent %s is not in the list", m.Name(), want)
			}
		}
		if m.Def().Parent != want {
			t.Fatalf("moment %s: Def().Parent = %q, linked under %q", m.Name(), m.Def().Parent, want)
		}
		// no cycle: the root is reached within Len steps
		steps := 0
		for a := m; a.def != nil; a = a.parent {
			if steps++; steps > len(l.byName)+1 {
				t.Fatalf("moment %s: cycle in parents", m.Name())
			}
		}
	}
	if seen != len(l.byName) {
		t.Fatalf("insertion list has %d moments, index %d", seen, len(l.byName))
	}
	if got := l.forEachDescendant(nil, func(*Moment) {}); got != l.Len() {
		t.Fatalf("%d of %d moments reachable from the roots", got, l.Len())
	}
	if c := l.Current(); c != nil && l.byName[c.Name()] != c {
		t.Fatalf("current %s is not a live moment", c.Name())
	}
	if l.Current() == nil && l.CurrentRule() != CurrentNone && l.CurrentRule() != CurrentLoadBranched &&
		l.CurrentRule() != CurrentRelationsBroken {
		t.Fatalf("no current but rule %v", l.CurrentRule())
	}
}
