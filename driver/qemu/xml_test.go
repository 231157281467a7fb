//go:build integration

package qemu_test

import (
	"errors"
	"strings"
	"testing"

	"libvirt.org/go/libvirt"

	"github.com/vmoments/vmoments/conf"
	"github.com/vmoments/vmoments/driver"
)

// TestXMLSecure asks for XML with XMLSecure: a driver opened read-write gets it through its
// read-write connection (reads otherwise stay read-only), equal to libvirt's own answer; one
// opened read-only gets libvirt's refusal, with a hint.
func TestXMLSecure(t *testing.T) {
	_, raw, name := throwawayNamed(t, "fix", "secure")
	_, rw := openDomain(t, name, driver.ReadWrite)
	if _, err := rw.CreateSnapshot(ctx, "<domainsnapshot><name>s1</name></domainsnapshot>", 0); err != nil {
		t.Fatal(err)
	}
	if _, err := rw.CreateCheckpoint(ctx, "<domaincheckpoint><name>c1</name><creationTime>1700000000</creationTime>"+
		"<disks><disk name='vda' checkpoint='bitmap' bitmap='c1'/><disk name='vdb' checkpoint='bitmap' bitmap='c1'/></disks></domaincheckpoint>",
		driver.CheckpointCreateRedefine); err != nil {
		t.Fatal(err)
	}
	_, ro := openDomain(t, name, driver.ReadOnly)
	native := func(kind conf.Kind, n string) string {
		var (
			x   string
			err error
		)
		if kind == conf.Snapshot {
			var h *libvirt.DomainSnapshot
			if h, err = raw.SnapshotLookupByName(n, 0); err == nil {
				x, err = h.GetXMLDesc(libvirt.DOMAIN_SNAPSHOT_XML_SECURE)
				h.Free()
			}
		} else {
			var h *libvirt.DomainCheckpoint
			if h, err = raw.CheckpointLookupByName(n, 0); err == nil {
				x, err = h.GetXMLDesc(libvirt.DOMAIN_CHECKPOINT_XML_SECURE)
				h.Free()
			}
		}
		if err != nil {
			t.Fatalf("libvirt's own %s %s XML: %v", kind, n, err)
		}
		return x
	}
	for _, m := range []struct {
		kind conf.Kind
		name string
	}{{conf.Snapshot, "s1"}, {conf.Checkpoint, "c1"}} {
		got, err := rw.XML(ctx, m.kind, m.name, driver.XMLSecure)
		if err != nil {
			t.Errorf("read-write driver, %s %s with XMLSecure: %v", m.kind, m.name, err)
		} else if want := native(m.kind, m.name); got != want {
			t.Errorf("read-write driver, %s %s with XMLSecure:\n%s\nwant libvirt's\n%s", m.kind, m.name, got, want)
		}
		if _, err := rw.XML(ctx, m.kind, m.name, 0); err != nil {
			t.Errorf("read-write driver, %s %s: %v", m.kind, m.name, err)
		}
		_, err = ro.XML(ctx, m.kind, m.name, driver.XMLSecure)
		var le libvirt.Error
		if !errors.As(err, &le) || le.Code != libvirt.ERR_OPERATION_DENIED ||
			!strings.Contains(err.Error(), "with secure flag") || !strings.HasSuffix(err.Error(), "XMLSecure needs a driver opened read-write") {
			t.Errorf("read-only driver, %s %s with XMLSecure: %v, want libvirt's refusal with a hint", m.kind, m.name, err)
		}
	}
}
