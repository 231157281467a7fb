package transfer

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/vmoments/vmoments/conf"
	"github.com/vmoments/vmoments/driver"
)

// testBegin is a begin record for the journal format tests.
func testBegin(steps int) *jrecord {
	now := time.Date(2026, 11, 28, 10, 0, 0, 0, time.UTC)
	b := &jrecord{T: recBegin, Op: opImport, Version: "v-test", Time: &now, PID: 42, Host: "h", URI: "qemu:///system",
		Domain: &DomainRef{Name: "g", UUID: snapUUID}, Export: &ExportRef{From: "/x.tar", ID: "id", Created: now, Domain: DomainRef{Name: "g", UUID: snapUUID}},
		Kinds: []string{"snapshot", "checkpoint"}, CurSnap: strp("s0"), CurCP: strp("c0")}
	for i := range steps {
		b.Steps = append(b.Steps, jstep{Kind: "checkpoint", Name: fmt.Sprintf("c%d", i+1), Parent: fmt.Sprintf("c%d", i), Action: "redefine"})
	}
	return b
}

// writeTestJournal creates a journal with a begin of n steps and done records for the first k.
func writeTestJournal(t *testing.T, n, k int) (string, []byte) {
	t.Helper()
	path := JournalPath(t.TempDir(), "qemu:///system", snapUUID)
	j, err := createJournal(path, testBegin(n), nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := range k {
		if err := j.done(i); err != nil {
			t.Fatal(err)
		}
	}
	if err := j.close(); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return path, data
}

// TestJournalFormat: the file is the format line and one checksummed JSON record per line; it
// reads back as written, with the pointer replayed; it and its directory are the owner's only.
func TestJournalFormat(t *testing.T) {
	path, data := writeTestJournal(t, 5, 3)
	lines := strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
	if lines[0] != JournalFormat || len(lines) != 5 {
		t.Fatalf("journal lines %q", lines)
	}
	if lines[2] != `24c7ec94 {"t":"done","i":0}` {
		t.Errorf("a done record is %q", lines[2])
	}
	for _, l := range lines[1:] {
		r, why := decodeRecord([]byte(l), true)
		if why != "" || r == nil {
			t.Errorf("line %q: %s", l, why)
		}
	}
	info, err := ReadJournal(path)
	if err != nil {
		t.Fatal(err)
	}
	if info.Steps != 5 || info.Done != 3 || info.Domain.UUID != snapUUID || info.Export.From != "/x.tar" || info.PID != 42 || info.Damaged != "" {
		t.Errorf("info %+v", info)
	}
	recs, _, err := parseJournal(path, data)
	if err != nil {
		t.Fatal(err)
	}
	st := newState()
	for _, r := range recs {
		st.apply(r)
	}
	if st.cp != "c3" {
		t.Errorf("pointer after 3 redefinitions down the chain from c0: %q, want c3", st.cp)
	}
	for p, want := range map[string]os.FileMode{path: 0o600, filepath.Dir(path): 0o700} {
		if st, err := os.Stat(p); err != nil || st.Mode().Perm() != want {
			t.Errorf("%s: mode %v (%v), want %v", p, st.Mode().Perm(), err, want)
		}
	}
}

// TestJournalDamage: a last record cut short or with a wrong checksum is ignored (read up to
// the last whole record); damage before the last record, another format version, an unknown
// format, a missing begin and an unknown record type are refused.
func TestJournalDamage(t *testing.T) {
	path, data := writeTestJournal(t, 5, 3)
	last := bytes.LastIndexByte(data[:len(data)-1], '\n') + 1
	for _, tc := range []struct {
		name     string
		data     string
		wantDone int
		damaged  string
		refused  string
	}{
		{"whole", string(data), 3, "", ""},
		{"cut mid-record", string(data[:len(data)-7]), 2, "is cut short", ""},
		{"cut after the checksum", string(data[:last+9]), 2, "is cut short", ""},
		{"last checksum wrong", string(data[:last]) + "00000000" + string(data[last+8:]), 2, "has a wrong checksum", ""},
		{"middle checksum wrong", strings.Replace(string(data), `{"t":"done","i":0}`, `{"t":"done","i":9}`, 1), 0, "",
			"line 3 has a wrong checksum, and records follow it"},
		{"other version", strings.Replace(string(data), JournalFormat, "vmoments-journal/2", 1), 0, "",
			`written by another vmoments version (format "vmoments-journal/2"`},
		{"unknown format", "PK\x03\x04 not a journal\n", 0, "", "not a vmoments journal"},
		{"empty", "", 0, "", "not a vmoments journal"},
		{"no begin", JournalFormat + "\n" + string(data[last:]), 0, "", "no begin record"},
		{"begin cut short", JournalFormat + "\n" + string(data[len(JournalFormat)+1:len(JournalFormat)+40]), 0, "", "no begin record"},
		{"unknown record", string(data) + string(mustEncode(t, &jrecord{T: "frobnicate"})), 0, "", `unknown type "frobnicate"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := os.WriteFile(path, []byte(tc.data), 0o600); err != nil {
				t.Fatal(err)
			}
			info, err := ReadJournal(path)
			if tc.refused != "" {
				if !errors.Is(err, ErrJournal) || !strings.Contains(err.Error(), tc.refused) || !strings.Contains(err.Error(), "nothing was done with it") {
					t.Fatalf("read: %v, want a refusal saying %q", err, tc.refused)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if info.Done != tc.wantDone || !strings.Contains(info.Damaged, tc.damaged) || (tc.damaged == "") != (info.Damaged == "") {
				t.Errorf("done %d, damaged %q; want %d, %q", info.Done, info.Damaged, tc.wantDone, tc.damaged)
			}
			if tc.damaged != "" {
				// Opened to go on, the damaged line is dropped first, so that the next record
				// does not follow it.
				j, _, _, err := openPending(path)
				if err != nil {
					t.Fatal(err)
				}
				j.start()
				if err := j.done(2); err != nil {
					t.Fatal(err)
				}
				j.close()
				info, err := ReadJournal(path)
				if err != nil || info.Done != 3 || info.Damaged != "" {
					t.Errorf("after appending to the repaired journal: %+v, %v", info, err)
				}
			}
		})
	}
}

func mustEncode(t *testing.T, r *jrecord) []byte {
	t.Helper()
	b, err := encodeRecord(r)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestPointerReplay: the current-checkpoint pointer through every kind of record, as
// libvirt's rules move it.
func TestPointerReplay(t *testing.T) {
	st := newState()
	b := testBegin(0)
	b.CurCP = strp("c1")
	b.Steps = []jstep{
		{Kind: "checkpoint", Name: "x1", Parent: "c0", Action: "redefine"}, // c0 not current: stays c1
		{Kind: "checkpoint", Name: "x2", Parent: "c1", Action: "redefine"}, // x2
		{Kind: "snapshot", Name: "s9", Parent: "x2", Action: "redefine"},   // snapshots never move it
		{Kind: "checkpoint", Name: "c1", Action: "steer-current"},
	}
	want := []string{"c1", "c1", "x2", "x2"}
	st.apply(b)
	for i := range 3 {
		st.apply(&jrecord{T: recDone, Index: intp(i)})
		if st.cp != want[i+1] {
			t.Fatalf("after step %d: %q, want %q", i, st.cp, want[i+1])
		}
	}
	// Steering from x2 to c1 with the temporary T.
	for _, r := range []struct {
		op, parent string
		want       string // after the next record confirms it
	}{{"put", "x2", "T"}, {"put", "", "T"}, {"del", "", ""}, {"put", "c1", "T"}, {"del", "", "c1"}} {
		rec := &jrecord{T: recTmp, Op: r.op, Name: "T"}
		if r.op == "put" {
			rec.Parent = strp(r.parent)
		}
		st.apply(rec)
		st.confirmTmp()
		if st.cp != r.want {
			t.Fatalf("after %s %q: %q, want %q", r.op, r.parent, st.cp, r.want)
		}
	}
	// A failed change does not count.
	st.apply(&jrecord{T: recTmp, Op: "put", Name: "T", Parent: strp("c1")})
	st.apply(&jrecord{T: recTmp, Op: "failed", Name: "T"})
	st.apply(&jrecord{T: recDone, Index: intp(3)})
	if st.cp != "c1" {
		t.Fatalf("after a failed put: %q", st.cp)
	}
	// The rollback: delete x2 (not current), then x1, the temporary is gone already.
	st.apply(&jrecord{T: recRollback, CurCP: strp("x1"), Ops: []jstep{
		{Kind: "checkpoint", Name: "x1", Parent: "c0", Action: undoDelete},
		{Kind: "checkpoint", Name: "c1", Action: undoCurCP},
	}})
	st.apply(&jrecord{T: recUndone, Index: intp(0)})
	if st.cp != "c0" {
		t.Fatalf("after deleting the current x1: %q, want its parent c0", st.cp)
	}
}

// recording is a domain whose changes are written into the same trace as the journal's
// events.
type recording struct {
	driver.Domain
	event func(string)
}

func (r *recording) CreateSnapshot(ctx context.Context, xml string, flags driver.SnapshotCreateFlags) (string, error) {
	d, _ := conf.ParseFast(conf.Snapshot, []byte(xml))
	r.event("change " + d.Name)
	return r.Domain.CreateSnapshot(ctx, xml, flags)
}

// TestJournalWriteOrder: the begin record is written, fsynced, linked into place and its
// directory fsynced before the first change; each step's done record is written before the
// next change starts; fsyncs of done records come (from the background) before the journal
// is removed; the journal goes, and the directory is fsynced, once the import is done.
func TestJournalWriteOrder(t *testing.T) {
	drv, dom, mem, m := exported(t, 30)
	dropTail(t, dom, m, 20)
	before := capture(t, drv, dom, conf.Snapshot)
	var mu sync.Mutex
	var events []string
	event := func(e string) {
		mu.Lock()
		events = append(events, e)
		mu.Unlock()
	}
	dir := t.TempDir()
	res, err := ImportFrom(ctx, &recording{Domain: dom, event: event}, mem, ImportOptions{JournalDir: dir, trace: event})
	if err != nil {
		t.Fatal(err)
	}
	if res.Redefined != 20 || res.Journal == "" {
		t.Fatalf("redefined %d, journal %q", res.Redefined, res.Journal)
	}
	at := func(e string, from int) int {
		for i := from; i < len(events); i++ {
			if events[i] == e {
				return i
			}
		}
		return -1
	}
	first := -1
	for i, e := range events {
		if strings.HasPrefix(e, "change ") {
			first = i
			break
		}
	}
	if first < 0 || !(at("write begin", 0) < at("sync", 0) && at("sync", 0) < at("link", 0) && at("link", 0) < at("sync dir", 0) && at("sync dir", 0) < first) {
		t.Fatalf("before the first change: %q", events[:max(first, 0)+1])
	}
	changes, dones := 0, 0
	for _, e := range events {
		switch {
		case strings.HasPrefix(e, "change "):
			if dones != changes {
				t.Fatalf("change %d started with %d done records written: %q", changes+1, dones, events)
			}
			changes++
		case e == "write done":
			dones++
		}
	}
	// The 20 redefinitions and the current snapshot's.
	if changes != 21 || dones != 21 {
		t.Errorf("%d changes, %d done records", changes, dones)
	}
	rm := at("remove", 0)
	if rm < 0 || at("sync dir", rm) < 0 || at("sync", dones) > rm {
		t.Errorf("the end: %q", events[len(events)-5:])
	}
	if _, err := os.Stat(res.Journal); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the journal of a finished import is still there: %v", err)
	}
	removeAll(t, dom, conf.Snapshot)
	_ = before
}

// crashPoints runs the import once and returns every point where a process can die.
func crashPoints(t *testing.T, run func(crash func(string) bool) error) []string {
	t.Helper()
	var points []string
	if err := run(func(p string) bool { points = append(points, p); return false }); err != nil {
		t.Fatal(err)
	}
	return points
}

// TestKilledAtEveryPoint is the steered case on the test driver's checkpoints: the
// destination keeps c0 (current) of an export whose current checkpoint c1 has children, so
// the import redefines c1, cb1, cb2 and steers libvirt's pointer back to c1 with a temporary
// checkpoint. The import is killed (simulated: nothing more is written or cleaned up) at every
// point where a SIGKILL may come, one at a time. Each time Rollback on a new handle (which
// knows only the load rule's guess of the pointer) must leave the domain as before — libvirt's
// own pointer, probed, on c0 again — and, killed the same way again, the same import finishes
// it: the export's state, libvirt's pointer on c1. Also killed during the rollback of a
// failed import.
func TestKilledAtEveryPoint(t *testing.T) {
	drv, dom := openDomain(t, nodeURI(t), "chks")
	buildCheckpoints(t, dom, 6)
	for _, n := range []string{"c5", "c4", "c3", "c2"} {
		if err := dom.Delete(ctx, conf.Checkpoint, n, driver.DeleteMetadataOnly); err != nil {
			t.Fatal(err)
		}
	}
	exportState := capture(t, drv, dom, conf.Checkpoint)
	path := filepath.Join(t.TempDir(), "x.tar.gz")
	if m, err := Export(ctx, dom, path, ExportOptions{}); err != nil || m.CurrentCheckpoint != "c1" {
		t.Fatalf("export: current %v, %v", m, err)
	}
	toPre := func(d driver.Domain) {
		t.Helper()
		for _, n := range []string{"cb2", "cb1", "c1"} {
			if err := d.Delete(ctx, conf.Checkpoint, n, driver.DeleteMetadataOnly); err != nil {
				t.Fatal(err)
			}
		}
	}
	toPre(dom)
	pre := capture(t, drv, dom, conf.Checkpoint)
	if got := probeCurrent(t, dom); got != "c0" {
		t.Fatalf("pre-state pointer %q", got)
	}
	dir := t.TempDir()
	jpath := JournalPath(dir, drv.URI(), dom.UUID())
	importWith := func(d driver.Domain, crash func(string) bool, failAt func(int, Step) error) error {
		_, err := Import(ctx, d, path, ImportOptions{JournalDir: dir, crash: crash, failAt: failAt})
		return err
	}
	fresh := func() driver.Domain {
		d, err := drv.Domain(ctx, "chks")
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	points := crashPoints(t, func(c func(string) bool) error { return importWith(dom, c, nil) })
	toPre(dom)
	steering := 0
	for _, p := range points {
		if strings.HasPrefix(p, "tmp ") {
			steering++
		}
	}
	if len(points) < 10 || steering != 10 {
		t.Fatalf("crash points %q", points)
	}
	crashAt := func(p string) func(string) bool { return func(q string) bool { return q == p } }
	for _, p := range points {
		t.Run(p, func(t *testing.T) {
			if err := importWith(dom, crashAt(p), nil); err != errCrash {
				t.Fatalf("import: %v, want the simulated crash", err)
			}
			if _, err := os.Stat(jpath); err != nil {
				t.Fatalf("the killed import left no journal: %v", err)
			}
			// Any other import is refused; a dry run is not.
			if err := importWith(dom, nil, func(int, Step) error { return nil }); err != nil {
				// The same export finishes it; another one (a snapshot-only export of the other
				// domain would not even match) is tested in TestJournalRefusals.
				t.Fatalf("finishing import: %v", err)
			}
			sameState(t, "finished after the kill", exportState, capture(t, drv, dom, conf.Checkpoint))
			if got := probeCurrent(t, fresh()); got != "c1" {
				t.Errorf("pointer after finishing %q, want c1", got)
			}
			toPre(dom)
			if err := importWith(dom, crashAt(p), nil); err != errCrash {
				t.Fatalf("import: %v", err)
			}
			d := fresh()
			res, err := Rollback(ctx, d, RollbackOptions{JournalDir: dir})
			if err != nil {
				t.Fatalf("rollback: %v", err)
			}
			t.Logf("undone %d", res.Undone)
			// libvirt's pointer first: the probe also tells the new handle where it is, which
			// it could only guess by the load rule.
			if got := probeCurrent(t, d); got != "c0" {
				t.Errorf("pointer after the rollback %q, want c0", got)
			}
			sameState(t, "rolled back after the kill", pre, capture(t, drv, d, conf.Checkpoint))
			if _, err := os.Stat(jpath); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("the journal stays after the rollback: %v", err)
			}
		})
	}
	// Killed while rolling back a failed import: the next Rollback finishes it.
	last := lastStep(t, dom, path)
	rpoints := crashPoints(t, func(c func(string) bool) error {
		err := importWith(dom, c, func(i int, _ Step) error {
			if i == last {
				return errors.New("injected")
			}
			return nil
		})
		if err == nil {
			return errors.New("the failing import succeeded")
		}
		return nil
	})
	for _, p := range rpoints {
		if !strings.HasPrefix(p, "undo ") && !strings.HasPrefix(p, "tmp ") {
			continue
		}
		t.Run("rollback "+p, func(t *testing.T) {
			seen := false
			err := importWith(dom, func(q string) bool {
				if q == p && !seen {
					seen = true
					return true
				}
				return false
			}, func(i int, _ Step) error {
				if i == last {
					return errors.New("injected")
				}
				return nil
			})
			if err != errCrash {
				t.Fatalf("import: %v", err)
			}
			d := fresh()
			if _, err := Rollback(ctx, d, RollbackOptions{JournalDir: dir}); err != nil {
				t.Fatalf("rollback: %v", err)
			}
			if got := probeCurrent(t, d); got != "c0" {
				t.Errorf("pointer %q, want c0", got)
			}
			sameState(t, "rolled back", pre, capture(t, drv, d, conf.Checkpoint))
		})
	}
}

// rewriteJournal rewrites the journal's records with edit (checksums recomputed).
func rewriteJournal(t *testing.T, path string, edit func(r map[string]any)) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
	out := lines[0] + "\n"
	for _, l := range lines[1:] {
		var r map[string]any
		if err := json.Unmarshal([]byte(l[9:]), &r); err != nil {
			t.Fatal(err)
		}
		edit(r)
		js, _ := json.Marshal(r)
		var rec jrecord
		if err := json.Unmarshal(js, &rec); err != nil {
			t.Fatal(err)
		}
		out += string(mustEncode(t, &rec))
	}
	if err := os.WriteFile(path, []byte(out), 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestJournalRefusals: with an unfinished journal, an import of another export is refused
// before any change (naming the journal, the export and both ways out), as is one while
// another process holds the journal; a journal of another domain UUID, of another version or
// of an unknown format is refused by import and Rollback alike, and the domain is unchanged.
// A journal cut short in its last record is rolled back up to it.
func TestJournalRefusals(t *testing.T) {
	drv, dom, mem, m := exported(t, 30)
	dropTail(t, dom, m, 20)
	pre := capture(t, drv, dom, conf.Snapshot)
	dir := t.TempDir()
	jpath := JournalPath(dir, drv.URI(), dom.UUID())
	kill := func(n int) {
		t.Helper()
		_, err := ImportFrom(ctx, dom, mem, ImportOptions{JournalDir: dir, From: "/exports/a.tar",
			crash: func(p string) bool { return p == fmt.Sprintf("step %d recorded", n) }})
		if err != errCrash {
			t.Fatalf("import: %v", err)
		}
	}
	kill(7)
	killed := capture(t, drv, dom, conf.Snapshot)

	other := NewMemory()
	om, err := ExportTo(ctx, dom, other, ExportOptions{}) // the domain as it is now: another export
	if err != nil || ExportID(om) == ExportID(m) {
		t.Fatalf("other export: %v", err)
	}
	_, err = ImportFrom(ctx, dom, other, ImportOptions{JournalDir: dir})
	var ue *UnfinishedError
	if !errors.As(err, &ue) || !errors.Is(err, ErrUnfinished) {
		t.Fatalf("import of another export: %v", err)
	}
	for _, want := range []string{jpath, "from /exports/a.tar", "8 of 21 changes recorded", "nothing was changed", "--rollback", "vmoments import DOMAIN --from /exports/a.tar"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("refusal %q lacks %q", err, want)
		}
	}
	sameState(t, "after the refused import", killed, capture(t, drv, dom, conf.Snapshot))

	// Another process holds the journal (its lock): busy.
	f, err := os.Open(jpath)
	if err != nil {
		t.Fatal(err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		t.Fatal(err)
	}
	// flock locks are per open file: the import's own open is another one, so it sees it held.
	_, err = ImportFrom(ctx, dom, mem, ImportOptions{JournalDir: dir})
	if !errors.As(err, &ue) || !ue.Busy || !strings.Contains(err.Error(), "right now") {
		t.Errorf("import while the journal is held: %v", err)
	}
	if _, err := Rollback(ctx, dom, RollbackOptions{JournalDir: dir}); !errors.As(err, &ue) || !ue.Busy {
		t.Errorf("rollback while the journal is held: %v", err)
	}
	f.Close()

	orig, err := os.ReadFile(jpath)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name  string
		spoil func()
		want  string
	}{
		{"wrong uuid", func() {
			rewriteJournal(t, jpath, func(r map[string]any) {
				if r["t"] == recBegin {
					r["domain"].(map[string]any)["uuid"] = chkUUID
				}
			})
		}, "it is the journal of domain"},
		{"other version", func() {
			os.WriteFile(jpath, bytes.Replace(orig, []byte(JournalFormat), []byte("vmoments-journal/9"), 1), 0o600)
		}, "another vmoments version"},
		{"unknown format", func() { os.WriteFile(jpath, []byte("{\"some\": \"json\"}\n"), 0o600) }, "not a vmoments journal"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.spoil()
			defer os.WriteFile(jpath, orig, 0o600)
			for what, err := range map[string]error{
				"import": func() error { _, err := ImportFrom(ctx, dom, mem, ImportOptions{JournalDir: dir}); return err }(),
				"rollback": func() error {
					_, err := Rollback(ctx, dom, RollbackOptions{JournalDir: dir})
					return err
				}(),
			} {
				if !errors.Is(err, ErrJournal) || !strings.Contains(err.Error(), tc.want) {
					t.Errorf("%s: %v, want %q", what, err, tc.want)
				}
			}
			sameState(t, "after the refusals", killed, capture(t, drv, dom, conf.Snapshot))
		})
	}

	// Cut short in its last record (killed while writing it): the rollback reads up to the
	// record before and checks the rest against the domain.
	if err := os.WriteFile(jpath, orig[:len(orig)-5], 0o600); err != nil {
		t.Fatal(err)
	}
	info, err := ReadJournal(jpath)
	if err != nil || !strings.Contains(info.Damaged, "cut short") || info.Done != 7 {
		t.Fatalf("read of the cut journal: %+v, %v", info, err)
	}
	res, err := Rollback(ctx, dom, RollbackOptions{JournalDir: dir})
	if err != nil || res.Undone != 8 {
		t.Fatalf("rollback of the cut journal: %+v, %v", res, err)
	}
	sameState(t, "rolled back", pre, capture(t, drv, dom, conf.Snapshot))
	if _, err := Rollback(ctx, dom, RollbackOptions{JournalDir: dir}); !errors.Is(err, ErrNoJournal) {
		t.Errorf("a second rollback: %v", err)
	}
}

// TestInterruptedImportRollsBack: a canceled context stops the import before its next step and
// rolls everything back; the error says so and matches context.Canceled; a RollbackContext
// that ends abandons the rollback between two undo steps and keeps the journal, which
// Rollback then finishes.
func TestInterruptedImportRollsBack(t *testing.T) {
	drv, dom, mem, m := exported(t, 40)
	dropTail(t, dom, m, 30)
	pre := capture(t, drv, dom, conf.Snapshot)
	dir := t.TempDir()
	cctx, cancel := context.WithCancelCause(ctx)
	cause := errors.New("interrupted by SIGTERM")
	_, err := ImportFrom(cctx, dom, mem, ImportOptions{JournalDir: dir, failAfter: nth(13, func() error {
		cancel(cause)
		return nil
	})})
	var se *StepError
	if !errors.As(err, &se) || !errors.Is(err, cause) || se.Undone != 13 || se.RollbackErr != nil ||
		err.Error() != "interrupted by SIGTERM: rolled back 13 changes, the domain is as it was before the import" {
		t.Fatalf("interrupted import: %v", err)
	}
	sameState(t, "after the interrupted import", pre, capture(t, drv, dom, conf.Snapshot))
	cctx, cancel = context.WithCancelCause(ctx)
	_, err = ImportFrom(cctx, dom, mem, ImportOptions{JournalDir: dir, failAfter: nth(13, func() error {
		cancel(nil)
		return nil
	})})
	if !errors.Is(err, context.Canceled) || !strings.HasPrefix(err.Error(), "import interrupted (context canceled): rolled back 13 changes") {
		t.Errorf("canceled import: %v", err)
	}

	stop, abandon := context.WithCancelCause(ctx)
	_, err = ImportFrom(ctx, dom, mem, ImportOptions{JournalDir: dir, RollbackContext: stop,
		Progress: func(phase string, done, total int) {
			if phase == "rollback" && done == 5 {
				abandon(errors.New("interrupted by SIGINT"))
			}
		},
		failAfter: nth(21, func() error { return errors.New("injected") })})
	var ab *AbandonedError
	if !errors.As(err, &se) || !errors.As(err, &ab) || ab.Undone != 5 || se.Journal == "" || !strings.Contains(err.Error(), "rollback abandoned (interrupted by SIGINT) after undoing 5 changes") {
		t.Fatalf("abandoned rollback: %v", err)
	}
	res, err := Rollback(ctx, dom, RollbackOptions{JournalDir: dir})
	if err != nil || res.Undone != 16 {
		t.Fatalf("finishing the abandoned rollback: %+v, %v", res, err)
	}
	sameState(t, "after finishing the rollback", pre, capture(t, drv, dom, conf.Snapshot))
}

// nth calls fn after the n-th change (steps that are not skips), for failAfter.
func nth(n int, fn func() error) func(int, Step) error {
	seen := 0
	return func(_ int, s Step) error {
		if s.Action == Skip {
			return nil
		}
		if seen++; seen == n {
			return fn()
		}
		return nil
	}
}

// TestReplaceUndone: a killed import with --replace steps is rolled back to the old
// definitions, which only the journal still has.
func TestReplaceUndone(t *testing.T) {
	drv, dom, mem, m := exported(t, 20)
	// Change three moments' descriptions on the destination: they conflict with the export.
	var changed []string
	for _, e := range m.Moments[3:6] {
		d, err := dom.Def(ctx, conf.Snapshot, e.Name)
		if err != nil {
			t.Fatal(err)
		}
		full, err := conf.ParseSnapshot(d.Raw(), conf.ParseRedefine)
		if err != nil {
			t.Fatal(err)
		}
		full.Description = "edited on the destination"
		x, err := full.Format()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := dom.CreateSnapshot(ctx, string(x), driver.SnapshotCreateRedefine); err != nil {
			t.Fatal(err)
		}
		changed = append(changed, e.Name)
	}
	dropTail(t, dom, m, 5)
	pre := capture(t, drv, dom, conf.Snapshot)
	dir := t.TempDir()
	_, err := ImportFrom(ctx, dom, mem, ImportOptions{JournalDir: dir, Replace: true,
		crash: func(p string) bool { return p == "step 5 made" }})
	if err != errCrash {
		t.Fatal(err)
	}
	if _, err := Rollback(ctx, dom, RollbackOptions{JournalDir: dir}); err != nil {
		t.Fatal(err)
	}
	sameState(t, "after rolling back replaces", pre, capture(t, drv, dom, conf.Snapshot))
	_ = changed
}
