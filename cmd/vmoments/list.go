package main

import (
	"context"
	"slices"
	"strings"

	"github.com/vmoments/vmoments/cmd/vmoments/internal/vsh"
	"github.com/vmoments/vmoments/cmd/vmoments/internal/vshfmt"
	"github.com/vmoments/vmoments/conf"
	"github.com/vmoments/vmoments/momentlist"
)

func runSnapshotList(ctx context.Context, a *app, c *vsh.Parsed) error {
	return a.list(ctx, c, conf.Snapshot)
}

func runCheckpointList(ctx context.Context, a *app, c *vsh.Parsed) error {
	return a.list(ctx, c, conf.Checkpoint)
}

// snapshotTreeFilters maps the list options virsh refuses with --tree to momentlist filters
// (checkpoint-list has only --leaves and --no-leaves of them); the order is virsh's FILTER
// order, which decides which "--X and --tree are mutually exclusive" message comes first.
var snapshotTreeFilters = []struct {
	opt string
	f   momentlist.Filter
}{
	{"leaves", momentlist.Leaves}, {"no-leaves", momentlist.NoLeaves},
	{"inactive", momentlist.Inactive}, {"active", momentlist.Active}, {"disk-only", momentlist.DiskOnly},
	{"internal", momentlist.Internal}, {"external", momentlist.External},
}

// listFilters are the list options that only add a filter bit (virsh's and vmoments').
var listFilters = map[string]momentlist.Filter{"topological": momentlist.Topological,
	"roots": momentlist.Roots, "metadata": momentlist.Metadata, "no-metadata": momentlist.NoMetadata,
	"only-current": momentlist.Current, "no-current": momentlist.NoCurrent, "per-disk": momentlist.PerDisk}

// list is snapshot-list and checkpoint-list: virsh's cmdSnapshotList / cmdCheckpointList
// step by step (the same checks in the same order, so the same first error), then the
// vmoments outputs.
func (a *app) list(ctx context.Context, c *vsh.Parsed, kind conf.Kind) error {
	f, err := listFilter(c, kind)
	if err != nil {
		return err
	}
	dom, err := a.domain(ctx, c)
	if err != nil {
		return err
	}
	l, err := a.load(ctx, dom, kind, c.Has("json"), true)
	if err != nil {
		return err
	}
	var start *momentlist.Moment
	if c.Has("from") || c.Has("current") {
		if start, err = lookupMoment(c, l, kind, "from", kind == conf.Snapshot); err != nil {
			return err
		}
	}
	sel, err := l.Select(start, f)
	if err != nil {
		return err
	}
	items := slices.Clone(sel)
	tree := c.Has("tree")
	if (tree || c.Has("forest")) && start != nil {
		items = append(items, start)
	}
	if f&momentlist.Topological == 0 {
		sortByName(items)
	}
	switch {
	case tree:
		a.printf("%s", vshfmt.FormatTree(treeItems(items, start, nil)))
	case c.Has("forest"):
		a.printf("%s", vshfmt.FormatTree(treeItems(items, start, currentMarks(l, c.Has("per-disk")))))
	case c.Has("json"):
		return a.printJSON(momentsJSON(l, items))
	case c.Has("dot"):
		a.printf("%s", a.dotGraph(dom.Name(), l, items, start))
	case c.Has("name"):
		for _, m := range items {
			a.printf("%s\n", m.Name())
		}
	default:
		a.printf("%s", a.listTable(kind, items, c.Has("parent")))
	}
	return nil
}

// listFilter makes the checks virsh makes of the list options before it looks at the domain,
// in virsh's order, and returns the filter the options ask for.
func listFilter(c *vsh.Parsed, kind conf.Kind) (momentlist.Filter, error) {
	tree := c.Has("tree")
	pairs := [][2]string{{"tree", "name"}, {"parent", "roots"}, {"parent", "tree"}, {"roots", "tree"}, {"roots", "from"}}
	if kind == conf.Snapshot {
		pairs = append(pairs, [2]string{"roots", "current"})
	}
	if err := exclusive(c, pairs...); err != nil {
		return 0, err
	}
	var f momentlist.Filter
	for _, tf := range snapshotTreeFilters {
		if kind == conf.Checkpoint && tf.f&(momentlist.Leaves|momentlist.NoLeaves) == 0 {
			continue
		}
		if c.Has(tf.opt) {
			if tree {
				return 0, vsh.Errorf("--%s and --tree are mutually exclusive", tf.opt)
			}
			f |= tf.f
		}
	}
	for opt, bit := range listFilters {
		if c.Has(opt) {
			f |= bit
		}
	}
	if c.Has("descendants") {
		if !c.Has("from") && !c.Has("current") {
			if kind == conf.Snapshot {
				return 0, vsh.Errorf("--descendants requires either --from or --current")
			}
			return 0, vsh.Errorf("--descendants requires --from")
		}
		f |= momentlist.Descendants
	}
	// vmoments' output modes: at most one of them, and none with virsh's --tree/--name.
	modes := []string{"tree", "name", "json", "dot", "forest"}
	for i, m1 := range modes {
		for _, m2 := range modes[i+1:] {
			if (m1 == "tree" && m2 == "name") || !c.Has(m1) || !c.Has(m2) {
				continue
			}
			return 0, vsh.Errorf("Options --%s and --%s are mutually exclusive", m1, m2)
		}
	}
	// --parent shapes virsh's table: no other output form takes it (JSON.md, "How the options
	// combine").
	for _, m := range []string{"json", "dot", "forest"} {
		if c.Has(m) && c.Has("parent") {
			return 0, vsh.Errorf("Options --parent and --%s are mutually exclusive", m)
		}
	}
	return f, nil
}

// listTable is virsh's table: Name, Creation Time (local time), State (snapshots), Parent
// (with --parent, the parent named in the moment's XML).
func (a *app) listTable(kind conf.Kind, items []*momentlist.Moment, parent bool) string {
	head := []string{"Name", "Creation Time"}
	if kind == conf.Snapshot {
		head = append(head, "State")
	}
	if parent {
		head = append(head, "Parent")
	}
	t := vshfmt.NewTable(head...)
	for _, m := range items {
		d := m.Def()
		row := []string{d.Name, a.localTime(d)}
		if kind == conf.Snapshot {
			row = append(row, d.State)
		}
		if parent {
			row = append(row, d.Parent)
		}
		t.Append(row...)
	}
	return t.Format(a.locale, !a.g.Quiet)
}

// localTime formats a creation time as virsh: g_date_time_format(local, "%Y-%m-%d %H:%M:%S %z").
func (a *app) localTime(d *conf.Def) string {
	return d.Created.In(a.loc).Format("2006-01-02 15:04:05 -0700")
}

// sortByName is virsh's qsort with vshStrcasecmp; names equal but for case keep a fixed order.
func sortByName(items []*momentlist.Moment) {
	slices.SortStableFunc(items, func(x, y *momentlist.Moment) int {
		if c := vshfmt.Strcasecmp(x.Name(), y.Name()); c != 0 {
			return c
		}
		return strings.Compare(x.Name(), y.Name())
	})
}

// treeItems links each item to its nearest ancestor among the items (virsh links a moment to
// its parent, which for every list virsh accepts with --tree is in the list or absent); start
// (the --from moment) is always a root, as virsh makes it. marks, if not nil, annotate labels.
//
// The walk up from an item stops at the first listed moment, and every moment it passes that
// is not listed remembers the answer, so each moment is walked at most once: linear in the
// list, however deep the tree and few the items (--forest with a filter on a long chain).
func treeItems(items []*momentlist.Moment, start *momentlist.Moment, marks map[*momentlist.Moment]string) []vshfmt.TreeItem {
	index := make(map[*momentlist.Moment]int, len(items))
	for i, m := range items {
		index[m] = i
	}
	// near holds, for a moment not listed that a walk passed, the index of its nearest listed
	// ancestor (-1: none).
	near := map[*momentlist.Moment]int{}
	var path []*momentlist.Moment
	out := make([]vshfmt.TreeItem, len(items))
	for i, m := range items {
		out[i] = vshfmt.TreeItem{Label: m.Name() + marks[m], Parent: -1}
		if m == start {
			continue
		}
		found := -1
		path = path[:0]
		for p := m.Parent(); p != nil; p = p.Parent() {
			if j, ok := index[p]; ok {
				found = j
				break
			}
			if j, ok := near[p]; ok {
				found = j
				break
			}
			path = append(path, p)
		}
		for _, p := range path {
			near[p] = found
		}
		out[i].Parent = found
	}
	return out
}

// currentMarks labels the current moment " (current)" and, with perDisk, every moment of the
// current set " (current for vda, vdb)".
func currentMarks(l *momentlist.List, perDisk bool) map[*momentlist.Moment]string {
	marks := map[*momentlist.Moment]string{}
	var parts = map[*momentlist.Moment][]string{}
	if cur := l.Current(); cur != nil {
		parts[cur] = append(parts[cur], "current")
	}
	if perDisk {
		for m, disks := range disksByMoment(l) {
			parts[m] = append(parts[m], "current for "+strings.Join(disks, ", "))
		}
	}
	for m, p := range parts {
		marks[m] = " (" + strings.Join(p, "; ") + ")"
	}
	return marks
}

// disksByMoment inverts CurrentFor: each moment of the current set and its disks, sorted.
func disksByMoment(l *momentlist.List) map[*momentlist.Moment][]string {
	out := map[*momentlist.Moment][]string{}
	for disk, m := range l.CurrentFor() {
		out[m] = append(out[m], disk)
	}
	for _, disks := range out {
		slices.Sort(disks)
	}
	return out
}
