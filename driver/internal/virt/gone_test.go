package virt

import (
	"context"
	"testing"

	"github.com/vmoments/vmoments/conf"
	"github.com/vmoments/vmoments/driver"
)

// cachedHandles counts the domain handles the driver holds on all its connections.
func cachedHandles(d *Driver) int {
	d.mu.Lock()
	defer d.mu.Unlock()
	n := 0
	for _, hs := range d.doms {
		n += len(hs)
	}
	return n
}

// TestDomainsForgetsUndefined: a handle cached for a domain that is then undefined is freed by
// the next Domains call (a fleet or exporter lists domains on every refresh and must not keep a
// handle per domain that ever existed), while the handles of domains that still exist stay.
func TestDomainsForgetsUndefined(t *testing.T) {
	ctx := context.Background()
	drv, err := Open(ctx, "test:///default", driver.ReadWrite, Options{Single: true})
	if err != nil {
		t.Fatal(err)
	}
	defer drv.Close()
	conn := drv.read.conn
	for _, n := range []string{"gone", "kept"} {
		h, err := conn.DomainDefineXML("<domain type='test'><name>" + n + "</name><memory>8192</memory><os><type>hvm</type></os></domain>")
		if err != nil {
			t.Fatal(err)
		}
		h.Free()
	}
	for _, n := range []string{"gone", "kept"} {
		dom, err := drv.LookupDomain(ctx, n)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := dom.Moments(ctx, conf.Snapshot); err != nil {
			t.Fatal(err)
		}
	}
	if n := cachedHandles(drv); n != 2 {
		t.Fatalf("cached handles after two loads: %d, want 2", n)
	}
	h, err := conn.LookupDomainByName("gone")
	if err != nil {
		t.Fatal(err)
	}
	if err := h.Undefine(); err != nil {
		t.Fatal(err)
	}
	h.Free()
	infos, err := drv.Domains(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, info := range infos {
		if info.Name == "gone" {
			t.Fatalf("Domains lists the undefined domain: %+v", infos)
		}
	}
	if n := cachedHandles(drv); n != 1 {
		t.Errorf("cached handles after the undefine and a Domains call: %d, want 1 (kept's)", n)
	}
	kept, err := drv.LookupDomain(ctx, "kept")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := kept.Moments(ctx, conf.Snapshot); err != nil {
		t.Errorf("the kept domain after the prune: %v", err)
	}
}
