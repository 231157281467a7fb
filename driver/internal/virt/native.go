package virt

import (
	"context"

	"github.com/vmoments/vmoments/conf"
)

// NativeList asks libvirt itself for the names of the moments of kind that flags select (libvirt's
// own VIR_DOMAIN_SNAPSHOT_LIST_* / VIR_DOMAIN_CHECKPOINT_LIST_* numbers): ListAllSnapshots /
// ListAllCheckpoints when from is "", else ListAllChildren of from. It uses the driver's read
// connection (for the test driver, the one connection that holds the state), bypassing the
// loaded lists: it is the oracle of the conformance suite (driver/drivertest).
func (d *Domain) NativeList(ctx context.Context, kind conf.Kind, from string, flags uint32) ([]string, error) {
	s, dom, err := d.handle(false)
	if err != nil {
		return nil, err
	}
	defer dom.Free()
	src := newSource(kind, s.conn, dom, true)
	defer src.close()
	names, err := src.List(ctx, from, flags)
	return names, d.drv.wrap(d.name, kind, from, "list", err)
}

// NativeCurrentSnapshot asks libvirt for the name of the current snapshot ("" if none).
func (d *Domain) NativeCurrentSnapshot(ctx context.Context) (string, error) {
	s, dom, err := d.handle(false)
	if err != nil {
		return "", err
	}
	defer dom.Free()
	name, err := currentSnapshot(s.conn, dom)
	return name, d.drv.wrap(d.name, conf.Snapshot, "", "current", err)
}
