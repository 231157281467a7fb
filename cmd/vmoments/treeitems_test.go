package main

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/vmoments/vmoments/conf"
	"github.com/vmoments/vmoments/momentlist"
)

// chainWithLeaves builds a chain of n moments where every moment also has a side leaf.
func chainWithLeaves(t testing.TB, n int) *momentlist.List {
	t.Helper()
	defs := make([]*conf.Def, 0, 2*n)
	for i := range n {
		parent := ""
		if i > 0 {
			parent = fmt.Sprintf("c%d", i-1)
		}
		defs = append(defs,
			&conf.Def{Kind: conf.Snapshot, Name: fmt.Sprintf("c%d", i), Parent: parent},
			&conf.Def{Kind: conf.Snapshot, Name: fmt.Sprintf("leaf%d", i), Parent: fmt.Sprintf("c%d", i)})
	}
	l := momentlist.New(conf.Snapshot)
	if err := l.Load(defs, ""); err != nil {
		t.Fatal(err)
	}
	return l
}

// naiveParents is the plain definition treeItems must match: each item's nearest listed
// ancestor, walked up one parent at a time.
func naiveParents(items []*momentlist.Moment, start *momentlist.Moment) []int {
	index := map[*momentlist.Moment]int{}
	for i, m := range items {
		index[m] = i
	}
	out := make([]int, len(items))
	for i, m := range items {
		out[i] = -1
		if m == start {
			continue
		}
		for p := m.Parent(); p != nil; p = p.Parent() {
			if j, ok := index[p]; ok {
				out[i] = j
				break
			}
		}
	}
	return out
}

// TestTreeItemsNearestListedAncestor compares treeItems with the plain walk on random trees
// and random selections, with and without a start moment.
func TestTreeItemsNearestListedAncestor(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for round := range 50 {
		n := 1 + rng.IntN(60)
		defs := make([]*conf.Def, n)
		for i := range defs {
			defs[i] = &conf.Def{Kind: conf.Snapshot, Name: fmt.Sprintf("m%d", i)}
			if i > 0 && rng.IntN(5) > 0 {
				defs[i].Parent = fmt.Sprintf("m%d", rng.IntN(i))
			}
		}
		l := momentlist.New(conf.Snapshot)
		if err := l.Load(defs, ""); err != nil {
			t.Fatal(err)
		}
		var items []*momentlist.Moment
		for _, m := range l.All() {
			if rng.IntN(3) == 0 {
				items = append(items, m)
			}
		}
		rng.Shuffle(len(items), func(i, j int) { items[i], items[j] = items[j], items[i] })
		var start *momentlist.Moment
		if len(items) > 0 && rng.IntN(2) == 0 {
			start = items[rng.IntN(len(items))]
		}
		want := naiveParents(items, start)
		got := treeItems(items, start, nil)
		for i := range items {
			if got[i].Parent != want[i] || got[i].Label != items[i].Name() {
				t.Fatalf("round %d, item %s: parent %d label %q, want %d", round, items[i].Name(), got[i].Parent, got[i].Label, want[i])
			}
		}
	}
}

// BenchmarkTreeItems links the leaves of a chain with side leaves (--leaves --forest): each
// leaf's nearest listed ancestor is far up, so a walk without memory would be quadratic. The
// ns/moment figure must stay flat from 10,000 to 40,000 moments.
func BenchmarkTreeItems(b *testing.B) {
	for _, n := range []int{10000, 40000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			l := chainWithLeaves(b, n)
			items, err := l.Select(nil, momentlist.Leaves)
			if err != nil {
				b.Fatal(err)
			}
			for b.Loop() {
				for i, it := range treeItems(items, nil, nil) {
					if it.Parent != -1 {
						b.Fatalf("leaf %s linked to item %d, want a root", items[i].Name(), it.Parent)
					}
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(l.Len()), "ns/moment")
		})
	}
}
