//go:build integration && cgo

package memory_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"libvirt.org/go/libvirt"

	"github.com/vmoments/vmoments/driver"
	"github.com/vmoments/vmoments/driver/drivertest"
	"github.com/vmoments/vmoments/driver/memory"
	_ "github.com/vmoments/vmoments/driver/qemu"
)

// TestConformanceAgainstQEMU runs the conformance suite on the memory driver with its own
// (QEMU-like) capabilities and qemu:///system as the reference: what the test driver cannot
// run is compared too (snapshots next to checkpoints, metadata-only snapshot deletes, checkpoints
// redefined on a guest that does not run). Each scenario's reference is a throwaway shut-off
// guest with two qcow2 disks; the memory driver's domain is alike (shut off, vda and vdb).
// Deletes with children reach libvirt through vmoments' QEMU driver only (one by one).
func TestConformanceAgainstQEMU(t *testing.T) {
	ref := drivertest.Config{
		Fresh: func(t *testing.T) drivertest.Place {
			return drivertest.Place{Open: opener("qemu:///system"), Domain: throwaway(t), Disks: []string{"vda", "vdb"}}
		},
		ListEvery: 64,
	}
	drivertest.Run(t, drivertest.Config{
		Fresh: func(t *testing.T) drivertest.Place {
			srv, err := memory.New(memory.Config{Domains: []memory.DomainConfig{{Name: "guest", State: driver.DomainShutoff, Disks: []string{"vda", "vdb"}}}})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(srv.Close)
			return drivertest.Place{Open: opener(srv.URI()), Domain: "guest", Disks: []string{"vda", "vdb"}}
		},
		ListEvery: 64,
		Reference: &ref,
	})
}

// throwaway defines a shut-off QEMU guest vmoments-test-memory-PID-N with two qcow2 disks and
// undefines it, with its moments' metadata, when t ends.
func throwaway(t *testing.T) string {
	t.Helper()
	conn, err := libvirt.NewConnect("qemu:///system")
	if err != nil {
		t.Fatalf("connect qemu:///system: %v (start a daemon with scripts/libvirtd-up)", err)
	}
	dir := t.TempDir()
	for _, d := range []string{"vda", "vdb"} {
		if out, err := exec.Command("qemu-img", "create", "-q", "-f", "qcow2", filepath.Join(dir, d+".qcow2"), "16M").CombinedOutput(); err != nil {
			t.Fatalf("qemu-img: %v: %s", err, out)
		}
	}
	seq++
	name := fmt.Sprintf("vmoments-test-memory-%d-%d", os.Getpid(), seq)
	disk := func(dev string) string {
		return fmt.Sprintf(`<disk type='file' device='disk'><driver name='qemu' type='qcow2'/><source file='%s/%s.qcow2'/><target dev='%s' bus='virtio'/></disk>`, dir, dev, dev)
	}
	dom, err := conn.DomainDefineXML(fmt.Sprintf(`<domain type='qemu'><name>%s</name><memory unit='MiB'>64</memory><vcpu>1</vcpu>
<os><type arch='x86_64'>hvm</type></os><devices>%s%s</devices></domain>`, name, disk("vda"), disk("vdb")))
	if err != nil {
		t.Fatalf("define %s: %v", name, err)
	}
	t.Cleanup(func() {
		if err := dom.UndefineFlags(libvirt.DOMAIN_UNDEFINE_SNAPSHOTS_METADATA | libvirt.DOMAIN_UNDEFINE_CHECKPOINTS_METADATA); err != nil {
			t.Errorf("undefine %s: %v", name, err)
		}
		dom.Free()
		conn.Close()
	})
	return name
}

var seq int
