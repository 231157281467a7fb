//go:build integration

package qemutest

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/vmoments/vmoments/conf"
	"github.com/vmoments/vmoments/driver"
	_ "github.com/vmoments/vmoments/driver/qemu"
)

// group names the guests of this package's own tests.
const group = "qemutest"

func TestMain(m *testing.M) {
	removed, err := Sweep(SystemURI, group)
	for _, name := range removed {
		fmt.Fprintln(os.Stderr, "qemutest: removed", name, "left by an earlier run")
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "qemutest: sweep:", err)
	}
	os.Exit(m.Run())
}

// TestExample is the package doc's worked example, then the rest of a guest's life on the
// system daemon.
func TestExample(t *testing.T) {
	c := Connect(t, SystemURI)
	g := c.NewGuest(t, group, "current")
	if !strings.HasPrefix(g.Name, fmt.Sprintf("vmoments-test-%s-%d-current-", group, os.Getpid())) {
		t.Fatalf("guest name %q", g.Name)
	}
	g.Snapshot("s1", 0)
	g.Snapshot("s2", 0)
	g.Revert("s1", 0)
	g.WantSnapshots(map[string]string{"s1": "", "s2": "s1"}, "s1")

	ctx := context.Background()
	drv, err := driver.Open(ctx, g.URI, driver.ReadOnly)
	if err != nil {
		t.Fatal(err)
	}
	defer drv.Close()
	dom, err := drv.Domain(ctx, g.Name)
	if err != nil {
		t.Fatal(err)
	}
	cur, _, err := dom.Current(ctx, conf.Snapshot)
	if err != nil || cur == nil || cur.Name() != g.SnapshotTree().Current {
		t.Fatalf("vmoments' current snapshot %v (err %v), libvirt's %q", cur, err, g.SnapshotTree().Current)
	}

	// The safety rule: no snapshot delete with children reaches the shared daemon.
	for _, f := range []driver.DeleteFlags{driver.DeleteChildren, driver.DeleteChildrenOnly, driver.DeleteChildrenOnly | driver.DeleteMetadataOnly} {
		if err := g.TryDeleteSnapshot("s1", f); err == nil || !strings.Contains(err.Error(), "not sent") {
			t.Fatalf("delete with flags %#x on %s: err %v, want a refusal before libvirt", uint32(f), SystemURI, err)
		}
	}
	g.WantSnapshots(map[string]string{"s1": "", "s2": "s1"}, "s1")
	if got := g.SnapshotDescendants("s1"); !slices.Equal(got, []string{"s2"}) {
		t.Fatalf("descendants of s1: %q", got)
	}
	if x := g.DumpXML(conf.Snapshot, "s2"); !strings.Contains(x, "<name>s2</name>") || !strings.Contains(x, "<parent>") {
		t.Fatalf("dumpxml s2: %.300s", x)
	}
	if err := g.TrySnapshot(SnapshotRequest("s1"), 0); err == nil {
		t.Fatal("libvirt accepted a second snapshot s1")
	} else if le, ok := AsLibvirtError(err); !ok || !strings.Contains(le.Message, "already exists") {
		t.Fatalf("create of an existing name: %v (%+v)", err, le)
	}

	// A redefined tree beside the real snapshots, one of them current.
	domXML := g.XML()
	var ms []Moment
	for i, parent := range []string{"", "r0", "r1", "r0", "r3"} {
		name := fmt.Sprint("r", i)
		p := ""
		if parent != "" {
			p = "<parent><name>" + parent + "</name></parent>"
		}
		ms = append(ms, Moment{Name: name, Parent: parent, Current: i == 2, XML: fmt.Sprintf(
			"<domainsnapshot><name>%s</name><state>shutoff</state>%s<creationTime>%d</creationTime><memory snapshot='no'/>"+
				"<disks><disk name='vda' snapshot='internal'/><disk name='vdb' snapshot='internal'/></disks>%s</domainsnapshot>",
			name, p, 1700000000+i, domXML)})
	}
	g.Redefine(conf.Snapshot, ms, 3)
	g.WantSnapshots(map[string]string{"s1": "", "s2": "s1", "r0": "", "r1": "r0", "r2": "r1", "r3": "r0", "r4": "r3"}, "r2")
	if names, err := g.ListSnapshots(); err != nil || len(names) != 7 {
		t.Fatalf("ListSnapshots: %q, %v", names, err)
	}
	g.DeleteSnapshot("r4", driver.DeleteMetadataOnly)
	if cur := g.CurrentSnapshot(); cur != "r2" {
		t.Fatalf("current after deleting a leaf elsewhere: %q", cur)
	}
	g.DropMetadata()
	g.WantSnapshots(map[string]string{}, "")

	// Checkpoints need a running guest.
	g.Start()
	g.Checkpoint("c1", Disk{Name: "vda", Mode: "bitmap"}, Disk{Name: "vdb", Mode: "bitmap"})
	g.Checkpoint("c2", Disk{Name: "vda", Mode: "bitmap"}, Disk{Name: "vdb", Mode: "no"})
	g.WantCheckpoints(map[string]string{"c1": "", "c2": "c1"})
	g.DeleteCheckpoint("c1", driver.DeleteChildrenOnly)
	g.WantCheckpoints(map[string]string{"c1": ""})
	g.Pause()
	g.Resume()
	g.Stop()
	g.Remove()
	if slices.Contains(c.DomainNames(t), g.Name) {
		t.Fatalf("%s still defined after Remove", g.Name)
	}
}

// TestDaemon starts a private daemon, kills and restarts it, and sweeps it.
func TestDaemon(t *testing.T) {
	d := StartDaemon(t)
	c := d.Connect(t)
	if names := c.DomainNames(t); len(names) != 0 {
		t.Fatalf("a fresh private daemon has domains %q (it must not see the system daemon's)", names)
	}
	if v := c.Version(t); !strings.Contains(v, ".") {
		t.Fatalf("version %q", v)
	}
	g := c.NewGuest(t, group, "daemon")
	g.Snapshot("a", 0)
	g.Snapshot("b", 0)
	g.Revert("a", 0)
	g.Snapshot("c", 0)
	// A private daemon takes deletes with children (a -> {b, c} is not a shape that crashes).
	g.DeleteSnapshot("a", driver.DeleteChildrenOnly)
	g.WantSnapshots(map[string]string{"a": ""}, "a")

	// The same domain on both daemons (a migration's target).
	sys := Connect(t, SystemURI).NewGuest(t, group, "copy")
	cp := c.DefineCopy(t, sys)
	if cp.UUID != sys.UUID || cp.Name != sys.Name || cp.URI != d.URI {
		t.Fatalf("copy %+v of %+v", cp, sys)
	}

	if why := d.Dead(); why != "" {
		t.Fatalf("the daemon %s before it was killed", why)
	}
	d.Kill()
	if why := d.Dead(); !strings.Contains(why, "killed") {
		t.Fatalf("after Kill: %q, want it exited by a signal", why)
	}
	if err := d.Restart(t); err != nil {
		t.Fatal(err)
	}
	if why := d.Dead(); why != "" {
		t.Fatalf("the daemon %s after Restart; its log: %s", why, d.Log())
	}
	c2 := d.Connect(t)
	if got := c2.DomainNames(t); !slices.Equal(got, slices.Sorted(slices.Values([]string{g.Name, cp.Name}))) {
		t.Fatalf("domains after the restart: %q", got)
	}

	// The sweep: a guest of a process that is gone goes; ours, another group's and a
	// pid-less name stay. No pid exceeds the kernel's limit (at most 2^22), so none is gone
	// more surely than 99999999.
	keep := []string{
		"vmoments-test-other-99999999-sweep-1",
		fmt.Sprintf("vmoments-test-%s-sweep-1", group),
	}
	gone := fmt.Sprintf("vmoments-test-%s-99999999-sweep-1", group)
	for _, name := range append([]string{gone}, keep...) {
		x := &Guest{URI: d.URI, Name: name, Dir: t.TempDir(), Disks: []string{"vda"}, t: t, conn: c2}
		x.define(t, x.domainXML())
	}
	removed, err := Sweep(d.URI, group)
	if err != nil || !slices.Equal(removed, []string{gone}) {
		t.Fatalf("Sweep: removed %q, err %v; want only %s", removed, err, gone)
	}
	want := slices.Sorted(slices.Values(append(keep, g.Name, cp.Name)))
	if got := c2.DomainNames(t); !slices.Equal(got, want) {
		t.Fatalf("domains after the sweep: %q, want %q", got, want)
	}
}
