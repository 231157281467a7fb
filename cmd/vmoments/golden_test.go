package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

// The golden comparison: the same command lines through virsh 9.0 (run live: make deps installs
// it, and CI has it) and through vmoments, on the same test-driver node files, with the same TZ
// and locale; stdout, stderr and the exit status must be identical byte for byte. virsh's stderr
// also carries libvirt's own log lines ("2026-...: 123: warning : ...") and libxml2's ("I/O
// warning : ..."), which vmoments prints from the same libraries in-process, straight to file
// descriptor 2; they carry a time and a PID, so both sides drop them.
//
// Where virsh's order is libvirt's hash order (--topological), any valid order is right (libvirt
// promises none but parents first): those cases compare the lines as a multiset (and, for trees, the names).

const goldenTZ = "America/New_York"

var libvirtLogLine = regexp.MustCompile(`(?m)^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+[+-]\d{4}: \d+: \w+ : |I/O warning : ).*\n`)

type result struct {
	stdout, stderr string
	rc             int
}

func (r result) String() string {
	return fmt.Sprintf("rc=%d\n--- stdout ---\n%s--- stderr ---\n%s", r.rc, r.stdout, r.stderr)
}

// testEnv is the environment both programs run with.
func testEnv(extra map[string]string) map[string]string {
	env := map[string]string{"TZ": goldenTZ, "LC_ALL": "C.UTF-8"}
	for k, v := range extra {
		env[k] = v
	}
	return env
}

func runVirsh(t *testing.T, env map[string]string, args []string) result {
	t.Helper()
	cmd := exec.Command("virsh", args...)
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if k == "LIBVIRT_DEFAULT_URI" || k == "VIRSH_DEFAULT_CONNECT_URI" || strings.HasPrefix(k, "LC_") || k == "LANG" || k == "TZ" {
			continue
		}
		cmd.Env = append(cmd.Env, kv)
	}
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	rc := 0
	if ee, ok := err.(*exec.ExitError); ok {
		rc = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("virsh %q: %v", args, err)
	}
	return result{out.String(), libvirtLogLine.ReplaceAllString(errb.String(), ""), rc}
}

func runVmoments(t *testing.T, env map[string]string, args []string) result {
	t.Helper()
	var out, errb bytes.Buffer
	a := newApp(&out, &errb, func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	loc, err := time.LoadLocation(env["TZ"])
	if err != nil {
		t.Fatalf("time zone %s: %v", env["TZ"], err)
	}
	a.loc = loc
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	a.ctx = ctx
	rc := a.main(args)
	return result{out.String(), libvirtLogLine.ReplaceAllString(errb.String(), ""), rc}
}

// normalizeUnordered turns an output whose order is libvirt's hash order into a sorted multiset
// of lines (trees: of the names drawn).
func normalizeUnordered(s string, tree bool) string {
	lines := strings.Split(s, "\n")
	var keep []string
	for _, l := range lines {
		if tree {
			l = strings.TrimLeft(l, " |")
			l = strings.TrimPrefix(l, "+- ")
			if strings.TrimSpace(l) == "" {
				continue
			}
		}
		keep = append(keep, l)
	}
	slices.Sort(keep)
	return strings.Join(keep, "\n")
}

func compare(t *testing.T, env map[string]string, args []string) {
	t.Helper()
	want := runVirsh(t, env, args)
	got := runVmoments(t, env, args)
	if slices.Contains(args, "--topological") && want.rc == 0 {
		tree := slices.Contains(args, "--tree")
		want.stdout = normalizeUnordered(want.stdout, tree)
		got.stdout = normalizeUnordered(got.stdout, tree)
	}
	if want != got {
		t.Errorf("%q differs\nvirsh:\n%s\nvmoments:\n%s", args, want, got)
	}
}

func nodeURI(t *testing.T, file string) string {
	abs, err := filepath.Abs(file)
	if err != nil {
		t.Fatal(err)
	}
	return "test://" + abs
}

// listOptions are virsh 9.0's options of the two list commands; "from" takes a value.
var snapshotListOptions = []string{"parent", "roots", "leaves", "no-leaves", "metadata", "no-metadata",
	"inactive", "active", "disk-only", "internal", "external", "tree", "from", "current", "descendants",
	"name", "topological"}
var checkpointListOptions = []string{"parent", "roots", "leaves", "no-leaves", "tree", "from",
	"descendants", "name", "topological"}

// combos returns every set of at most two options, and every set of one output form (name,
// parent, tree) with two other options: every pairwise rejection virsh makes, and each filter
// pair in each output form.
func combos(opts []string) [][]string {
	var out [][]string
	out = append(out, nil)
	for i := range opts {
		out = append(out, []string{opts[i]})
		for j := i + 1; j < len(opts); j++ {
			out = append(out, []string{opts[i], opts[j]})
		}
	}
	for _, form := range []string{"name", "parent", "tree"} {
		var others []string
		for _, o := range opts {
			if o != form {
				others = append(others, o)
			}
		}
		for i := range others {
			for j := i + 1; j < len(others); j++ {
				out = append(out, []string{form, others[i], others[j]})
			}
		}
	}
	return out
}

// expand turns option names into command-line words, "from" once per value.
func expand(cmd, domain string, set []string, fromValues []string) [][]string {
	lines := [][]string{{cmd, domain}}
	for _, o := range set {
		var next [][]string
		for _, l := range lines {
			if o == "from" {
				for _, v := range fromValues {
					next = append(next, append(slices.Clone(l), "--from", v))
				}
				continue
			}
			next = append(next, append(slices.Clone(l), "--"+o))
		}
		lines = next
	}
	return lines
}

func requireVirsh(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("virsh"); err != nil {
		t.Fatalf("virsh is needed for the golden comparison (make deps installs libvirt-clients): %v", err)
	}
}

// TestGoldenListCombinations compares every generated option combination of snapshot-list and
// checkpoint-list on two node files.
func TestGoldenListCombinations(t *testing.T) {
	requireVirsh(t)
	if testing.Short() {
		t.Skip("the full combination sweep runs without -short")
	}
	env := testEnv(nil)
	n := 0
	type target struct {
		file, cmd, domain string
		opts              []string
		from              []string
	}
	targets := []target{
		{"testdata/node.xml", "snapshot-list", "snapdom", snapshotListOptions,
			[]string{"base", "mid", "--dash", "ünïcødé-快照", "nosuch"}},
		{"../../examples/demo.xml", "snapshot-list", "demo", snapshotListOptions,
			[]string{"base", "before migration", "nosuch"}},
		{"testdata/node.xml", "snapshot-list", "empty", snapshotListOptions, []string{"x"}},
		{"../../examples/demo.xml", "checkpoint-list", "webserver", checkpointListOptions, []string{"c1"}},
	}
	for _, tg := range targets {
		uri := nodeURI(t, tg.file)
		for _, set := range combos(tg.opts) {
			for _, line := range expand(tg.cmd, tg.domain, set, tg.from) {
				compare(t, env, append([]string{"-c", uri}, line...))
				n++
			}
		}
	}
	t.Logf("%d command lines compared with virsh", n)
}

// TestGoldenHostile compares command lines that must fail, or that carry awkward names, and
// the other read commands.
func TestGoldenHostile(t *testing.T) {
	requireVirsh(t)
	node := nodeURI(t, "testdata/node.xml")
	demo := nodeURI(t, "../../examples/demo.xml")
	cases := [][]string{
		// unknown domain, unknown moments
		{"-c", node, "snapshot-list", "nosuch"},
		{"-c", node, "snapshot-list", "nosuch", "--tree", "--name"},
		{"-c", node, "snapshot-list", "snapdom", "--from", "nosuch"},
		{"-c", node, "snapshot-info", "snapdom", "nosuch"},
		{"-c", node, "snapshot-info", "snapdom"},
		{"-c", node, "snapshot-info", "snapdom", "--current"},
		{"-c", node, "snapshot-info", "snapdom", "base", "--current"},
		{"-c", node, "snapshot-info", "snapdom", "--snapshotname", "tip"},
		{"-c", node, "snapshot-info", "snapdom", "--snapshotname", "a-very-long-snapshot-name-for-padding"},
		{"-c", node, "snapshot-info", "empty", "--current"},
		{"-c", node, "snapshot-dumpxml", "snapdom", "nosuch"},
		{"-c", node, "snapshot-dumpxml", "snapdom", "base"},
		{"-c", node, "snapshot-dumpxml", "snapdom", "tip", "--security-info"},
		{"-c", node, "snapshot-dumpxml", "snapdom"},
		{"-c", node, "snapshot-dumpxml", "snapdom", ""},
		{"-c", node, "snapshot-current", "snapdom"},
		{"-c", node, "snapshot-current", "snapdom", "--name"},
		{"-c", node, "snapshot-current", "empty"},
		{"-c", node, "snapshot-current", "empty", "--name"},
		{"-c", node, "snapshot-current", "snapdom", "--name", "--snapshotname", "base"},
		{"-c", demo, "checkpoint-info", "webserver", "c1"},
		{"-c", demo, "checkpoint-info", "webserver"},
		{"-c", demo, "checkpoint-dumpxml", "webserver"},
		{"-c", demo, "checkpoint-dumpxml", "webserver", "c1", "--no-domain"},
		{"-c", demo, "checkpoint-list", "webserver", "--current"},
		{"-c", demo, "checkpoint-list", "nosuch"},
		// domains by ID and UUID, as virsh looks them up
		{"-c", "test:///default", "snapshot-list", "1", "--name"},
		{"-c", "test:///default", "snapshot-list", "2"},
		{"-c", "test:///default", "snapshot-list", "6695eb01-f6a4-8304-79aa-97f2502e193f", "--tree"},
		{"-c", node, "snapshot-list", "11111111-2222-3333-4444-555555555555", "--roots"},
		// names with spaces, quotes, unicode, leading dashes
		{"-c", node, "snapshot-list", "snapdom", "--from", "with space", "--tree"},
		{"-c", node, "snapshot-list", "snapdom", "--from", "Side", "--parent"},
		{"-c", node, "snapshot-list", "snapdom", "--from=--dash", "--name"},
		{"-c", node, "snapshot-list", "snapdom", "--", "--dash"},
		{"-c", node, "snapshot-list", "--", "snapdom", "--dash", "--name"},
		{"-c", node, "snapshot-info", "snapdom", "quo'te\"s"},
		{"-c", node, "snapshot-info", "snapdom", "ünïcødé-快照"},
		{"-c", node, "snapshot-list", "snapdom", "--from", "ünïcødé"},
		{"-c", node, "snapshot-list snapdom --from 'with space' --tree; snapshot-list snapdom --name"},
		{"-c", node, `snapshot-info snapdom "quo'te\"s"`},
		{"-c", node, `snapshot-list snapdom --from "unterminated`},
		{"-c", node, `snapshot-list snapdom # a comment`},
		// malformed options and option syntax virsh accepts
		{"-c", node, "snapshot-list"},
		{"-c", node, "snapshot-list", ""},
		{"-c", node, "snapshot-list", "--domain", ""},
		{"-c", node, "snapshot-list", "--domain=snapdom", "--name"},
		{"-c", node, "snapshot-list", "--name", "--domain", "snapdom"},
		{"-c", node, "snapshot-list", "--name", "snapdom", "mid"},
		{"-c", node, "snapshot-list", "snapdom", "mid", "extra"},
		{"-c", node, "snapshot-list", "snapdom", "--from"},
		{"-c", node, "snapshot-list", "snapdom", "--from", ""},
		{"-c", node, "snapshot-list", "snapdom", "--from", "mid", "--from", "base"},
		{"-c", node, "snapshot-list", "snapdom", "mid", "--from", "base"},
		{"-c", node, "snapshot-list", "snapdom", "--name=yes"},
		{"-c", node, "snapshot-list", "snapdom", "--name", "--name"},
		{"-c", node, "snapshot-list", "snapdom", "--bogus"},
		{"-c", node, "snapshot-list", "snapdom", "-n"},
		{"-c", node, "snapshot-list", "snapdom", "---name"},
		{"-c", node, "snapshot-list", "snapdom", "--help=x"},
		{"-c", node, "snapshot-list", "snapdom", "--current", "--from", "mid"},
		{"-c", node, "snapshot-list", "snapdom", "--current", "--descendants", "--tree"},
		{"-c", node, "snapshot-list", "snapdom", "--from", "base", "--tree", "--descendants"},
		{"-c", node, "bogus-command", "snapdom"},
		// global options, quiet mode, URIs
		{"-q", "-c", node, "snapshot-list", "snapdom"},
		{"--quiet", "-c", node, "snapshot-list", "snapdom", "--parent"},
		{"-q", "-c", node, "snapshot-list", "snapdom", "--tree"},
		{"-r", "-c", node, "snapshot-list", "snapdom", "--name"},
		{"-rq", "-c" + node, "snapshot-list", "snapdom"},
		{"--connect=" + node, "snapshot-list", "snapdom"},
		{"--conn", node, "snapshot-list", "snapdom"},
		{"--bogus", "snapshot-list", "snapdom"},
		{"-x", "snapshot-list", "snapdom"},
		{"-c"},
		{"-c", "bogus:///x", "snapshot-list", "snapdom"},
		{"-c", "qemu+unix:///system?socket=/nonexistent/sock", "snapshot-list", "snapdom"},
		{"-c", "test:///nonexistent/node.xml", "snapshot-list", "snapdom"},
	}
	env := testEnv(nil)
	for _, args := range cases {
		compare(t, env, args)
	}
	// the URI from the environment: the connection is made when the command runs, so virsh
	// prints its errors and then the command's trailing newline.
	for _, uri := range []string{"qemu+unix:///system?socket=/nonexistent/sock", node} {
		compare(t, testEnv(map[string]string{"LIBVIRT_DEFAULT_URI": uri}), []string{"snapshot-list", "snapdom", "--name"})
	}
	// the C locale: virsh escapes every non-ASCII byte of a table cell
	compare(t, testEnv(map[string]string{"LC_ALL": "C"}), []string{"-c", node, "snapshot-list", "snapdom", "--parent"})
	t.Logf("%d command lines compared with virsh", len(cases)+3)
}
