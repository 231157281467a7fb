package test_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"libvirt.org/go/libvirt"

	"github.com/vmoments/vmoments/conf"
	"github.com/vmoments/vmoments/driver"
	"github.com/vmoments/vmoments/driver/drivertest"
	_ "github.com/vmoments/vmoments/driver/test"
)

var ctx = context.Background()

// demoURI is test:///ABS/PATH of examples/demo.xml.
func demoURI(t testing.TB) string {
	abs, err := filepath.Abs("../../examples/demo.xml")
	if err != nil {
		t.Fatal(err)
	}
	return "test://" + abs
}

func open(t testing.TB, uri string, mode driver.Mode) driver.Driver {
	t.Helper()
	drv, err := driver.Open(ctx, uri, mode)
	if err != nil {
		t.Fatalf("Open(%s): %v", uri, err)
	}
	t.Cleanup(func() { drv.Close() })
	return drv
}

func domain(t testing.TB, drv driver.Driver, name string) driver.Domain {
	t.Helper()
	dom, err := drv.Domain(ctx, name)
	if err != nil {
		t.Fatalf("Domain(%s): %v", name, err)
	}
	return dom
}

// opener opens uri with the mode asked.
func opener(uri string) func(driver.Mode) (driver.Driver, error) {
	return func(mode driver.Mode) (driver.Driver, error) { return driver.Open(ctx, uri, mode) }
}

// TestConformance runs the conformance suite: the demo node file as it is and changed, and
// every change scenario on test:///default's domain "test" (running, one disk vda). Each
// scenario's place is a state of its own: libvirt keeps test:///default's state while a
// connection of the process to it is open, and the suite closes its connections when a
// scenario ends.
func TestConformance(t *testing.T) {
	drivertest.Run(t, drivertest.Config{
		Fresh: func(t *testing.T) drivertest.Place {
			return drivertest.Place{Open: opener("test:///default"), Domain: "test", Disks: []string{"vda"}}
		},
		Running: true,
		States:  []drivertest.State{{Name: "examples/demo.xml", Open: opener(demoURI(t))}},
	})
}

// TestTestDriverLimits checks that the test driver's refusals keep libvirt's message, add why,
// name the moment (or say "new" for XML without a name), and keep libvirt's error reachable.
func TestTestDriverLimits(t *testing.T) {
	node := filepath.Join(t.TempDir(), "node.xml")
	if err := os.WriteFile(node, []byte(`<node><domain type='test' xmlns:test='http://libvirt.org/schemas/domain/test/1.0'>
<name>off</name><uuid>11111111-2222-3333-4444-555555555555</uuid><memory>1048576</memory><vcpu>1</vcpu>
<os><type arch='i686'>hvm</type></os><test:runstate>5</test:runstate></domain></node>`), 0o644); err != nil {
		t.Fatal(err)
	}
	drv := open(t, "test:///default", driver.ReadWrite)
	dom := domain(t, drv, "test")
	off := domain(t, open(t, "test://"+node, driver.ReadWrite), "11111111-2222-3333-4444-555555555555")
	const (
		mixed    = "This is a limit of libvirt's test driver: a domain cannot have snapshots and checkpoints at the same time (libvirt's QEMU driver has no such limit)"
		snapshot = `test:///default: domain "test": `
	)
	tests := []struct {
		name string
		do   func() error
		want string
	}{
		{"disk-only snapshot", func() error {
			_, err := dom.CreateSnapshot(ctx, "<domainsnapshot><name>x</name></domainsnapshot>", driver.SnapshotCreateDiskOnly)
			return err
		}, snapshot + `snapshot "x": unsupported flags (0x10) in function testDomainSnapshotCreateXML. This is a limit of libvirt's test driver: its snapshot create refuses the flags DISK_ONLY, REUSE_EXT and NO_METADATA`},
		{"disk-only snapshot without a name", func() error {
			_, err := dom.CreateSnapshot(ctx, "<domainsnapshot/>", driver.SnapshotCreateDiskOnly)
			return err
		}, snapshot + `new snapshot: unsupported flags (0x10) in function testDomainSnapshotCreateXML. This is a limit of libvirt's test driver: its snapshot create refuses the flags DISK_ONLY, REUSE_EXT and NO_METADATA`},
		{"checkpoint of an inactive domain", func() error {
			_, err := off.CreateCheckpoint(ctx, "<domaincheckpoint><name>c</name></domaincheckpoint>", 0)
			return err
		}, `test://` + node + `: domain "off": checkpoint "c": Operation not supported: cannot create checkpoint for inactive domain. This is a limit of libvirt's test driver: it creates and redefines checkpoints only on a running domain`},
		{"snapshot while a checkpoint exists", func() error {
			if _, err := dom.CreateCheckpoint(ctx, "<domaincheckpoint><name>c1</name></domaincheckpoint>", 0); err != nil {
				return err
			}
			_, err := dom.CreateSnapshot(ctx, "<domainsnapshot><name>s1</name></domainsnapshot>", 0)
			return err
		}, snapshot + `snapshot "s1": Operation not supported: cannot create snapshot while checkpoint exists. ` + mixed},
		{"metadata-only snapshot delete", func() error {
			if err := dom.Delete(ctx, conf.Checkpoint, "c1", 0); err != nil {
				return err
			}
			if _, err := dom.CreateSnapshot(ctx, "<domainsnapshot><name>s1</name></domainsnapshot>", 0); err != nil {
				return err
			}
			return dom.Delete(ctx, conf.Snapshot, "s1", driver.DeleteMetadataOnly)
		}, snapshot + `snapshot "s1": unsupported flags (0x2) in function testDomainSnapshotDelete. This is a limit of libvirt's test driver: its snapshot delete refuses METADATA_ONLY`},
		{"checkpoint next to snapshots", func() error {
			_, err := dom.CreateCheckpoint(ctx, "<domaincheckpoint><name>c1</name></domaincheckpoint>", 0)
			return err
		}, snapshot + `checkpoint "c1": Operation not supported: cannot create checkpoint while snapshot exists. ` + mixed},
		{"checkpoint without a name next to snapshots", func() error {
			_, err := dom.CreateCheckpoint(ctx, "<domaincheckpoint/>", 0)
			return err
		}, snapshot + `new checkpoint: Operation not supported: cannot create checkpoint while snapshot exists. ` + mixed},
		{"missing moment", func() error {
			return dom.Delete(ctx, conf.Snapshot, "nope", 0)
		}, snapshot + `snapshot "nope": Domain snapshot not found: no domain snapshot with matching name 'nope'`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.do()
			if err == nil || err.Error() != tt.want {
				t.Fatalf("err = %v\nwant   %s", err, tt.want)
			}
			var le libvirt.Error
			if !errors.As(err, &le) {
				t.Errorf("libvirt.Error not reachable with errors.As in %v", err)
			}
		})
	}
	drivertest.CheckState(t, drv, dom, conf.Snapshot, "")
}
