package driver_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"path/filepath"

	"github.com/vmoments/vmoments/conf"
	"github.com/vmoments/vmoments/driver"
	"github.com/vmoments/vmoments/momentlist"

	_ "github.com/vmoments/vmoments/driver/qemu"
	_ "github.com/vmoments/vmoments/driver/test"
)

// Open a URI, look a domain up and list moments with libvirt's filters and vmoments' own.
// The demo node file runs on libvirt's test driver; qemu:///system works the same way.
func ExampleOpen() {
	ctx := context.Background()
	demo, _ := filepath.Abs("../examples/demo.xml")
	drv, err := driver.Open(ctx, "test://"+demo, driver.ReadOnly)
	if err != nil {
		log.Fatal(err)
	}
	defer drv.Close()
	dom, err := drv.Domain(ctx, "demo")
	if err != nil {
		log.Fatal(err)
	}

	// The current snapshot and why it is current.
	cur, rule, err := dom.Current(ctx, conf.Snapshot)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("current: %s (loaded from libvirt: %v)\n", cur.Name(), rule == momentlist.CurrentLoaded)

	// libvirt's filters: the leaves below "os-updates" (DESCENDANTS|LEAVES).
	leaves, err := dom.List(ctx, conf.Snapshot, "os-updates", momentlist.Descendants|momentlist.Leaves|momentlist.Topological)
	if err != nil {
		log.Fatal(err)
	}
	for _, m := range leaves {
		fmt.Println("leaf:", m.Name())
	}

	// vmoments' own: every external snapshot but the current one.
	ext, err := dom.List(ctx, conf.Snapshot, "", momentlist.External|momentlist.NoCurrent)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("external snapshots:", len(ext))

	// Errors say where they come from, keep libvirt's words, and match a class with errors.Is
	// (libvirt's own error stays reachable with errors.As for those who want its code).
	_, err = dom.XML(ctx, conf.Snapshot, "no such", 0)
	var de *driver.Error
	if errors.As(err, &de) {
		fmt.Printf("domain %q, %s %q: %s\n", de.Domain, de.Kind, de.Moment, de.Msg)
	}
	fmt.Println("unknown moment:", errors.Is(err, driver.ErrMomentNotFound), "unknown domain:", errors.Is(err, driver.ErrDomainNotFound))
	// Unordered output:
	// current: data disks only (loaded from libvirt: true)
	// leaf: migration done
	// leaf: migration rollback test
	// leaf: deploy-12
	// external snapshots: 5
	// domain "demo", snapshot "no such": Domain snapshot not found: no domain snapshot with matching name 'no such'
	// unknown moment: true unknown domain: false
}
