package main

import (
	"context"

	"github.com/vmoments/vmoments/cmd/vmoments/internal/vsh"
	"github.com/vmoments/vmoments/conf"
	"github.com/vmoments/vmoments/momentlist"
)

// runSnapshotParent is virsh's cmdSnapshotParent: the parent's name (without a newline: the
// command's trailing newline ends the line), or an error for a root; --json prints the parent.
func runSnapshotParent(ctx context.Context, a *app, c *vsh.Parsed) error {
	return a.parent(ctx, c, conf.Snapshot, "snapshotname", true)
}

// runCheckpointParent is virsh's cmdCheckpointParent.
func runCheckpointParent(ctx context.Context, a *app, c *vsh.Parsed) error {
	return a.parent(ctx, c, conf.Checkpoint, "checkpointname", false)
}

func (a *app) parent(ctx context.Context, c *vsh.Parsed, kind conf.Kind, arg string, withCurrent bool) error {
	_, l, m, err := a.loadMoment(ctx, c, kind, arg, withCurrent)
	if err != nil {
		return err
	}
	p := m.Parent()
	if p == nil {
		return vsh.Errorf("%s '%s' has no parent", kind, m.Name())
	}
	if c.Has("json") {
		return a.printJSON(momentsJSON(l, []*momentlist.Moment{p}))
	}
	a.printf("%s", p.Name())
	return nil
}
