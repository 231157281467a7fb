//go:build integration

package integration

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"libvirt.org/go/libvirt"
)

// systemURI is the daemon every test but the remote one talks to.
const systemURI = "qemu:///system"

// namePrefix starts the name of every domain these tests define. The process id that follows it
// lets a later run tell a leftover of a crashed run (its process is gone) from a domain another
// test process is still using; other packages' tests use "vmoments-test-" without "integ-", and
// the sweep never touches those.
const namePrefix = "vmoments-test-integ-"

// startHint ends every failure to reach the system daemon: the tests fail, they never skip.
const startHint = "no libvirtd answers on " + systemURI +
	": start one with scripts/libvirtd-up (as root; DEVELOPERS.md has the recipe), then run the tests again"

// guestSeq numbers the guests of this process so every name is unique.
var guestSeq atomic.Int64

func TestMain(m *testing.M) {
	if err := sweepLeftovers(systemURI); err != nil {
		// The tests themselves report an unreachable daemon with the hint; a sweep that
		// failed on a reachable one is worth a line but no reason to stop.
		fmt.Fprintf(os.Stderr, "integration: sweeping leftover %s* domains: %v\n", namePrefix, err)
	}
	os.Exit(m.Run())
}

// connect opens a read-write connection to uri and closes it when the test ends. It fails the
// test, never skips it, when the daemon does not answer.
func connect(t testing.TB, uri string) *libvirt.Connect {
	t.Helper()
	c, err := libvirt.NewConnect(uri)
	if err != nil {
		if uri == systemURI {
			t.Fatalf("connect %s: %v\n%s", uri, err, startHint)
		}
		t.Fatalf("connect %s: %v", uri, err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// guest is a throw-away QEMU domain: TCG, 64 MiB, no OS, two qcow2 disks vda and vdb in a
// directory of its own. It is undefined with all its snapshot and checkpoint metadata when the
// test ends, even when the test failed halfway.
type guest struct {
	t    testing.TB
	URI  string
	Conn *libvirt.Connect
	Dom  *libvirt.Domain
	Name string
	UUID string
	// Dir holds the disk images and the overlays of external snapshots.
	Dir string
	// Disks are the disk targets, in domain order.
	Disks []string
}

// newGuest defines a fresh domain on conn (which talks to uri). tag says which test made it.
func newGuest(t testing.TB, conn *libvirt.Connect, uri, tag string) *guest {
	t.Helper()
	name := fmt.Sprintf("%s%d-%s-%d", namePrefix, os.Getpid(), tag, guestSeq.Add(1))
	// A directory of our own rather than t.TempDir(): libvirt may leave root-owned overlays
	// there, and the domain must be gone before the directory is (cleanups run last-in first-out).
	dir, err := os.MkdirTemp("", "vmoments-integ-")
	if err != nil {
		t.Fatalf("guest %s: %v", name, err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	g := &guest{t: t, URI: uri, Conn: conn, Name: name, Dir: dir, Disks: []string{"vda", "vdb"}}
	for _, d := range g.Disks {
		out, err := exec.Command("qemu-img", "create", "-q", "-f", "qcow2", g.image(d), "64M").CombinedOutput()
		if err != nil {
			t.Fatalf("guest %s: qemu-img create %s: %v: %s", name, g.image(d), err, out)
		}
	}
	dom, err := conn.DomainDefineXML(g.domainXML())
	if err != nil {
		t.Fatalf("guest %s: define on %s: %v", name, uri, err)
	}
	t.Cleanup(func() {
		dom.Free()
		if err := removeDomain(uri, name); err != nil {
			t.Errorf("clean-up: %v", err)
		}
	})
	g.Dom = dom
	if g.UUID, err = dom.GetUUIDString(); err != nil {
		t.Fatalf("guest %s: uuid: %v", name, err)
	}
	return g
}

// image is the path of a disk's base image.
func (g *guest) image(disk string) string { return filepath.Join(g.Dir, disk+".qcow2") }

func (g *guest) domainXML() string {
	var b strings.Builder
	fmt.Fprintf(&b, "<domain type='qemu'>\n  <name>%s</name>\n", g.Name)
	b.WriteString("  <memory unit='MiB'>64</memory>\n  <vcpu>1</vcpu>\n")
	b.WriteString("  <os><type arch='x86_64'>hvm</type></os>\n  <on_poweroff>destroy</on_poweroff>\n  <devices>\n")
	for _, d := range g.Disks {
		fmt.Fprintf(&b, "    <disk type='file' device='disk'><driver name='qemu' type='qcow2'/>"+
			"<source file='%s'/><target dev='%s' bus='virtio'/></disk>\n", g.image(d), d)
	}
	b.WriteString("  </devices>\n</domain>\n")
	return b.String()
}

// Start boots the guest (it has no OS: SeaBIOS waits for a boot disk, which costs no CPU to speak of).
func (g *guest) Start() {
	g.t.Helper()
	if err := g.Dom.Create(); err != nil {
		g.t.Fatalf("start %s: %v", g.Name, err)
	}
}

// Stop pulls the plug.
func (g *guest) Stop() {
	g.t.Helper()
	if err := g.Dom.Destroy(); err != nil {
		g.t.Fatalf("destroy %s: %v", g.Name, err)
	}
}

// Pause suspends the running guest; Resume continues it.
func (g *guest) Pause() {
	g.t.Helper()
	if err := g.Dom.Suspend(); err != nil {
		g.t.Fatalf("suspend %s: %v", g.Name, err)
	}
}

// Resume continues a paused guest.
func (g *guest) Resume() {
	g.t.Helper()
	if err := g.Dom.Resume(); err != nil {
		g.t.Fatalf("resume %s: %v", g.Name, err)
	}
}

// XML returns the domain's current definition (live if it runs), the <domain> that libvirt
// embeds in the moments it creates.
func (g *guest) XML() string {
	g.t.Helper()
	x, err := g.Dom.GetXMLDesc(0)
	if err != nil {
		g.t.Fatalf("dumpxml %s: %v", g.Name, err)
	}
	return x
}

// removeDomain destroys and undefines the domain name on uri with all its snapshot and
// checkpoint metadata (metadata only: the images go with the guest's directory). A domain that
// is already gone is no error. It uses a connection of its own, so it works after the test's
// connection broke.
func removeDomain(uri, name string) error {
	conn, err := libvirt.NewConnect(uri)
	if err != nil {
		return fmt.Errorf("remove domain %s: connect %s: %w", name, uri, err)
	}
	defer conn.Close()
	dom, err := conn.LookupDomainByName(name)
	if err != nil {
		if isCode(err, libvirt.ERR_NO_DOMAIN) {
			return nil
		}
		return fmt.Errorf("remove domain %s on %s: %w", name, uri, err)
	}
	defer dom.Free()
	if active, err := dom.IsActive(); err == nil && active {
		if err := dom.Destroy(); err != nil && !isCode(err, libvirt.ERR_OPERATION_INVALID) {
			return fmt.Errorf("remove domain %s on %s: destroy: %w", name, uri, err)
		}
	}
	all := libvirt.DOMAIN_UNDEFINE_SNAPSHOTS_METADATA | libvirt.DOMAIN_UNDEFINE_CHECKPOINTS_METADATA |
		libvirt.DOMAIN_UNDEFINE_MANAGED_SAVE | libvirt.DOMAIN_UNDEFINE_NVRAM
	if err := dom.UndefineFlags(all); err == nil {
		return nil
	} else if isCode(err, libvirt.ERR_NO_DOMAIN) {
		return nil
	}
	// The slow way: every moment's metadata one by one, then the domain.
	if err := dropMetadata(dom); err != nil {
		return fmt.Errorf("remove domain %s on %s: %w", name, uri, err)
	}
	if err := dom.Undefine(); err != nil && !isCode(err, libvirt.ERR_NO_DOMAIN) {
		return fmt.Errorf("remove domain %s on %s: undefine: %w", name, uri, err)
	}
	return nil
}

// dropMetadata deletes every checkpoint's and snapshot's metadata, leaving the disks alone.
func dropMetadata(dom *libvirt.Domain) error {
	cps, err := dom.ListAllCheckpoints(0)
	if err != nil {
		return fmt.Errorf("list checkpoints: %w", err)
	}
	for _, c := range cps {
		if err := c.Delete(libvirt.DOMAIN_CHECKPOINT_DELETE_METADATA_ONLY); err != nil && !isCode(err, libvirt.ERR_NO_DOMAIN_CHECKPOINT) {
			return fmt.Errorf("delete checkpoint metadata: %w", err)
		}
		c.Free()
	}
	snaps, err := dom.ListAllSnapshots(0)
	if err != nil {
		return fmt.Errorf("list snapshots: %w", err)
	}
	for _, s := range snaps {
		if err := s.Delete(libvirt.DOMAIN_SNAPSHOT_DELETE_METADATA_ONLY); err != nil && !isCode(err, libvirt.ERR_NO_DOMAIN_SNAPSHOT) {
			return fmt.Errorf("delete snapshot metadata: %w", err)
		}
		s.Free()
	}
	return nil
}

// sweepLeftovers removes the domains that earlier runs of these tests left behind when they
// crashed: names with namePrefix whose process id no longer runs.
func sweepLeftovers(uri string) error {
	conn, err := libvirt.NewConnect(uri)
	if err != nil {
		return err
	}
	defer conn.Close()
	doms, err := conn.ListAllDomains(0)
	if err != nil {
		return fmt.Errorf("list domains on %s: %w", uri, err)
	}
	var errs []error
	for _, d := range doms {
		name, err := d.GetName()
		d.Free()
		if err != nil || !leftover(name) {
			continue
		}
		fmt.Fprintf(os.Stderr, "integration: removing %s, left behind by an earlier run\n", name)
		errs = append(errs, removeDomain(uri, name))
	}
	return errors.Join(errs...)
}

// leftover says whether name is one of ours from a process that no longer runs.
func leftover(name string) bool {
	rest, ok := strings.CutPrefix(name, namePrefix)
	if !ok {
		return false
	}
	pidText, _, _ := strings.Cut(rest, "-")
	pid, err := strconv.Atoi(pidText)
	if err != nil || pid <= 0 {
		return false
	}
	if pid == os.Getpid() {
		return false
	}
	return errors.Is(syscall.Kill(pid, 0), syscall.ESRCH)
}

// isCode says whether err is a libvirt error with the given code.
func isCode(err error, code libvirt.ErrorNumber) bool {
	var lerr libvirt.Error
	return errors.As(err, &lerr) && lerr.Code == code
}

// timed runs fn and logs how long it took; the README's figures come from these lines.
func timed(t testing.TB, what string, fn func()) time.Duration {
	t.Helper()
	start := time.Now()
	fn()
	d := time.Since(start)
	t.Logf("timing: %s: %v", what, d.Round(time.Millisecond))
	return d
}
