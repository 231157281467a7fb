//go:build integration

package integration

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/vmoments/vmoments/driver/qemu/qemutest"
)

// freeAddr returns a loopback address whose port was free a moment ago.
func freeAddr(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// lockedBuffer collects a process's output.
type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (w *lockedBuffer) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}
func (w *lockedBuffer) String() string { w.mu.Lock(); defer w.mu.Unlock(); return w.b.String() }

// runningExporter is `vmoments exporter` started by a test.
type runningExporter struct {
	addr string
	cmd  *exec.Cmd
	log  *lockedBuffer
}

// startExporter runs vmoments exporter with args on a free loopback port and waits until it
// answers; it is stopped (SIGTERM) when the test ends.
func startExporter(t testing.TB, args ...string) *runningExporter {
	t.Helper()
	e := &runningExporter{addr: freeAddr(t), log: &lockedBuffer{}}
	e.cmd = exec.Command(vmomentsCommand(t), append([]string{"exporter", "--listen", e.addr}, args...)...)
	e.cmd.Stderr = e.log
	if err := e.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		e.cmd.Process.Signal(syscall.SIGTERM)
		e.cmd.Wait()
	})
	for try := 0; ; try++ {
		resp, err := http.Get("http://" + e.addr + "/")
		if err == nil {
			resp.Body.Close()
			return e
		}
		if try == 100 {
			t.Fatalf("the exporter does not answer on %s: %v\n%s", e.addr, err, e.log)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// scrape fetches /metrics as Prometheus does (with its scrape timeout header).
func (e *runningExporter) scrape(timeout string) (int, string, time.Duration, error) {
	req, _ := http.NewRequest("GET", "http://"+e.addr+"/metrics", nil)
	req.Header.Set("X-Prometheus-Scrape-Timeout-Seconds", timeout)
	start := time.Now()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, "", time.Since(start), err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), time.Since(start), err
}

// seriesOf parses an exposition into name{labels} -> value (labels sorted, as gathered keys
// them), keeping the families given.
func seriesOf(t testing.TB, body string, families []string) map[string]float64 {
	t.Helper()
	p := expfmt.NewTextParser(model.UTF8Validation)
	mfs, err := p.TextToMetricFamilies(strings.NewReader(body))
	if err != nil {
		t.Fatalf("parse the exposition: %v", err)
	}
	out := map[string]float64{}
	for name, mf := range mfs {
		if !slices.Contains(families, name) {
			continue
		}
		for _, m := range mf.GetMetric() {
			var parts []string
			for _, l := range m.GetLabel() {
				parts = append(parts, l.GetName()+"="+strconv.Quote(l.GetValue()))
			}
			slices.Sort(parts)
			v := m.GetGauge().GetValue()
			if m.Counter != nil {
				v = m.GetCounter().GetValue()
			}
			out[name+"{"+strings.Join(parts, ",")+"}"] = v
		}
	}
	return out
}

// rss is a process's resident set size in bytes (/proc/PID/status VmRSS).
func rss(t testing.TB, pid int) uint64 {
	t.Helper()
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			kb, _ := strconv.ParseUint(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return kb * 1024
		}
	}
	t.Fatalf("no VmRSS for pid %d", pid)
	return 0
}

// prometheusServer is Debian's prometheus, started by a test on loopback.
type prometheusServer struct {
	url string
}

// startPrometheus runs prometheus scraping target every second into a temporary storage.
func startPrometheus(t testing.TB, target string) *prometheusServer {
	t.Helper()
	bin, err := exec.LookPath("prometheus")
	if err != nil {
		t.Fatal("prometheus is needed (apt-get install prometheus): ", err)
	}
	dir := t.TempDir()
	cfg := fmt.Sprintf(`global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
  - job_name: vmoments
    static_configs:
      - targets: ["%s"]
`, target)
	cfgPath := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	addr := freeAddr(t)
	log := &lockedBuffer{}
	cmd := exec.Command(bin, "--config.file="+cfgPath, "--storage.tsdb.path="+filepath.Join(dir, "data"),
		"--web.listen-address="+addr, "--log.level=warn")
	cmd.Stdout, cmd.Stderr = log, log
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Signal(syscall.SIGTERM); cmd.Wait() })
	p := &prometheusServer{url: "http://" + addr}
	for try := 0; ; try++ {
		resp, err := http.Get(p.url + "/-/ready")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return p
			}
		}
		if try == 300 {
			t.Fatalf("prometheus is not ready on %s: %v\n%s", addr, err, log)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// query runs an instant query: name{labels} -> value.
func (p *prometheusServer) query(t testing.TB, q string) map[string]float64 {
	t.Helper()
	var resp struct {
		Status string
		Data   struct {
			Result []struct {
				Metric map[string]string
				Value  [2]any
			}
		}
	}
	p.get(t, "/api/v1/query?query="+url.QueryEscape(q), &resp)
	out := map[string]float64{}
	for _, r := range resp.Data.Result {
		out[promKey(r.Metric)], _ = strconv.ParseFloat(r.Value[1].(string), 64)
	}
	return out
}

// samples returns every sample of the query's series over the last window, by series and by
// timestamp (ms).
func (p *prometheusServer) samples(t testing.TB, q string, window time.Duration) map[string]map[int64]float64 {
	t.Helper()
	var resp struct {
		Data struct {
			Result []struct {
				Metric map[string]string
				Values [][2]any
			}
		}
	}
	p.get(t, "/api/v1/query?query="+url.QueryEscape(fmt.Sprintf("%s[%ds]", q, int(window.Seconds()))), &resp)
	out := map[string]map[int64]float64{}
	for _, r := range resp.Data.Result {
		k := promKey(r.Metric)
		out[k] = map[int64]float64{}
		for _, v := range r.Values {
			out[k][int64(v[0].(float64)*1000+0.5)], _ = strconv.ParseFloat(v[1].(string), 64)
		}
	}
	return out
}

func (p *prometheusServer) get(t testing.TB, path string, v any) {
	t.Helper()
	resp, err := http.Get(p.url + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("prometheus %s: %s: %s", path, resp.Status, b)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("prometheus %s: %v", path, err)
	}
}

// promKey is a series as name{labels} without Prometheus' own target labels (job, instance).
func promKey(m map[string]string) string {
	var parts []string
	for k, v := range m {
		if k != "__name__" && k != "job" && k != "instance" {
			parts = append(parts, k+"="+strconv.Quote(v))
		}
	}
	sort.Strings(parts)
	return m["__name__"] + "{" + strings.Join(parts, ",") + "}"
}

// scrapesUntil counts the scrapes of the job after since (ms) up to and including the first one
// whose timestamp is in seen (the first scrape that shows a change), or -1 if none does.
func scrapesUntil(up map[int64]float64, since int64, seen func(int64) bool) int {
	var stamps []int64
	for ts := range up {
		stamps = append(stamps, ts)
	}
	slices.Sort(stamps)
	n := 0
	for _, ts := range stamps {
		if ts <= since {
			continue
		}
		n++
		if seen(ts) {
			return n
		}
	}
	return -1
}

// TestExporterPrometheus runs vmoments exporter on three throw-away guests of qemu:///system and
// a real Prometheus scraping it every second: Prometheus' HTTP API has the series virsh's lists
// give; then moments are created and deleted and a guest is undefined, and each change shows
// within two scrapes after it is complete.
func TestExporterPrometheus(t *testing.T) {
	conn := qemutest.Connect(t, systemURI)
	a := conn.NewGuest(t, group, "prom")
	a.Snapshot("s1", 0)
	a.Snapshot("s2", 0)
	b := conn.NewGuest(t, group, "prom")
	b.Start()
	b.Checkpoint("k1", both("bitmap")...)
	b.Checkpoint("k2", only("vda", "bitmap", "no")...)
	c := conn.NewGuest(t, group, "prom")
	c.Snapshot("only", 0)

	pattern := fleetPattern("prom")
	// A little less than the scrape interval, so that every scrape finds a refresh due even
	// when Prometheus' timing jitters by a few milliseconds.
	e := startExporter(t, "--connect", systemURI, "--min-interval", "900ms", pattern)
	p := startPrometheus(t, e.addr)
	sel := fmt.Sprintf(`{__name__=~"vmoments_.*", domain=~"vmoments-test-%s-%d-prom.*"}`, group, os.Getpid())

	families := append(append([]string{"vmoments_domain_snapshot_bytes"}, checkedFamilies...), diskFamilies...)
	wantNow := func() map[string]float64 {
		var ours []string
		for _, name := range conn.DomainNames(t) {
			if strings.HasPrefix(name, strings.TrimSuffix(pattern, "*")) {
				ours = append(ours, name)
			}
		}
		truth := virshTruth(t, systemURI, ours, true)
		want := map[string]float64{}
		for _, d := range truth {
			for k, v := range wantSeries(systemURI, d, expectedBytesLocal(t, systemURI, d), true) {
				want[k] = v
			}
		}
		return want
	}
	gotNow := func() map[string]float64 {
		all := p.query(t, sel)
		got := map[string]float64{}
		for k, v := range all {
			if slices.Contains(families, k[:strings.Index(k, "{")]) {
				got[k] = v
			}
		}
		return got
	}
	// The first values, once Prometheus has scraped.
	want := wantNow()
	deadline := time.Now().Add(30 * time.Second)
	for diffSeries(gotNow(), want) != "" && time.Now().Before(deadline) {
		time.Sleep(250 * time.Millisecond)
	}
	if d := diffSeries(gotNow(), want); d != "" {
		t.Fatalf("Prometheus' series differ from virsh's:\n%s\nexporter log:\n%s", d, e.log)
	}
	t.Logf("Prometheus has the %d series virsh's lists give", len(want))
	if up := p.query(t, `vmoments_up`); up[`vmoments_up{uri="qemu:///system"}`] != 1 {
		t.Errorf("vmoments_up: %v", up)
	}

	// Each change, and the scrapes it takes to show.
	changes := []struct {
		what string
		do   func()
	}{
		{"a snapshot created", func() { a.Snapshot("s3", 0) }},
		{"a snapshot deleted", func() { a.DeleteSnapshot("s1", 0) }},
		{"a checkpoint created", func() { b.Checkpoint("k3", both("bitmap")...) }},
		{"a checkpoint deleted", func() { b.DeleteCheckpoint("k1", 0) }},
		{"a guest undefined", func() { c.Remove() }},
	}
	for _, ch := range changes {
		ch.do()
		since := time.Now().UnixMilli() // the change is complete: count the scrapes from here
		want := wantNow()
		deadline := time.Now().Add(20 * time.Second)
		for diffSeries(gotNow(), want) != "" && time.Now().Before(deadline) {
			time.Sleep(100 * time.Millisecond)
		}
		if d := diffSeries(gotNow(), want); d != "" {
			t.Fatalf("%s: Prometheus' series after 20 s:\n%s", ch.what, d)
		}
		// Which scrape first had the new state: the first after the change whose samples equal
		// the new series (for a removed series: the first without it).
		window := time.Duration(time.Now().UnixMilli()-since)*time.Millisecond + 5*time.Second
		up := p.samples(t, `up{job="vmoments"}`, window)[`up{}`]
		stamps := p.samples(t, sel, window)
		newState := func(ts int64) bool {
			for k, v := range want {
				if got, ok := stamps[k][ts]; !ok || got != v {
					return false
				}
			}
			for k, s := range stamps {
				if _, ok := want[k]; !ok && slices.Contains(families, k[:strings.Index(k, "{")]) {
					if _, scraped := s[ts]; scraped {
						return false // an old series still scraped
					}
				}
			}
			return true
		}
		n := scrapesUntil(up, since, newState)
		t.Logf("%s: shown by scrape %d after the change", ch.what, n)
		if n < 1 || n > 2 {
			t.Errorf("%s: the new series came with scrape %d after the change, want within 2", ch.what, n)
		}
	}
	// A value, as the README shows it.
	res := p.query(t, fmt.Sprintf(`vmoments_domain_snapshots{domain=%q}`, a.Name))
	t.Logf("Prometheus: vmoments_domain_snapshots{domain=%q} = %v", a.Name, res)
}

// TestExporterRestart restarts the test's own libvirtd under a running exporter: while the
// daemon is away every scrape succeeds and says vmoments_up 0; the first scrape after it is
// back has the complete series.
func TestExporterRestart(t *testing.T) {
	d := qemutest.StartDaemon(t)
	g := d.Connect(t).NewGuest(t, group, "exprestart")
	redefine(g, genTree(true, treeShape{N: 300, Roots: 2, Branch: 0.2, Offline: 0.8, Seed: 9}))
	e := startExporter(t, "--connect", d.URI, "--min-interval", "1s")
	families := append([]string{"vmoments_up", "vmoments_domain_snapshot_bytes"}, checkedFamilies...)
	truth := virshTruth(t, d.URI, nil, false)
	want := map[string]float64{fmt.Sprintf("vmoments_up{uri=%q}", d.URI): 1}
	for _, dom := range truth {
		for k, v := range wantSeries(d.URI, dom, nil, false) {
			want[k] = v
		}
	}
	// vmoments_domain_snapshot_bytes: the internal snapshots make it unknown remotely.
	check := func(when string) {
		t.Helper()
		code, body, took, err := e.scrape("10")
		if err != nil || code != 200 {
			t.Fatalf("%s: scrape %d %v", when, code, err)
		}
		if diff := diffSeries(seriesOf(t, body, families), want); diff != "" {
			t.Fatalf("%s (scrape took %v): the series differ from virsh's:\n%s\nlog:\n%s", when, took, diff, e.log)
		}
	}
	check("before the restart")

	d.Kill()
	away := time.Now()
	upKey := fmt.Sprintf("vmoments_up{uri=%q}", d.URI)
	var zeros, scrapes int
	var firstZero time.Duration
	for time.Since(away) < 6*time.Second {
		code, body, _, err := e.scrape("1")
		if err != nil || code != 200 {
			t.Fatalf("a scrape while the daemon is away failed: %d %v", code, err)
		}
		scrapes++
		s := seriesOf(t, body, []string{"vmoments_up", "vmoments_domain_snapshots"})
		if s[upKey] == 0 {
			if zeros == 0 {
				firstZero = time.Since(away)
			}
			zeros++
			if len(s) != 1 {
				t.Errorf("vmoments_up 0 with per-domain series: %v", s)
			}
		}
		time.Sleep(250 * time.Millisecond)
	}
	if zeros == 0 {
		t.Fatalf("no scrape of %d in 6 s without the daemon said vmoments_up 0\nlog:\n%s", scrapes, e.log)
	}
	t.Logf("daemon away: %d scrapes, all answered; vmoments_up 0 from %v on (%d scrapes)", scrapes, firstZero.Round(time.Millisecond), zeros)
	if err := d.Restart(t); err != nil {
		t.Fatal(err)
	}
	check("the first scrape after the daemon is back")
	if !strings.Contains(e.log.String(), "cannot read host") {
		t.Errorf("the exporter's log does not tell the host's failure:\n%s", e.log)
	}
}

// TestExporterLoad scrapes one exporter 100 times at once for 30 s, on loopback, against a host
// (the test's own libvirtd over TCP) with 2,000 snapshots and 200 checkpoints: no scrape fails,
// libvirt is asked at most once per --min-interval (counted by libvirtd itself: it logs every
// call it dispatches), and the exporter's memory stays flat. The figures go to the log.
func TestExporterLoad(t *testing.T) {
	d := qemutest.StartDaemon(t)
	c := d.Connect(t)
	g := c.NewGuest(t, group, "load")
	timed(t, "redefine 2,000 snapshots", func() {
		redefine(g, genTree(true, treeShape{N: 2000, Roots: 4, Branch: 0.1, Offline: 0.6, Seed: 2000}))
	})
	h := c.NewGuest(t, group, "load")
	timed(t, "redefine 200 checkpoints", func() { redefine(h, genTree(false, treeShape{N: 200, Roots: 1, Branch: 0.05, Seed: 200})) })

	// libvirtd logs each call it dispatches (virNetServerProgramDispatch): set through its admin
	// socket, on the test's own daemon only.
	admin := "libvirtd:///system?socket=" + filepath.Join(d.Dir, "sock", "libvirt-admin-sock")
	rpcLog := filepath.Join(d.Dir, "rpc.log")
	for _, args := range [][]string{{"daemon-log-filters", "1:rpc.netserverprogram"}, {"daemon-log-outputs", "1:file:" + rpcLog}} {
		if out, err := exec.Command("virt-admin", append([]string{"-c", admin}, args...)...).CombinedOutput(); err != nil {
			t.Fatalf("virt-admin %v: %v: %s", args, err, out)
		}
	}
	rpcCalls := func() int {
		b, _ := os.ReadFile(rpcLog)
		return strings.Count(string(b), "prog=536903814 ") // REMOTE_PROGRAM: libvirt's API calls
	}

	const minInterval = 15 * time.Second
	e := startExporter(t, "--connect", d.URI, "--min-interval", minInterval.String())
	pid := e.cmd.Process.Pid
	// The first scrape loads everything.
	beforeLoad := rpcCalls()
	code, body, took, err := e.scrape("60")
	if err != nil || code != 200 || !strings.Contains(body, `vmoments_domain_snapshots{domain="`+g.Name+`",uri="`+d.URI+`"} 2000`) {
		t.Fatalf("first scrape: %d %v\n%.1000s", code, err, body)
	}
	loadCalls := rpcCalls() - beforeLoad
	t.Logf("first scrape (cold load of 2,000 snapshots and 200 checkpoints): %v, %d libvirt calls", took.Round(time.Millisecond), loadCalls)
	startRSS := rss(t, pid)
	startCalls := rpcCalls()

	const scrapers, duration = 100, 30 * time.Second
	var (
		ok, failed atomic.Int64
		mu         sync.Mutex
		latencies  []time.Duration
		wg         sync.WaitGroup
	)
	transport := &http.Transport{MaxIdleConnsPerHost: scrapers}
	client := &http.Client{Transport: transport, Timeout: 10 * time.Second}
	start := time.Now()
	for range scrapers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Since(start) < duration {
				req, _ := http.NewRequest("GET", "http://"+e.addr+"/metrics", nil)
				req.Header.Set("X-Prometheus-Scrape-Timeout-Seconds", "10")
				t0 := time.Now()
				resp, err := client.Do(req)
				if err == nil {
					_, err = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if resp.StatusCode != 200 {
						err = fmt.Errorf("status %s", resp.Status)
					}
				}
				lat := time.Since(t0)
				if err != nil {
					failed.Add(1)
					continue
				}
				ok.Add(1)
				mu.Lock()
				latencies = append(latencies, lat)
				mu.Unlock()
			}
		}()
	}
	var rssAt []uint64
	for time.Since(start) < duration {
		time.Sleep(5 * time.Second)
		rssAt = append(rssAt, rss(t, pid))
	}
	wg.Wait()
	elapsed := time.Since(start)
	calls := rpcCalls() - startCalls
	endRSS := rss(t, pid)
	slices.Sort(latencies)
	pct := func(p float64) time.Duration {
		if len(latencies) == 0 {
			return 0
		}
		return latencies[min(len(latencies)-1, int(p*float64(len(latencies))))]
	}
	// The exporter's own count of its refreshes.
	_, body, _, _ = e.scrape("10")
	refreshes := seriesOf(t, body, []string{"vmoments_refreshes_total"})[fmt.Sprintf("vmoments_refreshes_total{uri=%q}", d.URI)]
	mib := func(n uint64) string { return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20)) }
	var rssText []string
	for _, r := range rssAt {
		rssText = append(rssText, mib(r))
	}
	t.Logf("load: %d scrapers for %v: %d scrapes (%.0f/s), %d failed; scrape time p50 %v, p99 %v, max %v",
		scrapers, elapsed.Round(time.Millisecond), ok.Load(), float64(ok.Load())/elapsed.Seconds(), failed.Load(),
		pct(0.5).Round(time.Microsecond), pct(0.99).Round(time.Microsecond), pct(1).Round(time.Microsecond))
	t.Logf("load: libvirt calls during the load: %d over %.0f refreshes (%.1f per refresh, %.4f per scrape); the exporter's refreshes in all: %.0f",
		calls, refreshes-1, float64(calls)/max(1, refreshes-1), float64(calls)/float64(max(1, ok.Load())), refreshes)
	t.Logf("load: exporter RSS %s before, every 5 s %s, %s after", mib(startRSS), strings.Join(rssText, ", "), mib(endRSS))

	if failed.Load() > 0 {
		t.Errorf("%d scrapes failed", failed.Load())
	}
	// At most one refresh per min-interval: the load ran 30 s, so at most 2 more after the first
	// (at 15 s and 30 s); each refresh of these two domains is a handful of calls.
	if maxRefreshes := 1 + int(elapsed/minInterval) + 1; refreshes > float64(maxRefreshes) {
		t.Errorf("%.0f refreshes in %v with --min-interval %v, want at most %d", refreshes, elapsed, minInterval, maxRefreshes)
	}
	if perRefresh := float64(calls) / max(1, refreshes-1); calls > 0 && perRefresh > 40 {
		t.Errorf("%.1f libvirt calls per refresh of 2 loaded domains: the domains are not kept loaded", perRefresh)
	}
	// Flat: no growth beyond noise from the first sample under load to the end.
	if len(rssAt) > 0 && endRSS > rssAt[0]+32<<20 {
		t.Errorf("the exporter's RSS grew from %s to %s under load", mib(rssAt[0]), mib(endRSS))
	}
}
