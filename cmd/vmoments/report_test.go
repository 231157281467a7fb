package main

import (
	"encoding/csv"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// fleetNode is testdata/fleet.xml as a test-driver URI: web-1 (base 1000 -> upd 2000 ->
// {a 3000 current, ext 2500 external}), web-2 (no snapshots), db-1 (one snapshot at 500).
func fleetNode(t *testing.T) string {
	t.Helper()
	p, err := filepath.Abs("testdata/fleet.xml")
	if err != nil {
		t.Fatal(err)
	}
	return "test://" + p
}

// refused is a host nothing listens on.
const refused = "qemu+tcp://127.0.0.1:1/system"

func TestReportTable(t *testing.T) {
	node := fleetNode(t)
	r := runVmoments(t, testEnv(nil), []string{"report", "--connect", node, "--connect", refused, "--retry", "0"})
	if r.rc != 1 || r.stderr != "error: 1 of 2 hosts could not be read\n" {
		t.Fatalf("a failed host: want rc 1 and the count on stderr:\n%s", r)
	}
	lines := strings.Split(r.stdout, "\n")
	if len(lines) != 8 || !strings.HasPrefix(lines[0], " Host ") || !strings.Contains(lines[0], "Disk backups") {
		t.Fatalf("want a header, a rule, 3 domains, the failed host and virsh's blank line:\n%s", r.stdout)
	}
	want := []string{" " + node + "   db-1 ", " " + node + "   web-1 ", " " + node + "   web-2 ", " " + refused + " "}
	for i, w := range want {
		if !strings.HasPrefix(lines[2+i], w) {
			t.Errorf("row %d: %q, want it to start with %q", i, lines[2+i], w)
		}
	}
	web1 := strings.Fields(lines[3])
	if got := strings.Join(web1[2:], " "); !strings.HasPrefix(got, "running 4 a ") || !strings.Contains(got, " 3 1 unknown 0 - vda none, vdb none") {
		t.Errorf("web-1 row: %q", got)
	}
	if !strings.Contains(lines[4], " 0 B ") || !strings.HasSuffix(lines[5], "error: unable to connect to server at '127.0.0.1:1': Connection refused") {
		t.Errorf("web-2 and the failed host:\n%s\n%s", lines[4], lines[5])
	}
}

func TestReportJSON(t *testing.T) {
	node := fleetNode(t)
	r := runVmoments(t, testEnv(nil), []string{"report", "--connect", node, "--connect", refused, "--retry", "0", "--json"})
	if r.rc != 1 {
		t.Fatalf("%s", r)
	}
	var doc reportJSON
	if err := json.Unmarshal([]byte(r.stdout), &doc); err != nil {
		t.Fatalf("%v:\n%s", err, r.stdout)
	}
	if len(doc.Hosts) != 2 || doc.Hosts[0].Error != nil || doc.Hosts[1].Error == nil || doc.Hosts[1].URI != refused {
		t.Fatalf("hosts: %+v", doc.Hosts)
	}
	var names []string
	for _, d := range doc.Hosts[0].Domains {
		names = append(names, d.Domain)
	}
	if !slices.Equal(names, []string{"db-1", "web-1", "web-2"}) {
		t.Fatalf("domains %v", names)
	}
	w := doc.Hosts[0].Domains[1]
	if w.Snapshots.Count != 4 || w.Snapshots.Depth != 3 || w.Snapshots.Oldest.Name != "base" ||
		*w.Snapshots.Oldest.Created != "1970-01-01T00:16:40Z" || *w.CurrentSnapshot != "a" || w.ExternalSnapshots != 1 ||
		w.SnapshotBytes.Total != nil || w.SnapshotBytes.Unknown["overlays"] == "" || len(w.Disks) != 2 || !w.Disks[1].Uncovered {
		t.Errorf("web-1: %+v", w)
	}
	if w2 := doc.Hosts[0].Domains[2]; w2.SnapshotBytes.Total == nil || *w2.SnapshotBytes.Total != 0 || w2.CurrentSnapshot != nil {
		t.Errorf("web-2: %+v", w2)
	}
	// Every documented field is there, null or not.
	var raw map[string][]map[string]any
	json.Unmarshal([]byte(r.stdout), &raw)
	dom := raw["hosts"][0]["domains"].([]any)[0].(map[string]any)
	for _, f := range []string{"uri", "domain", "uuid", "state", "snapshots", "currentSnapshot", "externalSnapshots",
		"snapshotBytes", "checkpoints", "currentCheckpoint", "currentCheckpointRule", "disks", "error"} {
		if _, ok := dom[f]; !ok {
			t.Errorf("domain object lacks %q", f)
		}
	}
}

func TestReportCSVAndMoments(t *testing.T) {
	node := fleetNode(t)
	r := runVmoments(t, testEnv(nil), []string{"report", "--connect", node, "--csv", "web-*"})
	if r.rc != 0 {
		t.Fatalf("%s", r)
	}
	recs, err := csv.NewReader(strings.NewReader(strings.TrimSuffix(r.stdout, "\n\n") + "\n")).ReadAll()
	if err != nil {
		t.Fatalf("%v:\n%s", err, r.stdout)
	}
	if len(recs) != 3 || recs[0][0] != "uri" || recs[1][1] != "web-1" || recs[2][1] != "web-2" {
		t.Fatalf("csv: %q", recs)
	}
	col := func(name string) int { return slices.Index(recs[0], name) }
	if recs[1][col("snapshots")] != "4" || recs[1][col("oldest_snapshot_created")] != "1970-01-01T00:16:40Z" ||
		recs[1][col("uncovered_disks")] != "vda vdb" || recs[1][col("snapshot_bytes")] != "" || recs[2][col("snapshot_bytes")] != "0" {
		t.Errorf("web rows: %q", recs[1:])
	}

	r = runVmoments(t, testEnv(nil), []string{"report", "--connect", node, "--moments", "--older-than", "1w", "--sort", "age", "--csv", "/^(db|web-1)/"})
	recs, err = csv.NewReader(strings.NewReader(strings.TrimSuffix(r.stdout, "\n\n") + "\n")).ReadAll()
	if err != nil || r.rc != 0 {
		t.Fatalf("%v: %s", err, r)
	}
	var order []string
	for _, rec := range recs[1:] {
		order = append(order, rec[1]+"/"+rec[3])
	}
	if !slices.Equal(order, []string{"db-1/only", "web-1/base", "web-1/upd", "web-1/ext", "web-1/a"}) {
		t.Errorf("moments by age: %v", order)
	}
	// Nothing is older than 100 years.
	r = runVmoments(t, testEnv(nil), []string{"report", "--connect", node, "--moments", "--older-than", "36500d", "--json"})
	var doc reportJSON
	if err := json.Unmarshal([]byte(r.stdout), &doc); err != nil || len(doc.Moments) != 0 || r.rc != 0 {
		t.Errorf("--older-than 36500d: %v, %+v\n%s", err, doc.Moments, r)
	}
}

func TestReportHostsFile(t *testing.T) {
	node := fleetNode(t)
	path := filepath.Join(t.TempDir(), "hosts")
	if err := os.WriteFile(path, []byte("# the fleet\n"+node+"   # the test node\n\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	r := runVmoments(t, testEnv(nil), []string{"report", "--hosts", path, "--sort", "snapshots"})
	lines := strings.Split(r.stdout, "\n")
	if r.rc != 0 || len(lines) < 5 || !strings.Contains(lines[2], " web-1 ") || !strings.Contains(lines[3], " db-1 ") {
		t.Errorf("--hosts with --sort snapshots:\n%s", r)
	}
	// -c is the connection when neither --connect nor --hosts is given.
	if r = runVmoments(t, testEnv(nil), []string{"-c", node, "report", "db-*"}); r.rc != 0 || !strings.Contains(r.stdout, " db-1 ") || strings.Contains(r.stdout, "web") {
		t.Errorf("-c with a pattern:\n%s", r)
	}
}

func TestReportErrors(t *testing.T) {
	node := fleetNode(t)
	for _, tt := range []struct {
		args []string
		err  string
	}{
		{[]string{"--json", "--csv"}, "error: Options --json and --csv are mutually exclusive\n"},
		{[]string{"--sort", "age"}, "error: invalid --sort 'age': want one of backup, checkpoints, depth, domain, host, newest, oldest, size, snapshots\n"},
		{[]string{"--moments", "--sort", "size"}, "error: invalid --sort 'size' with --moments: want one of age, domain, host, kind, name\n"},
		{[]string{"--older-than", "3x"}, "error: invalid --older-than '3x': want a duration such as 30d, 12h, 90m, 1w\n"},
		{[]string{"--older-than", ""}, "error: Failed to get option 'older-than': Option argument is empty\n"},
		{[]string{"--parallel", "0"}, "error: invalid --parallel '0': want a number of hosts, 1 or more\n"},
		{[]string{"/(/"}, "error: domain pattern \"/(/\": error parsing regexp: missing closing ): `(`\n"},
		{[]string{"--hosts", "/nonexistent/hosts"}, "error: cannot read the hosts file: open /nonexistent/hosts: no such file or directory\n"},
		{[]string{"--connect", node, "--sort", "a", "--sort", "b"}, "error: option --sort already seen\n"},
	} {
		args := append([]string{"report", "--connect", node}, tt.args...)
		if r := runVmoments(t, testEnv(nil), args); r.rc != 1 || r.stderr != tt.err {
			t.Errorf("%q: want rc 1 and %q:\n%s", tt.args, tt.err, r)
		}
	}
	if r := runVmoments(t, testEnv(nil), []string{"exporter", "--connect", node, "--min-interval", "50ms"}); r.rc != 1 ||
		r.stderr != "error: invalid --min-interval '50ms': want 100ms or more\n" {
		t.Errorf("exporter --min-interval 50ms:\n%s", r)
	}
}

func TestParseDuration(t *testing.T) {
	for in, want := range map[string]string{"30d": "720h0m0s", "1w": "168h0m0s", "1d12h": "36h0m0s", "90m": "1h30m0s", "0": "0s", "1.5d": "36h0m0s"} {
		d, err := parseDuration("x", in)
		if err != nil || d.String() != want {
			t.Errorf("parseDuration(%q) = %v, %v; want %s", in, d, err, want)
		}
	}
	for _, bad := range []string{"d", "-1d", "1dx", "abc", "1d-5h"} {
		if d, err := parseDuration("x", bad); err == nil {
			t.Errorf("parseDuration(%q) = %v, want an error", bad, d)
		}
	}
}
