//go:build integration

package qemu_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"libvirt.org/go/libvirt"

	"github.com/vmoments/vmoments/conf"
	"github.com/vmoments/vmoments/driver"
)

// TestStaleHandle is the stale handle an embedding program met before the refresh was exact
// (it fetched only names it had not seen): load a domain's snapshots with List, let someone
// else redefine one in place with a new parent and a description (virsh snapshot-create
// --redefine, what virsh snapshot-edit does), and List again on the same handle: it must report
// the new parent and the description, as a new handle does. It uses only the driver API that
// predates the exact refresh, so that it runs on the code before it too, where it fails.
func TestStaleHandle(t *testing.T) {
	ctx := context.Background()
	conn, err := libvirt.NewConnect("qemu:///system")
	if err != nil {
		t.Fatalf("connect: %v (start a daemon with scripts/libvirtd-up)", err)
	}
	defer conn.Close()
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	img := filepath.Join(dir, "vda.qcow2")
	if out, err := exec.Command("qemu-img", "create", "-q", "-f", "qcow2", img, "16M").CombinedOutput(); err != nil {
		t.Fatalf("qemu-img: %v: %s", err, out)
	}
	name := fmt.Sprintf("vmoments-test-stale-%d", os.Getpid())
	raw, err := conn.DomainDefineXML(fmt.Sprintf(`<domain type='qemu'><name>%s</name><memory unit='MiB'>64</memory><vcpu>1</vcpu>
<os><type arch='x86_64'>hvm</type></os><devices><disk type='file' device='disk'><driver name='qemu' type='qcow2'/>
<source file='%s'/><target dev='vda' bus='virtio'/></disk></devices></domain>`, name, img))
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := raw.UndefineFlags(libvirt.DOMAIN_UNDEFINE_SNAPSHOTS_METADATA); err != nil {
			t.Errorf("undefine %s: %v", name, err)
		}
		raw.Free()
	}()
	domXML, err := raw.GetXMLDesc(0)
	if err != nil {
		t.Fatal(err)
	}
	snapshot := func(n, parent, description string) string {
		p, d := "", ""
		if parent != "" {
			p = "<parent><name>" + parent + "</name></parent>"
		}
		if description != "" {
			d = "<description>" + description + "</description>"
		}
		return fmt.Sprintf("<domainsnapshot><name>%s</name>%s<state>shutoff</state>%s<creationTime>1700000000</creationTime>"+
			"<memory snapshot='no'/><disks><disk name='vda' snapshot='internal'/></disks>%s</domainsnapshot>", n, d, p, domXML)
	}
	for _, s := range [][2]string{{"a", ""}, {"b", "a"}, {"c", "b"}} {
		h, err := raw.CreateSnapshotXML(snapshot(s[0], s[1], ""), libvirt.DOMAIN_SNAPSHOT_CREATE_REDEFINE)
		if err != nil {
			t.Fatal(err)
		}
		h.Free()
	}

	drv, err := driver.Open(ctx, "qemu:///system", driver.ReadOnly)
	if err != nil {
		t.Fatal(err)
	}
	defer drv.Close()
	dom, err := drv.Domain(ctx, name)
	if err != nil {
		t.Fatal(err)
	}
	ms, err := dom.List(ctx, conf.Snapshot, "", 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) != 3 {
		t.Fatalf("listed %d snapshots, want 3", len(ms))
	}

	// Someone else: c now hangs below a, with a description.
	file := filepath.Join(dir, "c.xml")
	if err := os.WriteFile(file, []byte(snapshot("c", "a", "moved by someone else")), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("virsh", "-q", "-c", "qemu:///system", "snapshot-create", name, file, "--redefine").CombinedOutput(); err != nil {
		t.Fatalf("virsh snapshot-create --redefine: %v: %s", err, out)
	}

	ms, err = dom.List(ctx, conf.Snapshot, "", 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range ms {
		if m.Name() != "c" {
			continue
		}
		parent := ""
		if m.Parent() != nil {
			parent = m.Parent().Name()
		}
		if parent != "a" || m.Def().Parent != "a" || m.Def().Description != "moved by someone else" {
			t.Errorf("the kept handle serves c with parent %q (definition: %q) and description %q; "+
				"after the redefinition elsewhere they are %q and %q", parent, m.Def().Parent, m.Def().Description, "a", "moved by someone else")
		}
	}
	kids, err := dom.List(ctx, conf.Snapshot, "a", 0)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, k := range kids {
		names = append(names, k.Name())
	}
	if got := strings.Join(names, " "); got != "b c" && got != "c b" {
		t.Errorf("children of a on the kept handle: %q, want b and c", got)
	}
}
