package qemutest

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"

	"libvirt.org/go/libvirt"
)

// SystemURI is the machine's libvirtd, which the tests share with everything else on it.
const SystemURI = "qemu:///system"

// namePrefix starts the name of every domain the package defines; the group, the process id
// and the test's tag follow. Other domains are never touched.
const namePrefix = "vmoments-test-"

// startHint ends every failure to reach the system daemon: the tests fail, they never skip.
const startHint = "no libvirtd answers on " + SystemURI +
	": start one with scripts/libvirtd-up (as root; DEVELOPERS.md has the recipe), then run the tests again"

// guestSeq numbers the guests of this process so every name is unique.
var guestSeq atomic.Int64

// A Conn is a read-write libvirt connection of a test.
type Conn struct {
	// URI is the URI the connection was opened with.
	URI  string
	conn *libvirt.Connect
	// private says the connection reaches a Daemon of this package, where snapshot deletes
	// with children may be sent.
	private bool
}

// Connect opens a read-write connection to uri and closes it when the test ends. It fails the
// test, never skips it, when the daemon does not answer; for SystemURI the message says how to
// start one.
func Connect(t testing.TB, uri string) *Conn {
	t.Helper()
	c, err := libvirt.NewConnect(uri)
	if err != nil {
		if uri == SystemURI {
			t.Fatalf("connect %s: %v\n%s", uri, err, startHint)
		}
		t.Fatalf("connect %s: %v", uri, err)
	}
	t.Cleanup(func() { c.Close() })
	return &Conn{URI: uri, conn: c}
}

// DomainNames returns the names of every domain libvirt has on the connection, active and
// inactive (virConnectListAllDomains), sorted.
func (c *Conn) DomainNames(t testing.TB) []string {
	t.Helper()
	doms, err := c.conn.ListAllDomains(0)
	if err != nil {
		t.Fatalf("list domains on %s: %v", c.URI, err)
	}
	names := make([]string, 0, len(doms))
	for _, d := range doms {
		name, err := d.GetName()
		d.Free()
		if err != nil {
			t.Fatalf("domain name on %s: %v", c.URI, err)
		}
		names = append(names, name)
	}
	slices.Sort(names)
	return names
}

// Version returns the libvirt version of the daemon behind the connection
// (virConnectGetLibVersion), as "9.0.0".
func (c *Conn) Version(t testing.TB) string {
	t.Helper()
	v, err := c.conn.GetLibVersion()
	if err != nil {
		t.Fatalf("libvirt version of %s: %v", c.URI, err)
	}
	return fmt.Sprintf("%d.%d.%d", v/1000000, v/1000%1000, v%1000)
}

// A Guest is a throw-away QEMU domain: TCG, 64 MiB, no OS, two qcow2 disks vda and vdb in a
// directory of its own. Its methods fail the test that made it when libvirt refuses, except the
// Try ones, which return libvirt's error.
type Guest struct {
	// URI is the connection's URI; Name and UUID are the domain's.
	URI, Name, UUID string
	// Dir holds the disk images; external snapshots may put their overlays there too.
	Dir string
	// Disks are the disk targets, in domain order: vda, vdb.
	Disks []string

	t    testing.TB
	conn *Conn
	dom  *libvirt.Domain
}

// NewGuest defines a fresh shut-off guest vmoments-test-GROUP-PID-TAG-N on c. GROUP names the
// test package (letters and digits: Sweep tells its guests by it), TAG the test. The guest is
// destroyed and undefined with all its snapshot and checkpoint metadata when the test ends,
// even when the test failed halfway; its directory goes after it.
func (c *Conn) NewGuest(t testing.TB, group, tag string) *Guest {
	t.Helper()
	if !validGroup(group) {
		t.Fatalf("guest group %q: want letters and digits only", group)
	}
	name := fmt.Sprintf("%s%s-%d-%s-%d", namePrefix, group, os.Getpid(), tag, guestSeq.Add(1))
	// A directory of our own rather than t.TempDir(): libvirt may leave root-owned overlays
	// there, and the domain must be gone before the directory is (cleanups run last-in first-out).
	dir, err := os.MkdirTemp("", "vmoments-"+group+"-")
	if err != nil {
		t.Fatalf("guest %s: %v", name, err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	g := &Guest{URI: c.URI, Name: name, Dir: dir, Disks: []string{"vda", "vdb"}, t: t, conn: c}
	for _, d := range g.Disks {
		img := filepath.Join(dir, d+".qcow2")
		if out, err := exec.Command("qemu-img", "create", "-q", "-f", "qcow2", img, "64M").CombinedOutput(); err != nil {
			t.Fatalf("guest %s: qemu-img create %s: %v: %s", name, img, err, out)
		}
	}
	g.define(t, g.domainXML())
	return g
}

// DefineCopy defines on c the same domain as g (its XML: same name, UUID and disks), as the
// target host of a migration has it, and returns it as a guest of c. It is undefined with its
// metadata when the test ends; its disks stay g's.
func (c *Conn) DefineCopy(t testing.TB, g *Guest) *Guest {
	t.Helper()
	cp := &Guest{URI: c.URI, Name: g.Name, Dir: g.Dir, Disks: slices.Clone(g.Disks), t: t, conn: c}
	cp.define(t, g.XML())
	if cp.UUID != g.UUID {
		t.Fatalf("copy of %s on %s has UUID %s, want %s", g.Name, c.URI, cp.UUID, g.UUID)
	}
	return cp
}

// define defines the domain from xml and registers its removal.
func (g *Guest) define(t testing.TB, xml string) {
	t.Helper()
	dom, err := g.conn.conn.DomainDefineXML(xml)
	if err != nil {
		t.Fatalf("guest %s: define on %s: %v", g.Name, g.URI, err)
	}
	t.Cleanup(func() {
		dom.Free()
		if err := removeDomain(g.URI, g.Name); err != nil {
			t.Errorf("clean-up: %v", err)
		}
	})
	g.dom = dom
	if g.UUID, err = dom.GetUUIDString(); err != nil {
		t.Fatalf("guest %s: uuid: %v", g.Name, err)
	}
}

func (g *Guest) domainXML() string {
	var b strings.Builder
	fmt.Fprintf(&b, "<domain type='qemu'>\n  <name>%s</name>\n", g.Name)
	b.WriteString("  <memory unit='MiB'>64</memory>\n  <vcpu>1</vcpu>\n")
	b.WriteString("  <os><type arch='x86_64'>hvm</type></os>\n  <on_poweroff>destroy</on_poweroff>\n  <devices>\n")
	for _, d := range g.Disks {
		fmt.Fprintf(&b, "    <disk type='file' device='disk'><driver name='qemu' type='qcow2'/>"+
			"<source file='%s'/><target dev='%s' bus='virtio'/></disk>\n", filepath.Join(g.Dir, d+".qcow2"), d)
	}
	b.WriteString("  </devices>\n</domain>\n")
	return b.String()
}

// Start boots the guest (it has no OS: SeaBIOS waits for a boot disk, which costs no CPU to
// speak of).
func (g *Guest) Start() {
	g.t.Helper()
	if err := g.dom.Create(); err != nil {
		g.t.Fatalf("start %s: %v", g.Name, err)
	}
}

// Stop pulls the plug (virDomainDestroy).
func (g *Guest) Stop() {
	g.t.Helper()
	if err := g.dom.Destroy(); err != nil {
		g.t.Fatalf("destroy %s: %v", g.Name, err)
	}
}

// Pause suspends the running guest.
func (g *Guest) Pause() {
	g.t.Helper()
	if err := g.dom.Suspend(); err != nil {
		g.t.Fatalf("suspend %s: %v", g.Name, err)
	}
}

// Resume continues a paused guest.
func (g *Guest) Resume() {
	g.t.Helper()
	if err := g.dom.Resume(); err != nil {
		g.t.Fatalf("resume %s: %v", g.Name, err)
	}
}

// XML returns the domain's current definition (the live one if it runs): the <domain> libvirt
// embeds in the moments it creates.
func (g *Guest) XML() string {
	g.t.Helper()
	x, err := g.dom.GetXMLDesc(0)
	if err != nil {
		g.t.Fatalf("dumpxml %s: %v", g.Name, err)
	}
	return x
}

// Remove destroys and undefines the guest now, with all its snapshot and checkpoint metadata,
// rather than when the test ends (the clean-up then finds it gone).
func (g *Guest) Remove() {
	g.t.Helper()
	if err := removeDomain(g.URI, g.Name); err != nil {
		g.t.Fatal(err)
	}
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
	if err := dom.UndefineFlags(all); err == nil || isCode(err, libvirt.ERR_NO_DOMAIN) {
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

// dropMetadata deletes every checkpoint's and snapshot's metadata, one moment at a time with
// METADATA_ONLY (never with CHILDREN), leaving the disks alone.
func dropMetadata(dom *libvirt.Domain) error {
	cps, err := dom.ListAllCheckpoints(0)
	if err != nil {
		return fmt.Errorf("list checkpoints: %w", err)
	}
	for _, c := range cps {
		err := c.Delete(libvirt.DOMAIN_CHECKPOINT_DELETE_METADATA_ONLY)
		c.Free()
		if err != nil && !isCode(err, libvirt.ERR_NO_DOMAIN_CHECKPOINT) {
			return fmt.Errorf("delete checkpoint metadata: %w", err)
		}
	}
	snaps, err := dom.ListAllSnapshots(0)
	if err != nil {
		return fmt.Errorf("list snapshots: %w", err)
	}
	for _, s := range snaps {
		err := s.Delete(libvirt.DOMAIN_SNAPSHOT_DELETE_METADATA_ONLY)
		s.Free()
		if err != nil && !isCode(err, libvirt.ERR_NO_DOMAIN_SNAPSHOT) {
			return fmt.Errorf("delete snapshot metadata: %w", err)
		}
	}
	return nil
}

// Sweep removes, from uri, the guests that earlier runs of the test package GROUP left behind
// when they died before their clean-up: domains vmoments-test-GROUP-PID-* whose process PID no
// longer runs (this process's own and those of test processes still running are kept, and no
// other domain is touched). It returns the names it removed. Call it from TestMain.
func Sweep(uri, group string) ([]string, error) {
	if !validGroup(group) {
		return nil, fmt.Errorf("sweep: guest group %q: want letters and digits only", group)
	}
	conn, err := libvirt.NewConnect(uri)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	doms, err := conn.ListAllDomains(0)
	if err != nil {
		return nil, fmt.Errorf("list domains on %s: %w", uri, err)
	}
	var removed []string
	var errs []error
	for _, d := range doms {
		name, err := d.GetName()
		d.Free()
		if err != nil || !leftover(name, group, processGone) {
			continue
		}
		if err := removeDomain(uri, name); err != nil {
			errs = append(errs, err)
			continue
		}
		removed = append(removed, name)
	}
	return removed, errors.Join(errs...)
}

// leftover says whether name is a guest of group from a process that gone says no longer runs.
func leftover(name, group string, gone func(pid int) bool) bool {
	rest, ok := strings.CutPrefix(name, namePrefix+group+"-")
	if !ok {
		return false
	}
	pidText, _, ok := strings.Cut(rest, "-")
	if !ok {
		return false
	}
	pid, err := strconv.Atoi(pidText)
	if err != nil || pid <= 0 || pid == os.Getpid() {
		return false
	}
	return gone(pid)
}

// processGone says whether no process pid exists.
func processGone(pid int) bool { return errors.Is(syscall.Kill(pid, 0), syscall.ESRCH) }

// validGroup says whether group can name guests: letters and digits, so that the process id is
// always the next dash-separated field of a name.
func validGroup(group string) bool {
	if group == "" {
		return false
	}
	for _, r := range group {
		if !('a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9') {
			return false
		}
	}
	return true
}

// A LibvirtError is what a test compares of a libvirt error: libvirt's error code
// (virErrorNumber) and its message.
type LibvirtError struct {
	Code    int
	Message string
}

// AsLibvirtError finds a libvirt error in err's chain (errors.As), as a vmoments error carries
// it and as the Try methods return it.
func AsLibvirtError(err error) (LibvirtError, bool) {
	var lerr libvirt.Error
	if !errors.As(err, &lerr) {
		return LibvirtError{}, false
	}
	return LibvirtError{Code: int(lerr.Code), Message: lerr.Message}, true
}

// isCode says whether err is a libvirt error with the given code.
func isCode(err error, code libvirt.ErrorNumber) bool {
	var lerr libvirt.Error
	return errors.As(err, &lerr) && lerr.Code == code
}
