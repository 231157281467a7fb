// Package drivertest is the conformance suite every vmoments driver runs, in the pattern of
// containerd's snapshotter testsuite: the suite owns the scenarios, a driver only says how to
// reach it and what it cannot do. What a driver serves is compared with what libvirt itself
// answers on the same state.
//
// # Running the suite on a driver
//
// A driver's test calls [Run] once, with a [Config]. Fresh gives each scenario a place of its
// own (see [Place]): a way to open connections to one state, and a domain there without
// moments. The suite opens the connections it needs (read-write, read-only, a second client),
// closes them when the scenario ends, and reads libvirt's answers through the driver's domains,
// which implement [Oracle]. libvirt's test driver, whose test:///default gives a fresh state
// to every scenario (the suite closes the previous one's connections first):
//
//	func TestConformance(t *testing.T) {
//		open := func(uri string) func(driver.Mode) (driver.Driver, error) {
//			return func(mode driver.Mode) (driver.Driver, error) { return driver.Open(ctx, uri, mode) }
//		}
//		drivertest.Run(t, drivertest.Config{
//			Fresh: func(t *testing.T) drivertest.Place {
//				return drivertest.Place{Open: open("test:///default"), Domain: "test", Disks: []string{"vda"}}
//			},
//			Running: true, // test:///default's domain runs: checkpoints can be created
//			States:  []drivertest.State{{Name: "examples/demo.xml", Open: open("test://" + demoPath)}},
//		})
//	}
//
// A QEMU driver's Fresh defines a throwaway guest (and undefines it with t.Cleanup); its
// guest does not run, so Running is false and the suite redefines checkpoints instead of
// creating them and deletes them by metadata (driver/qemu's test does this).
//
// What the suite needs to know beyond that comes from the driver: [driver.Capabilities]. A
// scenario or a step that needs what the driver declares it cannot do is skipped with the
// reason in the log (t.Skip for a scenario, t.Log for a step): the test driver's refusal of
// METADATA_ONLY snapshot deletes skips the metadata-only steps, its refusal of snapshots next
// to checkpoints skips the mixed-kinds scenario. Every flag a driver declares it does not
// accept is tried by the capabilities scenario: it must be refused and change nothing.
//
// A driver without libvirt behind it (driver/memory) has no oracle of its own: it sets
// Config.Reference to the Config of a libvirt-backed driver starting from the same states, and
// every scenario runs on both, step by step; after each step the driver's answers are compared
// with libvirt's answers on the reference, and failing steps must fail alike.
//
// # The scenarios
//
// For each of Config.States, "state NAME": every domain, both kinds, every flag combination
// and the lookup of each domain by name, UUID and ID; then changes of its domain with the most
// snapshots (set-current, a revert, a create, deletes plain, children-only with the current
// among the children, with children). On fresh places, in order:
//   - "snapshots": creates (current moves; the parent is the previous current, not a leaf), a
//     revert, redefines with and without CURRENT, a re-parented snapshot that keeps its
//     children, set-current, deletes plain, children-only and with children, then
//     metadata-only ones;
//   - "checkpoints": creates, redefines that become current by libvirt's rule and that do
//     not, partial checkpoints, deletes of every kind, libvirt's hidden current followed by a
//     [Tracker];
//   - "mixed kinds": both kinds on one domain (Capabilities.MixedKinds);
//   - "someone else": changes through a second connection reach a kept handle, which fetches
//     only new moments (the counts of a [driver.ProgressFunc]: 3 on the first load, 2 on the
//     refresh, 4 on Reload) and drops gone ones;
//   - "checkpoint pointer": a checkpoint created after someone else moved libvirt's pointer
//     shows where it was (Config.Running);
//   - "deleted during load": moments deleted while their XML is fetched are skipped;
//   - "concurrent": readers against a writer on one handle (run with -race);
//   - "errors": not-found from every call, names taken, redefines libvirt refuses, libvirt's
//     flag checks, each with its class, kind, moment and libvirt's words;
//   - "read-only", "closed and canceled": every change refused with ErrReadOnly on a
//     read-only connection, ErrClosed after Close, the context's error;
//   - "lookup": Domains, lookup by name, UUID and ID, a domain's Driver;
//   - "capabilities": the refusals a driver declares.
//
// After every change the suite runs [CheckState] and [CheckLists] on the changed handle; each
// scenario logs its number of cases, and Run the totals (t.Logf), which the logs of -v show.
//
// # The checks
//
// [CheckLists] runs every combination of libvirt's own list flags (snapshots: ROOTS/DESCENDANTS,
// METADATA, LEAVES, NO_LEAVES, NO_METADATA, INACTIVE, ACTIVE, DISK_ONLY, INTERNAL, EXTERNAL,
// TOPOLOGICAL: 2^11; checkpoints: ROOTS/DESCENDANTS, TOPOLOGICAL, LEAVES, NO_LEAVES: 2^4), at
// domain level and from several moments, and checks that:
//   - the names the driver serves equal, as sets, libvirt's ListAllSnapshots /
//     ListAllCheckpoints / ListAllChildren answer with the same flags;
//   - TOPOLOGICAL results are topological (no moment after one of its descendants);
//   - with Current, NoCurrent, PerDisk|Current and PerDisk|NoCurrent added, the result equals
//     libvirt's answer intersected with (or minus) the current moment or the per-disk current set,
//     both computed here from libvirt's XML (parents and disks), not by momentlist.
//
// [CheckState] checks that after a change the driver's list (tree and current) equals a fresh
// load through a new handle and libvirt's own answer. [Tracker] follows libvirt's internal
// checkpoint current pointer, independently of momentlist, so tests can say which checkpoint
// must be current. Tests that build states of their own (integration/) call these directly.
//
// Each check counts its cases (one compared result each); [Count] returns the total so test
// logs can report it (t.Logf).
package drivertest

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"sync/atomic"
	"testing"

	"github.com/vmoments/vmoments/conf"
	"github.com/vmoments/vmoments/driver"
	"github.com/vmoments/vmoments/momentlist"
)

var cases atomic.Int64

// Count returns the number of cases the suite has checked in this process.
func Count() int64 { return cases.Load() }

// Options tune CheckLists.
type Options struct {
	// CheckpointCurrent is the checkpoint that must be current ("" for none). nil means the
	// domain handle was loaded afresh and no change went through it: libvirt's fresh-load rule
	// applies (the leaf of a single unbranched chain), computed by the suite.
	CheckpointCurrent *string
	// MaxFroms bounds the moments used as a starting point besides the domain level (default 4):
	// the suite picks roots, the current moment, the moment with most descendants, a deep one
	// and a leaf.
	MaxFroms int
	// ListEvery makes the suite call Domain.List for every ListEvery-th flag combination and
	// select the others from one Domain.Moments copy of the same state (default 1: Domain.List
	// for every combination). A live libvirtd answers a refresh per List call, so large trees on
	// qemu want e.g. 64.
	ListEvery int
}

// libvirtBits returns libvirt's list flag bits of kind, in the order of the combinations'
// binary counter (libvirt's numbers, lowest first).
func libvirtBits(kind conf.Kind) []uint32 {
	var out []uint32
	for _, f := range momentlist.LibvirtBits(kind) {
		out = append(out, f.Libvirt(kind))
	}
	return out
}

func topoBit(kind conf.Kind) uint32 { return momentlist.Topological.Libvirt(kind) }

// CheckLists compares every flag combination of kind on dom with libvirt (see the package doc)
// and returns the number of cases checked.
func CheckLists(t testing.TB, dom driver.Domain, kind conf.Kind, opt Options) int {
	t.Helper()
	return checkLists(t, dom, sourceOf(t, dom), kind, opt)
}

// checkLists is CheckLists with libvirt's answers read from src: dom's own oracle, or that of
// a reference domain in the same state.
func checkLists(t testing.TB, dom driver.Domain, src source, kind conf.Kind, opt Options) int {
	t.Helper()
	ctx := context.Background()
	o := src.o
	tr := mustTruth(t, ctx, src, kind)
	if kind == conf.Checkpoint && opt.CheckpointCurrent != nil {
		tr.current = *opt.CheckpointCurrent
	}
	if opt.MaxFroms == 0 {
		opt.MaxFroms = 4
	}
	if opt.ListEvery < 1 {
		opt.ListEvery = 1
	}
	copyList, err := dom.Moments(ctx, kind)
	if err != nil {
		t.Fatalf("Moments(%s): %v", kind, err)
	}
	cur, _, err := dom.Current(ctx, kind)
	if err != nil {
		t.Fatalf("Current(%s): %v", kind, err)
	}
	if got := nameOf(cur); got != tr.current {
		t.Errorf("%s: current %s is %q, want %q", dom.Name(), kind, got, tr.current)
	}
	n := 1
	perDisk := tr.currentSet()

	bitsOf := libvirtBits(kind)
	froms := append([]string{""}, pickFroms(tr, opt.MaxFroms)...)
	combos := 1 << len(bitsOf)
	for _, from := range froms {
		for c := range combos {
			var flags uint32
			for i, b := range bitsOf {
				if c&(1<<i) != 0 {
					flags |= b
				}
			}
			want, err := o.NativeList(ctx, kind, from, flags)
			if err != nil {
				t.Fatalf("libvirt: list %ss from %q flags 0x%x: %v", kind, from, flags, err)
			}
			f, err := momentlist.FromLibvirt(kind, flags)
			if err != nil {
				t.Fatalf("%s flags 0x%x: %v", kind, flags, err)
			}
			viaList := c%opt.ListEvery == 0
			sel := func(extra momentlist.Filter) []*momentlist.Moment {
				if viaList {
					got, err := dom.List(ctx, kind, from, f|extra)
					if err != nil {
						t.Fatalf("List(%s, from %q, %v): %v", kind, from, f|extra, err)
					}
					return got
				}
				var fm *momentlist.Moment
				if from != "" {
					fm = copyList.Find(from)
				}
				got, err := copyList.Select(fm, f|extra)
				if err != nil {
					t.Fatalf("Select(%s, from %q, %v): %v", kind, from, f|extra, err)
				}
				return got
			}
			what := fmt.Sprintf("%s %s from %q flags 0x%x (%v)", dom.Name(), kind, from, flags, f)
			got := sel(0)
			n++
			if !sameSet(names(got), want) {
				t.Errorf("%s: driver serves %v, libvirt lists %v", what, sortedNames(got), sorted(want))
				continue
			}
			if flags&topoBit(kind) != 0 {
				n++
				if bad := notTopological(tr, names(got)); bad != "" {
					t.Errorf("%s: not topological: %s", what, bad)
				}
			}
			single := map[string]bool{}
			if tr.current != "" {
				single[tr.current] = true
			}
			for _, v := range []struct {
				extra momentlist.Filter
				set   map[string]bool
				keep  bool
			}{
				{momentlist.Current, single, true},
				{momentlist.NoCurrent, single, false},
				{momentlist.PerDisk | momentlist.Current, perDisk, true},
				{momentlist.PerDisk | momentlist.NoCurrent, perDisk, false},
				{momentlist.Current | momentlist.NoCurrent, nil, true},
			} {
				var exp []string
				for _, w := range want {
					if v.set[w] == v.keep {
						exp = append(exp, w)
					}
				}
				g := sel(v.extra)
				n++
				if !sameSet(names(g), exp) {
					t.Errorf("%s with %v: driver serves %v, want %v", what, v.extra, sortedNames(g), sorted(exp))
				}
			}
		}
	}
	cases.Add(int64(n))
	return n
}

// pickFroms chooses starting moments: the roots with most descendants, the current moment,
// the non-root with most descendants, the deepest moment's ancestor halfway up, and a leaf.
func pickFroms(tr *truth, max int) []string {
	if len(tr.names) == 0 {
		return nil
	}
	var out []string
	add := func(n string) {
		if n != "" && len(out) < max && !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	best := func(pool []string, score func(string) int) string {
		b, bs := "", -1
		for _, n := range pool {
			if s := score(n); s > bs {
				b, bs = n, s
			}
		}
		return b
	}
	add(best(tr.children(""), tr.descendants))
	add(tr.current)
	var inner, leaves []string
	for _, n := range tr.names {
		if tr.parent[n] != "" {
			inner = append(inner, n)
		}
		if len(tr.children(n)) == 0 {
			leaves = append(leaves, n)
		}
	}
	add(best(inner, tr.descendants))
	if deep := best(tr.names, tr.depth); deep != "" {
		m := deep
		for i := tr.depth(deep) / 2; i > 0; i-- {
			m = tr.parent[m]
		}
		add(m)
	}
	if len(leaves) > 0 {
		add(leaves[len(leaves)/2])
	}
	return out
}

// notTopological returns why order is not topological ("" if it is): some moment comes after
// one of its descendants.
func notTopological(tr *truth, order []string) string {
	pos := make(map[string]int, len(order))
	for i, n := range order {
		pos[n] = i
	}
	for i, n := range order {
		for a := tr.parent[n]; a != ""; a = tr.parent[a] {
			if j, ok := pos[a]; ok && j > i {
				return fmt.Sprintf("%q at %d is an ancestor of %q at %d", a, j, n, i)
			}
		}
	}
	return ""
}

func nameOf(m *momentlist.Moment) string {
	if m == nil {
		return ""
	}
	return m.Name()
}

func names(ms []*momentlist.Moment) []string {
	out := make([]string, len(ms))
	for i, m := range ms {
		out[i] = m.Name()
	}
	return out
}

func sortedNames(ms []*momentlist.Moment) []string { return sorted(names(ms)) }

func sorted(s []string) []string {
	c := slices.Clone(s)
	sort.Strings(c)
	return c
}

// sameSet reports whether a and b hold the same names (and neither repeats one).
func sameSet(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	sa, sb := sorted(a), sorted(b)
	return slices.Equal(sa, sb) && len(slices.Compact(sa)) == len(a)
}
