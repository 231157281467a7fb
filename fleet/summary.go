package fleet

import (
	"cmp"
	"slices"
	"time"

	"github.com/vmoments/vmoments/conf"
	"github.com/vmoments/vmoments/driver"
	"github.com/vmoments/vmoments/momentlist"
)

// Host is one connection's part of a refresh.
type Host struct {
	// URI is the connection as given (Options.URIs).
	URI string
	// Started is when the refresh of the host began, Duration how long it took (retries
	// included), Attempts how many times it was tried.
	Started  time.Time
	Duration time.Duration
	Attempts int
	// Err is why the host could not be read; Domains is then empty.
	Err error
	// Domains are the selected domains, by name.
	Domains []Domain
}

// Domain is the summary of one domain.
type Domain struct {
	URI, Name, UUID string
	State           driver.DomainState
	// Snapshots and Checkpoints sum up the two moment lists.
	Snapshots, Checkpoints Kind
	// CurrentSnapshot is libvirt's current snapshot, "" for none.
	CurrentSnapshot string
	// CurrentCheckpoint is the current checkpoint ("" for none) and CurrentCheckpointRule the
	// rule that decided it, or decided that there is none.
	CurrentCheckpoint     string
	CurrentCheckpointRule momentlist.CurrentRule
	// ExternalSnapshots counts the snapshots with external memory or an external disk.
	ExternalSnapshots int
	// Bytes is the disk space the snapshots hold.
	Bytes Bytes
	// Disks are the disks of the current definition that a checkpoint can cover (not empty,
	// not read-only: driver.Disk.Checkpointable), in the definition's order, with their
	// backup freshness. nil when the definition could not be read.
	Disks []Disk
	// Moments are the domain's snapshots then its checkpoints, each in topological order
	// (parents first), when Options.Moments asks for them.
	Moments []Moment
	// Err is why part of the domain could not be read (the fields then hold what could).
	Err error
}

// Kind sums up one moment list.
type Kind struct {
	Count int
	// Oldest and Newest are the moments with the earliest and the latest creation time (on
	// equal times, the lesser and the greater name); nil when no moment has a creation time.
	Oldest, Newest *Moment
	// Depth is the number of moments on the longest path from a root to a leaf (0 for no
	// moments, 1 when every moment is a root).
	Depth int
}

// Moment is one snapshot or checkpoint of a domain.
type Moment struct {
	Kind conf.Kind
	Name string
	// Parent is the parent's name, "" for a root.
	Parent string
	// Created is the creation time; HasCreated false when the definition has none.
	Created    time.Time
	HasCreated bool
	// Current says it is the domain's current moment of its kind.
	Current bool
	// Location is "internal" or "external" for snapshots, "" for checkpoints.
	Location string
}

// Disk is one disk's backup freshness.
type Disk struct {
	Name string
	// Current is the disk's current checkpoint by libvirt's pointer (the nearest checkpoint at or
	// above the current one that covers the disk): where its next incremental backup starts by
	// libvirt's reckoning; "" when there is none.
	Current string
	// Newest is the newest checkpoint covering the disk (nil when none does: Uncovered).
	Newest *Moment
	// Uncovered says no checkpoint covers the disk.
	Uncovered bool
}

// Size is a number of bytes that is known or not.
type Size struct {
	Bytes uint64
	Known bool
	// Why says why it is not known ("" when known).
	Why string
}

func known(n uint64) Size { return Size{Bytes: n, Known: true} }

func unknown(why string) Size { return Size{Why: why} }

// add adds o to s: known while both are.
func (s Size) add(o Size) Size {
	if !s.Known {
		return s
	}
	if !o.Known {
		return o
	}
	return known(s.Bytes + o.Bytes)
}

// Bytes is the disk space held by a domain's snapshots (see the package doc).
type Bytes struct {
	Overlays, MemoryFiles, InternalVMState Size
	// Total is the sum, known when every part is.
	Total Size
}

// RuleName is a short stable name of a current rule, for labels and columns: "none",
// "created", "redefined", "loaded", "loaded-leaf", "load-branched", "relations-broken", "set",
// "reverted", "after-delete".
func RuleName(r momentlist.CurrentRule) string {
	switch r {
	case momentlist.CurrentNone:
		return "none"
	case momentlist.CurrentCreated:
		return "created"
	case momentlist.CurrentRedefined:
		return "redefined"
	case momentlist.CurrentLoaded:
		return "loaded"
	case momentlist.CurrentLoadedLeaf:
		return "loaded-leaf"
	case momentlist.CurrentLoadBranched:
		return "load-branched"
	case momentlist.CurrentRelationsBroken:
		return "relations-broken"
	case momentlist.CurrentSet:
		return "set"
	case momentlist.CurrentReverted:
		return "reverted"
	case momentlist.CurrentAfterDelete:
		return "after-delete"
	}
	return "unknown"
}

// momentOf is m as a Moment.
func momentOf(m *momentlist.Moment, current bool) *Moment {
	d := m.Def()
	out := &Moment{Kind: d.Kind, Name: m.Name(), Created: d.Created, HasCreated: d.HasCreated,
		Current: current, Location: d.Location()}
	if p := m.Parent(); p != nil {
		out.Parent = p.Name()
	}
	return out
}

// summarize sums a moment list up; with keep, it also returns every moment, parents first.
func summarize(l *momentlist.List, keep bool) (Kind, []Moment) {
	var k Kind
	if l == nil {
		return k, nil
	}
	k.Count = l.Len()
	cur := l.Current()
	var oldest, newest *momentlist.Moment
	before := func(a, b *momentlist.Moment) bool { // a was created before b
		if c := a.Def().Created.Compare(b.Def().Created); c != 0 {
			return c < 0
		}
		return a.Name() < b.Name()
	}
	var moments []Moment
	// Pre-order from the roots, with the depth of each moment.
	type item struct {
		m     *momentlist.Moment
		depth int
	}
	var stack []item
	roots, _ := l.Select(nil, momentlist.Roots)
	for i := len(roots) - 1; i >= 0; i-- {
		stack = append(stack, item{roots[i], 1})
	}
	for len(stack) > 0 {
		it := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		m := it.m
		k.Depth = max(k.Depth, it.depth)
		if m.Def().HasCreated {
			if oldest == nil || before(m, oldest) {
				oldest = m
			}
			if newest == nil || before(newest, m) {
				newest = m
			}
		}
		if keep {
			moments = append(moments, *momentOf(m, m == cur))
		}
		ch := m.Children()
		for i := len(ch) - 1; i >= 0; i-- {
			stack = append(stack, item{ch[i], it.depth + 1})
		}
	}
	if oldest != nil {
		k.Oldest, k.Newest = momentOf(oldest, oldest == cur), momentOf(newest, newest == cur)
	}
	return k, moments
}

// freshness returns the backup freshness of each checkpointable disk of the current definition.
func freshness(cps *momentlist.List, st *driver.Storage) []Disk {
	if st == nil {
		return nil
	}
	var names []string
	for _, d := range st.Disks {
		if d.Checkpointable() && d.Target != "" && !slices.Contains(names, d.Target) {
			names = append(names, d.Target)
		}
	}
	disks := make([]Disk, 0, len(names))
	var current, newest map[string]*momentlist.Moment
	var uncovered []string
	if cps != nil {
		current, newest = cps.CurrentFor(), cps.NewestFor()
		uncovered = cps.Uncovered(names)
	} else {
		uncovered = names
	}
	cur := (*momentlist.Moment)(nil)
	if cps != nil {
		cur = cps.Current()
	}
	for _, n := range names {
		d := Disk{Name: n, Uncovered: slices.Contains(uncovered, n)}
		if m := current[n]; m != nil {
			d.Current = m.Name()
		}
		if m := newest[n]; m != nil {
			d.Newest = momentOf(m, m == cur)
		}
		disks = append(disks, d)
	}
	return disks
}

// sortDomains orders domains by name.
func sortDomains(ds []Domain) {
	slices.SortFunc(ds, func(a, b Domain) int { return cmp.Compare(a.Name, b.Name) })
}
