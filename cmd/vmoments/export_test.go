package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/vmoments/vmoments/conf"
	"github.com/vmoments/vmoments/driver"
	"github.com/vmoments/vmoments/transfer"
)

// keptDriver is a test driver whose Close is a no-op, so its state (which lives in its one
// connection) survives the runs of vmoments that share it.
type keptDriver struct{ driver.Driver }

func (keptDriver) Close() error { return nil }

// demoNode returns the test:/// URI of examples/demo.xml (28 snapshots, odd names) and, when
// empty is set, of a copy of it without the snapshots: the same domain, same UUID, on "another
// host".
func demoNode(t *testing.T, empty bool) string {
	t.Helper()
	abs, err := filepath.Abs("../../examples/demo.xml")
	if err != nil {
		t.Fatal(err)
	}
	if !empty {
		return "test://" + abs
	}
	data, err := os.ReadFile(abs)
	if err != nil {
		t.Fatal(err)
	}
	stripped := regexp.MustCompile(`(?s)<test:domainsnapshot>.*?</test:domainsnapshot>`).ReplaceAll(data, nil)
	p := filepath.Join(t.TempDir(), "empty.xml")
	if err := os.WriteFile(p, stripped, 0o644); err != nil {
		t.Fatal(err)
	}
	return "test://" + p
}

// hosts opens each URI once and serves every vmoments run from those drivers; other URIs are
// opened for real (an unreachable one fails as it would).
type hosts map[string]driver.Driver

func openHosts(t *testing.T, uris ...string) hosts {
	t.Helper()
	h := hosts{}
	for _, u := range uris {
		drv, err := driver.Open(context.Background(), u, driver.ReadWrite)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { drv.Close() })
		h[u] = keptDriver{drv}
	}
	return h
}

// run runs vmoments with -c uri.
func (h hosts) run(t *testing.T, uri string, args ...string) (stdout, stderr string, rc int) {
	t.Helper()
	return h.runTTY(t, uri, false, args...)
}

// runTTY runs vmoments with -c uri, stderr taken for a terminal when tty is set.
func (h hosts) runTTY(t *testing.T, uri string, tty bool, args ...string) (stdout, stderr string, rc int) {
	t.Helper()
	var out, errb strings.Builder
	a := newApp(&out, &errb, func(k string) (string, bool) { return "", false })
	a.stderrTTY = tty
	a.open = func(ctx context.Context, u string, mode driver.Mode) (driver.Driver, error) {
		if d, ok := h[u]; ok {
			return d, nil
		}
		return driver.Open(ctx, u, mode)
	}
	rc = a.main(append([]string{"-c", uri}, args...))
	return out.String(), errb.String(), rc
}

// views are the outputs a round trip must keep, as vmoments prints them.
func (h hosts) views(t *testing.T, uri string) string {
	t.Helper()
	var b strings.Builder
	for _, cmd := range [][]string{
		{"snapshot-list", "demo", "--parent"}, {"snapshot-list", "demo", "--tree"},
		{"snapshot-current", "demo", "--name"}, {"snapshot-current", "demo", "--per-disk"},
	} {
		out, errOut, rc := h.run(t, uri, cmd...)
		if rc != 0 {
			t.Fatalf("%v: %s", cmd, errOut)
		}
		b.WriteString(out)
	}
	drv := h[uri]
	dom, err := drv.Domain(context.Background(), "demo")
	if err != nil {
		t.Fatal(err)
	}
	l, err := dom.Moments(context.Background(), conf.Snapshot)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, m := range l.All() {
		names = append(names, m.Name())
	}
	sort.Strings(names)
	for _, n := range names {
		x, err := dom.XML(context.Background(), conf.Snapshot, n, driver.XMLSecure)
		if err != nil {
			t.Fatal(err)
		}
		b.WriteString(x)
	}
	return b.String()
}

func removeAllSnapshots(t *testing.T, h hosts, uri string) {
	t.Helper()
	dom, err := h[uri].Domain(context.Background(), "demo")
	if err != nil {
		t.Fatal(err)
	}
	src, err := transfer.OpenSource(exportOf(t, h, uri))
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	m := readManifest(t, src)
	if _, err := transfer.RemoveMetadata(context.Background(), dom, m, nil); err != nil {
		t.Fatal(err)
	}
}

func exportOf(t *testing.T, h hosts, uri string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "x.tar")
	if _, errOut, rc := h.run(t, uri, "export", "demo", "--to", p); rc != 0 {
		t.Fatal(errOut)
	}
	return p
}

func readManifest(t *testing.T, src transfer.Source) *transfer.Manifest {
	t.Helper()
	data, err := src.ReadFile(transfer.ManifestName)
	if err != nil {
		t.Fatal(err)
	}
	var m transfer.Manifest
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	return &m
}

// TestExportImportCommands: export → every snapshot removed → import gives back the same
// snapshot-list --parent and --tree, current, per-disk current and every dumpxml; the dry run
// and the JSON summaries say what happens.
func TestExportImportCommands(t *testing.T) {
	uri := demoNode(t, false)
	h := openHosts(t, uri)
	want := h.views(t, uri)
	dir := filepath.Join(t.TempDir(), "export")
	out, errOut, rc := h.run(t, uri, "export", "demo", "--to", dir)
	if rc != 0 || !strings.Contains(out, "Exported 28 snapshots and 0 checkpoints of domain 'demo' to "+dir) {
		t.Fatalf("export: rc %d\n%s%s", rc, out, errOut)
	}
	removeAllSnapshots(t, h, uri)
	if got, _, _ := h.run(t, uri, "snapshot-list", "demo", "--name"); strings.TrimSpace(got) != "" {
		t.Fatalf("snapshots left: %q", got)
	}

	out, errOut, rc = h.run(t, uri, "import", "demo", "--from", dir, "--dry-run", "--json")
	var plan importJSON
	if rc != 0 || json.Unmarshal([]byte(out), &plan) != nil {
		t.Fatalf("dry run: rc %d\n%s%s", rc, out, errOut)
	}
	if !plan.DryRun || plan.Redefined != 28 || len(plan.Steps) != 29 || plan.Steps[28].Action != "set-current" {
		t.Errorf("dry-run plan: %+v", plan)
	}
	if got, _, _ := h.run(t, uri, "snapshot-list", "demo", "--name"); strings.TrimSpace(got) != "" {
		t.Fatalf("the dry run changed something: %q", got)
	}

	out, errOut, rc = h.run(t, uri, "import", "demo", "--from", dir)
	if rc != 0 || !strings.Contains(out, "Imported into domain 'demo': 28 redefined, 0 replaced, 0 already present") {
		t.Fatalf("import: rc %d\n%s%s", rc, out, errOut)
	}
	if got := h.views(t, uri); got != want {
		t.Errorf("after export, delete, import the views differ:\n%s\nwant\n%s", got, want)
	}
}

// TestTransferProgress: on a terminal, export and import draw "PHASE: done/total" on stderr and
// erase it; never with --json, never when stderr is not a terminal.
func TestTransferProgress(t *testing.T) {
	old := progressDelay
	progressDelay = 0
	defer func() { progressDelay = old }()
	uri := demoNode(t, false)
	h := openHosts(t, uri)
	for _, tc := range []struct {
		tty, json bool
		want      []string
	}{
		{true, false, []string{"\r\x1b[Kexport: 1/28", "\r\x1b[Kexport: 28/28", "\r\x1b[Kverify: 28/28"}},
		{true, true, nil},
		{false, false, nil},
	} {
		dir := filepath.Join(t.TempDir(), "x")
		args := []string{"export demo --to " + dir + "; import demo --from " + dir}
		if tc.json {
			args = []string{"export demo --json --to " + dir + "; import demo --json --from " + dir}
		}
		_, errOut, rc := h.runTTY(t, uri, tc.tty, args...)
		if rc != 0 {
			t.Fatalf("tty %v json %v: rc %d: %q", tc.tty, tc.json, rc, errOut)
		}
		for _, w := range tc.want {
			if !strings.Contains(errOut, w) {
				t.Errorf("tty %v json %v: stderr lacks %q: %q", tc.tty, tc.json, w, errOut)
			}
		}
		if tc.want == nil && errOut != "" {
			t.Errorf("tty %v json %v: stderr %q, want nothing", tc.tty, tc.json, errOut)
		}
		if tc.want != nil && !strings.HasSuffix(errOut, "\r\x1b[K") {
			t.Errorf("the progress line is not erased at the end: %q", errOut)
		}
	}
}
