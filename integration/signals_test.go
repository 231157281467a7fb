//go:build integration

package integration

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/vmoments/vmoments/conf"
	"github.com/vmoments/vmoments/driver"
	"github.com/vmoments/vmoments/driver/qemu/qemutest"
	"github.com/vmoments/vmoments/transfer"
)

// The tests of this file run the built vmoments binary as a user would, on qemu:///system, and
// interrupt it: with SIGINT, SIGTERM and SIGHUP, which it must catch (roll back, say so, exit
// 128+N), and with SIGKILL, which it cannot (import --rollback must then undo what it did, and
// the same import run again must finish it). The state compared before and after is libvirt's
// own: the metadata files libvirtd keeps for every moment (read, never written), its current
// snapshot, and its hidden current checkpoint as libvirt reveals it (the parent it gives a
// created checkpoint).

// signalFixture is a running guest with an export of 1,000 snapshots and 100 checkpoints whose
// current checkpoint (k10) has children, and a destination state (pre) that keeps a part of it.
type signalFixture struct {
	t      *testing.T
	g      *qemutest.Guest
	export string // the export directory
	m      *transfer.Manifest
	// pre redefines the part the destination keeps: the first 200 snapshots (s150 current)
	// and the chain k0..k19 (so libvirt's checkpoint pointer is on k19, as the load rule says).
	preSnaps, preCps []qemutest.Moment
	journal          string
	probes           int
	full, pre        domState
}

// domState is libvirt's state of the guest's moments.
type domState struct {
	Files      map[string]string // snapshot/NAME.xml, checkpoint/NAME.xml: libvirtd's own files
	Current    string            // libvirt's current snapshot
	Checkpoint string            // libvirt's current checkpoint (probed)
}

func (a domState) diff(b domState) string {
	if a.Current != b.Current {
		return fmt.Sprintf("current snapshot %q, want %q", b.Current, a.Current)
	}
	if a.Checkpoint != b.Checkpoint {
		return fmt.Sprintf("current checkpoint %q, want %q", b.Checkpoint, a.Checkpoint)
	}
	for n, x := range a.Files {
		if y, ok := b.Files[n]; !ok {
			return fmt.Sprintf("%s is missing", n)
		} else if x != y {
			return fmt.Sprintf("%s differs", n)
		}
	}
	for n := range b.Files {
		if _, ok := a.Files[n]; !ok {
			return fmt.Sprintf("%s is there and should not be (%d files, want %d)", n, len(b.Files), len(a.Files))
		}
	}
	return ""
}

// capture reads libvirtd's files for the guest's moments, its current snapshot, and probes
// its current checkpoint: a checkpoint created on the running guest gets it as parent; the
// probe is then forgotten (metadata only), which hands the pointer back to that parent.
func (f *signalFixture) capture() domState {
	f.t.Helper()
	st := domState{Files: f.files("snapshot", "checkpoint")}
	st.Current = f.g.CurrentSnapshot()
	f.probes++
	probe := f.g.Checkpoint(fmt.Sprintf("probe-%d", f.probes), both("bitmap")...)
	d, err := conf.ParseCheckpoint([]byte(f.g.DumpXML(conf.Checkpoint, probe)), conf.ParseRedefine)
	if err != nil {
		f.t.Fatal(err)
	}
	f.g.DeleteCheckpoint(probe, driver.DeleteMetadataOnly)
	st.Checkpoint = d.Parent
	return st
}

// files reads libvirtd's metadata files of the kinds, once they have settled: a killed
// process's last call may still be under way in libvirtd (which writes NAME.xml.new and renames
// it), so the directories are read until two reads 100 ms apart agree.
func (f *signalFixture) files(kinds ...string) map[string]string {
	f.t.Helper()
	read := func() (map[string]string, bool) {
		out := map[string]string{}
		for _, kind := range kinds {
			dir := filepath.Join("/var/lib/libvirt/qemu", kind, f.g.Name)
			ents, err := os.ReadDir(dir)
			if err != nil && !errors.Is(err, os.ErrNotExist) {
				f.t.Fatal(err)
			}
			for _, e := range ents {
				if !strings.HasSuffix(e.Name(), ".xml") {
					return nil, false // being written
				}
				data, err := os.ReadFile(filepath.Join(dir, e.Name()))
				if errors.Is(err, os.ErrNotExist) {
					return nil, false // renamed or removed meanwhile
				}
				if err != nil {
					f.t.Fatal(err)
				}
				out[kind+"/"+e.Name()] = string(data)
			}
		}
		return out, true
	}
	var last map[string]string
	for range 100 {
		cur, ok := read()
		if ok && last != nil && maps.Equal(cur, last) {
			return cur
		}
		if ok {
			last = cur
		}
		time.Sleep(100 * time.Millisecond)
	}
	f.t.Fatal("libvirtd's metadata files did not settle in 10 s")
	return nil
}

// checkpointTree is k0..k59 with a branch of two (bKa → bKb) below every kK with K%3 == 1.
func checkpointTree() tree {
	tr := tree{}
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	add := func(name, parent string) {
		tr.Nodes = append(tr.Nodes, treeNode{Name: name, Parent: parent, Created: base.Add(time.Duration(len(tr.Nodes)) * time.Minute), Disks: both("bitmap")})
	}
	for k := range 60 {
		parent := ""
		if k > 0 {
			parent = fmt.Sprintf("k%d", k-1)
		}
		add(fmt.Sprintf("k%d", k), parent)
		if k%3 == 1 {
			add(fmt.Sprintf("b%da", k), fmt.Sprintf("k%d", k))
			add(fmt.Sprintf("b%db", k), fmt.Sprintf("b%da", k))
		}
	}
	return tr
}

func newSignalFixture(t *testing.T) *signalFixture {
	conn := qemutest.Connect(t, systemURI)
	g := conn.NewGuest(t, group, "signals")
	g.Start()
	f := &signalFixture{t: t, g: g, journal: transfer.JournalPath("/var/lib/vmoments", systemURI, g.UUID)}
	removeAtEnd(t, f.journal)
	snaps := genTree(true, treeShape{N: 1000, Roots: 2, Branch: 0.08, Seed: 1010})
	cps := checkpointTree()
	timed(t, "redefine 1,000 snapshots and 100 checkpoints", func() {
		redefine(g, snaps)
		g.Redefine(conf.Checkpoint, cps.moments(g.XML(), g.Dir), 1)
	})
	f.export = filepath.Join(t.TempDir(), "export")
	if out, err := exec.Command(vmomentsCommand(t), "-c", systemURI, "export", g.Name, "--to", f.export).CombinedOutput(); err != nil {
		t.Fatalf("export: %v\n%s", err, out)
	}
	// A handle that loaded the branched tree afresh cannot know libvirt's pointer (the load
	// rule says none): the export says k10, which has children, so that the import steers.
	mpath := filepath.Join(f.export, transfer.ManifestName)
	data, err := os.ReadFile(mpath)
	if err != nil {
		t.Fatal(err)
	}
	f.m = &transfer.Manifest{}
	if err := json.Unmarshal(data, f.m); err != nil {
		t.Fatal(err)
	}
	f.m.CurrentCheckpoint, f.m.CurrentCheckpointRule = "k10", "made current when redefined"
	if data, err = json.MarshalIndent(f.m, "", "  "); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(mpath, data, 0o644); err != nil {
		t.Fatal(err)
	}
	file := func(e transfer.Entry) string {
		x, err := os.ReadFile(filepath.Join(f.export, e.File))
		if err != nil {
			t.Fatal(err)
		}
		return string(x)
	}
	for _, n := range cps.Nodes {
		if len(f.preCps) == 20 {
			break
		}
		if strings.HasPrefix(n.Name, "k") {
			x, err := os.ReadFile(filepath.Join(f.export, transfer.FileName(conf.Checkpoint, n.Name)))
			if err != nil {
				t.Fatal(err)
			}
			f.preCps = append(f.preCps, qemutest.Moment{Name: n.Name, Parent: n.Parent, XML: string(x)})
		}
	}
	snapNodes := 0
	for _, e := range f.m.Moments {
		if e.Kind == "snapshot" && snapNodes < 200 {
			f.preSnaps = append(f.preSnaps, qemutest.Moment{Name: e.Name, Parent: e.Parent, XML: file(e)})
			snapNodes++
		}
	}
	f.preSnaps[150].Current = true
	f.reset()
	f.pre = f.capture()
	if f.pre.Checkpoint != "k19" || f.pre.Current != f.preSnaps[150].Name {
		t.Fatalf("pre-state: checkpoint %q, snapshot %q", f.pre.Checkpoint, f.pre.Current)
	}
	// The full state is what an uninterrupted import of the export makes.
	r := f.run(nil)
	if r.code != 0 {
		t.Fatalf("a plain import: exit %d\n%s", r.code, r.stderr)
	}
	f.full = f.capture()
	if f.full.Checkpoint != "k10" || len(f.full.Files) != len(f.m.Moments) {
		t.Fatalf("after a plain import: checkpoint %q, %d files for %d moments", f.full.Checkpoint, len(f.full.Files), len(f.m.Moments))
	}
	t.Logf("plain import: %s", strings.TrimSpace(r.stdout))
	f.reset()
	return f
}

// reset puts the guest in the pre-state: every moment's metadata dropped, then the part the
// destination keeps redefined (the checkpoint chain in order, one connection, so libvirt's
// pointer ends on its leaf k19).
func (f *signalFixture) reset() {
	f.t.Helper()
	f.g.DropMetadata()
	f.g.Redefine(conf.Snapshot, f.preSnaps, redefineConns)
	f.g.Redefine(conf.Checkpoint, f.preCps, 1)
}

// progress counts the journal's records as the import writes them.
type progress struct {
	done, tmp, undone int
	rollback          bool
}

// watch follows the journal at path: it calls check with the counts after every poll and
// returns when check says so (true) or stop is closed.
func watch(path string, stop <-chan struct{}, check func(progress) bool) bool {
	var off int64
	var p progress
	var partial []byte
	for {
		select {
		case <-stop:
			return false
		default:
		}
		if f, err := os.Open(path); err == nil {
			st, _ := f.Stat()
			if st != nil && st.Size() < off {
				off, partial, p = 0, nil, progress{} // a new journal
			}
			buf := make([]byte, 1<<20)
			for {
				n, _ := f.ReadAt(buf, off)
				if n == 0 {
					break
				}
				off += int64(n)
				data := append(partial, buf[:n]...)
				lines := bytes.Split(data, []byte("\n"))
				partial = append([]byte(nil), lines[len(lines)-1]...)
				for _, l := range lines[:len(lines)-1] {
					switch {
					case bytes.Contains(l, []byte(`{"t":"done"`)):
						p.done++
					case bytes.Contains(l, []byte(`{"t":"tmp"`)):
						p.tmp++
					case bytes.Contains(l, []byte(`{"t":"rollback"`)):
						p.rollback = true
					case bytes.Contains(l, []byte(`{"t":"undone"`)):
						p.undone++
					}
				}
			}
			f.Close()
		}
		if check(p) {
			return true
		}
		time.Sleep(time.Millisecond)
	}
}

type runResult struct {
	code           int // exit status, -1 when a signal killed it
	stdout, stderr string
	took           time.Duration
}

// run runs vmoments import of the export (args replace --from EXPORT when given) while act
// watches it.
func (f *signalFixture) run(act func(p *os.Process, stop <-chan struct{}), args ...string) runResult {
	f.t.Helper()
	if len(args) == 0 {
		args = []string{"--from", f.export}
	}
	cmd := exec.Command(vmomentsCommand(f.t), append([]string{"-c", systemURI, "import", f.g.Name}, args...)...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	start := time.Now()
	if err := cmd.Start(); err != nil {
		f.t.Fatal(err)
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	if act != nil {
		wg.Add(1)
		go func() {
			defer wg.Done()
			act(cmd.Process, stop)
		}()
	}
	err := cmd.Wait()
	close(stop)
	wg.Wait()
	r := runResult{stdout: out.String(), stderr: errb.String(), took: time.Since(start)}
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		r.code = ee.ExitCode()
	default:
		f.t.Fatal(err)
	}
	return r
}

// moment is one point of the import where a signal is delivered.
type moment struct {
	name string
	// at says when to send the first signal (nil: after delay).
	at    func(progress) bool
	delay time.Duration
	// again, if set, says when to send the same signal again (during the rollback), and
	// abandon when to send it a third time; kill, for SIGKILL, sends SIGINT first and the
	// SIGKILL at again.
	again, abandon func(progress) bool
}

// moments draws the seeded moments of one signal: before any change, early, middle, among the
// checkpoints, during the steering (at each of its records), and during the rollback.
func (f *signalFixture) moments(rng *rand.Rand, catchable bool) []moment {
	nsnap, ncp := 0, 0
	for _, e := range f.m.Moments {
		if e.Kind == "snapshot" {
			nsnap++
		} else {
			ncp++
		}
	}
	snapSteps := nsnap - len(f.preSnaps) + 1 // the redefinitions and the current snapshot's
	cpSteps := ncp - len(f.preCps)
	doneAt := func(n int) func(progress) bool { return func(p progress) bool { return p.done >= n } }
	ms := []moment{
		// (The dynamic loader and the Go runtime start first: a signal before that ends
		// the process by its default action, before it can change anything.)
		{name: "before any change", delay: time.Duration(250+rng.IntN(200)) * time.Millisecond},
		{name: "early", at: doneAt(1 + rng.IntN(20))},
		{name: "early", at: doneAt(1 + rng.IntN(60))},
		{name: "middle", at: doneAt(100 + rng.IntN(snapSteps-150))},
		{name: "middle", at: doneAt(100 + rng.IntN(snapSteps-150))},
		{name: "among the checkpoints", at: doneAt(snapSteps + 1 + rng.IntN(cpSteps-1))},
	}
	for range 2 {
		n := 1 + rng.IntN(5) // the steering writes 5 temporary-checkpoint records
		ms = append(ms, moment{name: fmt.Sprintf("steering, record %d", n), at: func(p progress) bool { return p.tmp >= n }})
	}
	mid := doneAt(50 + rng.IntN(snapSteps-60))
	j := 1 + rng.IntN(40)
	ms = append(ms, moment{name: fmt.Sprintf("during the rollback, undo %d", j), at: mid, again: func(p progress) bool { return p.undone >= j }})
	if catchable {
		k := j + 5 + rng.IntN(40)
		ms = append(ms, moment{name: fmt.Sprintf("rollback abandoned at undo %d", k), at: doneAt(k + 60 + rng.IntN(snapSteps-k-70)),
			again: func(p progress) bool { return p.undone >= j }, abandon: func(p progress) bool { return p.undone >= k }})
	} else {
		ms = append(ms, moment{name: "during the steering's rollback", at: func(p progress) bool { return p.tmp >= 2 },
			again: func(p progress) bool { return p.rollback }})
	}
	return ms
}

// TestSignalsDuringImport: for each of SIGINT, SIGTERM, SIGHUP and SIGKILL, an import of 1,000
// snapshots and 100 checkpoints (800 snapshots and 80 checkpoints to redefine onto a
// destination that has the rest, a current checkpoint k10 with children to steer to) is
// interrupted at 10 or 11 seeded moments: before any change, early, in the middle, among the
// checkpoints, during the steering, during the rollback (a second signal, which says how many
// undo steps remain), and a third signal that abandons the rollback. The catchable signals
// must end with the exit status 128+N, the message of what was undone and the domain as it
// was before (every file byte for byte, libvirt's current snapshot and checkpoint), the
// journal gone; an abandoned rollback must leave the journal, and import --rollback finish it.
// After a SIGKILL, import --rollback must give back the state before, and, killed the same way
// again, the same import run again must give the export's state.
func TestSignalsDuringImport(t *testing.T) {
	f := newSignalFixture(t)
	tried, restored := 0, 0
	var summary []string
	for si, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGKILL} {
		rng := rand.New(rand.NewPCG(uint64(20261201+si), 10))
		catchable := sig != syscall.SIGKILL
		n := 0
		for _, m := range f.moments(rng, catchable) {
			name := fmt.Sprintf("%v/%s", sig, m.name)
			t.Run(name, func(t *testing.T) {
				f.t = t
				tried++
				n++
				defer func() {
					if t.Failed() {
						f.reset() // the next moment starts from the state before, as every one does
					}
				}()
				act := func(p *os.Process, stop <-chan struct{}) {
					first := sig
					if m.again != nil && !catchable {
						first = syscall.SIGINT
					}
					if m.at == nil {
						select {
						case <-time.After(m.delay):
						case <-stop:
							return
						}
					} else if !watch(f.journal, stop, m.at) {
						return
					}
					p.Signal(first)
					if m.again == nil || !watch(f.journal, stop, m.again) {
						return
					}
					p.Signal(sig)
					if m.abandon != nil && watch(f.journal, stop, m.abandon) {
						p.Signal(sig)
					}
				}
				r := f.run(act)
				t.Logf("exit %d after %v; stderr: %s", r.code, r.took.Round(time.Millisecond), strings.TrimSpace(r.stderr))
				journalLeft := exists(f.journal)
				switch {
				case catchable && m.abandon != nil:
					if r.code != 128+int(sig) || !strings.Contains(r.stderr, "rollback abandoned") || !journalLeft {
						t.Fatalf("abandoned rollback: exit %d, journal kept %v", r.code, journalLeft)
					}
					rb := f.run(nil, "--rollback")
					if rb.code != 0 || !strings.Contains(rb.stdout, "Rolled back the unfinished import") {
						t.Fatalf("import --rollback: exit %d\n%s%s", rb.code, rb.stdout, rb.stderr)
					}
					t.Logf("import --rollback: %s", strings.TrimSpace(rb.stdout))
				case catchable:
					if r.code != 128+int(sig) {
						t.Fatalf("exit %d, want %d", r.code, 128+int(sig))
					}
					if m.at != nil && !strings.Contains(r.stderr, "rolled back ") {
						t.Errorf("stderr does not say what was undone: %q", r.stderr)
					}
					if strings.Contains(r.stderr, "rolled back ") && !strings.Contains(r.stderr, "the domain is as it was before the import") {
						t.Errorf("stderr: %q", r.stderr)
					}
					if m.again != nil && !strings.Contains(r.stderr, "undo steps remain") && !strings.Contains(r.stderr, "the step under way finishes") {
						t.Errorf("the second signal said nothing: %q", r.stderr)
					}
					if journalLeft {
						t.Errorf("the journal %s is left", f.journal)
					}
				default: // SIGKILL
					if r.code != -1 {
						t.Fatalf("exit %d, want killed", r.code)
					}
					if journalLeft {
						rb := f.run(nil, "--rollback")
						if rb.code != 0 {
							t.Fatalf("import --rollback: exit %d\n%s%s", rb.code, rb.stdout, rb.stderr)
						}
						t.Logf("import --rollback: %s", strings.TrimSpace(rb.stdout))
					}
				}
				if d := f.pre.diff(f.capture()); d != "" {
					t.Fatalf("the domain is not as before the import: %s", d)
				}
				if !catchable {
					// Killed the same way again, then finished by the same import.
					if r := f.run(act); r.code != -1 {
						t.Fatalf("second run: exit %d", r.code)
					}
					fin := f.run(nil)
					if fin.code != 0 || exists(f.journal) {
						t.Fatalf("the import run again: exit %d, journal left %v\n%s", fin.code, exists(f.journal), fin.stderr)
					}
					t.Logf("the import run again: %s", strings.TrimSpace(fin.stdout))
					if d := f.full.diff(f.capture()); d != "" {
						t.Fatalf("finished import: %s", d)
					}
					f.reset()
				}
				restored++
			})
		}
		summary = append(summary, fmt.Sprintf("%v × %d", sig, n))
	}
	t.Logf("signals × moments tried: %d (%s), restored: %d", tried, strings.Join(summary, ", "), restored)
	if restored != tried {
		t.Errorf("%d of %d interrupted imports did not end as they should", tried-restored, tried)
	}
}

// removeAtEnd removes the journals of a test's guest when the test ends: one a failed test
// leaves would otherwise stay in /var/lib/vmoments after its guest is gone.
func removeAtEnd(t *testing.T, journals ...string) {
	t.Cleanup(func() {
		for _, j := range journals {
			if err := os.Remove(j); err == nil {
				t.Logf("removed the journal %s the test left", j)
			}
		}
	})
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}
