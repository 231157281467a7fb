package main

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

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

// TestTreeItemsLinear: the leaves of a long chain with side leaves (`--leaves --forest`) are
// linked in time linear in the list. Walking each leaf up to the root, as a plain walk would
// (no leaf has a listed ancestor), takes some 10^9 steps here, seconds; the memo takes
// milliseconds.
func TestTreeItemsLinear(t *testing.T) {
	l := chainWithLeaves(t, 40000)
	items, err := l.Select(nil, momentlist.Leaves)
	if err != nil {
		t.Fatal(err)
	}
	begin := time.Now()
	got := treeItems(items, nil, nil)
	took := time.Since(begin)
	for i, it := range got {
		if it.Parent != -1 {
			t.Fatalf("leaf %s linked to item %d, want a root", items[i].Name(), it.Parent)
		}
	}
	t.Logf("%d leaves linked in %v", len(items), took)
	if took > 2*time.Second {
		t.Errorf("linking %d leaves took %v: not linear in the list", len(items), took)
	}
}
