package qemu_test

import (
	"context"
	"fmt"

	"github.com/vmoments/vmoments/conf"
	"github.com/vmoments/vmoments/driver"
	_ "github.com/vmoments/vmoments/driver/qemu"
)

// The current checkpoint of each disk of a running guest: where an incremental backup of each
// disk starts. This is the README's example; every test run compiles it (it needs a libvirtd and
// a guest, so it has no Output to run against), and integration/perdisk_test.go makes the same
// calls on a real running guest with partial checkpoints.
func Example_currentCheckpointPerDisk() {
	ctx := context.Background()
	if err := printBackupStarts(ctx, "qemu:///system", "guest1"); err != nil {
		fmt.Println(err)
	}
}

func printBackupStarts(ctx context.Context, uri, guest string) error {
	drv, err := driver.Open(ctx, uri, driver.ReadOnly) // read-only
	if err != nil {
		return err
	}
	defer drv.Close()
	dom, err := drv.Domain(ctx, guest) // a name or a UUID
	if err != nil {
		return err
	}
	list, err := dom.Moments(ctx, conf.Checkpoint)
	if err != nil {
		return err
	}
	for disk, cp := range list.CurrentFor() {
		fmt.Printf("%s: incremental backup starts from checkpoint %s\n", disk, cp.Name())
	}
	cur, rule, err := dom.Current(ctx, conf.Checkpoint)
	if err != nil {
		return err
	}
	// cur is libvirt's internal current checkpoint (or nil); rule says which libvirt rule decided it.
	if cur != nil {
		fmt.Printf("current checkpoint: %s (%s)\n", cur.Name(), rule)
	}
	return nil
}
