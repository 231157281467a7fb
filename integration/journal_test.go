//go:build integration

package integration

import (
	"bytes"
	"encoding/json"
	"fmt"
	"hash/crc32"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vmoments/vmoments/driver/qemu/qemutest"
	"github.com/vmoments/vmoments/transfer"
)

// journalFixture is a shut-off guest with 400 snapshots, an export of them, and a pre-state
// that keeps the first 100 (the 60th current).
type journalFixture struct {
	*signalFixture
}

func newJournalFixture(t *testing.T, tag string) *journalFixture {
	conn := qemutest.Connect(t, systemURI)
	g := conn.NewGuest(t, group, tag)
	f := &signalFixture{t: t, g: g, journal: transfer.JournalPath("/var/lib/vmoments", systemURI, g.UUID)}
	removeAtEnd(t, f.journal)
	redefine(g, genTree(true, treeShape{N: 400, Roots: 2, Branch: 0.1, Offline: 1, Seed: 4242}))
	f.export = filepath.Join(t.TempDir(), "export")
	if out, err := exec.Command(vmomentsCommand(t), "-c", systemURI, "export", g.Name, "--to", f.export, "--snapshots").CombinedOutput(); err != nil {
		t.Fatalf("export: %v\n%s", err, out)
	}
	data, err := os.ReadFile(filepath.Join(f.export, transfer.ManifestName))
	if err != nil {
		t.Fatal(err)
	}
	f.m = &transfer.Manifest{}
	if err := json.Unmarshal(data, f.m); err != nil {
		t.Fatal(err)
	}
	for _, e := range f.m.Moments[:100] {
		x, err := os.ReadFile(filepath.Join(f.export, e.File))
		if err != nil {
			t.Fatal(err)
		}
		f.preSnaps = append(f.preSnaps, qemutest.Moment{Name: e.Name, Parent: e.Parent, XML: string(x)})
	}
	f.preSnaps[60].Current = true
	f.reset()
	f.pre = f.captureFiles()
	return &journalFixture{f}
}

// captureFiles is capture without the checkpoint probe (a shut-off guest has none).
func (f *signalFixture) captureFiles() domState {
	f.t.Helper()
	st := domState{Files: f.files("snapshot")}
	st.Current = f.g.CurrentSnapshot()
	return st
}

// killAt runs the import and SIGKILLs it once its journal has n done records.
func (f *signalFixture) killAt(n int) {
	f.t.Helper()
	r := f.run(func(p *os.Process, stop <-chan struct{}) {
		if watch(f.journal, stop, func(p progress) bool { return p.done >= n }) {
			p.Signal(syscall.SIGKILL)
		}
	})
	if r.code != -1 || !exists(f.journal) {
		f.t.Fatalf("the import was not killed with its journal left: exit %d\n%s", r.code, r.stderr)
	}
}

// rewriteRecords rewrites the journal's records with edit, checksums made right again.
func rewriteRecords(t *testing.T, path string, edit func(r map[string]any)) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
	var b bytes.Buffer
	b.WriteString(lines[0] + "\n")
	for _, l := range lines[1:] {
		var r map[string]any
		if err := json.Unmarshal([]byte(l[9:]), &r); err != nil {
			t.Fatal(err)
		}
		edit(r)
		js, err := json.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&b, "%08x %s\n", crc32.Checksum(js, crc32.MakeTable(crc32.Castagnoli)), js)
	}
	if err := os.WriteFile(path, b.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestJournalDamage: an import of 300 snapshots is killed; its journal is then damaged as a
// crash or a careless hand would: a wrong domain UUID, an unknown format, another version —
// each refused by import --rollback and by the import itself, with the domain unchanged —
// then cut in the middle of its last record, which import --rollback reads up to the record
// before it and rolls back completely. Another export's import is refused while the journal
// is there, naming it, the export and both ways out. The journal and its directory are the
// owner's only.
func TestJournalDamage(t *testing.T) {
	f := newJournalFixture(t, "journal")
	f.killAt(120)
	killed := f.captureFiles()
	if d := f.pre.diff(killed); d == "" {
		t.Fatal("the killed import changed nothing")
	}
	for p, want := range map[string]os.FileMode{f.journal: 0o600, filepath.Dir(f.journal): 0o700} {
		if st, err := os.Stat(p); err != nil || st.Mode().Perm() != want {
			t.Errorf("%s: %v (%v), want %v", p, st.Mode().Perm(), err, want)
		}
	}
	// Another export (the first 50 moments): refused, the domain unchanged.
	other := filepath.Join(t.TempDir(), "other")
	if out, err := exec.Command("cp", "-r", f.export, other).CombinedOutput(); err != nil {
		t.Fatalf("%v %s", err, out)
	}
	m := *f.m
	m.Moments, m.CurrentSnapshot = m.Moments[:50], m.Moments[0].Name
	data, _ := json.Marshal(&m)
	os.WriteFile(filepath.Join(other, transfer.ManifestName), data, 0o644)
	r := f.run(nil, "--from", other)
	for _, want := range []string{"has an unfinished import from " + f.export, f.journal, "nothing was changed",
		"undo it:     vmoments -c qemu:///system import " + f.g.Name + " --rollback",
		"or finish it: vmoments -c qemu:///system import " + f.g.Name + " --from " + f.export} {
		if r.code != 1 || !strings.Contains(r.stderr, want) {
			t.Errorf("another import: exit %d, stderr lacks %q:\n%s", r.code, want, r.stderr)
		}
	}
	t.Logf("another import:\n%s", r.stderr)
	if d := killed.diff(f.captureFiles()); d != "" {
		t.Fatalf("the refused import changed the domain: %s", d)
	}

	orig, err := os.ReadFile(f.journal)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name  string
		spoil func()
		want  string
	}{
		{"wrong uuid", func() {
			rewriteRecords(t, f.journal, func(r map[string]any) {
				if r["t"] == "begin" {
					r["domain"].(map[string]any)["uuid"] = "00000000-1111-2222-3333-444444444444"
				}
			})
		}, "it is the journal of domain"},
		{"unknown format", func() { os.WriteFile(f.journal, []byte("<journal/>\n"), 0o600) }, "not a vmoments journal"},
		{"another version", func() {
			os.WriteFile(f.journal, bytes.Replace(orig, []byte(transfer.JournalFormat), []byte("vmoments-journal/7"), 1), 0o600)
		}, "written by another vmoments version"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.spoil()
			for _, args := range [][]string{{"--rollback"}, {"--from", f.export}} {
				r := f.run(nil, args...)
				if r.code != 1 || !strings.Contains(r.stderr, tc.want) || !strings.Contains(r.stderr, "nothing was done with it") {
					t.Errorf("import %v: exit %d, stderr %q, want %q", args, r.code, r.stderr, tc.want)
				}
			}
			if d := killed.diff(f.captureFiles()); d != "" {
				t.Fatalf("the domain changed: %s", d)
			}
		})
	}
	// Cut in the middle of its last record, as a kill while writing it leaves it.
	if err := os.WriteFile(f.journal, orig[:len(orig)-6], 0o600); err != nil {
		t.Fatal(err)
	}
	info, err := transfer.ReadJournal(f.journal)
	if err != nil || !strings.Contains(info.Damaged, "cut short") {
		t.Fatalf("the cut journal: %+v, %v", info, err)
	}
	rb := f.run(nil, "--rollback")
	if rb.code != 0 || exists(f.journal) {
		t.Fatalf("import --rollback of the cut journal: exit %d\n%s%s", rb.code, rb.stdout, rb.stderr)
	}
	t.Logf("import --rollback: %s", strings.TrimSpace(rb.stdout))
	if d := f.pre.diff(f.captureFiles()); d != "" {
		t.Fatalf("after the rollback: %s", d)
	}
}

// TestExportInterrupted: exports of 400 snapshots to a directory, a .tar, a .tar.gz and a
// .tgz are interrupted (SIGKILL, SIGINT, SIGTERM, SIGHUP) at seeded random moments: there
// is never anything at the target path that an import accepts unless the export finished
// (then it is complete: the import's dry run accepts all 400 moments); an interrupted one
// leaves nothing there, and a caught signal also removes its temporary directory or file.
func TestExportInterrupted(t *testing.T) {
	f := newJournalFixture(t, "export")
	bin := vmomentsCommand(t)
	if r := f.run(nil); r.code != 0 { // all 400 on the domain again
		t.Fatalf("import: %d %s", r.code, r.stderr)
	}
	rng := rand.New(rand.NewPCG(20261202, 3))
	dir := t.TempDir()
	// How long a whole export takes here, to draw the moments from: most before its end.
	start := time.Now()
	if out, err := exec.Command(bin, "-c", systemURI, "export", f.g.Name, "--to", filepath.Join(dir, "whole.tar")).CombinedOutput(); err != nil {
		t.Fatalf("export: %v\n%s", err, out)
	}
	whole := time.Since(start)
	t.Logf("an uninterrupted export takes %v", whole.Round(time.Millisecond))
	tried, absent, complete := 0, 0, 0
	for i := range 20 {
		target := filepath.Join(dir, fmt.Sprintf("x%d", i)+[]string{"", ".tar", ".tar.gz", ".tgz"}[i%4])
		sig := []syscall.Signal{syscall.SIGKILL, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP}[(i/4)%4]
		delay := time.Duration(float64(whole) * (0.03 + 0.8*rng.Float64()))
		cmd := exec.Command(bin, "-c", systemURI, "export", f.g.Name, "--to", target)
		var errb bytes.Buffer
		cmd.Stderr = &errb
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		time.AfterFunc(delay, func() { cmd.Process.Signal(sig) })
		err := cmd.Wait()
		tried++
		if _, serr := os.Lstat(target); serr != nil {
			absent++
			if err == nil {
				t.Errorf("%s: the export succeeded and left nothing", target)
			}
		} else {
			// A complete export has all 400, which the domain has.
			out, derr := exec.Command(bin, "-c", systemURI, "import", f.g.Name, "--from", target, "--dry-run").CombinedOutput()
			if derr != nil || !strings.Contains(string(out), "0 to redefine, 0 to replace, 400 already present, 0 conflicts") {
				t.Errorf("%s is there after %v at %v but is not a complete export: %v\n%s", target, sig, delay, derr, out)
			}
			complete++
		}
		if sig != syscall.SIGKILL {
			if left, _ := filepath.Glob(filepath.Join(dir, "."+filepath.Base(target)+".tmp-*")); len(left) > 0 {
				t.Errorf("%s: %v left %q", target, sig, left)
			}
		}
		t.Logf("%s: %v after %v: %v; at the target: %v", filepath.Base(target), sig, delay, err, exists(target))
	}
	t.Logf("exports interrupted: %d, nothing at the target: %d, complete exports (the signal came after the rename): %d", tried, absent, complete)
}
