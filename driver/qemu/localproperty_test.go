//go:build integration

package qemu_test

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vmoments/vmoments/conf"
	"github.com/vmoments/vmoments/driver"
	"github.com/vmoments/vmoments/momentlist"
)

// ltSequences is the number of random sequences TestLocalProperty runs
// (VMOMENTS_LOCAL_SEQUENCES overrides it).
const ltSequences = 200

// ltMaxMoments bounds each domain's moments during the property test: past it, only deletes.
const ltMaxMoments = 12

// TestLocalProperty drives seeded random sequences of changes made elsewhere (virsh, another
// process) on a snapshot domain and a checkpoint domain: real snapshot creation, redefinition
// of new moments, snapshot-edit / checkpoint-edit that change only the parent, only the
// description or only the creation time, renames, a new current, reverts, plain and metadata
// deletes, and children and children-only deletes along chains (checkpoints with
// checkpoint-delete --children / --children-only; snapshots one by one, the deepest first: the
// snapshot delete with children crashes libvirt 9.0's libvirtd, docs/libvirt-bugs.md B1, and
// those flags are never sent to the system daemon). After every step, long-lived handles — one
// opened at the start of each sequence and one for the whole test on the metadata files, one
// for the whole test on the API's exact refresh — must equal a fresh load through the API, for
// every filter; the files handles must have read the files (no fallback). A names-only handle
// (driver.NamesOnlyRefresh) must list the same names; its definitions may be stale, as
// documented, and the test counts how often they are.
func TestLocalProperty(t *testing.T) {
	seqs := ltSequences
	if v := os.Getenv("VMOMENTS_LOCAL_SEQUENCES"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			t.Fatalf("VMOMENTS_LOCAL_SEQUENCES=%q is not a positive number", v)
		}
		seqs = n
	}
	p := &ltProperty{t: t, dir: t.TempDir(), real: map[string]bool{}}
	p.dom[conf.Snapshot], p.domXML = ltDomain(t, systemURI, "prop-s", false)
	p.dom[conf.Checkpoint], _ = ltDomain(t, systemURI, "prop-c", false)
	p.api, _ = ltOpen(t, systemURI, p.dom[conf.Snapshot], driver.ReadOnly|driver.NoLocalFiles)
	for _, kind := range conf.Kinds {
		_, p.filesAll[kind] = ltOpen(t, systemURI, p.dom[kind], driver.ReadOnly)
		_, p.apiAll[kind] = ltOpen(t, systemURI, p.dom[kind], driver.ReadOnly|driver.NoLocalFiles)
		_, p.namesAll[kind] = ltOpen(t, systemURI, p.dom[kind], driver.ReadOnly|driver.NoLocalFiles|driver.NamesOnlyRefresh)
	}
	p.filters = [3][]momentlist.Filter{conf.Snapshot: ltFilters(conf.Snapshot), conf.Checkpoint: ltFilters(conf.Checkpoint)}
	start := time.Now()
	for seq := range seqs {
		p.sequence(seq)
		if t.Failed() {
			break
		}
	}
	t.Logf("%d sequences, %d steps (%v) in %v: %d comparisons with a fresh load, %d filter cases; ops: %v",
		seqs, p.steps, p.byKind, time.Since(start).Round(time.Second), p.compared, p.cases, p.ops)
	t.Logf("the names-only handle served a stale definition after %d of %d steps (its documented blind spot)", p.stale, p.steps)
}

type ltProperty struct {
	t       *testing.T
	dir     string
	dom     [3]string // by kind: the domain
	domXML  string
	api     driver.Driver
	filters [3][]momentlist.Filter
	// The long-lived handles, by kind.
	filesAll, apiAll, namesAll [3]driver.Domain
	// real are the snapshots made by snapshot-create-as that still have their internal
	// snapshot in the images under their name (revert needs one).
	real map[string]bool

	steps, compared, cases, stale int
	byKind                        map[string]int
	ops                           map[string]int
}

// fresh loads kind afresh through the API.
func (p *ltProperty) fresh(kind conf.Kind) *momentlist.List {
	p.t.Helper()
	d, err := p.api.Domain(ctx, p.dom[kind])
	if err != nil {
		p.t.Fatal(err)
	}
	l, err := d.Moments(ctx, kind)
	if err != nil {
		p.t.Fatal(err)
	}
	return l
}

func (p *ltProperty) sequence(seq int) {
	t := p.t
	rng := rand.New(rand.NewPCG(uint64(seq), 0x766d6f6d656e7473))
	var filesSeq [3]driver.Domain
	for _, kind := range conf.Kinds {
		_, filesSeq[kind] = ltOpen(t, systemURI, p.dom[kind], driver.ReadOnly)
		if _, err := filesSeq[kind].List(ctx, kind, "", 0); err != nil {
			t.Fatal(err)
		}
	}
	steps := 3 + rng.IntN(6)
	for step := range steps {
		kind := conf.Kinds[rng.IntN(2)]
		before := p.fresh(kind)
		what, err := p.change(rng, kind, before, fmt.Sprintf("q%03d-%d", seq, step))
		if err != nil {
			t.Fatalf("sequence %d step %d (%s): %v", seq, step, what, err)
		}
		if p.byKind == nil {
			p.byKind, p.ops = map[string]int{}, map[string]int{}
		}
		p.steps++
		p.byKind[kind.String()]++
		p.ops[strings.Fields(what)[0]]++
		for _, k := range conf.Kinds {
			want := p.fresh(k)
			for _, h := range []struct {
				name  string
				dom   driver.Domain
				files bool
			}{{"the sequence's files handle", filesSeq[k], true}, {"the test's files handle", p.filesAll[k], true}, {"the test's API handle", p.apiAll[k], false}} {
				got, err := h.dom.Moments(ctx, k)
				if err != nil {
					t.Fatalf("sequence %d step %d (%s): %s: %v", seq, step, what, h.name, err)
				}
				if h.files {
					if s := ltSource(t, h.dom, k); !s.Files {
						t.Fatalf("sequence %d step %d (%s): %s fell back to the API: %s", seq, step, what, h.name, s.Fallback)
					}
				}
				diff, n := ltDiff(got, want, p.filters[k])
				p.compared++
				p.cases += n
				if diff != "" {
					t.Fatalf("sequence %d step %d (%s): %s's %ss differ from a fresh load: %s", seq, step, what, h.name, k, diff)
				}
			}
			// The names-only handle: the same names, maybe stale definitions.
			got, err := p.namesAll[k].Moments(ctx, k)
			if err != nil {
				t.Fatal(err)
			}
			if !ltSameSet(ltNames(got.All()), ltNames(want.All())) {
				t.Fatalf("sequence %d step %d (%s): the names-only handle lists %v, libvirt %v", seq, step, what, ltNames(got.All()), ltNames(want.All()))
			}
			if k == kind {
				if diff, _ := ltDiff(got, want, nil); diff != "" {
					p.stale++
				}
			}
		}
	}
}

// change makes one random change of kind through virsh, chosen from what before (a fresh load)
// allows, and says what it did.
func (p *ltProperty) change(rng *rand.Rand, kind conf.Kind, before *momentlist.List, fresh string) (string, error) {
	all := before.All()
	dom := p.dom[kind]
	pick := func() *momentlist.Moment { return all[rng.IntN(len(all))] }
	// otherParent returns a moment that can become m's parent (not m, not below it), or "".
	otherParent := func(m *momentlist.Moment) string {
		var ok []string
		for _, c := range all {
			if c == m || ltBelow(c, m) || c == m.Parent() {
				continue
			}
			ok = append(ok, c.Name())
		}
		if len(ok) == 0 {
			return ""
		}
		return ok[rng.IntN(len(ok))]
	}
	type op struct {
		weight int
		do     func() (string, error)
	}
	var ops []op
	add := func(w int, ok bool, do func() (string, error)) {
		if ok {
			ops = append(ops, op{w, do})
		}
	}
	full := len(all) >= ltMaxMoments
	some := len(all) > 0
	randomParent := func() string {
		if !some || rng.IntN(4) == 0 {
			return ""
		}
		return pick().Name()
	}
	created := func() int64 { return 1700000000 + rng.Int64N(100000000) }
	if kind == conf.Snapshot {
		add(3, !full, func() (string, error) {
			_, err := ltVirsh(systemURI, nil, "snapshot-create-as", dom, fresh, "--description", "made by "+fresh)
			if err == nil {
				p.real[fresh] = true
			}
			return "create " + fresh, err
		})
		add(3, !full, func() (string, error) {
			parent := randomParent()
			args := []string{"snapshot-create", dom, p.file(ltSnapshotXML(fresh, parent, "", created(), p.domXML)), "--redefine"}
			if rng.IntN(3) == 0 {
				args = append(args, "--current")
			}
			_, err := ltVirsh(systemURI, nil, args...)
			return fmt.Sprintf("redefine-new %s under %q %v", fresh, parent, args[4:]), err
		})
		add(2, some, func() (string, error) {
			m := pick()
			_, err := ltVirsh(systemURI, nil, "snapshot-current", dom, m.Name())
			return "set-current " + m.Name(), err
		})
		var real []string
		for _, m := range all {
			if p.real[m.Name()] {
				real = append(real, m.Name())
			}
		}
		add(2, len(real) > 0, func() (string, error) {
			n := real[rng.IntN(len(real))]
			_, err := ltVirsh(systemURI, nil, "snapshot-revert", dom, n)
			return "revert " + n, err
		})
	} else {
		add(5, !full, func() (string, error) {
			parent := randomParent()
			_, err := ltVirsh(systemURI, nil, "checkpoint-create", dom, p.file(ltCheckpointXML(fresh, parent, "", created(), rng.IntN(2) == 0)), "--redefine")
			return fmt.Sprintf("redefine-new %s under %q", fresh, parent), err
		})
	}
	// Edits, as virsh snapshot-edit / checkpoint-edit make them: the editor writes the changed
	// document over the one virsh dumped.
	edit := func(m *momentlist.Moment, what string, change func(d *conf.Def), rename bool) (string, error) {
		h, err := p.api.Domain(ctx, dom)
		if err != nil {
			return what, err
		}
		x, err := h.XML(ctx, kind, m.Name(), 0)
		if err != nil {
			return what, err
		}
		d, err := conf.Parse([]byte(x), conf.ParseRedefine)
		if err != nil {
			return what, err
		}
		change(d)
		out, err := d.Format()
		if err != nil {
			return what, err
		}
		args := []string{kind.String() + "-edit", dom, m.Name()}
		if rename {
			args = append(args, "--rename")
		}
		_, err = ltVirsh(systemURI, []string{"EDITOR=cp " + p.file(string(out))}, args...)
		return what, err
	}
	add(2, some, func() (string, error) {
		m := pick()
		np := otherParent(m)
		if np == "" && m.Parent() == nil {
			return "edit-parent (none possible) " + m.Name(), nil
		}
		return edit(m, fmt.Sprintf("edit-parent %s to %q", m.Name(), np), func(d *conf.Def) { d.Parent = np }, false)
	})
	add(2, some, func() (string, error) {
		m := pick()
		desc := fmt.Sprintf("edited by %s", fresh)
		return edit(m, "edit-description "+m.Name(), func(d *conf.Def) { d.Description = desc }, false)
	})
	add(2, some, func() (string, error) {
		m := pick()
		c := created()
		return edit(m, "edit-creation-time "+m.Name(), func(d *conf.Def) { d.Created, d.HasCreated = time.Unix(c, 0), true }, false)
	})
	if kind == conf.Snapshot {
		add(1, some, func() (string, error) {
			m := pick()
			what, err := edit(m, "rename "+m.Name()+" to "+fresh, func(d *conf.Def) { d.Name = fresh }, true)
			if err == nil {
				delete(p.real, m.Name()) // the image's internal snapshot keeps the old name
			}
			return what, err
		})
	}
	// Deletes.
	del := func(m *momentlist.Moment, flags ...string) (string, error) {
		args := append([]string{kind.String() + "-delete", dom, m.Name()}, flags...)
		_, err := ltVirsh(systemURI, nil, args...)
		if err == nil {
			delete(p.real, m.Name())
			if slices.Contains(flags, "--children") || slices.Contains(flags, "--children-only") {
				for _, d := range ltSubtree(m) {
					delete(p.real, d)
				}
			}
		}
		return fmt.Sprintf("delete[%s] %s", strings.Join(flags, ","), m.Name()), err
	}
	weight := 2
	if full {
		weight = 8
	}
	add(weight, some, func() (string, error) {
		m := pick()
		// A plain snapshot delete removes the internal snapshot from the images: only for real
		// ones; checkpoints of a shut-off domain are deleted by metadata only.
		if kind == conf.Snapshot && p.real[m.Name()] {
			return del(m)
		}
		return del(m, "--metadata")
	})
	add(weight, some, func() (string, error) { return del(pick(), "--metadata") })
	var chains []*momentlist.Moment
	for _, m := range all {
		if ltChain(m) && m.NumChildren() > 0 {
			chains = append(chains, m)
		}
	}
	add(weight, len(chains) > 0, func() (string, error) {
		m := chains[rng.IntN(len(chains))]
		flags := []string{"--children"}
		if rng.IntN(2) == 0 {
			flags = []string{"--children-only"}
		}
		realOnly := kind == conf.Snapshot
		for _, n := range append(ltSubtree(m), m.Name()) {
			realOnly = realOnly && p.real[n]
		}
		if !realOnly {
			flags = append(flags, "--metadata")
		}
		if kind == conf.Snapshot {
			// Never --children or --children-only on the system daemon, not even along a
			// chain (docs/libvirt-bugs.md B1): the same end state, one snapshot at a time,
			// the deepest first.
			doomed := ltSubtree(m)
			if flags[0] == "--children" {
				doomed = append([]string{m.Name()}, doomed...)
			}
			for i := len(doomed) - 1; i >= 0; i-- {
				one := before.Find(doomed[i])
				var err error
				if len(flags) > 1 {
					_, err = del(one, "--metadata")
				} else {
					_, err = del(one)
				}
				if err != nil {
					return "delete-one-by-one[" + strings.Join(flags, ",") + "] " + m.Name(), err
				}
			}
			return "delete-one-by-one[" + strings.Join(flags, ",") + "] " + m.Name(), nil
		}
		return del(m, flags...)
	})
	total := 0
	for _, o := range ops {
		total += o.weight
	}
	r := rng.IntN(total)
	for _, o := range ops {
		if r < o.weight {
			return o.do()
		}
		r -= o.weight
	}
	panic("unreachable")
}

// file writes content to a new file of the test and returns its path.
func (p *ltProperty) file(content string) string {
	f, err := os.CreateTemp(p.dir, "moment-*.xml")
	if err != nil {
		p.t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString(content); err != nil {
		p.t.Fatal(err)
	}
	return filepath.Clean(f.Name())
}

// ltBelow reports whether c is a descendant of m.
func ltBelow(c, m *momentlist.Moment) bool {
	for a := c.Parent(); a != nil; a = a.Parent() {
		if a == m {
			return true
		}
	}
	return false
}

// ltChain reports whether m's subtree, m included, is a chain: no moment in it has more than
// one child. Only such subtrees are deleted with --children or --children-only (libvirt 9.0's
// libvirtd crashes on a branched one: docs/libvirt-bugs.md B1).
func ltChain(m *momentlist.Moment) bool {
	for ; m != nil; m = ltOnly(m) {
		if m.NumChildren() > 1 {
			return false
		}
	}
	return true
}

func ltOnly(m *momentlist.Moment) *momentlist.Moment {
	if k := m.Children(); len(k) == 1 {
		return k[0]
	}
	return nil
}

// ltSubtree names m's descendants.
func ltSubtree(m *momentlist.Moment) []string {
	var out []string
	for _, c := range m.Children() {
		out = append(out, c.Name())
		out = append(out, ltSubtree(c)...)
	}
	return out
}
