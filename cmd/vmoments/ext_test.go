package main

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/vmoments/vmoments/conf"
	"github.com/vmoments/vmoments/driver"
	"github.com/vmoments/vmoments/momentlist"
)

// fakeDriver serves fixed moment lists, for the outputs virsh has no counterpart of (libvirt's
// test driver cannot preload checkpoints, so checkpoint trees are built here with momentlist's
// own create and redefine rules).
type fakeDriver struct {
	doms map[string]map[conf.Kind]*momentlist.List
	slow bool
}

func (f *fakeDriver) URI() string                       { return "fake:///" }
func (f *fakeDriver) Close() error                      { return nil }
func (f *fakeDriver) Capabilities() driver.Capabilities { return driver.Capabilities{} }
func (f *fakeDriver) Versions(context.Context) (driver.Versions, error) {
	return driver.Versions{}, nil
}
func (f *fakeDriver) Domains(context.Context) ([]driver.DomainInfo, error) { return nil, nil }
func (f *fakeDriver) Domain(_ context.Context, name string) (driver.Domain, error) {
	lists, ok := f.doms[name]
	if !ok {
		return nil, errors.New("no domain " + name)
	}
	return &fakeDomain{name: name, lists: lists, slow: f.slow}, nil
}

// fakeDomain implements the reads the CLI uses; the embedded nil interface makes any other call
// panic, which would fail the test.
type fakeDomain struct {
	driver.Domain
	name  string
	lists map[conf.Kind]*momentlist.List
	// slow makes Moments report progress over 0.6 s, as a long load through a driver does.
	slow bool
}

func (d *fakeDomain) Name() string { return d.name }
func (d *fakeDomain) Moments(ctx context.Context, k conf.Kind) (*momentlist.List, error) {
	if p := driver.ProgressFrom(ctx); p != nil && d.slow {
		for i := range 4 {
			p(i, 3)
			time.Sleep(200 * time.Millisecond)
		}
	}
	if l := d.lists[k]; l != nil {
		return l, nil
	}
	return momentlist.New(k), nil
}

func checkpointDef(t *testing.T, name, parent string, created int, disks string) *conf.Def {
	t.Helper()
	x := "<domaincheckpoint><name>" + name + "</name><creationTime>" + itoa(created) + "</creationTime>"
	if parent != "" {
		x += "<parent><name>" + parent + "</name></parent>"
	}
	x += "<disks>" + disks + "</disks></domaincheckpoint>"
	d, err := conf.ParseCheckpoint([]byte(x), conf.ParseRedefine)
	if err != nil {
		t.Fatalf("checkpoint %s: %v", name, err)
	}
	return d
}

func itoa(n int) string {
	b, _ := json.Marshal(n)
	return string(b)
}

// backupChain: c1 (vda, vdb) -> c2 (vda) -> c3 (vda) created in turn, so c3 is current; c4
// redefined below c1 while c3 is current, so it is not. Per disk: vda -> c3, vdb -> c1.
func backupChain(t *testing.T) *fakeDriver {
	l := momentlist.New(conf.Checkpoint)
	both := `<disk name='vda' checkpoint='bitmap'/><disk name='vdb' checkpoint='bitmap' bitmap='b-c1'/>`
	vdaOnly := `<disk name='vda' checkpoint='bitmap'/><disk name='vdb' checkpoint='no'/>`
	for i, c := range []struct{ name, disks string }{{"c1", both}, {"c2", vdaOnly}, {"c3", vdaOnly}} {
		d := checkpointDef(t, c.name, "", 1600000000+100*i, c.disks)
		d.Parent = ""
		if _, err := l.Create(d); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := l.Redefine(checkpointDef(t, "c4", "c1", 1600000500, both), momentlist.KeepCurrent); err != nil {
		t.Fatal(err)
	}
	return &fakeDriver{doms: map[string]map[conf.Kind]*momentlist.List{
		"guest": {conf.Checkpoint: l},
		"empty": {},
	}}
}

func runFake(t *testing.T, drv driver.Driver, args ...string) result {
	t.Helper()
	return runFakeTTY(t, drv, false, args...)
}

// runFakeTTY runs vmoments on drv, with stderr taken for a terminal when tty is set.
func runFakeTTY(t *testing.T, drv driver.Driver, tty bool, args ...string) result {
	t.Helper()
	env := testEnv(nil)
	var out, errb strings.Builder
	a := newApp(&out, &errb, func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	a.open = func(context.Context, string, driver.Mode) (driver.Driver, error) { return drv, nil }
	a.stderrTTY = tty
	loc, err := time.LoadLocation(env["TZ"])
	if err != nil {
		t.Fatal(err)
	}
	a.loc = loc
	rc := a.main(append([]string{"-c", "test:///fake"}, args...))
	return result{out.String(), errb.String(), rc}
}

func TestCheckpointCurrentAndFilters(t *testing.T) {
	drv := backupChain(t)
	tests := []struct {
		args           []string
		stdout, stderr string
		rc             int
	}{
		{[]string{"checkpoint-current", "guest"},
			"Current:        c3\nRule:           created last (a created moment becomes current)\n\n", "", 0},
		{[]string{"checkpoint-current", "guest", "--name"}, "c3\n", "", 0},
		{[]string{"checkpoint-current", "guest", "--per-disk"},
			"Current:        c3 (created last (a created moment becomes current))\n\n" +
				" Disk   Checkpoint   Bitmap\n" +
				"-----------------------------\n" +
				" vda    c3           c3\n" +
				" vdb    c1           b-c1\n\n", "", 0},
		{[]string{"checkpoint-current", "guest", "--per-disk", "--name"}, "c3\nc1\n\n", "", 0},
		// no current moment: one rule for every form (current.go, noCurrent)
		{[]string{"checkpoint-current", "empty"}, "\n", "error: domain 'empty' has no current checkpoint (it has no checkpoints)\n", 1},
		{[]string{"checkpoint-current", "empty", "--name"}, "\n", "error: domain 'empty' has no current checkpoint (it has no checkpoints)\n", 1},
		{[]string{"checkpoint-current", "nosuch"}, "\n", "error: failed to get domain 'nosuch'\n", 1},
		{[]string{"checkpoint-list", "guest", "--only-current", "--name"}, "c3\n\n", "", 0},
		{[]string{"checkpoint-list", "guest", "--no-current", "--name"}, "c1\nc2\nc4\n\n", "", 0},
		{[]string{"checkpoint-list", "guest", "--only-current", "--per-disk", "--name"}, "c1\nc3\n\n", "", 0},
		{[]string{"checkpoint-list", "guest", "--no-current", "--per-disk", "--name"}, "c2\nc4\n\n", "", 0},
		{[]string{"checkpoint-list", "guest", "--only-current", "--no-current", "--name"}, "\n", "", 0},
		{[]string{"checkpoint-list", "guest", "--from", "c1", "--descendants", "--no-current", "--leaves", "--name"}, "c4\n\n", "", 0},
		{[]string{"checkpoint-list", "guest", "--only-current", "--per-disk", "--tree"}, "c1\n  |\n  +- c3\n    \n\n", "", 0},
		{[]string{"checkpoint-list", "guest", "--forest", "--per-disk", "--leaves"},
			"c3 (current; current for vda)\n\nc4\n\n\n", "", 0},
		{[]string{"checkpoint-list", "guest", "--forest"},
			"c1\n  |\n  +- c2\n  |   |\n  |   +- c3 (current)\n  |     \n  +- c4\n    \n\n", "", 0},
		{[]string{"checkpoint-list", "guest", "--tree", "--leaves"}, "\n", "error: --leaves and --tree are mutually exclusive\n", 1},
		{[]string{"checkpoint-list", "guest", "--json", "--tree"}, "\n", "error: Options --tree and --json are mutually exclusive\n", 1},
		{[]string{"checkpoint-list", "guest", "--dot", "--name"}, "\n", "error: Options --name and --dot are mutually exclusive\n", 1},
		{[]string{"checkpoint-list", "guest", "--dot", "--only-current", "--per-disk"},
			"digraph \"checkpoints of guest\" {\n  rankdir=TB;\n  node [shape=box, style=rounded, fontname=\"monospace\"];\n" +
				"  \"c1\" [label=\"c1\\n2020-09-13 08:26:40 -0400\\ncurrent for vdb\", style=\"rounded,filled\", fillcolor=\"lightblue\"];\n" +
				"  \"c3\" [label=\"c3\\n2020-09-13 08:30:00 -0400\\n(current)\\ncurrent for vda\", style=\"rounded,filled,bold\", fillcolor=\"gold\"];\n" +
				"  \"c1\" -> \"c3\";\n}\n\n", "", 0},
	}
	for _, tt := range tests {
		got := runFake(t, drv, tt.args...)
		want := result{tt.stdout, tt.stderr, tt.rc}
		if got != want {
			t.Errorf("%q:\ngot  %s\nwant %s", tt.args, got, want)
		}
	}
}

// TestProgressOnTerminal: a load slower than half a second draws fetched/total on a terminal's
// stderr and erases it; JSON output and non-terminals get none.
func TestProgressOnTerminal(t *testing.T) {
	drv := backupChain(t)
	drv.slow = true
	got := runFakeTTY(t, drv, true, "checkpoint-list", "guest", "--name")
	if !strings.Contains(got.stderr, "\rcheckpoints: 3/3") || !strings.HasSuffix(got.stderr, "\r\x1b[K") ||
		strings.Contains(got.stderr, "0/3") || got.stdout != "c1\nc2\nc3\nc4\n\n" {
		t.Errorf("slow load on a terminal: %q", got)
	}
	for _, tc := range []struct {
		tty  bool
		args []string
	}{{true, []string{"checkpoint-list", "guest", "--json"}}, {false, []string{"checkpoint-list", "guest"}}} {
		if got := runFakeTTY(t, drv, tc.tty, tc.args...); got.stderr != "" {
			t.Errorf("tty=%v %q drew progress: %q", tc.tty, tc.args, got.stderr)
		}
	}
}

func TestJSONFields(t *testing.T) {
	got := runFake(t, backupChain(t), "-q", "checkpoint-list", "guest", "--json")
	if got.rc != 0 || got.stderr != "" {
		t.Fatalf("checkpoint-list --json: %s", got)
	}
	var ms []map[string]any
	if err := json.Unmarshal([]byte(got.stdout), &ms); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, got.stdout)
	}
	if len(ms) != 4 {
		t.Fatalf("got %d moments, want 4", len(ms))
	}
	byName := map[string]map[string]any{}
	for _, m := range ms {
		byName[m["name"].(string)] = m
	}
	checks := []struct {
		name, field string
		want        any
	}{
		{"c1", "parent", nil},
		{"c3", "parent", "c2"},
		{"c3", "current", true},
		{"c1", "current", false},
		{"c3", "currentRule", "created last (a created moment becomes current)"},
		{"c1", "currentFor", []any{"vdb"}},
		{"c3", "currentFor", []any{"vda"}},
		{"c2", "currentFor", []any{}},
		{"c1", "creationTime", "2020-09-13T12:26:40Z"},
		{"c1", "children", float64(2)},
		{"c1", "descendants", float64(3)},
		{"c1", "kind", "checkpoint"},
		{"c1", "description", ""},
	}
	for _, c := range checks {
		gotv, _ := json.Marshal(byName[c.name][c.field])
		wantv, _ := json.Marshal(c.want)
		if string(gotv) != string(wantv) {
			t.Errorf("%s.%s = %s, want %s", c.name, c.field, gotv, wantv)
		}
	}
	if _, has := byName["c1"]["state"]; has {
		t.Errorf("checkpoints must not carry state: %v", byName["c1"])
	}
	disks, _ := json.Marshal(byName["c1"]["disks"])
	if want := `[{"mode":"bitmap","name":"vda"},{"bitmap":"b-c1","mode":"bitmap","name":"vdb"}]`; string(disks) != want {
		t.Errorf("c1 disks = %s, want %s", disks, want)
	}
}
