package momentlist

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/vmoments/vmoments/conf"
)

// Property tests over seeded random forests (issue #2 §4). Each forest is grown by a random
// sequence of libvirt's operations — create, redefine (new and existing), delete in every mode,
// revert, set/clear current, reload — checking the list's invariants after every step, then
// the list filters are checked against properties and against refSelect, a brute-force
// reference written from the spec alone (parent names, not the list's links).

const forests = 1000

func forestCount(t *testing.T) int {
	if testing.Short() {
		return 200
	}
	return forests
}

var (
	states    = []string{"shutoff", "running", "paused", "disk-snapshot"}
	memModes  = []string{"", "no", "internal", "external"}
	snapModes = []string{"", "no", "internal", "external"}
	ckptModes = []string{"", "no", "bitmap"}
	diskNames = []string{"vda", "vdb", "vdc"}
)

func randomDef(r *rand.Rand, kind conf.Kind, name, parent string) *conf.Def {
	d := &conf.Def{Kind: kind, Name: name, Parent: parent}
	modes := ckptModes
	if kind == conf.Snapshot {
		modes = snapModes
		d.State = states[r.IntN(len(states))]
		d.Memory.Mode = memModes[r.IntN(len(memModes))]
	}
	for _, disk := range diskNames {
		if r.IntN(4) != 0 {
			d.Disks = append(d.Disks, conf.DiskSpec{Name: disk, Mode: modes[r.IntN(len(modes))]})
		}
	}
	return d
}

func randomMoment(r *rand.Rand, l *List) *Moment {
	all := l.All()
	if len(all) == 0 {
		return nil
	}
	return all[r.IntN(len(all))]
}

// growForest applies n random operations, checking invariants after each.
func growForest(t *testing.T, r *rand.Rand, kind conf.Kind, n int) *List {
	t.Helper()
	l := New(kind)
	next := 0
	newName := func() string { next++; return fmt.Sprintf("m%d", next) }
	for range n {
		op := r.IntN(100)
		switch {
		case op < 35:
			ok(l.Create(randomDef(r, kind, newName(), "")))
		case op < 50:
			parent := ""
			if p := randomMoment(r, l); p != nil && r.IntN(5) != 0 {
				parent = p.Name()
			}
			ok(l.Redefine(randomDef(r, kind, newName(), parent), RedefineOption(r.IntN(2))))
		case op < 62:
			m := randomMoment(r, l)
			if m == nil {
				continue
			}
			parent := ""
			if p := randomMoment(r, l); p != nil && r.IntN(5) != 0 {
				parent = p.Name()
			}
			redefineExisting(t, l, m, randomDef(r, kind, m.Name(), parent))
		case op < 74:
			if m := randomMoment(r, l); m != nil {
				mode := DeletePlain // mostly plain: children modes clear whole subtrees
				if r.IntN(4) == 0 {
					mode = DeleteMode(1 + r.IntN(2))
				}
				if err := l.Delete(m, mode); err != nil {
					t.Fatal(err)
				}
			}
		case op < 90:
			if m := randomMoment(r, l); m != nil {
				l.Revert(m)
			}
		case op < 94:
			l.SetCurrent(nil)
		default:
			reload(t, r, l)
		}
		checkInvariants(t, l)
	}
	return l
}

// redefineExisting redefines m with a new parent: it must fail exactly when the parent is m
// or below m (docs/libvirt.md §1 CheckCycles), leaving the tree unchanged, and otherwise move m with its
// subtree under the parent, first among its children.
func redefineExisting(t *testing.T, l *List, m *Moment, d *conf.Def) {
	t.Helper()
	before := names(ok(l.Select(nil, Topological)))
	var want string
	if d.Parent == m.Name() {
		want = fmt.Sprintf("invalid argument: cannot set moment %s as its own parent", m.Name())
	} else if d.Parent != "" {
		// walk up the requested parent's names; the one whose parent is m is named
		for a := d.Parent; a != ""; a = l.Find(a).Def().Parent {
			if l.Find(a).Def().Parent == m.Name() {
				want = fmt.Sprintf("invalid argument: parent %s would create cycle to %s", a, m.Name())
				break
			}
		}
	}
	kids := m.NumDescendants()
	got, err := l.Redefine(d, KeepCurrent)
	switch {
	case want != "":
		if err == nil || err.Error() != want {
			t.Fatalf("redefine %s under %q: %v, want %q", m.Name(), d.Parent, err, want)
		}
		if after := names(ok(l.Select(nil, Topological))); after != before {
			t.Fatalf("failed redefine changed the tree: %q → %q", before, after)
		}
	case err != nil:
		t.Fatalf("redefine %s under %q: %v", m.Name(), d.Parent, err)
	default:
		if got != m || m.Def() != d || m.NumDescendants() != kids {
			t.Fatalf("redefine %s: moment replaced or children lost", m.Name())
		}
		first := l.metaroot.firstChild
		if p := m.Parent(); p != nil {
			first = p.firstChild
		}
		if first != m {
			t.Fatalf("redefined %s is not first among its siblings", m.Name())
		}
	}
}

// reload loads the same definitions again, in a random order: a consistent tree reloads with
// no error and the same parents; snapshots keep current, checkpoints apply the leaf rule.
func reload(t *testing.T, r *rand.Rand, l *List) {
	t.Helper()
	all := l.All()
	parents := make(map[string]string, len(all))
	defs := make([]*conf.Def, len(all))
	for i, m := range all {
		parents[m.Name()] = m.Def().Parent
		defs[i] = m.Def()
	}
	r.Shuffle(len(defs), func(i, j int) { defs[i], defs[j] = defs[j], defs[i] })
	cur := currentName(l)
	if err := l.Load(defs, cur); err != nil {
		t.Fatalf("reload of a consistent tree: %v", err)
	}
	for name, p := range parents {
		m := l.Find(name)
		if m == nil || (p == "") != (m.Parent() == nil) || p != "" && m.Parent().Name() != p {
			t.Fatalf("reload changed %s's parent", name)
		}
	}
	if l.kind == conf.Snapshot && currentName(l) != cur {
		t.Fatalf("reload lost snapshot current %q", cur)
	}
	if l.kind == conf.Checkpoint && l.Current() != l.findLeaf() {
		t.Fatal("reloaded checkpoint current is not FindLeaf")
	}
}

func TestPropertyRandomForests(t *testing.T) {
	n := forestCount(t)
	for _, kind := range []conf.Kind{conf.Snapshot, conf.Checkpoint} {
		for seed := range uint64(n) {
			r := rand.New(rand.NewPCG(seed, uint64(kind)))
			l := growForest(t, r, kind, 10+r.IntN(60))
			ref := newReference(l)
			froms := []*Moment{nil, randomMoment(r, l), randomMoment(r, l)}
			for _, from := range froms {
				checkOrderProperties(t, l, from)
				checkPartitions(t, l, from)
				checkDescendants(t, l, ref, from)
			}
			// cross-check against the reference: every filter combination on a few forests,
			// random combinations on all
			allowed := snapshotFilters
			if kind == conf.Checkpoint {
				allowed = checkpointFilters
			}
			exhaustive := uint64(25)
			if raceEnabled {
				exhaustive = 4
			}
			if seed < exhaustive {
				for f := Filter(0); f <= allowed; f++ {
					if f&^allowed == 0 {
						for _, from := range froms[:2] {
							ref.check(t, l, from, f)
						}
					}
				}
			} else {
				for range 48 {
					f := Filter(r.Uint32()) & allowed
					ref.check(t, l, froms[r.IntN(len(froms))], f)
				}
			}
			if t.Failed() {
				t.Fatalf("%s forest seed %d", kind, seed)
			}
		}
	}
}

// checkOrderProperties: topological results put every parent before its children (no later
// element is an ancestor of an earlier one, docs/libvirt.md §1 step 7) and list everything; below a
// moment the non-topological order is the same DFS; at domain level it is insertion order.
func checkOrderProperties(t *testing.T, l *List, from *Moment) {
	t.Helper()
	f := Filter(0)
	if from != nil {
		f = Descendants
	}
	topo := ok(l.Select(from, f|Topological))
	pos := make(map[*Moment]int, len(topo))
	for i, m := range topo {
		pos[m] = i
	}
	for i, m := range topo {
		for a := m.Parent(); a != nil && a != from; a = a.Parent() {
			if j, ok := pos[a]; !ok || j > i {
				t.Fatalf("topological: ancestor %s of %s at %d (missing or after %d)", a.Name(), m.Name(), j, i)
			}
		}
	}
	plain := ok(l.Select(from, f))
	if len(plain) != len(topo) {
		t.Fatalf("topological lists %d, plain %d", len(topo), len(plain))
	}
	if from != nil {
		if !slices.Equal(plain, topo) {
			t.Fatal("below a moment the plain order is not the DFS")
		}
	} else if !slices.Equal(plain, l.All()) {
		t.Fatal("domain-level plain order is not insertion order")
	}
}

// checkPartitions: Leaves ⊎ NoLeaves = all; Current ⊎ NoCurrent = all, also per disk.
func checkPartitions(t *testing.T, l *List, from *Moment) {
	t.Helper()
	for _, base := range []Filter{0, Roots, Topological} {
		all := ok(l.Select(from, base))
		for _, pair := range [][2]Filter{{Leaves, NoLeaves}, {Current, NoCurrent}, {Current | PerDisk, NoCurrent | PerDisk}} {
			a := ok(l.Select(from, base|pair[0]))
			b := ok(l.Select(from, base|pair[1]))
			if len(a)+len(b) != len(all) {
				t.Fatalf("from %v %v: %v %d + %v %d != %d", from, base, pair[0], len(a), pair[1], len(b), len(all))
			}
			for _, m := range a {
				if slices.Contains(b, m) {
					t.Fatalf("%s in both %v and %v", m.Name(), pair[0], pair[1])
				}
			}
		}
	}
}

// checkDescendants: Descendants(from) is the transitive closure of children by parent names.
func checkDescendants(t *testing.T, l *List, ref *reference, from *Moment) {
	t.Helper()
	if from == nil {
		return
	}
	got := sortedNames(ok(l.Select(from, Descendants)))
	want := ref.descendants(from.Name())
	slices.Sort(want)
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("descendants of %s: %v, want %v", from.Name(), got, want)
	}
}

func sortedNames(ms []*Moment) []string {
	s := make([]string, len(ms))
	for i, m := range ms {
		s[i] = m.Name()
	}
	slices.Sort(s)
	return s
}

// reference computes Select results from the spec and the definitions alone.
type reference struct {
	kind     conf.Kind
	defs     map[string]*conf.Def
	order    []string
	children map[string][]string
	current  string
	set      map[string]bool // per-disk current set
}

func newReference(l *List) *reference {
	ref := &reference{kind: l.kind, defs: map[string]*conf.Def{}, children: map[string][]string{}, set: map[string]bool{}}
	for _, m := range l.All() {
		d := m.Def()
		ref.defs[d.Name] = d
		ref.order = append(ref.order, d.Name)
		ref.children[d.Parent] = append(ref.children[d.Parent], d.Name)
	}
	if c := l.Current(); c != nil {
		ref.current = c.Name()
		done := map[string]bool{}
		for n := ref.current; n != ""; n = ref.defs[n].Parent {
			for _, disk := range ref.defs[n].Disks {
				covered := disk.Mode == "internal" || disk.Mode == "external"
				if ref.kind == conf.Checkpoint {
					covered = disk.Mode == "bitmap"
				}
				if covered && !done[disk.Name] {
					done[disk.Name] = true
					ref.set[n] = true
				}
			}
		}
	}
	return ref
}

func (ref *reference) descendants(name string) []string {
	var out []string
	queue := []string{name}
	for len(queue) > 0 {
		n := queue[0]
		queue = queue[1:]
		for _, c := range ref.children[n] {
			out = append(out, c)
			queue = append(queue, c)
		}
	}
	return out
}

func (ref *reference) selectNames(from *Moment, f Filter) []string {
	var cands []string
	switch {
	case from == nil && f&Roots != 0:
		cands = ref.children[""]
	case from == nil:
		cands = ref.order
	case f&Descendants != 0:
		cands = ref.descendants(from.Name())
	default:
		cands = ref.children[from.Name()]
	}
	var out []string
	for _, n := range cands {
		d := ref.defs[n]
		leaf := len(ref.children[n]) == 0
		if f&(Metadata|NoMetadata) == NoMetadata ||
			f&Leaves != 0 && !leaf || f&NoLeaves != 0 && leaf {
			continue
		}
		if ref.kind == conf.Snapshot {
			status := map[string]Filter{"shutoff": Inactive, "disk-snapshot": DiskOnly}[d.State]
			if status == 0 {
				status = Active
			}
			if s := f & (Inactive | Active | DiskOnly); s != 0 && s&status == 0 {
				continue
			}
			external := d.Memory.Mode == "external"
			for _, disk := range d.Disks {
				external = external || disk.Mode == "external"
			}
			loc := Internal
			if external {
				loc = External
			}
			if lf := f & (Internal | External); lf != 0 && lf&loc == 0 {
				continue
			}
		}
		isCur := n == ref.current
		if f&PerDisk != 0 {
			isCur = ref.set[n]
		}
		if f&Current != 0 && !isCur || f&NoCurrent != 0 && isCur {
			continue
		}
		out = append(out, n)
	}
	return out
}

func (ref *reference) check(t *testing.T, l *List, from *Moment, f Filter) {
	t.Helper()
	got, err := l.Select(from, f)
	if err != nil {
		t.Fatalf("Select(%v, %v): %v", from, f, err)
	}
	want := ref.selectNames(from, f)
	slices.Sort(want)
	if g := sortedNames(got); !slices.Equal(g, want) {
		t.Fatalf("%s Select(%v, %v) = %v, reference %v", ref.kind, from, f, g, want)
	}
	if n := ok(l.count(from, f)); n != len(got) {
		t.Fatalf("Count(%v, %v) = %d, Select %d", from, f, n, len(got))
	}
}
