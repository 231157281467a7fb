package main

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
)

// The golden comparison of the commands that change moments: seeded random sequences of
// commands, each run as one batch ('cmd1; cmd2; ...') through virsh 9.0 and through vmoments
// on test:///default (one connection, so the state carries from command to command), compared
// after every command: stdout and stderr of each command, cut apart by marker commands between
// them. Both run as programs, under libfaketime with the clock stopped, so that the creation
// times and the names libvirt makes up from them are the same on both sides.
//
// What a batch cannot hold is compared on its own: commands the parser rejects (virsh runs no
// command of a batch that does not parse), each as a batch of one, with its exit status.

// faketimeLib is libfaketime (Debian's faketime package).
const faketimeLib = "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1"

// fakeEnv is the environment of both programs: the stopped clock, the zone, the locale, the
// editor.
func fakeEnv(t *testing.T, editor string) []string {
	t.Helper()
	if _, err := os.Stat(faketimeLib); err != nil {
		t.Fatalf("the golden comparison of changes needs libfaketime (apt-get install faketime): %v", err)
	}
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		switch {
		case k == "LIBVIRT_DEFAULT_URI", k == "VIRSH_DEFAULT_CONNECT_URI", k == "VISUAL", k == "EDITOR",
			k == "TMPDIR", k == "LANG", k == "TZ", strings.HasPrefix(k, "LC_"), strings.HasPrefix(k, "FAKETIME"),
			k == "LD_PRELOAD":
			continue
		}
		env = append(env, kv)
	}
	return append(env, "LD_PRELOAD="+faketimeLib, "FAKETIME=2026-01-01 00:00:00", "FAKETIME_DONT_FAKE_MONOTONIC=1",
		"TZ=UTC", "LC_ALL=C.UTF-8", "EDITOR="+editor)
}

// run runs a program with env and stdin from /dev/null; crashed says it died of a signal.
func runProgram(t *testing.T, env []string, bin string, args ...string) (r result, crashed bool) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = env
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		r.rc = ee.ExitCode()
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			crashed = true
			r.rc = 128 + int(ws.Signal())
		}
	case err != nil:
		t.Fatalf("%s %q: %v", bin, args, err)
	}
	return result{normalizeRun(out.String()), normalizeRun(libvirtLogLine.ReplaceAllString(errb.String(), "")), r.rc}, crashed
}

// tempXML is the random part of virsh's temporary file names.
var tempXML = regexp.MustCompile(`virsh[A-Za-z0-9]{6}\.xml`)

func normalizeRun(s string) string { return tempXML.ReplaceAllString(s, "virshXXXXXX.xml") }

var (
	binOnce sync.Once
	binPath string
	binErr  string
)

// sharedVmoments builds vmoments once for the tests of this file.
func sharedVmoments(t *testing.T) string {
	t.Helper()
	binOnce.Do(func() {
		dir, err := os.MkdirTemp("", "vmoments-golden-")
		if err != nil {
			binErr = err.Error()
			return
		}
		binPath = filepath.Join(dir, "vmoments")
		if out, err := exec.Command("go", "build", "-o", binPath, ".").CombinedOutput(); err != nil {
			binErr = fmt.Sprintf("go build: %v\n%s", err, out)
		}
	})
	if binErr != "" {
		t.Fatal(binErr)
	}
	return binPath
}

// quoteWord quotes w for a virsh command string.
func quoteWord(w string) string {
	if w != "" && !strings.ContainsAny(w, " \t\n'\"\\;#") {
		return w
	}
	if !strings.Contains(w, "'") {
		return "'" + w + "'"
	}
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(w) + `"`
}

func joinWords(words []string) string {
	q := make([]string, len(words))
	for i, w := range words {
		q[i] = quoteWord(w)
	}
	return strings.Join(q, " ")
}

// fixture is the files the generated commands read: XML files, editors.
type fixture struct {
	dir   string
	files map[string]string // short name -> path
	// editors: the editor programs a sequence may run with.
	editors []string
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	dir := t.TempDir()
	out, err := exec.Command("virsh", "-c", "test:///default", "dumpxml", "test").Output()
	if err != nil {
		t.Fatalf("virsh dumpxml test: %v", err)
	}
	domXML := strings.Replace(string(out), " id='1'", "", 1)
	snap := func(name, parent, state string) string {
		mem := "<memory snapshot='internal'/>"
		if state == "shutoff" {
			mem = "<memory snapshot='no'/>"
		}
		p := ""
		if parent != "" {
			p = "<parent><name>" + parent + "</name></parent>"
		}
		return "<domainsnapshot><name>" + name + "</name><state>" + state + "</state>" + p +
			"<creationTime>1767225000</creationTime>" + mem + "<disks><disk name='vda' snapshot='internal'/></disks>" + domXML + "</domainsnapshot>"
	}
	f := &fixture{dir: dir, files: map[string]string{}}
	for name, text := range map[string]string{
		"new-named.xml":   "<domainsnapshot><name>f1</name><description>from a file &amp; more</description></domainsnapshot>",
		"new-empty.xml":   "<domainsnapshot/>",
		"bad.xml":         "<domainsnapshot><name>bad</nam></domainsnapshot>",
		"empty.xml":       "",
		"r1.xml":          snap("r1", "", "running"),
		"r2.xml":          snap("r2", "r1", "running"),
		"r1-off.xml":      snap("r1", "", "shutoff"),
		"s1-redef.xml":    snap("s1", "", "running"),
		"cp-new.xml":      "<domaincheckpoint><name>cf1</name><description>d</description></domaincheckpoint>",
		"cp-redef.xml":    "<domaincheckpoint><name>cr1</name><creationTime>1767225000</creationTime><disks><disk name='vda' checkpoint='bitmap'/></disks></domaincheckpoint>",
		"cp-redef2.xml":   "<domaincheckpoint><name>cr2</name><parent><name>cr1</name></parent><creationTime>1767225001</creationTime><disks><disk name='vda' checkpoint='bitmap'/></disks></domaincheckpoint>",
		"cp-bad.xml":      "<domaincheckpoint><name>x</name>",
		"ed-desc.sh":      "#!/bin/sh\nsed -i '/<description>/d; 0,/<\\/name>/s//<\\/name><description>edited<\\/description>/' \"$1\"\n",
		"ed-rename.sh":    "#!/bin/sh\nsed -i '0,/<name>\\([^<]*\\)<\\/name>/s//<name>\\1-r<\\/name>/' \"$1\"\n",
		"ed-fail.sh":      "#!/bin/sh\necho editor says no >&2\nexit 3\n",
		"ed-mangle.sh":    "#!/bin/sh\nsed -i 's/<name>/<nome>/' \"$1\"\n",
		"ed-unchanged.sh": "#!/bin/sh\nexit 0\n",
	} {
		path := filepath.Join(dir, name)
		mode := os.FileMode(0o644)
		if strings.HasSuffix(name, ".sh") {
			mode = 0o755
		}
		if err := os.WriteFile(path, []byte(text), mode); err != nil {
			t.Fatal(err)
		}
		f.files[name] = path
	}
	f.files["missing.xml"] = filepath.Join(dir, "missing.xml")
	f.files["dir"] = dir
	f.editors = []string{f.files["ed-unchanged.sh"], f.files["ed-desc.sh"], f.files["ed-rename.sh"], "true", f.files["ed-fail.sh"] + " --flag"}
	return f
}

// gen makes random commands for one sequence.
type gen struct {
	r *rand.Rand
	f *fixture
	// mode: "snap" sequences make snapshots, "cp" checkpoints, "mixed" both (the test driver
	// refuses one kind while the other exists, which is compared too).
	mode string
}

func (g *gen) pick(xs ...string) string { return xs[g.r.IntN(len(xs))] }
func (g *gen) maybe(p float64) bool     { return g.r.Float64() < p }

// domain is usually the test domain, sometimes by ID or UUID, rarely a wrong one.
func (g *gen) domain() string {
	switch n := g.r.IntN(40); {
	case n == 0:
		return "nosuch"
	case n == 1:
		return "1"
	case n == 2:
		return "6695eb01-f6a4-8304-79aa-97f2502e193f"
	}
	return "test"
}

func (g *gen) snapName() string {
	if g.maybe(0.04) {
		return g.pick("nosuch", "a b", "x&y<z", "ünï", "")
	}
	return g.pick("s1", "s2", "s3", "s4", "s1-r", "f1", "r1", "1767225600")
}

func (g *gen) cpName() string {
	if g.maybe(0.04) {
		return g.pick("nosuch", "c d", "")
	}
	return g.pick("c1", "c2", "c3", "c1-r", "cf1", "cr1", "1767225600")
}

// flags adds each of opts with probability p.
func (g *gen) flags(words []string, p float64, opts ...string) []string {
	for _, o := range opts {
		if g.maybe(p) && !containsWord(words, "--"+o) {
			words = append(words, "--"+o)
		}
	}
	return words
}

// target adds the moment argument of a command: by position, by option, --current (snapshot
// commands), both or none.
func (g *gen) target(words []string, opt string, name func() string, current bool) []string {
	switch n := g.r.IntN(20); {
	case n < 11:
		return append(words, name())
	case n < 15:
		return append(words, "--"+opt, name())
	case n < 18 && current:
		return append(words, "--current")
	case n < 19 && current:
		return append(words, name(), "--current")
	case n == 19:
		return append(words, "--"+opt+"="+name())
	}
	return words
}

var snapCreateFlags = []string{"no-metadata", "halt", "disk-only", "reuse-external", "quiesce", "atomic", "live", "validate"}

func (g *gen) diskspec() string {
	if g.maybe(0.1) {
		return g.pick("", ",", "vda,bogus", "vda,stype=blk", "vda,,x", "vda,file=/tmp/a,,b", "vda,snapshot=no,snapshot=no")
	}
	d := g.pick("vda", "vdb", "hda")
	for _, p := range []string{"snapshot=" + g.pick("internal", "external", "no", "manual"), "driver=qcow2",
		"stype=" + g.pick("file", "block"), "file=/tmp/ov<" + d + ">.qcow2"} {
		if g.maybe(0.3) {
			d += "," + p
		}
	}
	return d
}

func (g *gen) cpDiskspec() string {
	if g.maybe(0.1) {
		return g.pick("", "vda,bogus", "vda,checkpoint=bitmap,checkpoint=no")
	}
	d := g.pick("vda", "vdb")
	if g.maybe(0.4) {
		d += ",checkpoint=" + g.pick("bitmap", "no")
	}
	if g.maybe(0.3) {
		d += ",bitmap=b<" + d[:3] + ">"
	}
	return d
}

func (g *gen) file(names ...string) string { return g.f.files[g.pick(names...)] }

func (g *gen) snapshotCommand() []string {
	d := g.domain()
	switch n := g.r.IntN(100); {
	case n < 22:
		w := []string{"snapshot-create-as", d}
		if g.maybe(0.85) {
			if g.maybe(0.5) {
				w = append(w, "--name", g.snapName())
			} else {
				w = append(w, g.snapName())
			}
		}
		if g.maybe(0.25) {
			w = append(w, "--description", g.pick("a description", "with <xml> & 'quotes' \"too\"", "", "ünï\tcode"))
		}
		if g.maybe(0.15) {
			w = append(w, "--print-xml")
		}
		w = g.flags(w, 0.05, snapCreateFlags...)
		if g.maybe(0.1) {
			w = append(w, "--memspec", g.pick("/tmp/mem.save", "file=/tmp/m,snapshot=external", "snapshot=no", "bogus", "", "file=a,,b"))
		}
		for g.maybe(0.25) {
			w = append(w, "--diskspec", g.diskspec())
		}
		return w
	case n < 32:
		w := []string{"snapshot-create", d}
		if g.maybe(0.75) {
			f := g.file("new-named.xml", "new-empty.xml", "bad.xml", "empty.xml", "r1.xml", "r2.xml", "r1-off.xml", "s1-redef.xml", "missing.xml", "dir", "cp-new.xml")
			if g.maybe(0.3) {
				w = append(w, "--xmlfile", f)
			} else {
				w = append(w, f)
			}
		}
		if g.maybe(0.35) {
			w = append(w, "--redefine")
			if g.maybe(0.5) {
				w = append(w, "--current")
			}
		} else if g.maybe(0.05) {
			w = append(w, "--current")
		}
		for _, o := range snapCreateFlags {
			// virsh emulates --halt after libvirt refuses --redefine --halt (main.go): not
			// compared here.
			if g.maybe(0.04) && !(o == "halt" && containsWord(w, "--redefine")) {
				w = append(w, "--"+o)
			}
		}
		return w
	case n < 42:
		w := []string{"snapshot-current", d}
		switch g.r.IntN(5) {
		case 0:
			w = append(w, "--name")
		case 1:
			w = append(w, g.snapName())
		case 2:
			w = append(w, "--snapshotname", g.snapName())
		case 3:
			w = append(w, "--name", "--snapshotname", g.snapName())
		}
		return g.flags(w, 0.2, "security-info")
	case n < 52:
		w := g.target([]string{"snapshot-delete", d}, "snapshotname", g.snapName, true)
		return g.flags(w, 0.25, "children", "children-only", "metadata")
	case n < 61:
		w := g.target([]string{"snapshot-revert", d}, "snapshotname", g.snapName, true)
		return g.flags(w, 0.15, "running", "paused", "force", "reset-nvram")
	case n < 69:
		return g.target([]string{"snapshot-parent", d}, "snapshotname", g.snapName, true)
	case n < 76:
		w := g.target([]string{"snapshot-edit", d}, "snapshotname", g.snapName, true)
		return g.flags(w, 0.25, "current", "rename", "clone")
	case n < 86:
		w := []string{"snapshot-list", d}
		return g.flags(w, 0.2, g.pick("parent", "tree", "name"), g.pick("roots", "leaves", "topological"))
	case n < 93:
		return g.target([]string{"snapshot-info", d}, "snapshotname", g.snapName, true)
	}
	return []string{"snapshot-dumpxml", d, g.snapName()}
}

func (g *gen) checkpointCommand() []string {
	d := g.domain()
	switch n := g.r.IntN(100); {
	case n < 25:
		w := []string{"checkpoint-create-as", d}
		if g.maybe(0.85) {
			if g.maybe(0.5) {
				w = append(w, "--name", g.cpName())
			} else {
				w = append(w, g.cpName())
			}
		}
		if g.maybe(0.25) {
			w = append(w, "--description", g.pick("a <checkpoint>", "", "x&y"))
		}
		w = g.flags(w, 0.1, "print-xml", "quiesce")
		for g.maybe(0.3) {
			w = append(w, "--diskspec", g.cpDiskspec())
		}
		return w
	case n < 37:
		w := []string{"checkpoint-create", d}
		if g.maybe(0.75) {
			w = append(w, g.file("cp-new.xml", "cp-redef.xml", "cp-redef2.xml", "cp-bad.xml", "empty.xml", "missing.xml", "new-named.xml"))
		}
		return g.flags(w, 0.2, "redefine", "redefine-validate", "quiesce")
	case n < 50:
		w := g.target([]string{"checkpoint-delete", d}, "checkpointname", g.cpName, false)
		return g.flags(w, 0.25, "children", "children-only", "metadata")
	case n < 60:
		return g.target([]string{"checkpoint-parent", d}, "checkpointname", g.cpName, false)
	case n < 68:
		return g.target([]string{"checkpoint-edit", d}, "checkpointname", g.cpName, false)
	case n < 82:
		return g.flags([]string{"checkpoint-list", d}, 0.2, g.pick("parent", "tree", "name"), g.pick("roots", "leaves", "topological"))
	case n < 92:
		return g.target([]string{"checkpoint-info", d}, "checkpointname", g.cpName, false)
	}
	return []string{"checkpoint-dumpxml", d, g.cpName()}
}

func containsWord(words []string, w string) bool {
	for _, x := range words {
		if x == w {
			return true
		}
	}
	return false
}

func (g *gen) command() []string {
	switch g.mode {
	case "snap":
		return g.snapshotCommand()
	case "cp":
		return g.checkpointCommand()
	}
	if g.maybe(0.5) {
		return g.snapshotCommand()
	}
	return g.checkpointCommand()
}

// markers are the commands between two commands of a batch: one prints a line of its own on
// stdout, the other one on stderr, so the outputs can be cut apart after every command.
func markerWords(i int) [][]string {
	m := fmt.Sprintf("MARK%d", i)
	return [][]string{{"snapshot-create-as", "test", "--print-xml", "--name", m}, {"snapshot-info", m}}
}

func markerOut(i int) string {
	return fmt.Sprintf("<domainsnapshot>\n  <name>MARK%d</name>\n</domainsnapshot>\n\n\n\n", i)
}

func markerErr(i int) string { return fmt.Sprintf("error: failed to get domain 'MARK%d'\n", i) }

// cut splits a batch's output at the markers; it returns the segments found (fewer than n
// when the program stopped early).
func cut(s string, n int, marker func(int) string) []string {
	var segs []string
	for i := range n {
		m := marker(i)
		j := strings.Index(s, m)
		if j < 0 {
			break
		}
		segs = append(segs, s[:j])
		s = s[j+len(m):]
	}
	return append(segs, s)
}

// TestGoldenChangeSequences runs seeded random sequences of every changing command (and the
// read commands that show the state) through virsh and vmoments and compares each command's
// output.
func TestGoldenChangeSequences(t *testing.T) {
	requireVirsh(t)
	bin := sharedVmoments(t)
	f := newFixture(t)
	sequences := 500
	if testing.Short() {
		sequences = 60
	}
	var mu sync.Mutex
	compared, commands, crashes := 0, 0, 0
	var wg sync.WaitGroup
	work := make(chan int)
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for seed := range work {
				n, c, crashed := runSequence(t, bin, f, uint64(seed))
				mu.Lock()
				compared++
				commands += c
				if crashed {
					crashes++
				}
				_ = n
				mu.Unlock()
			}
		}()
	}
	for seed := range sequences {
		work <- seed
	}
	close(work)
	wg.Wait()
	t.Logf("%d sequences, %d commands compared with virsh after every command (%d sequences ended where virsh crashed)", compared, commands, crashes)
}

// runSequence generates and compares sequence seed. It returns the commands in it, the
// commands compared, and whether virsh crashed (then the comparison ends at that command).
func runSequence(t *testing.T, bin string, f *fixture, seed uint64) (int, int, bool) {
	r := rand.New(rand.NewPCG(seed, 0x766d6f6d))
	g := &gen{r: r, f: f, mode: []string{"snap", "snap", "snap", "cp", "cp", "mixed"}[r.IntN(6)]}
	editor := f.editors[r.IntN(len(f.editors))]
	n := 20 + r.IntN(41)
	var cmds [][]string
	var parts []string
	for i := range n {
		w := g.command()
		cmds = append(cmds, w)
		parts = append(parts, joinWords(w))
		for _, m := range markerWords(i) {
			parts = append(parts, joinWords(m))
		}
	}
	batch := strings.Join(parts, "; ")
	env := fakeEnv(t, editor)
	want, vcrash := runProgram(t, env, "virsh", "-c", "test:///default", batch)
	got, mcrash := runProgram(t, env, bin, "-c", "test:///default", batch)
	if mcrash {
		t.Errorf("seed %d: vmoments died: %s", seed, got)
		return n, 0, vcrash
	}
	wOut, wErr := cut(want.stdout, n, markerOut), cut(want.stderr, n, markerErr)
	gOut, gErr := cut(got.stdout, n, markerOut), cut(got.stderr, n, markerErr)
	for i := range n {
		if i >= len(wOut)-1 || i >= len(wErr)-1 {
			// virsh stopped here: it crashed in this command (virsh-edit.c goes on with the
			// snapshot it failed to define when standard input is not a terminal).
			if !vcrash {
				t.Errorf("seed %d: virsh's output ends at command %d (%q) without a crash:\n%s", seed, i, cmds[i], want)
				return n, i, false
			}
			vo, ve := wOut[len(wOut)-1], wErr[len(wErr)-1]
			if gOut[i] != vo+"\n" || !strings.HasPrefix(gErr[i], ve) || !strings.HasSuffix(ve, "error: Failed.\n") {
				t.Errorf("seed %d, command %d %q, where virsh crashed:\nvirsh stdout %q stderr %q\nvmoments stdout %q stderr %q",
					seed, i, cmds[i], vo, ve, gOut[i], gErr[i])
			}
			return n, i, true
		}
		if containsWord(cmds[i], "--topological") {
			// libvirt's hash order against momentlist's: both valid (golden_test.go).
			tree := containsWord(cmds[i], "--tree")
			wOut[i], gOut[i] = normalizeUnordered(wOut[i], tree), normalizeUnordered(gOut[i], tree)
		}
		if wOut[i] != gOut[i] || wErr[i] != gErr[i] {
			t.Errorf("seed %d (editor %s), command %d: %s\nvirsh:\n--- stdout ---\n%s--- stderr ---\n%s\nvmoments:\n--- stdout ---\n%s--- stderr ---\n%s\nthe sequence: %s",
				seed, editor, i, joinWords(cmds[i]), wOut[i], wErr[i], gOut[i], gErr[i], commandHistory(cmds[:i+1]))
			return n, i, false
		}
	}
	if want.rc != got.rc {
		t.Errorf("seed %d: exit status %d, virsh %d", seed, got.rc, want.rc)
	}
	return n, n, vcrash
}

func commandHistory(cmds [][]string) string {
	var b strings.Builder
	for _, c := range cmds {
		b.WriteString("\n  " + joinWords(c))
	}
	return b.String()
}
