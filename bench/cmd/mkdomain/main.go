// Command mkdomain builds a throw-away domain for the side-by-side benchmark (bench/run): a
// shut-off QEMU domain (type='qemu', 64 MiB, two qcow2 disks vda and vdb) with N snapshots and M
// checkpoints created by redefinition, which writes only metadata and takes a millisecond each
// where a real snapshot would take seconds.
//
// Every snapshot embeds the domain's own XML (about 1.7 KB per document, as libvirt writes for
// a real snapshot of this domain), so a list has to move the same bytes as it would on a real
// guest. The tree comes in blocks of 300 moments: each block is a chain in which every third
// moment also gets a side leaf, and block k > 0 hangs below moment k-1 of block 0. So it has
// branches, leaves and depth (up to about 400), and its depth does not grow with its size: the
// text of a --tree listing grows with moments × depth (for virsh as for vmoments), so a tree
// whose depth grew with its size would make every tree listing quadratic by construction.
// The last snapshot is made current.
//
//	mkdomain -name vmoments-test-bench-2000 -dir /tmp/x -snapshots 2000 -checkpoints 2000
//
// The name must start with vmoments-test-: the command refuses to touch any other domain.
// Removing the domain is the caller's job (virsh undefine --snapshots-metadata
// --checkpoints-metadata), so a crash of this command leaves nothing the caller cannot clean.
package main

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"libvirt.org/go/libvirt"
)

func main() {
	uri := flag.String("c", "qemu:///system", "libvirt URI")
	name := flag.String("name", "", "domain name (must start with vmoments-test-)")
	dir := flag.String("dir", "", "directory for the two qcow2 disk images")
	snaps := flag.Int("snapshots", 0, "number of snapshots to redefine")
	cps := flag.Int("checkpoints", 0, "number of checkpoints to redefine")
	flag.Parse()
	if err := run(*uri, *name, *dir, *snaps, *cps); err != nil {
		fmt.Fprintln(os.Stderr, "mkdomain:", err)
		os.Exit(1)
	}
}

func run(uri, name, dir string, snaps, cps int) error {
	if !strings.HasPrefix(name, "vmoments-test-") {
		return fmt.Errorf("domain name %q does not start with vmoments-test-", name)
	}
	if dir == "" {
		return fmt.Errorf("-dir is required")
	}
	conn, err := libvirt.NewConnect(uri)
	if err != nil {
		return fmt.Errorf("connect %s: %w", uri, err)
	}
	defer conn.Close()
	dom, err := define(conn, name, dir)
	if err != nil {
		return err
	}
	defer dom.Free()
	domXML, err := dom.GetXMLDesc(0)
	if err != nil {
		return fmt.Errorf("domain %s: get XML: %w", name, err)
	}
	start := time.Now()
	for i := range snaps {
		flags := libvirt.DOMAIN_SNAPSHOT_CREATE_REDEFINE
		if i == snaps-1 {
			flags |= libvirt.DOMAIN_SNAPSHOT_CREATE_CURRENT
		}
		h, err := dom.CreateSnapshotXML(snapshotXML(i, domXML), flags)
		if err != nil {
			return fmt.Errorf("domain %s: redefine snapshot s%d: %w", name, i, err)
		}
		h.Free()
	}
	if snaps > 0 {
		fmt.Fprintf(os.Stderr, "mkdomain: %s: %d snapshots redefined in %v (%d bytes of XML each)\n",
			name, snaps, time.Since(start).Round(time.Millisecond), len(snapshotXML(snaps-1, domXML)))
	}
	start = time.Now()
	for i := range cps {
		h, err := dom.CreateCheckpointXML(checkpointXML(i, domXML), libvirt.DOMAIN_CHECKPOINT_CREATE_REDEFINE)
		if err != nil {
			return fmt.Errorf("domain %s: redefine checkpoint c%d: %w", name, i, err)
		}
		h.Free()
	}
	if cps > 0 {
		fmt.Fprintf(os.Stderr, "mkdomain: %s: %d checkpoints redefined in %v (%d bytes of XML each)\n",
			name, cps, time.Since(start).Round(time.Millisecond), len(checkpointXML(cps-1, domXML)))
	}
	return nil
}

// define creates the two disk images and defines the domain.
func define(conn *libvirt.Connect, name, dir string) (*libvirt.Domain, error) {
	var disks strings.Builder
	for _, dev := range []string{"vda", "vdb"} {
		file := filepath.Join(dir, name+"-"+dev+".qcow2")
		if out, err := exec.Command("qemu-img", "create", "-q", "-f", "qcow2", file, "16M").CombinedOutput(); err != nil {
			return nil, fmt.Errorf("qemu-img create %s: %v: %s", file, err, out)
		}
		fmt.Fprintf(&disks, "<disk type='file' device='disk'><driver name='qemu' type='qcow2'/><source file='%s'/><target dev='%s' bus='virtio'/></disk>", file, dev)
	}
	dom, err := conn.DomainDefineXML(fmt.Sprintf(`<domain type='qemu'><name>%s</name><memory unit='MiB'>64</memory><vcpu>1</vcpu>
<os><type arch='x86_64'>hvm</type></os><devices>%s</devices></domain>`, name, disks.String()))
	if err != nil {
		return nil, fmt.Errorf("define domain %s: %w", name, err)
	}
	return dom, nil
}

// block is the number of moments in one block of the tree.
const block = 300

// parent is the tree's shape: blocks of a chain where every third moment also gets a side
// leaf; the first moment of block k > 0 hangs below moment k-1 of block 0.
func parent(prefix string, i int) string {
	b, j := i/block, i%block
	switch {
	case i == 0:
		return ""
	case j == 0:
		return fmt.Sprintf("%s%d", prefix, (b-1)%block)
	case j%3 == 0:
		return fmt.Sprintf("%s%d", prefix, i-1)
	default:
		return fmt.Sprintf("%s%d", prefix, b*block+(j-1)/3*3)
	}
}

func parentElem(p string) string {
	if p == "" {
		return ""
	}
	return "<parent><name>" + p + "</name></parent>\n  "
}

// snapshotXML is snapshot s<i> as libvirt writes an internal snapshot of a shut-off domain.
func snapshotXML(i int, domXML string) string {
	return fmt.Sprintf(`<domainsnapshot>
  <name>s%d</name>
  <state>shutoff</state>
  %s<creationTime>%d</creationTime>
  <memory snapshot='no'/>
  <disks>
    <disk name='vda' snapshot='internal'/>
    <disk name='vdb' snapshot='internal'/>
  </disks>
  %s</domainsnapshot>
`, i, parentElem(parent("s", i)), 1700000000+i, domXML)
}

// checkpointXML is checkpoint c<i> covering both disks with a bitmap named after it.
func checkpointXML(i int, domXML string) string {
	return fmt.Sprintf(`<domaincheckpoint>
  <name>c%d</name>
  %s<creationTime>%d</creationTime>
  <disks>
    <disk name='vda' checkpoint='bitmap' bitmap='c%d'/>
    <disk name='vdb' checkpoint='bitmap' bitmap='c%d'/>
  </disks>
  %s</domaincheckpoint>
`, i, parentElem(parent("c", i)), 1700000000+i, i, i, domXML)
}
