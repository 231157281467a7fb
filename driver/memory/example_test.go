package memory_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/vmoments/vmoments/conf"
	"github.com/vmoments/vmoments/driver"
	"github.com/vmoments/vmoments/driver/memory"
	"github.com/vmoments/vmoments/momentlist"
)

// inventory is the embedding program's own code: it lists a connection's domains with their
// snapshots and current snapshot, and knows nothing of the driver behind the URI
// (qemu:///system in production, after importing driver/qemu; a memory server in its tests).
func inventory(ctx context.Context, w io.Writer, uri string) error {
	drv, err := driver.Open(ctx, uri, driver.ReadOnly)
	if err != nil {
		return err
	}
	defer drv.Close()
	doms, err := drv.Domains(ctx)
	if err != nil {
		return err
	}
	for _, info := range doms {
		dom, err := drv.Domain(ctx, info.UUID)
		if err != nil {
			return err
		}
		snaps, err := dom.List(ctx, conf.Snapshot, "", momentlist.Topological)
		if err != nil {
			return err
		}
		cur, _, err := dom.Current(ctx, conf.Snapshot)
		if err != nil {
			return err
		}
		current := "-"
		if cur != nil {
			current = cur.Name()
		}
		fmt.Fprintf(w, "%-4s %-8s %d snapshots, current %s\n", info.Name, info.State, len(snaps), current)
	}
	return nil
}

// prune is the program's change: it deletes a snapshot (its children move up to its parent).
func prune(ctx context.Context, uri, domain, snapshot string) error {
	drv, err := driver.Open(ctx, uri, driver.ReadWrite)
	if err != nil {
		return err
	}
	defer drv.Close()
	dom, err := drv.Domain(ctx, domain)
	if err != nil {
		return err
	}
	return dom.Delete(ctx, conf.Snapshot, snapshot, 0)
}

// explain tells the failures apart by class, with errors.Is: no libvirt bindings needed.
func explain(err error) string {
	switch {
	case err == nil:
		return "done"
	case errors.Is(err, driver.ErrDomainNotFound):
		return "no such domain: " + err.Error()
	case errors.Is(err, driver.ErrMomentNotFound):
		return "no such snapshot: " + err.Error()
	case errors.Is(err, driver.ErrReadOnly):
		return "refused, read-only: " + err.Error()
	}
	return "failed: " + err.Error()
}

// A program that embeds vmoments tests itself against the pure-Go driver: no libvirt, no cgo
// (this example runs with CGO_ENABLED=0). The test makes a server with two domains, gives one
// of them snapshots through a read-write connection, and then runs the program's code on the
// server's URI: the inventory of the connection's domains, and the failures it must tell
// apart: an unknown domain, an unknown snapshot, a change on a read-only connection.
func Example() {
	ctx := context.Background()
	srv, err := memory.New(memory.Config{Name: "example", Domains: []memory.DomainConfig{
		{Name: "web", Disks: []string{"vda", "vdb"}},
		{Name: "db", State: driver.DomainShutoff},
	}})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer srv.Close()
	web, err := srv.Open(driver.ReadWrite).Domain(ctx, "web")
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, name := range []string{"installed", "configured", "before-upgrade"} {
		if _, err := web.CreateSnapshot(ctx, "<domainsnapshot><name>"+name+"</name></domainsnapshot>", 0); err != nil {
			fmt.Println(err)
			return
		}
	}

	if err := inventory(ctx, os.Stdout, srv.URI()); err != nil {
		fmt.Println(err)
	}
	fmt.Println(explain(prune(ctx, srv.URI(), "mail", "installed")))
	fmt.Println(explain(prune(ctx, srv.URI(), "web", "nightly")))
	fmt.Println(explain(prune(ctx, srv.URI(), "web", "configured")))
	fmt.Println(explain(prune(ctx, srv.URI(), "web", "configured")))

	ro := srv.Open(driver.ReadOnly)
	dom, _ := ro.Domain(ctx, "web")
	fmt.Println(explain(dom.Delete(ctx, conf.Snapshot, "installed", 0)))
	if err := inventory(ctx, os.Stdout, srv.URI()); err != nil {
		fmt.Println(err)
	}
	// Output:
	// db   shut off 0 snapshots, current -
	// web  running  3 snapshots, current before-upgrade
	// no such domain: memory:///example: domain "mail": Domain not found: no domain with matching name 'mail'
	// no such snapshot: memory:///example: domain "web": snapshot "nightly": Domain snapshot not found: no domain snapshot with matching name 'nightly'
	// done
	// no such snapshot: memory:///example: domain "web": snapshot "configured": Domain snapshot not found: no domain snapshot with matching name 'configured'
	// refused, read-only: memory:///example: domain "web": snapshot "installed": the connection was opened read-only: changes need a read-write connection
	// db   shut off 0 snapshots, current -
	// web  running  2 snapshots, current before-upgrade
}
