package memory_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vmoments/vmoments/conf"
	"github.com/vmoments/vmoments/driver"
	"github.com/vmoments/vmoments/driver/drivertest"
	"github.com/vmoments/vmoments/driver/memory"
	"github.com/vmoments/vmoments/momentlist"
)

var ctx = context.Background()

func newServer(t *testing.T, cfg memory.Config) *memory.Server {
	t.Helper()
	srv, err := memory.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	return srv
}

func openURI(t *testing.T, uri string, mode driver.Mode) driver.Driver {
	t.Helper()
	drv, err := driver.Open(ctx, uri, mode)
	if err != nil {
		t.Fatalf("Open(%s): %v", uri, err)
	}
	t.Cleanup(func() { drv.Close() })
	return drv
}

func lookup(t *testing.T, drv driver.Driver, ref string) driver.Domain {
	t.Helper()
	dom, err := drv.Domain(ctx, ref)
	if err != nil {
		t.Fatal(err)
	}
	return dom
}

func demoPath(t *testing.T) string {
	t.Helper()
	p, err := filepath.Abs("../../examples/demo.xml")
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestConformance runs the conformance suite without libvirt (it builds with CGO_ENABLED=0):
// the oracle is the server's own state, so it checks what the handles serve (loads,
// refreshes, the XML round trip, the checkpoint pointer, errors) against the server. That the
// server follows libvirt is what TestConformanceAgainstTestDriver checks, with cgo. Here the
// driver has its own capabilities, so the scenarios the test driver cannot run (mixed kinds,
// metadata-only snapshot deletes) run too, on a running domain and on a shut-off one.
func TestConformance(t *testing.T) {
	demo := demoPath(t)
	t.Run("running", func(t *testing.T) {
		drivertest.Run(t, drivertest.Config{
			Fresh: func(t *testing.T) drivertest.Place {
				srv := newServer(t, memory.Config{Domains: []memory.DomainConfig{memory.DefaultDomain()}})
				return drivertest.Place{Open: srvOpener(srv), Domain: "test", Disks: []string{"vda"}}
			},
			Running: true,
			States: []drivertest.State{{Name: "examples/demo.xml", Open: func(mode driver.Mode) (driver.Driver, error) {
				return driver.Open(ctx, "memory://"+demo, mode)
			}}},
		})
	})
	t.Run("shut off", func(t *testing.T) {
		drivertest.Run(t, drivertest.Config{
			Fresh: func(t *testing.T) drivertest.Place {
				srv := newServer(t, memory.Config{Domains: []memory.DomainConfig{{Name: "off", State: driver.DomainShutoff, Disks: []string{"vda", "vdb"}}}})
				return drivertest.Place{Open: srvOpener(srv), Domain: "off", Disks: []string{"vda", "vdb"}}
			},
		})
	})
}

func srvOpener(srv *memory.Server) func(driver.Mode) (driver.Driver, error) {
	return func(mode driver.Mode) (driver.Driver, error) { return driver.Open(ctx, srv.URI(), mode) }
}

// TestURIs: a server's URI opens connections to it until Close; memory:///default is shared
// while a connection is open, as test:///default; a node file opens a fresh copy each time.
func TestURIs(t *testing.T) {
	srv := newServer(t, memory.Config{Name: "uris", Domains: []memory.DomainConfig{{Name: "a"}}})
	if srv.URI() != "memory:///uris" {
		t.Errorf("URI = %q", srv.URI())
	}
	if _, err := memory.New(memory.Config{Name: "uris"}); err == nil {
		t.Error("a second server named uris was made")
	}
	drv := openURI(t, srv.URI(), driver.ReadWrite)
	if drv.URI() != srv.URI() {
		t.Errorf("URI() = %q", drv.URI())
	}
	srv.Close()
	if _, err := driver.Open(ctx, "memory:///uris", driver.ReadOnly); !errors.Is(err, driver.ErrConnection) {
		t.Errorf("Open after Close = %v, want ErrConnection", err)
	}
	if _, err := lookup(t, drv, "a").List(ctx, conf.Snapshot, "", 0); err != nil {
		t.Errorf("a connection open before Close stops working: %v", err)
	}

	d1 := openURI(t, "memory:///default", driver.ReadWrite)
	if _, err := lookup(t, d1, "test").CreateSnapshot(ctx, "<domainsnapshot><name>s1</name></domainsnapshot>", 0); err != nil {
		t.Fatal(err)
	}
	d2 := openURI(t, "memory:///default", driver.ReadOnly)
	if ms, err := lookup(t, d2, "test").List(ctx, conf.Snapshot, "", 0); err != nil || len(ms) != 1 {
		t.Errorf("a second connection to memory:///default sees %d snapshots (%v), want the first one's 1", len(ms), err)
	}
	d1.Close()
	d2.Close()
	d3 := openURI(t, "memory:///default", driver.ReadOnly)
	if ms, err := lookup(t, d3, "test").List(ctx, conf.Snapshot, "", 0); err != nil || len(ms) != 0 {
		t.Errorf("memory:///default after every connection closed: %d snapshots (%v), want a fresh state", len(ms), err)
	}
	for _, uri := range []string{"memory://host/x", "memory:///no-such-server", "memory:///no/such/node.xml"} {
		if _, err := driver.Open(ctx, uri, driver.ReadOnly); !errors.Is(err, driver.ErrConnection) {
			t.Errorf("Open(%s) = %v, want ErrConnection", uri, err)
		}
	}
}

// TestNodeFile: the demo node file as the test driver reads it, and the test driver's refusals
// of a node file.
func TestNodeFile(t *testing.T) {
	doms, err := memory.NodeFile(demoPath(t))
	if err != nil {
		t.Fatal(err)
	}
	if len(doms) != 2 || doms[0].Name != "demo" || doms[0].State != driver.DomainShutoff || doms[1].Name != "webserver" ||
		doms[1].State != driver.DomainRunning || doms[0].CurrentSnapshot != "data disks only" {
		t.Fatalf("NodeFile(demo.xml) = %d domains: %+v", len(doms), doms)
	}
	drv := openURI(t, "memory://"+demoPath(t), driver.ReadOnly)
	infos, err := drv.Domains(ctx)
	if err != nil || len(infos) != 2 || infos[0].ID != -1 || infos[1].ID != 1 || infos[0].UUID != "d3e0c0de-0000-4000-8000-00000000d3e0" {
		t.Errorf("Domains = %+v, %v", infos, err)
	}
	cur, rule, err := lookup(t, drv, "demo").Current(ctx, conf.Snapshot)
	if err != nil || cur == nil || cur.Name() != "data disks only" || rule != momentlist.CurrentLoaded {
		t.Errorf("current = %v (%v), %v; want data disks only, loaded", cur, rule, err)
	}
	snap := func(name, parent, active string) string {
		p := ""
		if parent != "" {
			p = "<parent><name>" + parent + "</name></parent>"
		}
		a := ""
		if active != "" {
			a = "<active>" + active + "</active>"
		}
		return "<test:domainsnapshot><name>" + name + "</name><state>running</state>" + p + "<creationTime>5</creationTime>" + a + "</test:domainsnapshot>"
	}
	for _, c := range []struct {
		name, snaps, want string
	}{
		{"no active", snap("a", "", ""), "Could not find 'active' element"},
		{"two current", snap("a", "", "1") + snap("b", "a", "1"), "more than one snapshot claims to be active"},
		{"missing parent", snap("a", "nope", "0"), "Snapshots have inconsistent relations for domain d"},
	} {
		p := filepath.Join(t.TempDir(), "node.xml")
		x := `<node><domain type='test' xmlns:test='http://libvirt.org/schemas/domain/test/1.0'><name>d</name>` + c.snaps + `</domain></node>`
		if err := os.WriteFile(p, []byte(x), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := memory.NodeFile(p); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want %q", c.name, err, c.want)
		}
	}
}

// TestPreload: moments given in a DomainConfig load as libvirtd loads its files.
func TestPreload(t *testing.T) {
	srv := newServer(t, memory.Config{Domains: []memory.DomainConfig{{
		Name: "p", Disks: []string{"vda", "vdb"},
		Snapshots: []string{
			"<domainsnapshot><name>a</name><state>shutoff</state><creationTime>1</creationTime></domainsnapshot>",
			"<domainsnapshot><name>b</name><parent><name>a</name></parent><state>running</state><creationTime>2</creationTime><active>1</active></domainsnapshot>",
		},
		Checkpoints: []string{
			"<domaincheckpoint><name>c1</name><creationTime>1</creationTime></domaincheckpoint>",
			"<domaincheckpoint><name>c2</name><parent><name>c1</name></parent><creationTime>2</creationTime></domaincheckpoint>",
		},
	}}})
	dom := lookup(t, srv.Open(driver.ReadOnly), "p")
	if cur, rule, err := dom.Current(ctx, conf.Snapshot); err != nil || cur.Name() != "b" || rule != momentlist.CurrentLoaded {
		t.Errorf("current snapshot %v (%v), %v; want b by <active>", cur, rule, err)
	}
	if cur, rule, err := dom.Current(ctx, conf.Checkpoint); err != nil || cur.Name() != "c2" || rule != momentlist.CurrentLoadedLeaf {
		t.Errorf("current checkpoint %v (%v), %v; want the chain's leaf c2", cur, rule, err)
	}
	x, err := dom.XML(ctx, conf.Snapshot, "b", 0)
	if err != nil || strings.Contains(x, "<active>") {
		t.Errorf("XML of b keeps <active> (libvirt's files have it, its API does not): %s %v", x, err)
	}
	if _, err := memory.New(memory.Config{Domains: []memory.DomainConfig{{Name: "x", Snapshots: []string{"<domainsnapshot><name>a</name></domainsnapshot>"}}}}); err == nil ||
		!strings.Contains(err.Error(), "missing creationTime") {
		t.Errorf("a snapshot without creationTime preloads: %v", err)
	}
	if _, err := memory.New(memory.Config{Domains: []memory.DomainConfig{{Name: "x"}, {Name: "x"}}}); err == nil {
		t.Error("two domains named x")
	}
}

// TestBeyondTheTestDriver: what the comparison with libvirt's test driver cannot cover, since
// the test driver refuses it: disk-only snapshots, NO_METADATA, HALT, a revert that starts the
// domain, checkpoints of a shut-off domain, and a server that declares the test driver's limits.
func TestBeyondTheTestDriver(t *testing.T) {
	srv := newServer(t, memory.Config{Domains: []memory.DomainConfig{
		{Name: "off", State: driver.DomainShutoff, Disks: []string{"vda", "vdb"}},
		{Name: "on", Disks: []string{"vda"}},
	}})
	drv := srv.Open(driver.ReadWrite)
	off, on := lookup(t, drv, "off"), lookup(t, drv, "on")

	if _, err := off.CreateSnapshot(ctx, "<domainsnapshot><name>base</name></domainsnapshot>", 0); err != nil {
		t.Fatal(err)
	}
	if _, err := off.CreateSnapshot(ctx, "<domainsnapshot><name>ext</name><disks><disk name='vdb' snapshot='no'/></disks></domainsnapshot>",
		driver.SnapshotCreateDiskOnly); err != nil {
		t.Fatal(err)
	}
	def, err := off.Def(ctx, conf.Snapshot, "ext")
	if err != nil {
		t.Fatal(err)
	}
	if def.State != "disk-snapshot" || def.Parent != "base" || !def.IsExternal() || len(def.Disks) != 2 ||
		def.Disks[0] != (conf.DiskSpec{Name: "vda", Mode: "external", Source: "/var/lib/libvirt/images/off-vda.ext"}) || def.Disks[1].Mode != "no" {
		t.Errorf("disk-only snapshot: %+v", def)
	}
	if def.Memory.Mode != "no" {
		t.Errorf("disk-only snapshot's memory %q, want no", def.Memory.Mode)
	}
	base, _ := off.Def(ctx, conf.Snapshot, "base")
	if base.State != "shutoff" || base.Memory.Mode != "no" || len(base.Disks) != 2 || base.Disks[1].Mode != "internal" {
		t.Errorf("a shut-off domain's snapshot: %+v", base)
	}

	if name, err := on.CreateSnapshot(ctx, "<domainsnapshot><name>ghost</name></domainsnapshot>", driver.SnapshotCreateNoMetadata); err != nil || name != "ghost" {
		t.Errorf("NO_METADATA: %q, %v", name, err)
	}
	if _, err := on.Def(ctx, conf.Snapshot, "ghost"); !errors.Is(err, driver.ErrMomentNotFound) {
		t.Errorf("a NO_METADATA snapshot is listed: %v", err)
	}
	if _, err := on.CreateSnapshot(ctx, "<domainsnapshot><name>halted</name></domainsnapshot>", driver.SnapshotCreateHalt); err != nil {
		t.Fatal(err)
	}
	state := func(name string) driver.DomainInfo {
		infos, err := drv.Domains(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, i := range infos {
			if i.Name == name {
				return i
			}
		}
		t.Fatalf("no domain %s in %+v", name, infos)
		return driver.DomainInfo{}
	}
	if i := state("on"); i.State != driver.DomainShutoff || i.ID != -1 {
		t.Errorf("after HALT: %+v, want shut off", i)
	}
	if def, _ := on.Def(ctx, conf.Snapshot, "halted"); def == nil || def.State != "running" || def.Memory.Mode != "internal" {
		t.Errorf("the HALT snapshot: %+v", def)
	}
	if err := on.Revert(ctx, "halted", 0); err != nil {
		t.Fatal(err)
	}
	if i := state("on"); i.State != driver.DomainRunning || i.ID != 2 {
		t.Errorf("after reverting to a running snapshot: %+v, want running with a new ID", i)
	}
	if err := off.Revert(ctx, "base", driver.RevertPaused); err != nil {
		t.Fatal(err)
	}
	if i := state("off"); i.State != driver.DomainPaused || i.ID != 3 {
		t.Errorf("after a revert with RevertPaused: %+v", i)
	}

	// Checkpoints of a shut-off domain: redefined, not created; deleted by metadata only.
	srv2 := newServer(t, memory.Config{Domains: []memory.DomainConfig{{Name: "off", State: driver.DomainShutoff}}})
	cold := lookup(t, srv2.Open(driver.ReadWrite), "off")
	if _, err := cold.CreateCheckpoint(ctx, "<domaincheckpoint><name>c1</name></domaincheckpoint>", 0); err == nil ||
		err.Error() != srv2.URI()+`: domain "off": checkpoint "c1": Operation not supported: cannot create checkpoint for inactive domain` {
		t.Errorf("create on a shut-off domain: %v", err)
	}
	if _, err := cold.CreateCheckpoint(ctx, "<domaincheckpoint><name>c1</name><creationTime>5</creationTime></domaincheckpoint>", driver.CheckpointCreateRedefine); err != nil {
		t.Errorf("redefine on a shut-off domain: %v", err)
	}
	if err := cold.Delete(ctx, conf.Checkpoint, "c1", 0); err == nil || !strings.HasSuffix(err.Error(), "cannot delete checkpoint for inactive domain") {
		t.Errorf("a checkpoint delete with its bitmaps on a shut-off domain: %v", err)
	}
	if err := cold.Delete(ctx, conf.Checkpoint, "c1", driver.DeleteMetadataOnly); err != nil {
		t.Errorf("a metadata-only checkpoint delete: %v", err)
	}

	// The test driver's limits, declared.
	limits := driver.Capabilities{SnapshotCreate: driver.SnapshotCreateRedefine | driver.SnapshotCreateCurrent, SnapshotDelete: driver.DeleteChildren}
	srv3 := newServer(t, memory.Config{Domains: []memory.DomainConfig{{Name: "t"}}, Capabilities: &limits})
	drv3 := srv3.Open(driver.ReadWrite)
	if drv3.Capabilities() != limits {
		t.Errorf("Capabilities = %+v, want the configured %+v", drv3.Capabilities(), limits)
	}
	lim := lookup(t, drv3, "t")
	if _, err := lim.CreateSnapshot(ctx, "<domainsnapshot><name>x</name></domainsnapshot>", driver.SnapshotCreateDiskOnly); err == nil ||
		!strings.HasSuffix(err.Error(), "unsupported flags (0x10) in function memoryDomainSnapshotCreateXML") {
		t.Errorf("a refused flag: %v", err)
	}
	if _, err := lim.CreateSnapshot(ctx, "<domainsnapshot><name>x</name></domainsnapshot>", 0); err != nil {
		t.Fatal(err)
	}
	if _, err := lim.CreateCheckpoint(ctx, "<domaincheckpoint><name>c</name></domaincheckpoint>", 0); err == nil ||
		!strings.HasSuffix(err.Error(), "Operation not supported: cannot create checkpoint while snapshot exists") {
		t.Errorf("a checkpoint next to a snapshot without MixedKinds: %v", err)
	}
	if err := lim.Delete(ctx, conf.Snapshot, "x", driver.DeleteMetadataOnly); err == nil ||
		!strings.HasSuffix(err.Error(), "unsupported flags (0x2) in function memoryDomainSnapshotDelete") {
		t.Errorf("a refused delete flag: %v", err)
	}
}

// TestXML: the XML round-trips through conf, NO_DOMAIN leaves the domain out, and XML flags
// the kind lacks are refused.
func TestXML(t *testing.T) {
	srv := newServer(t, memory.Config{Domains: []memory.DomainConfig{memory.DefaultDomain()}})
	dom := lookup(t, srv.Open(driver.ReadWrite), "test")
	if _, err := dom.CreateCheckpoint(ctx, "<domaincheckpoint><name>c1</name><description>first</description></domaincheckpoint>", 0); err != nil {
		t.Fatal(err)
	}
	x, err := dom.XML(ctx, conf.Checkpoint, "c1", 0)
	if err != nil {
		t.Fatal(err)
	}
	def, err := conf.ParseCheckpoint([]byte(x), conf.ParseRedefine)
	if err != nil {
		t.Fatalf("%v\n%s", err, x)
	}
	again, err := def.Format()
	if err != nil || string(again) != x {
		t.Errorf("the XML does not round-trip through conf:\n%s\nformats back as\n%s (%v)", x, again, err)
	}
	if !def.HasDomain || def.Description != "first" || len(def.Disks) != 1 || def.Disks[0] != (conf.DiskSpec{Name: "vda", Mode: "bitmap", Bitmap: "c1"}) {
		t.Errorf("c1: %+v", def)
	}
	full, err := def.FullCheckpoint()
	if err != nil || full.Domain == nil || full.Domain.UUID != "6695eb01-f6a4-8304-79aa-97f2502e193f" {
		t.Errorf("the embedded domain: %v, %v", full, err)
	}
	bare, err := dom.XML(ctx, conf.Checkpoint, "c1", driver.CheckpointXMLNoDomain)
	if err != nil || strings.Contains(bare, "<domain ") || !strings.Contains(x, "<domain ") {
		t.Errorf("NO_DOMAIN: %s %v", bare, err)
	}
	if _, err := dom.XML(ctx, conf.Checkpoint, "c1", 8); err == nil || !strings.HasSuffix(err.Error(), "unsupported flags (0x8) in function memoryDomainCheckpointGetXMLDesc") {
		t.Errorf("an unknown XML flag: %v", err)
	}
}
