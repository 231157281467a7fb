package main

import (
	"context"

	"github.com/vmoments/vmoments/cmd/vmoments/internal/vsh"
	"github.com/vmoments/vmoments/conf"
	"github.com/vmoments/vmoments/driver"
)

// snapshotRevertFlags are snapshot-revert's options and libvirt's flags for them.
var snapshotRevertFlags = []flagOpt[driver.RevertFlags]{
	{"running", driver.RevertRunning}, {"paused", driver.RevertPaused}, {"reset-nvram", driver.RevertResetNVRAM},
	{"force", driver.RevertForce},
}

// runSnapshotRevert is virsh's cmdDomainSnapshotRevert.
//
// virsh tries a --force revert without VIR_DOMAIN_SNAPSHOT_REVERT_FORCE first and adds the
// flag only when libvirt calls the revert risky, so that the option works with libvirt before
// 0.9.10, which refused the flag. libvirt 9.0 knows it, and FORCE only lifts the risky-revert
// refusals, so vmoments passes it at once: the same revert, the same errors.
func runSnapshotRevert(ctx context.Context, a *app, c *vsh.Parsed) error {
	flags := flagsOf(c, snapshotRevertFlags)
	dom, _, m, err := a.loadMoment(ctx, c, conf.Snapshot, "snapshotname", true)
	if err != nil {
		return err
	}
	name := m.Name()
	if err := dom.Revert(ctx, name, flags); err != nil {
		return changeErr(err, "virDomainRevertToSnapshot", "Failed to revert snapshot "+name)
	}
	if c.Has("json") {
		return a.changedJSON(ctx, dom, conf.Snapshot, name)
	}
	a.printExtra("Domain snapshot %s reverted\n", name)
	return nil
}
