// Package drivertest is the conformance suite every vmoments driver runs (the pattern of
// containerd's snapshotter testsuite): it compares what a driver serves with what libvirt itself
// answers on the same state.
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
// must be current.
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
