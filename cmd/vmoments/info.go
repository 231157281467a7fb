package main

import (
	"context"

	"github.com/vmoments/vmoments/cmd/vmoments/internal/vsh"
	"github.com/vmoments/vmoments/conf"
	"github.com/vmoments/vmoments/driver"
	"github.com/vmoments/vmoments/momentlist"
)

// loadMoment is the common start of snapshot-info and checkpoint-info: the domain, its list
// of kind, and the moment option arg names (or, withCurrent, --current names).
func (a *app) loadMoment(ctx context.Context, c *vsh.Parsed, kind conf.Kind, arg string, withCurrent bool) (driver.Domain, *momentlist.List, *momentlist.Moment, error) {
	dom, err := a.domain(ctx, c)
	if err != nil {
		return nil, nil, nil, err
	}
	l, err := a.load(ctx, dom, kind, c.Has("json"), false)
	if err != nil {
		return nil, nil, nil, err
	}
	m, err := lookupMoment(c, l, kind, arg, withCurrent)
	return dom, l, m, err
}

// runSnapshotInfo is virsh's snapshot-info, read from the loaded list.
func runSnapshotInfo(ctx context.Context, a *app, c *vsh.Parsed) error {
	dom, l, m, err := a.loadMoment(ctx, c, conf.Snapshot, "snapshotname", true)
	if err != nil {
		return err
	}
	if c.Has("json") {
		return a.printJSON(momentsJSON(l, []*momentlist.Moment{m}))
	}
	d := m.Def()
	yes := map[bool]string{true: "yes", false: "no"}
	a.printf("%-15s %s\n", "Name:", m.Name())
	a.printf("%-15s %s\n", "Domain:", dom.Name())
	a.printf("%-15s %s\n", "Current:", yes[l.Current() == m])
	a.printf("%-15s %s\n", "State:", d.State)
	a.printf("%-15s %s\n", "Location:", snapshotLocation(d))
	parent := d.Parent
	if parent == "" {
		parent = "-"
	}
	a.printf("%-15s %s\n", "Parent:", parent)
	a.printf("%-15s %d\n", "Children:", m.NumChildren())
	a.printf("%-15s %d\n", "Descendants:", m.NumDescendants())
	a.printf("%-15s %s\n", "Metadata:", "yes")
	return nil
}

// runCheckpointInfo is virsh's checkpoint-info.
func runCheckpointInfo(ctx context.Context, a *app, c *vsh.Parsed) error {
	dom, l, m, err := a.loadMoment(ctx, c, conf.Checkpoint, "checkpointname", false)
	if err != nil {
		return err
	}
	if c.Has("json") {
		return a.printJSON(momentsJSON(l, []*momentlist.Moment{m}))
	}
	parent := "-"
	if p := m.Parent(); p != nil {
		parent = p.Name()
	}
	a.printf("%-15s %s\n", "Name:", m.Name())
	a.printf("%-15s %s\n", "Domain:", dom.Name())
	a.printf("%-15s %s\n", "Parent:", parent)
	a.printf("%-15s %d\n", "Children:", m.NumChildren())
	a.printf("%-15s %d\n", "Descendants:", m.NumDescendants())
	return nil
}
