package momentlist

import (
	"errors"
	"strings"
	"testing"

	"github.com/vmoments/vmoments/conf"
)

// docs/libvirt.md §1 AssignDef: a name already present fails with libvirt's message; a new moment is not
// linked.
func TestAddDuplicate(t *testing.T) {
	l := New(conf.Snapshot)
	m := ok(l.add(snap("s1", "", "running")))
	if m.parent != nil || m.Parent() != nil || l.Len() != 1 {
		t.Fatalf("Add linked the moment or miscounted: parent %v len %d", m.parent, l.Len())
	}
	_, err := l.add(snap("s1", "", "shutoff"))
	if err == nil || err.Error() != "operation failed: domain moment s1 already exists" {
		t.Fatalf("duplicate Add: %v", err)
	}
	if _, err := l.add(nil); err == nil {
		t.Fatal("Add(nil) succeeded")
	}
	if l.Find("s1") != m || l.Find("nope") != nil {
		t.Fatal("Find")
	}
}

// docs/libvirt.md §1 LinkParent / SetParent: missing parent → root; children are prepended (newest
// linked first).
func TestLinkParent(t *testing.T) {
	l := New(conf.Snapshot)
	a := ok(l.add(snap("a", "", "running")))
	if !l.linkParent(a) {
		t.Fatal("root link reported a missing parent")
	}
	var kids []*Moment
	for _, n := range []string{"b", "c", "d"} {
		m := ok(l.add(snap(n, "a", "running")))
		if !l.linkParent(m) {
			t.Fatalf("%s: parent a not found", n)
		}
		kids = append(kids, m)
	}
	if got := names(a.Children()); got != "d c b" {
		t.Fatalf("children %q, want newest-linked first \"d c b\"", got)
	}
	orphan := ok(l.add(snap("o", "gone", "running")))
	if l.linkParent(orphan) {
		t.Fatal("missing parent reported found")
	}
	if orphan.Parent() != nil || names(l.roots()) != "o a" {
		t.Fatalf("orphan not a root: roots %q", names(l.roots()))
	}
	// relinking a linked moment moves it (first in the new list)
	kids[0].def.Parent = "c"
	l.linkParent(kids[0])
	if names(a.Children()) != "d c" || names(kids[1].Children()) != "b" {
		t.Fatalf("relink: a has %q, c has %q", names(a.Children()), names(kids[1].Children()))
	}
	// a parent that would close a cycle (own descendant, or itself) makes a root
	a.def.Parent = "b"
	if l.linkParent(a) || a.Parent() != nil {
		t.Fatal("cycle through a descendant was linked")
	}
	a.def.Parent = "a"
	if l.linkParent(a) || a.Parent() != nil {
		t.Fatal("self parent was linked")
	}
	a.def.Parent = ""
	l.linkParent(a)
	orphan.def.Parent = ""
	checkInvariants(t, l)
}

func (l *List) roots() []*Moment { return l.metaroot.Children() }

// docs/libvirt.md §1 ObjListRemove: returns was-current and clears current. Children become roots.
func TestRemove(t *testing.T) {
	l := load(t, conf.Snapshot, "b", snap("a", "", "running"), snap("b", "a", "running"), snap("c", "b", "running"))
	b := l.Find("b")
	if !l.remove(b) {
		t.Fatal("Remove of current reported false")
	}
	if l.Current() != nil || l.CurrentRule() != CurrentNone || l.Find("b") != nil || l.Len() != 2 {
		t.Fatalf("after Remove: current %v, len %d", l.Current(), l.Len())
	}
	c := l.Find("c")
	if c.Parent() != nil || names(l.roots()) != "c a" || c.Def().Parent != "b" {
		t.Fatalf("child of removed: parent %v, roots %q, Def.Parent %q", c.Parent(), names(l.roots()), c.Def().Parent)
	}
	if l.remove(c) {
		t.Fatal("Remove of non-current reported true")
	}
	if names(l.All()) != "a" {
		t.Fatalf("All = %q", names(l.All()))
	}
	mustPanic(t, "Remove twice", func() { l.remove(c) })
	// a moment added but never linked can be removed
	u := ok(l.add(snap("u", "", "running")))
	l.remove(u)
	checkInvariants(t, l)
}

// docs/libvirt.md §1 ObjListRemoveAll: libvirt leaves current to its callers; here it is cleared.
func TestRemoveAll(t *testing.T) {
	l := libvirtExample(t, conf.Snapshot)
	old := l.Find("s8")
	l.removeAll()
	if l.Len() != 0 || l.Current() != nil || len(l.roots()) != 0 || len(l.All()) != 0 {
		t.Fatalf("RemoveAll left len %d current %v", l.Len(), l.Current())
	}
	if old.Name() != "s8" || old.Parent() != nil {
		t.Fatal("removed moment lost its definition or kept links")
	}
	ok(l.Create(snap("s1", "", "running")))
	checkInvariants(t, l)
}

// docs/libvirt.md §1 UpdateRelations: missing parent and cycles make roots, clear current and report
// libvirt's warnings; in each cycle the moment processed last (here: added last) is the root.
func TestUpdateRelations(t *testing.T) {
	tests := []struct {
		name      string
		defs      []*conf.Def
		wantErr   string // "" = none
		wantRoots string
		wantTopo  string
	}{
		{"clean", []*conf.Def{snap("a", "", "running"), snap("b", "a", "running"), snap("c", "a", "running")},
			"", "a", "a c b"},
		{"child before parent", []*conf.Def{snap("c", "b", "running"), snap("b", "a", "running"), snap("a", "", "running")},
			"", "a", "a b c"},
		{"missing parent", []*conf.Def{snap("a", "", "running"), snap("b", "x", "running")},
			"snapshots have inconsistent relations: moment b lacks parent x", "b a", "b a"},
		{"own parent", []*conf.Def{snap("a", "a", "running")},
			"snapshots have inconsistent relations: moment a in circular chain", "a", "a"},
		{"two-cycle broken at the later", []*conf.Def{snap("a", "b", "running"), snap("b", "a", "running")},
			"snapshots have inconsistent relations: moment b in circular chain", "b", "b a"},
		// a→b→c→a is a cycle, broken at b, the one of the three added last; siblings are
		// newest-linked first (b's children: a, then t).
		{"three-cycle with a tail", []*conf.Def{snap("t", "b", "running"), snap("c", "a", "running"),
			snap("a", "b", "running"), snap("b", "c", "running"), snap("z", "q", "running")},
			"snapshots have inconsistent relations: moment b in circular chain; moment z lacks parent q",
			"z b", "z b a c t"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := New(conf.Snapshot)
			var cur *Moment
			for _, d := range tt.defs {
				cur = ok(l.add(d))
			}
			l.SetCurrent(cur)
			err := l.updateRelations()
			if tt.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				if l.Current() != cur {
					t.Fatal("clean relations cleared current")
				}
			} else {
				if err == nil || err.Error() != tt.wantErr {
					t.Fatalf("error %v, want %q", err, tt.wantErr)
				}
				var re *RelationsError
				if !errors.As(err, &re) || len(re.Problems) != strings.Count(tt.wantErr, "moment ") ||
					len(re.Unwrap()) != len(re.Problems) || re.Kind != conf.Snapshot {
					t.Fatalf("not a RelationsError with one problem per moment: %#v", err)
				}
				if l.Current() != nil || l.CurrentRule() != CurrentRelationsBroken {
					t.Fatal("broken relations kept current")
				}
			}
			if got := names(l.roots()); got != tt.wantRoots {
				t.Fatalf("roots %q, want %q", got, tt.wantRoots)
			}
			if got := names(ok(l.Select(nil, Topological))); got != tt.wantTopo {
				t.Fatalf("topological %q, want %q", got, tt.wantTopo)
			}
			// running it again gives the same tree (relations are reset first)
			_ = l.updateRelations()
			if got := names(ok(l.Select(nil, Topological))); got != tt.wantTopo {
				t.Fatalf("second run: topological %q, want %q", got, tt.wantTopo)
			}
		})
	}
}

// docs/libvirt.md §1 CheckCycles: libvirt's three messages, and the cycle message names the ancestor
// directly under the redefined moment.
func TestCheckCycles(t *testing.T) {
	// a → b → c → d (d is the leaf), plus a root r
	base := []*conf.Def{snap("a", "", "running"), snap("b", "a", "running"), snap("c", "b", "running"),
		snap("d", "c", "running"), snap("r", "", "running")}
	tests := []struct {
		name, def, parent, want string
	}{
		{"no parent", "x", "", ""},
		{"own parent", "a", "a", "invalid argument: cannot set moment a as its own parent"},
		{"parent not found", "x", "nope", "invalid argument: parent nope for moment x not found"},
		{"fine new", "x", "d", ""},
		{"fine move", "c", "r", ""},
		{"direct child as parent", "c", "d", "invalid argument: parent d would create cycle to c"},
		{"grandchild names the child", "b", "d", "invalid argument: parent c would create cycle to b"},
		{"deep names the one under", "a", "d", "invalid argument: parent b would create cycle to a"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := load(t, conf.Snapshot, "", base...)
			err := l.checkCycles(snap(tt.def, tt.parent, "running"))
			if (err == nil) != (tt.want == "") || err != nil && err.Error() != tt.want {
				t.Fatalf("CheckCycles(%s parent %q) = %v, want %q", tt.def, tt.parent, err, tt.want)
			}
		})
	}
	t.Run("missing ancestor only warns", func(t *testing.T) {
		l := New(conf.Snapshot)
		l.Load([]*conf.Def{snap("b", "gone", "running")}, "")
		if err := l.checkCycles(snap("x", "b", "running")); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("looping names end", func(t *testing.T) {
		l := New(conf.Snapshot)
		l.Load([]*conf.Def{snap("p", "q", "running"), snap("q", "p", "running")}, "")
		if err := l.checkCycles(snap("x", "p", "running")); err != nil {
			t.Fatal(err)
		}
	})
}

// docs/libvirt.md §1 ForEachChild / ForEachDescendant: child-list order; pre-order; start excluded;
// counts returned.
func TestForEach(t *testing.T) {
	l := libvirtExample(t, conf.Snapshot)
	var got []*Moment
	collect := func(m *Moment) { got = append(got, m) }
	tests := []struct {
		from        string
		descendants bool
		want        string
	}{
		{"", false, "s1"},
		{"s1", false, "s7 s3"},
		{"s3", false, "s6 s2"},
		{"s2", false, ""},
		{"", true, "s1 s7 s8 s3 s6 s4 s5 s2"},
		{"s3", true, "s6 s4 s5 s2"},
		{"s8", true, ""},
	}
	for _, tt := range tests {
		got = nil
		from := l.Find(tt.from)
		var n int
		if tt.descendants {
			n = l.forEachDescendant(from, collect)
		} else {
			n = l.forEachChild(from, collect)
		}
		if names(got) != tt.want || n != len(got) {
			t.Errorf("from %q descendants %v: %q (count %d), want %q", tt.from, tt.descendants, names(got), n, tt.want)
		}
		if from != nil && tt.descendants && from.NumDescendants() != n {
			t.Errorf("NumDescendants(%s) = %d, want %d", tt.from, from.NumDescendants(), n)
		}
	}
	if l.Find("s3").NumChildren() != 2 || l.Find("s3").Parent() != l.Find("s1") || l.Find("s1").Parent() != nil {
		t.Fatal("NumChildren/Parent")
	}
	if l.Find("s1").String() != "s1" {
		t.Fatal("String")
	}
}

// docs/libvirt.md §1 FindLeaf: only a single unbranched chain has a leaf.
func TestFindLeaf(t *testing.T) {
	tests := []struct {
		name string
		defs []*conf.Def
		want string
	}{
		{"empty", nil, ""},
		{"one", []*conf.Def{ckpt("a", "")}, "a"},
		{"chain", []*conf.Def{ckpt("a", ""), ckpt("b", "a"), ckpt("c", "b")}, "c"},
		{"two roots", []*conf.Def{ckpt("a", ""), ckpt("b", "")}, ""},
		{"branch at the top", []*conf.Def{ckpt("a", ""), ckpt("b", "a"), ckpt("c", "a")}, ""},
		{"branch lower", []*conf.Def{ckpt("a", ""), ckpt("b", "a"), ckpt("c", "b"), ckpt("d", "b")}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := load(t, conf.Checkpoint, "", tt.defs...)
			got := ""
			if leaf := l.findLeaf(); leaf != nil {
				got = leaf.Name()
			}
			if got != tt.want {
				t.Fatalf("FindLeaf = %q, want %q", got, tt.want)
			}
		})
	}
}

// Moments of another list, or removed ones, are programming errors.
func TestForeignMoment(t *testing.T) {
	l := New(conf.Snapshot)
	other := New(conf.Snapshot)
	m := ok(other.Create(snap("x", "", "running")))
	for name, fn := range map[string]func(){
		"SetCurrent":        func() { l.SetCurrent(m) },
		"Revert":            func() { l.Revert(m) },
		"LinkParent":        func() { l.linkParent(m) },
		"Remove":            func() { l.remove(m) },
		"ForEachChild":      func() { l.forEachChild(m, func(*Moment) {}) },
		"ForEachDescendant": func() { l.forEachDescendant(m, func(*Moment) {}) },
	} {
		mustPanic(t, name, fn)
	}
	if _, err := l.Select(m, 0); err == nil || err.Error() != "moment x is not in this snapshot list" {
		t.Fatalf("Select from a foreign moment: %v", err)
	}
	if err := l.Delete(m, DeletePlain); err == nil {
		t.Fatal("Delete of a foreign moment succeeded")
	}
	if err := l.Delete(nil, DeletePlain); err == nil || err.Error() != "moment is nil" {
		t.Fatalf("Delete(nil): %v", err)
	}
}

func mustPanic(t *testing.T, what string, fn func()) {
	t.Helper()
	defer func() {
		if recover() == nil {
			t.Errorf("%s did not panic", what)
		}
	}()
	fn()
}

// docs/libvirt.md §1 ForEachChild: the next child is fetched before the callback, so it may delete the
// child it is given (libvirt's test driver deletes that way).
func TestForEachChildDeleting(t *testing.T) {
	l := libvirtExample(t, conf.Snapshot)
	n := l.forEachChild(l.Find("s3"), func(c *Moment) {
		if err := l.Delete(c, DeleteChildren); err != nil {
			t.Fatal(err)
		}
	})
	if n != 2 || names(ok(l.Select(nil, Topological))) != "s1 s7 s8 s3" {
		t.Fatalf("visited %d; left %q", n, names(ok(l.Select(nil, Topological))))
	}
	checkInvariants(t, l)
}
