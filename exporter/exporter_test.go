package exporter_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/prometheus/common/expfmt"

	"github.com/vmoments/vmoments/conf"
	"github.com/vmoments/vmoments/driver"
	_ "github.com/vmoments/vmoments/driver/test"
	"github.com/vmoments/vmoments/exporter"
	"github.com/vmoments/vmoments/fleet"
)

var ctx = context.Background()

func nodeURI(t testing.TB) string {
	t.Helper()
	p, err := filepath.Abs("testdata/node.xml")
	if err != nil {
		t.Fatal(err)
	}
	return "test://" + p
}

func newExporter(t testing.TB, fopts fleet.Options, opts exporter.Options) *exporter.Exporter {
	t.Helper()
	e, err := exporter.New(fopts, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	return e
}

// TestSeries checks every per-domain family against testdata/node.xml, whose state is written
// out in the file: web-1 (base 1000 -> upd 2000 -> {a 3000 current, ext 2500 external}),
// web-2 (no snapshots), db-1 (one snapshot at 500).
func TestSeries(t *testing.T) {
	uri := nodeURI(t)
	e := newExporter(t, fleet.Options{URIs: []string{uri}}, exporter.Options{PerMoment: true})
	r := strings.NewReplacer("URI", uri)
	want := r.Replace(`
# HELP vmoments_up 1 if the latest read of the host succeeded, 0 if it failed or none has finished yet.
# TYPE vmoments_up gauge
vmoments_up{uri="URI"} 1
# HELP vmoments_domain_snapshots Snapshots of the domain.
# TYPE vmoments_domain_snapshots gauge
vmoments_domain_snapshots{domain="db-1",uri="URI"} 1
vmoments_domain_snapshots{domain="web-1",uri="URI"} 4
vmoments_domain_snapshots{domain="web-2",uri="URI"} 0
# HELP vmoments_domain_checkpoints Checkpoints of the domain.
# TYPE vmoments_domain_checkpoints gauge
vmoments_domain_checkpoints{domain="db-1",uri="URI"} 0
vmoments_domain_checkpoints{domain="web-1",uri="URI"} 0
vmoments_domain_checkpoints{domain="web-2",uri="URI"} 0
# HELP vmoments_domain_snapshot_oldest_timestamp_seconds Creation time of the domain's oldest snapshot (absent without snapshots).
# TYPE vmoments_domain_snapshot_oldest_timestamp_seconds gauge
vmoments_domain_snapshot_oldest_timestamp_seconds{domain="db-1",uri="URI"} 500
vmoments_domain_snapshot_oldest_timestamp_seconds{domain="web-1",uri="URI"} 1000
# HELP vmoments_domain_snapshot_newest_timestamp_seconds Creation time of the domain's newest snapshot (absent without snapshots).
# TYPE vmoments_domain_snapshot_newest_timestamp_seconds gauge
vmoments_domain_snapshot_newest_timestamp_seconds{domain="db-1",uri="URI"} 500
vmoments_domain_snapshot_newest_timestamp_seconds{domain="web-1",uri="URI"} 3000
# HELP vmoments_domain_snapshot_tree_depth Snapshots on the longest path from a root of the domain's snapshot tree to a leaf (0 without snapshots).
# TYPE vmoments_domain_snapshot_tree_depth gauge
vmoments_domain_snapshot_tree_depth{domain="db-1",uri="URI"} 1
vmoments_domain_snapshot_tree_depth{domain="web-1",uri="URI"} 3
vmoments_domain_snapshot_tree_depth{domain="web-2",uri="URI"} 0
# HELP vmoments_domain_external_snapshots Snapshots of the domain with external memory or an external disk.
# TYPE vmoments_domain_external_snapshots gauge
vmoments_domain_external_snapshots{domain="db-1",uri="URI"} 0
vmoments_domain_external_snapshots{domain="web-1",uri="URI"} 1
vmoments_domain_external_snapshots{domain="web-2",uri="URI"} 0
# HELP vmoments_domain_current_snapshot_info The domain's current snapshot (libvirt's); always 1, absent when there is none.
# TYPE vmoments_domain_current_snapshot_info gauge
vmoments_domain_current_snapshot_info{domain="db-1",snapshot="only",uri="URI"} 1
vmoments_domain_current_snapshot_info{domain="web-1",snapshot="a",uri="URI"} 1
# HELP vmoments_disk_uncovered 1 if no checkpoint covers the disk, else 0; for every disk of the domain's current definition a checkpoint can cover (not empty, not read-only).
# TYPE vmoments_disk_uncovered gauge
vmoments_disk_uncovered{disk="vda",domain="db-1",uri="URI"} 1
vmoments_disk_uncovered{disk="vda",domain="web-1",uri="URI"} 1
vmoments_disk_uncovered{disk="vda",domain="web-2",uri="URI"} 1
vmoments_disk_uncovered{disk="vdb",domain="web-1",uri="URI"} 1
# HELP vmoments_domain_snapshot_bytes Disk space the domain's snapshots hold: overlays, external memory files and internal VM state (absent when a part is unknown).
# TYPE vmoments_domain_snapshot_bytes gauge
vmoments_domain_snapshot_bytes{domain="web-2",uri="URI"} 0
# HELP vmoments_domain_info A domain of the host, with its UUID and state in virsh's words; always 1.
# TYPE vmoments_domain_info gauge
vmoments_domain_info{domain="db-1",state="shut off",uri="URI",uuid="00000000-0000-4000-8000-000000000003"} 1
vmoments_domain_info{domain="web-1",state="running",uri="URI",uuid="00000000-0000-4000-8000-000000000001"} 1
vmoments_domain_info{domain="web-2",state="running",uri="URI",uuid="00000000-0000-4000-8000-000000000002"} 1
# HELP vmoments_snapshot_created_timestamp_seconds Creation time of each snapshot (with --per-moment).
# TYPE vmoments_snapshot_created_timestamp_seconds gauge
vmoments_snapshot_created_timestamp_seconds{domain="db-1",snapshot="only",uri="URI"} 500
vmoments_snapshot_created_timestamp_seconds{domain="web-1",snapshot="a",uri="URI"} 3000
vmoments_snapshot_created_timestamp_seconds{domain="web-1",snapshot="base",uri="URI"} 1000
vmoments_snapshot_created_timestamp_seconds{domain="web-1",snapshot="ext",uri="URI"} 2500
vmoments_snapshot_created_timestamp_seconds{domain="web-1",snapshot="upd",uri="URI"} 2000
`)
	families := []string{"vmoments_up", "vmoments_domain_snapshots", "vmoments_domain_checkpoints",
		"vmoments_domain_snapshot_oldest_timestamp_seconds", "vmoments_domain_snapshot_newest_timestamp_seconds",
		"vmoments_domain_checkpoint_oldest_timestamp_seconds", "vmoments_domain_checkpoint_newest_timestamp_seconds",
		"vmoments_domain_snapshot_tree_depth", "vmoments_domain_external_snapshots", "vmoments_domain_current_snapshot_info",
		"vmoments_domain_current_checkpoint_info", "vmoments_disk_current_checkpoint_info",
		"vmoments_disk_newest_checkpoint_timestamp_seconds", "vmoments_disk_uncovered", "vmoments_domain_snapshot_bytes",
		"vmoments_domain_info", "vmoments_snapshot_created_timestamp_seconds", "vmoments_checkpoint_created_timestamp_seconds"}
	if err := testutil.CollectAndCompare(e, strings.NewReader(want), families...); err != nil {
		t.Error(err)
	}
	problems, err := testutil.CollectAndLint(e)
	if err != nil || len(problems) > 0 {
		t.Errorf("lint: %v %+v", err, problems)
	}
}

// TestCheckpointSeries makes checkpoints on the test driver (which makes them at run time only)
// and reads them through the exporter.
func TestCheckpointSeries(t *testing.T) {
	uri := nodeURI(t)
	drv, err := driver.Open(ctx, uri, driver.ReadWrite)
	if err != nil {
		t.Fatal(err)
	}
	defer drv.Close()
	dom, err := drv.Domain(ctx, "web-2")
	if err != nil {
		t.Fatal(err)
	}
	for _, x := range []string{
		"<domaincheckpoint><name>c1</name><creationTime>100</creationTime><disks><disk name='vda' checkpoint='bitmap'/></disks></domaincheckpoint>",
		"<domaincheckpoint><name>c2</name><parent><name>c1</name></parent><creationTime>200</creationTime><disks><disk name='vda' checkpoint='no'/></disks></domaincheckpoint>",
	} {
		if _, err := dom.CreateCheckpoint(ctx, x, driver.CheckpointCreateRedefine); err != nil {
			t.Fatal(err)
		}
	}
	e := newExporter(t, fleet.Options{URIs: []string{uri}, Patterns: []string{"web-2"},
		Open: func(context.Context, string) (driver.Driver, error) { return drv, nil }}, exporter.Options{PerMoment: true})
	want := strings.NewReplacer("URI", uri).Replace(`
# HELP vmoments_domain_current_checkpoint_info The domain's current checkpoint (libvirt's internal pointer, derived by libvirt's rules) and the rule that decided it; checkpoint is empty when the domain has checkpoints but none is current; always 1, absent without checkpoints.
# TYPE vmoments_domain_current_checkpoint_info gauge
vmoments_domain_current_checkpoint_info{checkpoint="c2",domain="web-2",rule="loaded-leaf",uri="URI"} 1
# HELP vmoments_disk_current_checkpoint_info Where the disk's next incremental backup starts by libvirt's pointer: the nearest checkpoint at or above the current one that covers it; always 1, absent when there is none.
# TYPE vmoments_disk_current_checkpoint_info gauge
vmoments_disk_current_checkpoint_info{checkpoint="c1",disk="vda",domain="web-2",uri="URI"} 1
# HELP vmoments_disk_newest_checkpoint_timestamp_seconds Creation time of the newest checkpoint that covers the disk (absent for a disk no checkpoint covers).
# TYPE vmoments_disk_newest_checkpoint_timestamp_seconds gauge
vmoments_disk_newest_checkpoint_timestamp_seconds{checkpoint="c1",disk="vda",domain="web-2",uri="URI"} 100
# HELP vmoments_disk_uncovered 1 if no checkpoint covers the disk, else 0; for every disk of the domain's current definition a checkpoint can cover (not empty, not read-only).
# TYPE vmoments_disk_uncovered gauge
vmoments_disk_uncovered{disk="vda",domain="web-2",uri="URI"} 0
# HELP vmoments_domain_checkpoint_oldest_timestamp_seconds Creation time of the domain's oldest checkpoint (absent without checkpoints).
# TYPE vmoments_domain_checkpoint_oldest_timestamp_seconds gauge
vmoments_domain_checkpoint_oldest_timestamp_seconds{domain="web-2",uri="URI"} 100
# HELP vmoments_domain_checkpoint_newest_timestamp_seconds Creation time of the domain's newest checkpoint (absent without checkpoints).
# TYPE vmoments_domain_checkpoint_newest_timestamp_seconds gauge
vmoments_domain_checkpoint_newest_timestamp_seconds{domain="web-2",uri="URI"} 200
# HELP vmoments_checkpoint_created_timestamp_seconds Creation time of each checkpoint (with --per-moment).
# TYPE vmoments_checkpoint_created_timestamp_seconds gauge
vmoments_checkpoint_created_timestamp_seconds{checkpoint="c1",domain="web-2",uri="URI"} 100
vmoments_checkpoint_created_timestamp_seconds{checkpoint="c2",domain="web-2",uri="URI"} 200
`)
	if err := testutil.CollectAndCompare(e, strings.NewReader(want),
		"vmoments_domain_current_checkpoint_info", "vmoments_disk_current_checkpoint_info",
		"vmoments_disk_newest_checkpoint_timestamp_seconds", "vmoments_disk_uncovered",
		"vmoments_domain_checkpoint_oldest_timestamp_seconds", "vmoments_domain_checkpoint_newest_timestamp_seconds",
		"vmoments_checkpoint_created_timestamp_seconds"); err != nil {
		t.Error(err)
	}
}

// clock is a settable clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

// calls counts the domain lists of a driver (one per host refresh) and can hold them.
type calls struct {
	driver.Driver
	lists *atomic.Int32
	gate  chan struct{} // if not nil, each list waits for a value
}

func (c calls) Domains(ctx context.Context) ([]driver.DomainInfo, error) {
	c.lists.Add(1)
	if c.gate != nil {
		<-c.gate
	}
	return c.Driver.Domains(ctx)
}

func countingOpen(lists *atomic.Int32, gate chan struct{}) func(context.Context, string) (driver.Driver, error) {
	return func(ctx context.Context, uri string) (driver.Driver, error) {
		d, err := driver.Open(ctx, uri, driver.ReadOnly)
		if err != nil {
			return nil, err
		}
		return calls{d, lists, gate}, nil
	}
}

func TestMinInterval(t *testing.T) {
	var lists atomic.Int32
	clk := &clock{t: time.Unix(1e9, 0)}
	e := newExporter(t, fleet.Options{URIs: []string{nodeURI(t)}, Open: countingOpen(&lists, nil)},
		exporter.Options{MinInterval: 15 * time.Second, Now: clk.Now})
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(e)
	for range 20 {
		if _, err := reg.Gather(); err != nil {
			t.Fatal(err)
		}
		clk.Add(500 * time.Millisecond) // 10 s in all
	}
	if n := lists.Load(); n != 1 {
		t.Errorf("20 scrapes within 10 s asked libvirt %d times, want 1", n)
	}
	clk.Add(5 * time.Second)
	if _, err := reg.Gather(); err != nil {
		t.Fatal(err)
	}
	if n := lists.Load(); n != 2 {
		t.Errorf("after the interval: %d refreshes, want 2", n)
	}
	if got := testutil.ToFloat64(onlyFamily(t, e, "vmoments_refreshes_total")); got != 2 {
		t.Errorf("vmoments_refreshes_total = %v, want 2", got)
	}
}

// onlyFamily is a collector of one family of e, for testutil.ToFloat64.
func onlyFamily(t *testing.T, e *exporter.Exporter, name string) prometheus.Collector {
	t.Helper()
	return collectorFunc(func(ch chan<- prometheus.Metric) {
		all := make(chan prometheus.Metric, 1000)
		e.Collect(all)
		close(all)
		for m := range all {
			if strings.Contains(m.Desc().String(), `"`+name+`"`) {
				ch <- m
			}
		}
	})
}

type collectorFunc func(chan<- prometheus.Metric)

func (f collectorFunc) Describe(chan<- *prometheus.Desc)    {}
func (f collectorFunc) Collect(ch chan<- prometheus.Metric) { f(ch) }

func TestConcurrentScrapesShareOneRefresh(t *testing.T) {
	var lists atomic.Int32
	gate := make(chan struct{})
	e := newExporter(t, fleet.Options{URIs: []string{nodeURI(t)}, Open: countingOpen(&lists, gate)},
		exporter.Options{MinInterval: time.Hour})
	srv := httptest.NewServer(e.Handler())
	defer srv.Close()
	const n = 50
	var wg sync.WaitGroup
	bodies := make([]string, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			bodies[i] = scrape(t, srv.URL, "")
		}()
	}
	time.Sleep(200 * time.Millisecond) // every scrape is waiting on the one refresh
	gate <- struct{}{}
	wg.Wait()
	if got := lists.Load(); got != 1 {
		t.Errorf("%d concurrent scrapes made %d refreshes, want 1", n, got)
	}
	for i, b := range bodies {
		if !strings.Contains(b, `vmoments_domain_snapshots{domain="web-1"`) {
			t.Errorf("scrape %d lacks the domains:\n%.500s", i, b)
			break
		}
	}
}

func scrape(t *testing.T, url, timeout string) string {
	req, err := http.NewRequest("GET", url+"/metrics", nil)
	if err != nil {
		t.Error(err)
		return ""
	}
	if timeout != "" {
		req.Header.Set("X-Prometheus-Scrape-Timeout-Seconds", timeout)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Error(err)
		return ""
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Errorf("scrape: %s: %s", resp.Status, b)
	}
	return string(b)
}

// TestSlowRefreshNeverFailsAScrape holds a refresh past the scrape's deadline: the scrape is
// answered in time from what is known (here nothing yet: up 0), and the next one, after the
// refresh ended, has the series.
func TestSlowRefreshNeverFailsAScrape(t *testing.T) {
	var lists atomic.Int32
	gate := make(chan struct{})
	e := newExporter(t, fleet.Options{URIs: []string{nodeURI(t)}, Open: countingOpen(&lists, gate)},
		exporter.Options{MinInterval: time.Hour})
	srv := httptest.NewServer(e.Handler())
	defer srv.Close()
	start := time.Now()
	body := scrape(t, srv.URL, "1")
	if took := time.Since(start); took > 900*time.Millisecond {
		t.Errorf("a scrape with a 1 s timeout took %v", took)
	}
	if !strings.Contains(body, "vmoments_up{uri=") || !strings.Contains(body, "} 0\n") {
		t.Errorf("before the first refresh ended: want vmoments_up 0:\n%.800s", body)
	}
	gate <- struct{}{}
	time.Sleep(100 * time.Millisecond)
	if body = scrape(t, srv.URL, "1"); !strings.Contains(body, `vmoments_domain_snapshots{domain="web-1"`) {
		t.Errorf("after the refresh: no domain series:\n%.800s", body)
	}
}

func TestFailingHost(t *testing.T) {
	var logs bytes.Buffer
	var mu sync.Mutex
	logger := slog.New(slog.NewTextHandler(lockedWriter{&logs, &mu}, nil))
	bad := "qemu+tcp://127.0.0.1:1/system" // nothing listens on port 1
	good := nodeURI(t)
	e := newExporter(t, fleet.Options{URIs: []string{bad, good}}, exporter.Options{Logger: logger})
	srv := httptest.NewServer(e.Handler())
	defer srv.Close()
	body := scrape(t, srv.URL, "")
	for _, want := range []string{
		`vmoments_up{uri="` + bad + `"} 0`,
		`vmoments_up{uri="` + good + `"} 1`,
		`vmoments_scrape_errors_total{uri="` + bad + `"} 1`,
		`vmoments_domain_snapshots{domain="web-1",uri="` + good + `"} 4`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("scrape lacks %s", want)
		}
	}
	if strings.Contains(body, `domain="web-1",uri="`+bad) {
		t.Error("the failing host has per-domain series")
	}
	mu.Lock()
	defer mu.Unlock()
	if !strings.Contains(logs.String(), "cannot read host") || !strings.Contains(logs.String(), bad) {
		t.Errorf("the log lacks the host's error:\n%s", logs.String())
	}
}

type lockedWriter struct {
	b  *bytes.Buffer
	mu *sync.Mutex
}

func (w lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

// hiding hides domains from the list, as if they were undefined.
type hiding struct {
	driver.Driver
	hidden *atomic.Value // string
}

func (h hiding) Domains(ctx context.Context) ([]driver.DomainInfo, error) {
	all, err := h.Driver.Domains(ctx)
	var out []driver.DomainInfo
	for _, d := range all {
		if d.Name != h.hidden.Load().(string) {
			out = append(out, d)
		}
	}
	return out, err
}

// TestSeriesFollowChanges deletes a snapshot and hides a domain: the next refresh's series say
// so, and nothing of the old ones stays.
func TestSeriesFollowChanges(t *testing.T) {
	uri := nodeURI(t)
	drv, err := driver.Open(ctx, uri, driver.ReadWrite)
	if err != nil {
		t.Fatal(err)
	}
	defer drv.Close()
	var hidden atomic.Value
	hidden.Store("")
	clk := &clock{t: time.Unix(1e9, 0)}
	e := newExporter(t, fleet.Options{URIs: []string{uri}, Open: func(context.Context, string) (driver.Driver, error) {
		return hiding{drv, &hidden}, nil
	}}, exporter.Options{Now: clk.Now, PerMoment: true})
	series := func() string {
		clk.Add(time.Minute)
		reg := prometheus.NewPedanticRegistry()
		reg.MustRegister(e)
		mfs, err := reg.Gather()
		if err != nil {
			t.Fatal(err)
		}
		var b bytes.Buffer
		for _, mf := range mfs {
			if _, err := expfmt.MetricFamilyToText(&b, mf); err != nil {
				t.Fatal(err)
			}
		}
		return b.String()
	}
	before := series()
	if !strings.Contains(before, `snapshot="ext"`) || !strings.Contains(before, `domain="db-1"`) {
		t.Fatalf("before: %s", before)
	}
	dom, err := drv.Domain(ctx, "web-1")
	if err != nil {
		t.Fatal(err)
	}
	if err := dom.Delete(ctx, conf.Snapshot, "ext", 0); err != nil {
		t.Fatal(err)
	}
	hidden.Store("db-1")
	after := series()
	for _, gone := range []string{`snapshot="ext"`, `domain="db-1"`} {
		if strings.Contains(after, gone) {
			t.Errorf("after the change the series still have %s", gone)
		}
	}
	if !strings.Contains(after, `vmoments_domain_snapshots{domain="web-1",uri="`+uri+`"} 3`) ||
		!strings.Contains(after, `vmoments_domain_external_snapshots{domain="web-1",uri="`+uri+`"} 0`) {
		t.Errorf("after deleting ext: %s", after)
	}
}

func TestLandingPage(t *testing.T) {
	e := newExporter(t, fleet.Options{URIs: []string{nodeURI(t)}}, exporter.Options{})
	mux, err := e.Mux("test")
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(mux)
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(b), `href="/metrics"`) || strings.Contains(string(b), "debug/pprof") || !strings.Contains(string(b), "vmoments exporter") {
		t.Errorf("landing page: %s\n%.600s", resp.Status, b)
	}
	if resp, err := http.Get(srv.URL + "/nothing"); err != nil || resp.StatusCode != 404 {
		t.Errorf("/nothing: %v %v", resp.Status, err)
	}
	if body := scrape(t, srv.URL, ""); !strings.Contains(body, "go_goroutines") || !strings.Contains(body, "process_resident_memory_bytes") {
		t.Error("/metrics lacks the Go and process collectors")
	}
}

// TestDaemonBackAtNextScrape: a host that failed for want of a connection is read again at the
// next scrape, however short the time since, and a success shows at once.
func TestDaemonBackAtNextScrape(t *testing.T) {
	var opens, lists atomic.Int32
	clk := &clock{t: time.Unix(1e9, 0)}
	e := newExporter(t, fleet.Options{URIs: []string{nodeURI(t)}, Open: func(ctx context.Context, uri string) (driver.Driver, error) {
		if opens.Add(1) == 1 {
			return nil, &driver.Error{URI: uri, Class: driver.ErrConnection, Msg: "Failed to connect socket: No such file or directory"}
		}
		d, err := driver.Open(ctx, uri, driver.ReadOnly)
		if err != nil {
			return nil, err
		}
		return calls{d, &lists, nil}, nil
	}}, exporter.Options{MinInterval: time.Hour, Now: clk.Now})
	srv := httptest.NewServer(e.Handler())
	defer srv.Close()
	if body := scrape(t, srv.URL, ""); !strings.Contains(body, "vmoments_up{uri=\""+nodeURI(t)+"\"} 0") {
		t.Fatalf("first scrape, daemon away: want up 0:\n%.600s", body)
	}
	clk.Add(time.Second)
	if body := scrape(t, srv.URL, ""); !strings.Contains(body, "vmoments_up{uri=\""+nodeURI(t)+"\"} 1") {
		t.Errorf("second scrape, daemon back: want up 1:\n%.600s", body)
	}
	// Then MinInterval holds again: a host that answers is not read again within it.
	clk.Add(time.Second)
	scrape(t, srv.URL, "")
	if n, l := opens.Load(), lists.Load(); n != 2 || l != 1 {
		t.Errorf("%d opens and %d domain lists, want 2 and 1", n, l)
	}
}
