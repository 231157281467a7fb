package fleet_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vmoments/vmoments/conf"
	"github.com/vmoments/vmoments/driver"
	_ "github.com/vmoments/vmoments/driver/test"
	"github.com/vmoments/vmoments/fleet"
	"github.com/vmoments/vmoments/momentlist"
)

var ctx = context.Background()

// domainXML is a test-driver domain with the given disks ("vda", or "sda:cdrom" for an empty
// read-only cdrom).
func domainXML(name string, n int, disks ...string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "<name>%s</name><uuid>00000000-0000-4000-8000-%012d</uuid><memory>1048576</memory><vcpu>1</vcpu>"+
		"<os><type arch='x86_64'>hvm</type></os><devices>", name, n)
	for _, d := range disks {
		if dev, ok := strings.CutSuffix(d, ":cdrom"); ok {
			fmt.Fprintf(&b, "<disk type='file' device='cdrom'><target dev='%s' bus='sata'/><readonly/></disk>", dev)
			continue
		}
		fmt.Fprintf(&b, "<disk type='file' device='disk'><source file='/images/%s-%s.qcow2'/><target dev='%s' bus='virtio'/></disk>", name, d, d)
	}
	b.WriteString("</devices>")
	return b.String()
}

// snapshotXML is a node file's snapshot of the domain dom (its domainXML).
func snapshotXML(name, parent, state string, created int64, active bool, dom string, disks ...string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "<test:domainsnapshot><name>%s</name><state>%s</state>", name, state)
	if parent != "" {
		fmt.Fprintf(&b, "<parent><name>%s</name></parent>", parent)
	}
	fmt.Fprintf(&b, "<creationTime>%d</creationTime>", created)
	if state == "disk-snapshot" {
		b.WriteString("<memory snapshot='no'/>")
	}
	if len(disks) > 0 {
		b.WriteString("<disks>")
		for _, d := range disks {
			n, mode, _ := strings.Cut(d, ":")
			if mode == "external" {
				fmt.Fprintf(&b, "<disk name='%s' snapshot='external'><source file='/images/%s.%s'/></disk>", n, name, n)
			} else {
				fmt.Fprintf(&b, "<disk name='%s' snapshot='%s'/>", n, mode)
			}
		}
		b.WriteString("</disks>")
	}
	a := 0
	if active {
		a = 1
	}
	fmt.Fprintf(&b, "<active>%d</active><domain type='test'>%s</domain></test:domainsnapshot>", a, dom)
	return b.String()
}

// nodeFile writes a test-driver node file of three domains and returns its URI.
//
//	web-1 (running; vda, vdb, empty cdrom sda): base(1000) -> upd(2000) -> {a(3000, current), ext(2500, vda external)}
//	web-2 (running; vda, cdrom): no snapshots
//	db-1  (shut off; vda): one snapshot
func nodeFile(t testing.TB) string {
	t.Helper()
	web1 := domainXML("web-1", 1, "vda", "vdb", "sda:cdrom")
	db1 := domainXML("db-1", 3, "vda")
	node := "<node>" +
		"<domain type='test' xmlns:test='http://libvirt.org/schemas/domain/test/1.0'>" + web1 +
		snapshotXML("base", "", "shutoff", 1000, false, web1, "vda:internal", "vdb:internal", "sda:no") +
		snapshotXML("upd", "base", "running", 2000, false, web1, "vda:internal", "vdb:internal", "sda:no") +
		snapshotXML("a", "upd", "running", 3000, true, web1, "vda:internal", "vdb:internal", "sda:no") +
		snapshotXML("ext", "upd", "disk-snapshot", 2500, false, web1, "vda:external", "vdb:no", "sda:no") +
		"</domain>" +
		"<domain type='test' xmlns:test='http://libvirt.org/schemas/domain/test/1.0'>" + domainXML("web-2", 2, "vda", "sda:cdrom") + "</domain>" +
		"<domain type='test' xmlns:test='http://libvirt.org/schemas/domain/test/1.0'>" + db1 + "<test:runstate>5</test:runstate>" +
		snapshotXML("only", "", "shutoff", 500, true, db1, "vda:internal") +
		"</domain></node>"
	path := filepath.Join(t.TempDir(), "node.xml")
	if err := os.WriteFile(path, []byte(node), 0o644); err != nil {
		t.Fatal(err)
	}
	return "test://" + path
}

func newFleet(t testing.TB, opts fleet.Options) *fleet.Fleet {
	t.Helper()
	f, err := fleet.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

func TestRefreshSummaries(t *testing.T) {
	uri := nodeFile(t)
	f := newFleet(t, fleet.Options{URIs: []string{uri}, Moments: true})
	r := f.Refresh(ctx, nil)
	if len(r.Hosts) != 1 || r.Hosts[0].Err != nil {
		t.Fatalf("hosts: %+v", r.Hosts)
	}
	doms := r.Hosts[0].Domains
	var names []string
	for _, d := range doms {
		names = append(names, d.Name)
	}
	if !reflect.DeepEqual(names, []string{"db-1", "web-1", "web-2"}) {
		t.Fatalf("domains %v, want db-1 web-1 web-2 (by name)", names)
	}
	web1 := doms[1]
	if web1.URI != uri || web1.State != driver.DomainRunning || web1.UUID != "00000000-0000-4000-8000-000000000001" {
		t.Errorf("web-1: uri %q state %v uuid %s", web1.URI, web1.State, web1.UUID)
	}
	s := web1.Snapshots
	if s.Count != 4 || s.Depth != 3 || s.Oldest.Name != "base" || s.Newest.Name != "a" ||
		s.Oldest.Created.Unix() != 1000 || s.Newest.Created.Unix() != 3000 {
		t.Errorf("web-1 snapshots: %+v (oldest %+v, newest %+v)", s, s.Oldest, s.Newest)
	}
	if web1.CurrentSnapshot != "a" || web1.ExternalSnapshots != 1 {
		t.Errorf("web-1: current %q, external %d; want a, 1", web1.CurrentSnapshot, web1.ExternalSnapshots)
	}
	if web1.Checkpoints.Count != 0 || web1.CurrentCheckpoint != "" || web1.CurrentCheckpointRule != momentlist.CurrentNone {
		t.Errorf("web-1 checkpoints: %+v, current %q (%v)", web1.Checkpoints, web1.CurrentCheckpoint, web1.CurrentCheckpointRule)
	}
	// The empty cdrom is not a disk a checkpoint can cover; vda and vdb have no checkpoint.
	wantDisks := []fleet.Disk{{Name: "vda", Uncovered: true}, {Name: "vdb", Uncovered: true}}
	if !reflect.DeepEqual(web1.Disks, wantDisks) {
		t.Errorf("web-1 disks %+v, want %+v", web1.Disks, wantDisks)
	}
	// libvirt's test driver gives no block statistics and keeps no files: the overlay of "ext"
	// and the internal snapshots' state are unknown, never guessed.
	if b := web1.Bytes; b.Overlays.Known || b.InternalVMState.Known || b.Total.Known || !b.MemoryFiles.Known || b.MemoryFiles.Bytes != 0 {
		t.Errorf("web-1 bytes %+v: want overlays and internal state unknown, no memory files", b)
	}
	var order []string
	for _, m := range web1.Moments {
		order = append(order, m.Name)
		if (m.Name == "a") != m.Current {
			t.Errorf("moment %s current %v", m.Name, m.Current)
		}
	}
	if len(order) != 4 || order[0] != "base" || order[1] != "upd" {
		t.Errorf("moments %v: want base, upd, then its children", order)
	}
	web2 := doms[2]
	if web2.Snapshots.Count != 0 || web2.Snapshots.Oldest != nil || web2.Snapshots.Depth != 0 || !web2.Bytes.Total.Known || web2.Bytes.Total.Bytes != 0 {
		t.Errorf("web-2 (no snapshots): %+v, bytes %+v: want nothing, and 0 bytes known", web2.Snapshots, web2.Bytes)
	}
	db1 := doms[0]
	if db1.State != driver.DomainShutoff || db1.CurrentSnapshot != "only" || db1.Snapshots.Count != 1 || db1.Snapshots.Depth != 1 {
		t.Errorf("db-1: %+v", db1)
	}
}

func TestPatterns(t *testing.T) {
	uri := nodeFile(t)
	for _, tt := range []struct {
		patterns []string
		want     []string
	}{
		{nil, []string{"db-1", "web-1", "web-2"}},
		{[]string{"web-*"}, []string{"web-1", "web-2"}},
		{[]string{"web-?", "db-1"}, []string{"db-1", "web-1", "web-2"}},
		{[]string{"/^w.*2$/"}, []string{"web-2"}},
		{[]string{"/b-/"}, []string{"db-1", "web-1", "web-2"}},
		{[]string{"nothing"}, nil},
	} {
		f := newFleet(t, fleet.Options{URIs: []string{uri}, Patterns: tt.patterns})
		h := f.Refresh(ctx, nil).Hosts[0]
		var got []string
		for _, d := range h.Domains {
			got = append(got, d.Name)
		}
		if h.Err != nil || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("patterns %q: %v (%v), want %v", tt.patterns, got, h.Err, tt.want)
		}
	}
	for _, bad := range []string{"/(/", "[a-"} {
		if _, err := fleet.New(fleet.Options{URIs: []string{uri}, Patterns: []string{bad}}); err == nil || !strings.Contains(err.Error(), bad) {
			t.Errorf("pattern %q: error %v, want one naming it", bad, err)
		}
	}
}

func TestFailingHostIsARow(t *testing.T) {
	good := nodeFile(t)
	bad := "test:///nonexistent/node.xml"
	var progress []int
	f := newFleet(t, fleet.Options{URIs: []string{bad, good, good}})
	r := f.Refresh(ctx, func(done, total int) { progress = append(progress, done*10+total) })
	if len(r.Hosts) != 2 || r.Hosts[0].URI != bad || r.Hosts[1].URI != good {
		t.Fatalf("hosts %+v: want the bad one, then the good one once", r.Hosts)
	}
	if r.Hosts[0].Err == nil || len(r.Hosts[0].Domains) != 0 {
		t.Errorf("unreachable host: %+v", r.Hosts[0])
	}
	if r.Hosts[1].Err != nil || len(r.Hosts[1].Domains) != 3 {
		t.Errorf("good host: %v, %d domains", r.Hosts[1].Err, len(r.Hosts[1].Domains))
	}
	if failed := r.Failed(); len(failed) != 1 || failed[0].URI != bad {
		t.Errorf("Failed() = %+v", failed)
	}
	if !reflect.DeepEqual(progress, []int{12, 22}) {
		t.Errorf("progress calls %v, want 1/2 then 2/2", progress)
	}
}

// flaky fails the first n opens with a connection error, as a daemon that is away.
func flaky(n int32, calls *atomic.Int32) func(context.Context, string) (driver.Driver, error) {
	return func(ctx context.Context, uri string) (driver.Driver, error) {
		if calls.Add(1) <= n {
			return nil, &driver.Error{URI: uri, Class: driver.ErrConnection, Msg: "Failed to connect socket: Connection refused"}
		}
		return driver.Open(ctx, uri, driver.ReadOnly)
	}
}

func TestRetry(t *testing.T) {
	uri := nodeFile(t)
	var calls atomic.Int32
	f := newFleet(t, fleet.Options{URIs: []string{uri}, Retry: 10 * time.Second, Open: flaky(2, &calls)})
	h := f.Refresh(ctx, nil).Hosts[0]
	if h.Err != nil || h.Attempts != 3 || len(h.Domains) != 3 {
		t.Errorf("after two refused opens: err %v, %d attempts, %d domains; want success at the third", h.Err, h.Attempts, len(h.Domains))
	}
	// Without Retry the first refusal is the answer.
	calls.Store(0)
	f = newFleet(t, fleet.Options{URIs: []string{uri}, Open: flaky(1, &calls)})
	h = f.Refresh(ctx, nil).Hosts[0]
	if !errors.Is(h.Err, driver.ErrConnection) || h.Attempts != 1 {
		t.Errorf("no retry: err %v, %d attempts", h.Err, h.Attempts)
	}
	// The next refresh opens again and succeeds.
	if h = f.Refresh(ctx, nil).Hosts[0]; h.Err != nil {
		t.Errorf("second refresh: %v", h.Err)
	}
	// A refusal that is not the connection's is not retried.
	calls.Store(0)
	f = newFleet(t, fleet.Options{URIs: []string{"nosuch:///x"}, Retry: 10 * time.Second})
	if h = f.Refresh(ctx, nil).Hosts[0]; !errors.Is(h.Err, driver.ErrUnsupportedURI) || h.Attempts != 1 {
		t.Errorf("unsupported URI: err %v, %d attempts; want ErrUnsupportedURI at once", h.Err, h.Attempts)
	}
}

// vanishing wraps a driver so that one domain is listed but gone when looked up, as a domain
// undefined between the list and the read.
type vanishing struct {
	driver.Driver
	gone string
}

func (v vanishing) Domain(ctx context.Context, ref string) (driver.Domain, error) {
	d, err := v.Driver.Domain(ctx, ref)
	if err == nil && d.Name() == v.gone {
		return nil, &driver.Error{URI: v.URI(), Domain: v.gone, Class: driver.ErrDomainNotFound, Msg: "Domain not found"}
	}
	return d, err
}

func TestVanishedDomainIsSkipped(t *testing.T) {
	uri := nodeFile(t)
	f := newFleet(t, fleet.Options{URIs: []string{uri}, Open: func(ctx context.Context, uri string) (driver.Driver, error) {
		d, err := driver.Open(ctx, uri, driver.ReadOnly)
		if err != nil {
			return nil, err
		}
		return vanishing{d, "web-1"}, nil
	}})
	h := f.Refresh(ctx, nil).Hosts[0]
	if h.Err != nil || len(h.Domains) != 2 || h.Domains[0].Name != "db-1" || h.Domains[1].Name != "web-2" {
		t.Errorf("host %v with %+v; want db-1 and web-2 only", h.Err, h.Domains)
	}
}

// TestHandlesKept checks that a second refresh reuses the domain handles (each looked up once).
func TestHandlesKept(t *testing.T) {
	uri := nodeFile(t)
	var lookups atomic.Int32
	f := newFleet(t, fleet.Options{URIs: []string{uri}, Open: func(ctx context.Context, uri string) (driver.Driver, error) {
		d, err := driver.Open(ctx, uri, driver.ReadOnly)
		if err != nil {
			return nil, err
		}
		return counting{d, &lookups}, nil
	}})
	for range 3 {
		if h := f.Refresh(ctx, nil).Hosts[0]; h.Err != nil || len(h.Domains) != 3 {
			t.Fatalf("refresh: %v, %d domains", h.Err, len(h.Domains))
		}
	}
	if n := lookups.Load(); n != 3 {
		t.Errorf("%d domain lookups over 3 refreshes of 3 domains, want 3", n)
	}
}

type counting struct {
	driver.Driver
	n *atomic.Int32
}

func (c counting) Domain(ctx context.Context, ref string) (driver.Domain, error) {
	c.n.Add(1)
	return c.Driver.Domain(ctx, ref)
}

func TestCheckpointFreshness(t *testing.T) {
	// libvirt's test driver makes checkpoints on a running domain at run time only: make them on
	// a read-write driver, then let the fleet read through it.
	uri := nodeFile(t)
	drv, err := driver.Open(ctx, uri, driver.ReadWrite)
	if err != nil {
		t.Fatal(err)
	}
	dom, err := drv.Domain(ctx, "web-2")
	if err != nil {
		t.Fatal(err)
	}
	redefine := func(name, parent string, created int64, disks string) {
		t.Helper()
		p := ""
		if parent != "" {
			p = "<parent><name>" + parent + "</name></parent>"
		}
		x := fmt.Sprintf("<domaincheckpoint><name>%s</name>%s<creationTime>%d</creationTime><disks>%s</disks></domaincheckpoint>", name, p, created, disks)
		if _, err := dom.CreateCheckpoint(ctx, x, driver.CheckpointCreateRedefine); err != nil {
			t.Fatal(err)
		}
	}
	// c1 covers vda; c2 (a branch) does not; c3 (another branch, older) does.
	redefine("c1", "", 100, "<disk name='vda' checkpoint='bitmap'/>")
	redefine("c2", "c1", 300, "<disk name='vda' checkpoint='no'/>")
	redefine("c3", "c1", 200, "<disk name='vda' checkpoint='bitmap'/>")
	f := newFleet(t, fleet.Options{URIs: []string{uri}, Patterns: []string{"web-2"},
		Open: func(context.Context, string) (driver.Driver, error) { return drv, nil }})
	h := f.Refresh(ctx, nil).Hosts[0]
	if h.Err != nil || len(h.Domains) != 1 {
		t.Fatalf("%v, %+v", h.Err, h.Domains)
	}
	d := h.Domains[0]
	if d.Checkpoints.Count != 3 || d.Checkpoints.Newest.Name != "c2" || d.Checkpoints.Oldest.Name != "c1" || d.Checkpoints.Depth != 2 {
		t.Errorf("checkpoints %+v", d.Checkpoints)
	}
	// The fleet's handle loads the list afresh, as libvirtd does at a restart: the tree branches,
	// so libvirt's rule leaves no current checkpoint and no disk has one by the pointer. Each disk
	// still has its newest checkpoint: vda's is c3 (c2, newer, does not cover it).
	if d.CurrentCheckpoint != "" || d.CurrentCheckpointRule != momentlist.CurrentLoadBranched {
		t.Errorf("current checkpoint %q (%v), want none (load-branched)", d.CurrentCheckpoint, d.CurrentCheckpointRule)
	}
	if len(d.Disks) != 1 {
		t.Fatalf("disks %+v, want vda only (sda is an empty cdrom)", d.Disks)
	}
	vda := d.Disks[0]
	if vda.Name != "vda" || vda.Current != "" || vda.Newest == nil || vda.Newest.Name != "c3" || vda.Newest.Created.Unix() != 200 || vda.Uncovered {
		t.Errorf("vda %+v (newest %+v); want no current, newest c3 at 200", vda, vda.Newest)
	}
	// Through the handle that made them, libvirt's pointer is known: c1 (redefined first, no
	// current) then c2 (its parent current); c3's parent is not current. vda's by the pointer: c1.
	cur, rule, err := dom.Current(ctx, conf.Checkpoint)
	if err != nil || cur == nil || cur.Name() != "c2" || rule != momentlist.CurrentRedefined {
		t.Errorf("the making handle's current: %v (%v), %v; want c2 (redefined)", cur, rule, err)
	}
	if d.Checkpoints.Newest.Kind != conf.Checkpoint {
		t.Errorf("newest checkpoint kind %v", d.Checkpoints.Newest.Kind)
	}

	// A single chain: at a fresh load its leaf is current, and each disk's current checkpoint
	// is the nearest one up the chain that covers it.
	uri = nodeFile(t)
	if drv, err = driver.Open(ctx, uri, driver.ReadWrite); err != nil {
		t.Fatal(err)
	}
	defer drv.Close()
	if dom, err = drv.Domain(ctx, "web-2"); err != nil {
		t.Fatal(err)
	}
	redefine("k1", "", 100, "<disk name='vda' checkpoint='bitmap'/>")
	redefine("k2", "k1", 200, "<disk name='vda' checkpoint='no'/>")
	f = newFleet(t, fleet.Options{URIs: []string{uri}, Patterns: []string{"web-2"},
		Open: func(context.Context, string) (driver.Driver, error) { return drv, nil }})
	h = f.Refresh(ctx, nil).Hosts[0]
	if h.Err != nil || len(h.Domains) != 1 {
		t.Fatalf("%v, %+v", h.Err, h.Domains)
	}
	d = h.Domains[0]
	if d.CurrentCheckpoint != "k2" || d.CurrentCheckpointRule != momentlist.CurrentLoadedLeaf {
		t.Errorf("chain: current %q (%v), want k2 (loaded-leaf)", d.CurrentCheckpoint, d.CurrentCheckpointRule)
	}
	if vda := d.Disks[0]; vda.Current != "k1" || vda.Newest.Name != "k1" {
		t.Errorf("chain: vda current %q, newest %q; want k1 for both", vda.Current, vda.Newest.Name)
	}
}

func TestReadHosts(t *testing.T) {
	in := `# the fleet
qemu+ssh://root@host1/system
  qemu+tcp://host2/system   # the second

qemu:///system#frag-is-kept
`
	got, err := fleet.ReadHosts(strings.NewReader(in), "hosts")
	want := []string{"qemu+ssh://root@host1/system", "qemu+tcp://host2/system", "qemu:///system#frag-is-kept"}
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("ReadHosts = %q, %v; want %q", got, err, want)
	}
	if _, err := fleet.ReadHosts(strings.NewReader("a b\n"), "hosts"); err == nil || !strings.Contains(err.Error(), "hosts:1") {
		t.Errorf("two words on a line: %v", err)
	}
	if _, err := fleet.ReadHosts(strings.NewReader("# nothing\n\n"), "hosts"); err == nil {
		t.Error("a file without URIs is no error")
	}
}

func TestRuleNames(t *testing.T) {
	seen := map[string]bool{}
	for r := momentlist.CurrentNone; r <= momentlist.CurrentAfterDelete; r++ {
		n := fleet.RuleName(r)
		if n == "unknown" || seen[n] || strings.ContainsAny(n, " _") {
			t.Errorf("RuleName(%v) = %q: want a unique short name", r, n)
		}
		seen[n] = true
	}
}

// reloading counts the Reload calls of the domains its driver returns.
type reloading struct {
	driver.Driver
	n *atomic.Int32
}

func (r reloading) Domain(ctx context.Context, ref string) (driver.Domain, error) {
	d, err := r.Driver.Domain(ctx, ref)
	if err != nil {
		return nil, err
	}
	return reloadCounter{d, r.n}, nil
}

type reloadCounter struct {
	driver.Domain
	n *atomic.Int32
}

func (r reloadCounter) Reload(ctx context.Context, kind conf.Kind) error {
	r.n.Add(1)
	return r.Domain.Reload(ctx, kind)
}

// TestExactEvery: kept domains are loaded whole again (both kinds) once ExactEvery has passed
// since the last time, and not in between: what closes the names-only refresh's blind spot.
func TestExactEvery(t *testing.T) {
	uri := nodeFile(t)
	var reloads atomic.Int32
	now := time.Unix(1_800_000_000, 0)
	f := newFleet(t, fleet.Options{URIs: []string{uri}, ExactEvery: time.Minute,
		Now: func() time.Time { return now },
		Open: func(ctx context.Context, uri string) (driver.Driver, error) {
			d, err := driver.Open(ctx, uri, driver.ReadOnly|driver.NamesOnlyRefresh)
			if err != nil {
				return nil, err
			}
			return reloading{d, &reloads}, nil
		}})
	refresh := func() {
		t.Helper()
		if h := f.Refresh(ctx, nil).Hosts[0]; h.Err != nil || len(h.Domains) != 3 {
			t.Fatalf("refresh: %v, %d domains", h.Err, len(h.Domains))
		}
	}
	refresh() // new handles: loaded whole, nothing to reload
	if n := reloads.Load(); n != 0 {
		t.Fatalf("first refresh reloaded %d times, want 0", n)
	}
	now = now.Add(30 * time.Second)
	refresh()
	if n := reloads.Load(); n != 0 {
		t.Fatalf("a refresh 30 s after an exact one reloaded %d times, want 0", n)
	}
	now = now.Add(31 * time.Second)
	refresh()
	if n := reloads.Load(); n != 6 {
		t.Fatalf("a refresh past ExactEvery reloaded %d times, want 6 (3 domains x 2 kinds)", n)
	}
	now = now.Add(10 * time.Second)
	refresh()
	if n := reloads.Load(); n != 6 {
		t.Errorf("the refresh after that reloaded again: %d reloads, want 6", n)
	}
}
