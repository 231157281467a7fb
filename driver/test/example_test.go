package test_test

import (
	"context"
	"fmt"
	"log"
	"path/filepath"
	"slices"

	"github.com/vmoments/vmoments/conf"
	"github.com/vmoments/vmoments/driver"
	"github.com/vmoments/vmoments/momentlist"
)

// The current checkpoint of each disk of a running guest: the checkpoint an incremental backup
// of that disk starts from. Here the guest is the demo's "webserver" on libvirt's test driver;
// with a real guest the URI is qemu:///system.
func Example_perDiskCurrent() {
	ctx := context.Background()
	demo, _ := filepath.Abs("../../examples/demo.xml")
	drv, err := driver.Open(ctx, "test://"+demo, driver.ReadWrite)
	if err != nil {
		log.Fatal(err)
	}
	defer drv.Close()
	dom, err := drv.Domain(ctx, "webserver")
	if err != nil {
		log.Fatal(err)
	}
	// A full checkpoint, then one that leaves vdb out.
	for _, xml := range []string{
		`<domaincheckpoint><name>monday</name></domaincheckpoint>`,
		`<domaincheckpoint><name>tuesday</name><disks><disk name='vda' checkpoint='bitmap'/><disk name='vdb' checkpoint='no'/></disks></domaincheckpoint>`,
	} {
		if _, err := dom.CreateCheckpoint(ctx, xml, 0); err != nil {
			log.Fatal(err)
		}
	}
	cur, rule, err := dom.Current(ctx, conf.Checkpoint)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("current checkpoint: %s (became current when created: %v)\n", cur.Name(), rule == momentlist.CurrentCreated)

	list, err := dom.Moments(ctx, conf.Checkpoint)
	if err != nil {
		log.Fatal(err)
	}
	perDisk := list.CurrentFor()
	disks := make([]string, 0, len(perDisk))
	for disk := range perDisk {
		disks = append(disks, disk)
	}
	slices.Sort(disks)
	for _, disk := range disks {
		fmt.Printf("%s: %s\n", disk, perDisk[disk].Name())
	}

	// The same set as a filter: every checkpoint that is current for some disk.
	set, err := dom.List(ctx, conf.Checkpoint, "", momentlist.PerDisk|momentlist.Current)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("current set:", len(set), "checkpoints")
	// Output:
	// current checkpoint: tuesday (became current when created: true)
	// vda: tuesday
	// vdb: monday
	// current set: 2 checkpoints
}
