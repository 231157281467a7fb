package main

import (
	"context"

	"github.com/vmoments/vmoments/cmd/vmoments/internal/vsh"
	"github.com/vmoments/vmoments/conf"
	"github.com/vmoments/vmoments/driver"
	"github.com/vmoments/vmoments/momentlist"
)

// deleteFlags are the options of both delete commands and libvirt's flags for them (the same
// numbers for snapshots and checkpoints).
var deleteFlags = []flagOpt[driver.DeleteFlags]{
	{"children", driver.DeleteChildren}, {"children-only", driver.DeleteChildrenOnly},
	{"metadata", driver.DeleteMetadataOnly},
}

// runSnapshotDelete is virsh's cmdSnapshotDelete. The delete goes through the driver, whose
// QEMU driver deletes the descendants of a --children or --children-only delete one snapshot
// at a time, leaves first, where libvirt 9.0's own delete can crash libvirtd; the end state is
// libvirt's and the output virsh's.
func runSnapshotDelete(ctx context.Context, a *app, c *vsh.Parsed) error {
	return a.deleteMoment(ctx, c, conf.Snapshot, "snapshotname", true, "virDomainSnapshotDelete")
}

// runCheckpointDelete is virsh's cmdCheckpointDelete.
func runCheckpointDelete(ctx context.Context, a *app, c *vsh.Parsed) error {
	return a.deleteMoment(ctx, c, conf.Checkpoint, "checkpointname", false, "virDomainCheckpointDelete")
}

func (a *app) deleteMoment(ctx context.Context, c *vsh.Parsed, kind conf.Kind, arg string, withCurrent bool, api string) error {
	dom, l, m, err := a.loadMoment(ctx, c, kind, arg, withCurrent)
	if err != nil {
		return err
	}
	flags := flagsOf(c, deleteFlags)
	name := m.Name()
	var gone []*momentlist.Moment
	if c.Has("json") {
		gone = deletedMoments(l, m, flags)
	}
	if err := dom.Delete(ctx, kind, name, flags); err != nil {
		return changeErr(err, api, "Failed to delete "+kind.String()+" "+name)
	}
	if c.Has("json") {
		return a.printJSON(momentsJSON(l, gone))
	}
	if flags&driver.DeleteChildrenOnly != 0 {
		a.printExtra("Domain %s %s children deleted\n", kind, name)
	} else {
		a.printExtra("Domain %s %s deleted\n", kind, name)
	}
	return nil
}

// deletedMoments are the moments a delete of m with flags removes, parents first (children in
// libvirt's order), as they were before the delete.
func deletedMoments(l *momentlist.List, m *momentlist.Moment, flags driver.DeleteFlags) []*momentlist.Moment {
	var out []*momentlist.Moment
	if flags&driver.DeleteChildrenOnly == 0 {
		out = append(out, m)
	}
	if flags&(driver.DeleteChildren|driver.DeleteChildrenOnly) != 0 {
		below, err := l.Select(m, momentlist.Descendants|momentlist.Topological)
		if err == nil {
			out = append(out, below...)
		}
	}
	return out
}
