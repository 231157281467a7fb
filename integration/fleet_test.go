//go:build integration

package integration

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vmoments/vmoments/conf"
	"github.com/vmoments/vmoments/driver"
	"github.com/vmoments/vmoments/driver/qemu/qemutest"
	_ "github.com/vmoments/vmoments/driver/test" // the simulated fleet's hosts
	"github.com/vmoments/vmoments/exporter"
	"github.com/vmoments/vmoments/fleet"
	"github.com/vmoments/vmoments/momentlist"
)

const (
	diskOnlyFlag = driver.SnapshotCreateDiskOnly
)

// fleetPattern selects this process's guests of one test: vmoments-test-integ-PID-TAG*.
func fleetPattern(tag string) string {
	return fmt.Sprintf("vmoments-test-%s-%d-%s*", group, os.Getpid(), tag)
}

var (
	vmomentsOnce sync.Once
	vmomentsBin  string
	vmomentsErr  error
)

// vmomentsCommand builds cmd/vmoments once per run and returns its path.
func vmomentsCommand(t testing.TB) string {
	t.Helper()
	vmomentsOnce.Do(func() {
		dir, err := os.MkdirTemp("", "vmoments-bin-")
		if err != nil {
			vmomentsErr = err
			return
		}
		vmomentsBin = filepath.Join(dir, "vmoments")
		if out, err := exec.Command("go", "build", "-o", vmomentsBin, "../cmd/vmoments").CombinedOutput(); err != nil {
			vmomentsErr = fmt.Errorf("go build ../cmd/vmoments: %v\n%s", err, out)
		}
	})
	if vmomentsErr != nil {
		t.Fatal(vmomentsErr)
	}
	return vmomentsBin
}

// expectedBytesLocal is the snapshot bytes of a domain on a local URI, from virsh's lists, virsh
// domstats, the files and qemu-img.
func expectedBytesLocal(t testing.TB, uri string, d *truthDomain) *wantBytes {
	t.Helper()
	w := &wantBytes{Overlays: u64(0), Memory: u64(0), Internal: u64(internalVMState(t, d, d.Sources))}
	stats := domstats(t, uri, d.Name)
	for _, f := range overlayFiles(t, uri, d) {
		switch img, ok := stats[f]; {
		case ok && d.State == "running":
			*w.Overlays += img["physical"]
		case ok:
			*w.Overlays += img["allocation"]
		default:
			*w.Overlays += allocatedFile(t, f)
		}
	}
	return w
}

// TestFleetLive reads throw-away guests of the machine's libvirtd with the fleet, the exporter
// and `vmoments report`, and compares every row and series with what virsh says.
func TestFleetLive(t *testing.T) {
	conn := qemutest.Connect(t, systemURI)
	// Offline internal snapshots with a branch: s3 current.
	a := conn.NewGuest(t, group, "fleetlive")
	a.Snapshot("s1", 0)
	a.Snapshot("s2", 0)
	a.Revert("s1", 0)
	a.Snapshot("s3", 0)
	// A running guest with everything: memory snapshots (VM state in the images), an external
	// disk-only snapshot (overlays), checkpoints of both disks and of one.
	b := conn.NewGuest(t, group, "fleetlive")
	b.Start()
	b.Snapshot("m1", 0)
	b.Checkpoint("k1", both("bitmap")...)
	b.Snapshot("x1", diskOnlyFlag, both("external")...)
	b.Checkpoint("k2", only("vdb", "bitmap", "no")...)
	b.Snapshot("m2", 0)
	b.Checkpoint("k3", only("vda", "bitmap", "no")...)
	// Nothing at all.
	c := conn.NewGuest(t, group, "fleetlive")

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	f, err := fleet.New(fleet.Options{URIs: []string{systemURI}, Patterns: []string{fleetPattern("fleetlive")}})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var r *fleet.Report
	timed(t, "fleet: refresh 3 live guests", func() { r = f.Refresh(ctx, nil) })
	h := r.Hosts[0]
	if h.Err != nil || len(h.Domains) != 3 {
		t.Fatalf("host: %v, %d domains", h.Err, len(h.Domains))
	}
	names := []string{a.Name, b.Name, c.Name}
	truth := virshTruth(t, systemURI, names, true)
	bytes := map[string]*wantBytes{}
	for i := range h.Domains {
		d := &h.Domains[i]
		w := truth[d.Name]
		if w == nil {
			t.Fatalf("the fleet read %s, which the pattern does not select", d.Name)
		}
		bytes[d.Name] = expectedBytesLocal(t, systemURI, w)
		checkDomain(t, d, w, bytes[d.Name])
		t.Logf("%s: %d snapshots, %d checkpoints, bytes %+v", d.Name, d.Snapshots.Count, d.Checkpoints.Count, d.Bytes)
	}
	// The running guest's figures are not trivial: VM state and overlays are there.
	if w := bytes[b.Name]; *w.Internal == 0 || *w.Overlays == 0 {
		t.Errorf("the running guest's snapshots hold no VM state or no overlay bytes: %+v", w)
	}

	// The exporter's series.
	e, err := exporter.New(fleet.Options{URIs: []string{systemURI}, Patterns: []string{fleetPattern("fleetlive")}}, exporter.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	want := map[string]float64{`vmoments_up{uri="qemu:///system"}`: 1}
	for _, n := range names {
		for k, v := range wantSeries(systemURI, truth[n], bytes[n], true) {
			want[k] = v
		}
	}
	families := append(append([]string{"vmoments_up", "vmoments_domain_snapshot_bytes"}, checkedFamilies...), diskFamilies...)
	if got := gathered(t, e, families); diffSeries(got, want) != "" {
		t.Errorf("the exporter's series differ from virsh's:\n%s", diffSeries(got, want))
	}

	// vmoments report, as a user runs it.
	out, err := exec.Command(vmomentsCommand(t), "report", "--connect", systemURI, "--json", fleetPattern("fleetlive")).Output()
	if err != nil {
		t.Fatalf("vmoments report: %v", err)
	}
	var doc struct {
		Hosts []struct {
			URI     string
			Error   *string
			Domains []struct {
				Domain    string
				Snapshots struct{ Count int }
				Disks     []struct {
					Name             string
					NewestCheckpoint *struct{ Name string }
				}
				SnapshotBytes struct{ Total *uint64 }
			}
		}
	}
	if err := json.Unmarshal(out, &doc); err != nil {
		t.Fatalf("report --json: %v\n%s", err, out)
	}
	if len(doc.Hosts) != 1 || doc.Hosts[0].Error != nil || len(doc.Hosts[0].Domains) != 3 {
		t.Fatalf("report --json: %s", out)
	}
	for _, d := range doc.Hosts[0].Domains {
		w := truth[d.Domain]
		if d.Snapshots.Count != len(w.Snapshots) || showSize(d.SnapshotBytes.Total) != showSize(bytes[d.Domain].total()) {
			t.Errorf("report --json %s: %d snapshots, %s bytes; virsh %d, %s", d.Domain, d.Snapshots.Count,
				showSize(d.SnapshotBytes.Total), len(w.Snapshots), showSize(bytes[d.Domain].total()))
		}
	}
	table, _ := exec.Command(vmomentsCommand(t), "report", "--connect", systemURI, fleetPattern("fleetlive")).Output()
	t.Logf("vmoments report:\n%s", table)
}

// TestFleetRemote reads a guest of a second libvirtd over qemu+tcp: internal and external
// offline snapshots and a branched tree of redefined checkpoints.
func TestFleetRemote(t *testing.T) {
	d := qemutest.StartDaemon(t)
	g := d.Connect(t).NewGuest(t, group, "fleetremote")
	g.Snapshot("r1", 0)
	g.Snapshot("r2", 0)
	g.Revert("r1", 0)
	g.Snapshot("r3", 0)
	g.Snapshot("o4", diskOnlyFlag, both("external")...)
	d.Connect(t).NewGuest(t, group, "fleetremote") // nothing at all
	cps := genTree(false, treeShape{N: 12, Roots: 1, Branch: 0.4, Seed: 77})
	redefine(g, cps)

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	f, err := fleet.New(fleet.Options{URIs: []string{d.URI, "qemu+tcp://127.0.0.1:1/system"}})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r := f.Refresh(ctx, nil)
	if r.Hosts[1].Err == nil || r.Hosts[0].Err != nil || len(r.Hosts[0].Domains) != 2 {
		t.Fatalf("hosts: %+v", r.Hosts)
	}
	truth := virshTruth(t, d.URI, nil, true)
	for i := range r.Hosts[0].Domains {
		dom := &r.Hosts[0].Domains[i]
		w := truth[dom.Name]
		bytes := &wantBytes{Overlays: u64(0), Memory: u64(0), Internal: u64(0)}
		if dom.Name == g.Name {
			// Remote: qemu-img cannot read the images, so the internal snapshots' part is
			// unknown; the one overlay is the active image, which libvirt's statistics of a
			// shut-off domain list (its allocation).
			bytes.Internal = nil
			stats := domstats(t, d.URI, g.Name)
			files := overlayFiles(t, d.URI, w)
			if len(files) != 2 {
				t.Fatalf("overlays %v, want one per disk", files)
			}
			for _, file := range files {
				img, ok := stats[file]
				if !ok {
					t.Fatalf("%s is not in virsh domstats: %v", file, stats)
				}
				*bytes.Overlays += img["allocation"]
			}
		}
		checkDomain(t, dom, w, bytes)
	}
	if w := truth[g.Name]; len(w.Checkpoints) != 12 || len(w.Snapshots) != 4 {
		t.Errorf("virsh lists %d checkpoints and %d snapshots, want 12 and 4", len(w.Checkpoints), len(w.Snapshots))
	}
}

// simHost is one generated host of the simulated fleet.
type simHost struct {
	path string
	doms int
}

// genFleet writes n test-driver node files under dir: each with 10 to 14 domains, running or
// shut off, two disks (some with an empty cdrom), and 0 to 15 snapshots in random trees whose
// creation times spread over 120 days: offline and running internal ones, and disk-only
// external ones with their overlay files named.
func genFleet(t testing.TB, dir string, n int, seed uint64) []simHost {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, 42))
	base := time.Date(2026, 8, 1, 0, 0, 0, 0, time.UTC).Unix()
	hosts := make([]simHost, n)
	for h := range n {
		var b strings.Builder
		b.WriteString("<node>\n")
		nd := 10 + rng.IntN(5)
		for dn := range nd {
			name := fmt.Sprintf("h%03d-vm%02d", h, dn)
			uuid := fmt.Sprintf("%08d-0000-4000-8000-%012d", h, dn)
			dom := fmt.Sprintf("<name>%s</name><uuid>%s</uuid><memory>1048576</memory><vcpu>1</vcpu>"+
				"<os><type arch='x86_64'>hvm</type></os><devices>"+
				"<disk type='file' device='disk'><source file='/images/%s-vda.qcow2'/><target dev='vda' bus='virtio'/></disk>"+
				"<disk type='file' device='disk'><source file='/images/%s-vdb.qcow2'/><target dev='vdb' bus='virtio'/></disk>", name, uuid, name, name)
			if rng.IntN(3) == 0 {
				dom += "<disk type='file' device='cdrom'><target dev='sda' bus='sata'/><readonly/></disk>"
			}
			dom += "</devices>"
			fmt.Fprintf(&b, "<domain type='test' xmlns:test='http://libvirt.org/schemas/domain/test/1.0'>%s\n", dom)
			if rng.IntN(2) == 0 {
				b.WriteString("<test:runstate>5</test:runstate>\n")
			}
			ns := rng.IntN(16)
			current := -1
			if ns > 0 && rng.IntN(4) != 0 {
				current = rng.IntN(ns)
			}
			var snapNames []string
			t0 := base + rng.Int64N(60*86400)
			for i := range ns {
				sn := fmt.Sprintf("snap-%02d", i)
				parent := ""
				if i > 0 && rng.IntN(5) != 0 {
					parent = snapNames[rng.IntN(i)]
				}
				snapNames = append(snapNames, sn)
				created := t0 + int64(i)*rng.Int64N(5*86400) + rng.Int64N(3600)
				state, mem, disks := "shutoff", "no", "<disk name='vda' snapshot='internal'/><disk name='vdb' snapshot='internal'/>"
				switch rng.IntN(4) {
				case 0:
					state, mem = "running", "internal"
				case 1:
					state = "disk-snapshot"
					disks = fmt.Sprintf("<disk name='vda' snapshot='external'><source file='/images/%s.%s.vda'/></disk>"+
						"<disk name='vdb' snapshot='external'><source file='/images/%s.%s.vdb'/></disk>", name, sn, name, sn)
				}
				if strings.Contains(dom, "cdrom") {
					disks += "<disk name='sda' snapshot='no'/>"
				}
				p := ""
				if parent != "" {
					p = "<parent><name>" + parent + "</name></parent>"
				}
				active := 0
				if i == current {
					active = 1
				}
				fmt.Fprintf(&b, "<test:domainsnapshot><name>%s</name><state>%s</state>%s<creationTime>%d</creationTime>"+
					"<memory snapshot='%s'/><disks>%s</disks><active>%d</active><domain type='test'>%s</domain></test:domainsnapshot>\n",
					sn, state, p, created, mem, disks, active, dom)
			}
			b.WriteString("</domain>\n")
		}
		b.WriteString("</node>\n")
		path := filepath.Join(dir, fmt.Sprintf("host%03d.xml", h))
		if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
		hosts[h] = simHost{path: path, doms: nd}
	}
	return hosts
}

// simBytes is the expected snapshot bytes on libvirt's test driver: it gives no block
// statistics and keeps no files, so a part is unknown exactly when there is something in it.
func simBytes(d *truthDomain) *wantBytes {
	w := &wantBytes{Overlays: u64(0), Memory: u64(0), Internal: u64(0)}
	if len(d.External) > 0 {
		w.Overlays = nil
	}
	if len(d.Internal) > 0 {
		w.Internal = nil
	}
	return w
}

// TestFleetSimulated reads 201 generated hosts of libvirt's test driver (over 2,000 domains),
// one of which is made unreachable (its node file removed), with the fleet and the exporter, and
// compares every row and every series with virsh's lists of the same files.
func TestFleetSimulated(t *testing.T) {
	const n = 201
	dir := t.TempDir()
	hosts := genFleet(t, dir, n, 2026)
	uris := make([]string, n)
	for i, h := range hosts {
		uris[i] = "test://" + h.path
	}
	truth := make([]map[string]*truthDomain, n)
	var wg sync.WaitGroup
	sem := make(chan struct{}, 4)
	timed(t, fmt.Sprintf("virsh: list the %d hosts", n), func() {
		for i := range uris {
			wg.Add(1)
			sem <- struct{}{}
			go func() {
				defer func() { <-sem; wg.Done() }()
				truth[i] = virshTruth(t, uris[i], nil, false)
			}()
		}
		wg.Wait()
	})
	const gone = 137
	if err := os.Remove(hosts[gone].path); err != nil {
		t.Fatal(err)
	}
	domains, snaps := 0, 0
	for i, tr := range truth {
		if i == gone {
			continue
		}
		domains += len(tr)
		for _, d := range tr {
			snaps += len(d.Snapshots)
		}
	}
	t.Logf("simulated fleet: %d hosts (1 unreachable), %d domains, %d snapshots", n, domains, snaps)

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	f, err := fleet.New(fleet.Options{URIs: uris})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var r *fleet.Report
	timed(t, fmt.Sprintf("fleet: first refresh of %d hosts, %d domains", n, domains), func() { r = f.Refresh(ctx, nil) })
	timed(t, "fleet: second refresh (handles kept)", func() { r = f.Refresh(ctx, nil) })
	for i, h := range r.Hosts {
		if i == gone {
			if h.Err == nil || len(h.Domains) != 0 {
				t.Errorf("the removed host: %+v", h)
			}
			continue
		}
		if h.Err != nil || len(h.Domains) != len(truth[i]) {
			t.Errorf("host %d: %v, %d domains, virsh %d", i, h.Err, len(h.Domains), len(truth[i]))
			continue
		}
		for j := range h.Domains {
			d := &h.Domains[j]
			checkDomain(t, d, truth[i][d.Name], simBytes(truth[i][d.Name]))
		}
	}

	// Wait: the first scrape loads every domain, longer than a scrape's default wait (it would
	// be answered with the hosts read by then and vmoments_up 0 for the others).
	e, err := exporter.New(fleet.Options{URIs: uris}, exporter.Options{MinInterval: time.Nanosecond, Wait: 5 * time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	want := map[string]float64{}
	for i, tr := range truth {
		up := 1.0
		if i == gone {
			up = 0
		}
		want[fmt.Sprintf("vmoments_up{uri=%q}", uris[i])] = up
		if i == gone {
			continue
		}
		for _, d := range tr {
			for k, v := range wantSeries(uris[i], d, simBytes(d), true) {
				want[k] = v
			}
		}
	}
	families := append(append([]string{"vmoments_up", "vmoments_domain_snapshot_bytes"}, checkedFamilies...), diskFamilies...)
	var got map[string]float64
	timed(t, "exporter: first scrape of the simulated fleet (loads every domain)", func() { got = gathered(t, e, families) })
	if d := diffSeries(got, want); d != "" {
		t.Errorf("the exporter's series differ from virsh's (%d series):\n%s", len(want), d)
	}
	timed(t, "exporter: a scrape that refreshes every host", func() { got = gathered(t, e, families) })
	if d := diffSeries(got, want); d != "" {
		t.Errorf("second scrape:\n%s", d)
	}
	t.Logf("series checked: %d", len(want))

	// The report over the same files, as a user runs it: one row per domain plus the failed host.
	hostsFile := filepath.Join(dir, "hosts")
	os.WriteFile(hostsFile, []byte("# the simulated fleet\n"+strings.Join(uris, "\n")+"\n"), 0o644)
	start := time.Now()
	cmd := exec.Command(vmomentsCommand(t), "report", "--hosts", hostsFile, "--csv", "--retry", "0")
	out, err := cmd.Output()
	took := time.Since(start)
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 {
		t.Fatalf("report with one unreachable host: %v, want exit status 1", err)
	}
	lines := strings.Split(strings.TrimRight(string(out), "\n"), "\n")
	if len(lines) != 1+domains+1 {
		t.Errorf("report --csv: %d lines, want a header, %d domains and the failed host", len(lines), domains)
	}
	if last := lines[len(lines)-1]; !strings.HasPrefix(last, uris[gone]+",") {
		t.Errorf("the failed host's row: %q", last)
	}
	t.Logf("timing: vmoments report --csv of %d hosts, %d domains: %v", n, domains, took.Round(time.Millisecond))
}

// TestReportRestart takes the test's own libvirtd away under a report (killed while the report
// reads, or before it starts, and back 3 s later, as a package upgrade does): the report waits,
// retries and completes with every domain right.
func TestReportRestart(t *testing.T) {
	d := qemutest.StartDaemon(t)
	c := d.Connect(t)
	var guests []*qemutest.Guest
	for i := range 6 {
		g := c.NewGuest(t, group, "reportrestart")
		tr := genTree(true, treeShape{N: 200, Roots: 2, Branch: 0.2, Offline: 0.7, Seed: uint64(100 + i)})
		redefine(g, tr)
		guests = append(guests, g)
	}
	truth := virshTruth(t, d.URI, nil, false)

	// The fleet library: the daemon is killed at the third domain's first read.
	var reads atomic.Int32
	var restarted chan error
	open := func(ctx context.Context, uri string) (driver.Driver, error) {
		drv, err := driver.Open(ctx, uri, driver.ReadOnly)
		if err != nil {
			return nil, err
		}
		return killingDriver{drv, func() {
			if reads.Add(1) == 3 {
				d.Kill()
				restarted = make(chan error, 1)
				go func() { time.Sleep(3 * time.Second); restarted <- d.Restart(t) }()
			}
		}}, nil
	}
	f, err := fleet.New(fleet.Options{URIs: []string{d.URI}, Retry: 30 * time.Second, Open: open, DomainParallel: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	var r *fleet.Report
	timed(t, "fleet: refresh across a libvirtd restart", func() { r = f.Refresh(ctx, nil) })
	if restarted == nil {
		t.Fatal("the daemon was never killed")
	}
	if err := <-restarted; err != nil {
		t.Fatal(err)
	}
	h := r.Hosts[0]
	if h.Err != nil || len(h.Domains) != len(guests) {
		t.Fatalf("after the restart: %v, %d domains (attempts %d)", h.Err, len(h.Domains), h.Attempts)
	}
	for i := range h.Domains {
		checkDomain(t, &h.Domains[i], truth[h.Domains[i].Name], nil)
	}
	t.Logf("the report's host took %d attempt(s), %v", h.Attempts, h.Duration.Round(time.Millisecond))

	// The command, started while the daemon is away (back 3 s later): it tries again with a
	// growing pause until the daemon answers. (A cold report of these 1,200 snapshots takes
	// 0.1 s, too short to kill the daemon in the middle from here; the library run above did.)
	d.Kill()
	cmd := exec.Command(vmomentsCommand(t), "report", "--connect", d.URI, "--json")
	var out strings.Builder
	cmd.Stdout = &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(3 * time.Second)
	if err := d.Restart(t); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("vmoments report across a restart: %v\n%s", err, out.String())
	}
	var doc struct {
		Hosts []struct {
			Error           *string
			DurationSeconds float64
			Attempts        int
			Domains         []struct {
				Domain    string
				Snapshots struct{ Count int }
			}
		}
	}
	if err := json.Unmarshal([]byte(out.String()), &doc); err != nil || len(doc.Hosts) != 1 || doc.Hosts[0].Error != nil ||
		len(doc.Hosts[0].Domains) != len(guests) {
		t.Fatalf("report --json across a restart: %v\n%.2000s", err, out.String())
	}
	if took := doc.Hosts[0].DurationSeconds; took < 2 {
		t.Errorf("the report read the host in %.1f s: it did not run into the restart", took)
	}
	t.Logf("vmoments report across the restart: the host took %.1f s, %d attempts", doc.Hosts[0].DurationSeconds, doc.Hosts[0].Attempts)
	for _, dom := range doc.Hosts[0].Domains {
		if dom.Snapshots.Count != len(truth[dom.Domain].Snapshots) {
			t.Errorf("%s: %d snapshots, virsh %d", dom.Domain, dom.Snapshots.Count, len(truth[dom.Domain].Snapshots))
		}
	}
}

// killingDriver calls kill before every domain's snapshot read.
type killingDriver struct {
	driver.Driver
	kill func()
}

func (k killingDriver) Domain(ctx context.Context, ref string) (driver.Domain, error) {
	dom, err := k.Driver.Domain(ctx, ref)
	if err != nil {
		return nil, err
	}
	return killingDomain{dom, k.kill}, nil
}

type killingDomain struct {
	driver.Domain
	kill func()
}

func (k killingDomain) Moments(ctx context.Context, kind conf.Kind) (*momentlist.List, error) {
	if kind == conf.Snapshot {
		k.kill()
	}
	return k.Domain.Moments(ctx, kind)
}

func (k killingDomain) Storage(ctx context.Context) (*driver.Storage, error) {
	return k.Domain.(driver.StorageReader).Storage(ctx)
}
