package transfer

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// The journal's format and its rules are in the package documentation (doc.go, "The journal").

// JournalFormat is the first line of every journal this vmoments writes and the only one it
// reads.
const JournalFormat = "vmoments-journal/1"

// journalPrefix begins the first line of the journals of every vmoments version.
const journalPrefix = "vmoments-journal/"

// maxJournal bounds the journal read into memory (the begin record of an import of 100,000
// moments is some 10 MB, with --replace definitions more).
const maxJournal = 1 << 30

// ExportRef says which export an import came from.
type ExportRef struct {
	// From is the export's path as given, or "copy from URI" for a copy.
	From string `json:"from"`
	// ID is ExportID of its manifest: the same moments, files and currents give the same ID.
	ID string `json:"id"`
	// Created is when the export was made (the manifest's created).
	Created time.Time `json:"created"`
	// Domain is the exported domain.
	Domain DomainRef `json:"domain"`
}

// ExportID identifies an export by what it holds: the SHA-256 of its domain UUID, kinds,
// currents and every moment's kind, name, parent and file checksum, in order (not the time it
// was made, so two exports of the same moments have the same ID). An unfinished import is
// finished only by an import of the same ID.
func ExportID(m *Manifest) string {
	h := sha256.New()
	w := func(s string) { fmt.Fprintf(h, "%d:%s;", len(s), s) }
	w(m.Format)
	w(m.Domain.UUID)
	w(strings.Join(m.Kinds, ","))
	w(m.CurrentSnapshot)
	w(m.CurrentCheckpoint)
	for _, e := range m.Moments {
		w(e.Kind)
		w(e.Name)
		w(e.Parent)
		w(e.SHA256)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// DefaultJournalDir is where imports keep their journals: /var/lib/vmoments for root, else
// $XDG_STATE_HOME/vmoments, or ~/.local/state/vmoments when XDG_STATE_HOME is not set.
func DefaultJournalDir() (string, error) {
	return JournalDirFor(os.Geteuid() == 0, os.LookupEnv)
}

// JournalDirFor is DefaultJournalDir for a process that runs as root or not, with the
// environment env (os.LookupEnv's form).
func JournalDirFor(root bool, env func(string) (string, bool)) (string, error) {
	if root {
		return "/var/lib/vmoments", nil
	}
	if d, ok := env("XDG_STATE_HOME"); ok && filepath.IsAbs(d) {
		return filepath.Join(d, "vmoments"), nil
	}
	home, ok := env("HOME")
	if !ok || !filepath.IsAbs(home) {
		return "", errors.New("no directory for the import journal: HOME is not set (set XDG_STATE_HOME)")
	}
	return filepath.Join(home, ".local", "state", "vmoments"), nil
}

// JournalPath is the journal file of the imports into domain uuid on uri, in dir.
func JournalPath(dir, uri, uuid string) string {
	sum := sha256.Sum256([]byte(uri))
	return filepath.Join(dir, "import-"+strings.ToLower(uuid)+"-"+hex.EncodeToString(sum[:8])+".journal")
}

// JournalInfo describes an unfinished import as its journal records it.
type JournalInfo struct {
	Path string
	// Op is "import", or "remove" for a copy's removal of the source's metadata.
	Op     string
	URI    string
	Domain DomainRef
	Export ExportRef
	// VmomentsVersion, Started, PID and Host say who began it.
	VmomentsVersion string
	Started         time.Time
	PID             int
	Host            string
	// Steps counts the changes planned (a resume's too), Done those the records say are
	// complete (steps checked against the domain are not counted here).
	Steps, Done int
	// RollingBack says a rollback had begun; Undone counts its completed undo steps.
	RollingBack bool
	Undone      int
	// Damaged, if not "", says why the journal's last line was ignored (cut short, or its
	// checksum did not match: killed while it was written).
	Damaged string
}

// ErrUnfinished is matched by the error of an import or copy refused because the domain has an
// unfinished import (*UnfinishedError).
var ErrUnfinished = errors.New("the domain has an unfinished import")

// UnfinishedError refuses an import into a domain whose journal records an unfinished import
// of another export (or one that another process is running right now). Nothing was changed.
type UnfinishedError struct {
	Journal *JournalInfo
	// Domain and URI are the destination.
	Domain, URI string
	// Busy says another process holds the journal: that import is running now.
	Busy bool
}

func (e *UnfinishedError) Error() string {
	j := e.Journal
	var b strings.Builder
	if e.Busy {
		fmt.Fprintf(&b, "domain %q on %s: another vmoments (pid %d) is importing into it right now (journal %s); nothing was changed",
			e.Domain, e.URI, j.PID, j.Path)
		return b.String()
	}
	what := "an unfinished import"
	if j.Op == opRemove {
		what = "an unfinished removal of copied metadata"
	}
	fmt.Fprintf(&b, "domain %q on %s has %s (journal %s, begun %s by vmoments %s, pid %d on %s, from %s of domain %q made %s; %d of %d changes recorded",
		e.Domain, e.URI, what, j.Path, j.Started.Format(time.RFC3339), j.VmomentsVersion, j.PID, j.Host,
		j.Export.From, j.Export.Domain.Name, j.Export.Created.Format(time.RFC3339), j.Done, j.Steps)
	if j.RollingBack {
		fmt.Fprintf(&b, ", a rollback had undone %d", j.Undone)
	}
	b.WriteString("); nothing was changed. Undo it with Rollback (vmoments import DOMAIN --rollback)")
	if j.Op == opImport {
		fmt.Fprintf(&b, ", or finish it by running the same import again (vmoments import DOMAIN --from %s)", j.Export.From)
	}
	return b.String()
}

func (e *UnfinishedError) Unwrap() error { return ErrUnfinished }

// ErrJournal is matched by the error about a journal that cannot be used: damaged before its
// last record, of another format version or an unknown format, or of another domain.
var ErrJournal = errors.New("unusable import journal")

type journalError struct {
	path, msg string
}

func (e *journalError) Error() string {
	return fmt.Sprintf("import journal %s: %s; nothing was done with it", e.path, e.msg)
}

func (e *journalError) Unwrap() error { return ErrJournal }

// The record types, the ops of begin and the actions of steps and undo steps.
const (
	recBegin    = "begin"
	recDone     = "done"
	recResume   = "resume"
	recTmp      = "tmp"
	recRollback = "rollback"
	recUndone   = "undone"

	opImport = "import"
	opRemove = "remove"

	// Remove is the forward action of a removal journal (copy's source): the moment's metadata
	// is deleted; undoing it redefines it from old.
	actRemove = "remove"
	// The undo actions.
	undoDelete  = "delete"
	undoRestore = "restore"
	undoRedef   = "redefine"
	undoCurCP   = "current-checkpoint"
	undoCurSnap = "current-snapshot"
)

// jstep is one step of a begin or resume record, or one undo step of a rollback record.
type jstep struct {
	Kind   string `json:"k"`
	Name   string `json:"n"`
	Parent string `json:"p,omitempty"`
	Action string `json:"a"`
	Old    string `json:"old,omitempty"`
}

// jrecord is every record's JSON; each type uses its own fields.
type jrecord struct {
	T string `json:"t"`
	// begin (Op: import or remove), tmp (Op: put, del or failed)
	Op      string     `json:"op,omitempty"`
	Version string     `json:"vmoments_version,omitempty"`
	URI     string     `json:"uri,omitempty"`
	Domain  *DomainRef `json:"domain,omitempty"`
	Export  *ExportRef `json:"export,omitempty"`
	Secure  bool       `json:"secure,omitempty"`
	Kinds   []string   `json:"kinds,omitempty"`
	CurSnap *string    `json:"current_snapshot,omitempty"`
	// begin, resume, rollback
	Time  *time.Time `json:"time,omitempty"`
	PID   int        `json:"pid,omitempty"`
	Host  string     `json:"host,omitempty"`
	CurCP *string    `json:"current_checkpoint,omitempty"`
	Steps []jstep    `json:"steps,omitempty"`
	Ops   []jstep    `json:"ops,omitempty"`
	// done, undone
	Index *int `json:"i,omitempty"`
	// tmp (Op is put, del or failed)
	Name   string  `json:"name,omitempty"`
	Parent *string `json:"parent,omitempty"`
}

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// encodeRecord is one journal line.
func encodeRecord(r *jrecord) ([]byte, error) {
	js, err := json.Marshal(r)
	if err != nil {
		return nil, err
	}
	line := make([]byte, 0, len(js)+10)
	line = fmt.Appendf(line, "%08x ", crc32.Checksum(js, castagnoli))
	line = append(line, js...)
	return append(line, '\n'), nil
}

// parseJournal reads a journal's records (see the format above). damaged says why a last line
// was ignored.
func parseJournal(path string, data []byte) (recs []*jrecord, damaged string, err error) {
	bad := func(format string, args ...any) error {
		return &journalError{path: path, msg: fmt.Sprintf(format, args...)}
	}
	first, rest, ok := bytes.Cut(data, []byte("\n"))
	if !ok || string(first) != JournalFormat {
		if bytes.HasPrefix(first, []byte(journalPrefix)) && ok {
			return nil, "", bad("it was written by another vmoments version (format %q; this vmoments reads %q): finish or undo that import with the vmoments that began it",
				first, JournalFormat)
		}
		if len(first) > 40 {
			first = append(first[:40:40], "..."...)
		}
		return nil, "", bad("not a vmoments journal (its first line is %q, not %q)", first, JournalFormat)
	}
	line := 1
	for len(rest) > 0 {
		line++
		l, tail, complete := bytes.Cut(rest, []byte("\n"))
		rest = tail
		r, why := decodeRecord(l, complete)
		if why != "" {
			if len(rest) == 0 {
				// The last line: killed while writing it. Read up to the record before it.
				damaged = fmt.Sprintf("its last record (line %d) %s and was ignored", line, why)
				break
			}
			return nil, "", bad("line %d %s, and records follow it: the journal was damaged, not cut short", line, why)
		}
		recs = append(recs, r)
	}
	if len(recs) == 0 || recs[0].T != recBegin {
		return nil, "", bad("it has no begin record, so it cannot say what the import changed (remove it only if you know the domain is as it should be)")
	}
	for i, r := range recs {
		switch r.T {
		case recBegin:
			if i > 0 {
				return nil, "", bad("record %d is a second begin record", i+1)
			}
			if r.Domain == nil || r.Export == nil || r.CurCP == nil || r.CurSnap == nil || r.Time == nil {
				return nil, "", bad("its begin record lacks the domain, the export or the current moments")
			}
			if r.Op != opImport && r.Op != opRemove {
				return nil, "", bad("its begin record is of an unknown operation %q", r.Op)
			}
		case recResume, recRollback:
			if r.CurCP == nil {
				return nil, "", bad("record %d (%s) lacks the current checkpoint", i+1, r.T)
			}
		case recDone, recUndone:
			if r.Index == nil || *r.Index < 0 {
				return nil, "", bad("record %d (%s) lacks its step", i+1, r.T)
			}
		case recTmp:
			if r.Op != "put" && r.Op != "del" && r.Op != "failed" || r.Name == "" {
				return nil, "", bad("record %d is a temporary-checkpoint record of unknown form", i+1)
			}
		default:
			return nil, "", bad("record %d is of an unknown type %q", i+1, r.T)
		}
	}
	return recs, damaged, nil
}

// decodeRecord decodes one line, or says what is wrong with it.
func decodeRecord(l []byte, complete bool) (*jrecord, string) {
	if !complete {
		return nil, "is cut short"
	}
	if len(l) < 10 || l[8] != ' ' {
		return nil, "is not a record"
	}
	want, err := strconv.ParseUint(string(l[:8]), 16, 32)
	if err != nil {
		return nil, "is not a record"
	}
	js := l[9:]
	if uint32(want) != crc32.Checksum(js, castagnoli) {
		return nil, "has a wrong checksum"
	}
	var r jrecord
	dec := json.NewDecoder(bytes.NewReader(js))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&r); err != nil {
		return nil, "does not decode (" + err.Error() + ")"
	}
	return &r, ""
}

// journalFile is what the journal needs of its file (an *os.File; tests record the calls).
type journalFile interface {
	io.Writer
	Sync() error
	Close() error
	Fd() uintptr
}

// journal is an import's journal: the file (nil for an import without one) and the state its
// records give (jstate), which every record appended updates as a reader would.
type journal struct {
	path string
	f    journalFile
	st   *jstate
	// trace, for tests, is told of every write, sync, link, directory sync and removal; crash,
	// for tests, is asked at each point where a process can die (see crashAt).
	trace func(event string)
	crash func(point string) bool
	// crashed: crashAt said so; nothing is written or cleaned up any more, as after a SIGKILL.
	crashed bool

	mu      sync.Mutex // guards f's writes and err
	err     error      // the first failed write or background sync
	kick    chan struct{}
	stopped chan struct{}
}

// errCrash is the panic of a simulated crash (tests): importFrom and Rollback recover it and
// leave the journal as a killed process would.
var errCrash = errors.New("simulated crash")

// crashAt is a point where a SIGKILL may come; in tests, crash may choose to die there.
func (j *journal) crashAt(format string, args ...any) {
	if j.crash != nil && j.crash(fmt.Sprintf(format, args...)) {
		j.crashed = true
		panic(errCrash)
	}
}

// recoverCrash, deferred, turns a simulated crash into errCrash and closes the journal's file
// the way the kernel closes a killed process's.
func (j *journal) recoverCrash(err *error) {
	if r := recover(); r != nil {
		if r != errCrash {
			panic(r)
		}
		if j.kick != nil {
			close(j.kick)
			<-j.stopped
			j.kick = nil
		}
		if j.f != nil {
			j.f.Close()
			j.f = nil
		}
		*err = errCrash
	}
}

// run runs fn, turning a simulated crash in it into errCrash.
func (j *journal) run(fn func() error) (err error) {
	defer j.recoverCrash(&err)
	return fn()
}

func (j *journal) event(format string, args ...any) {
	if j.trace != nil {
		j.trace(fmt.Sprintf(format, args...))
	}
}

// lockFile takes an exclusive lock on f without waiting (flock: released when the process
// ends, however it ends). It reports false when another process holds it.
func lockFile(f journalFile) (bool, error) {
	err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
	if errors.Is(err, syscall.EWOULDBLOCK) {
		return false, nil
	}
	return err == nil, err
}

// syncDir fsyncs a directory (so that a file created, linked or removed in it stays so).
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// ensureDir makes the journal directory (0700) or, if it exists and is this user's, makes it
// 0700 again.
func ensureDir(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("import journal directory: %w", err)
	}
	st, err := os.Stat(dir)
	if err != nil {
		return fmt.Errorf("import journal directory: %w", err)
	}
	if !st.IsDir() {
		return fmt.Errorf("import journal directory %s is not a directory", dir)
	}
	if st.Mode().Perm() != 0o700 {
		if err := os.Chmod(dir, 0o700); err != nil {
			return fmt.Errorf("import journal directory %s is readable by others (%v) and cannot be made private: %w", dir, st.Mode().Perm(), err)
		}
	}
	return nil
}

// openPending opens the journal at path if there is one: nil, nil when there is none. The
// returned journal holds the file's lock (the caller closes it); busy is true, with the info
// read, when another process holds the lock.
func openPending(path string) (j *journal, info *JournalInfo, busy bool, err error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_APPEND, 0)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil, false, nil
	}
	if err != nil {
		return nil, nil, false, fmt.Errorf("import journal %s: %w", path, err)
	}
	locked, err := lockFile(f)
	if err != nil {
		f.Close()
		return nil, nil, false, fmt.Errorf("import journal %s: lock: %w", path, err)
	}
	data, err := io.ReadAll(io.LimitReader(f, maxJournal+1))
	if err != nil {
		f.Close()
		return nil, nil, false, fmt.Errorf("import journal %s: %w", path, err)
	}
	if len(data) > maxJournal {
		f.Close()
		return nil, nil, false, &journalError{path: path, msg: "it is larger than 1 GiB"}
	}
	if !locked {
		f.Close()
		info, rerr := readInfo(path, data)
		if rerr != nil {
			// Being written while we read: say what we know.
			info = &JournalInfo{Path: path}
		}
		return nil, info, true, nil
	}
	recs, damaged, err := parseJournal(path, data)
	if err != nil {
		f.Close()
		return nil, nil, false, err
	}
	st := newState()
	for _, r := range recs {
		st.apply(r)
	}
	j = &journal{path: path, f: f, st: st}
	info = st.info(path)
	info.Damaged = damaged
	if damaged != "" {
		// A cut-short last line would glue the next record onto it: end it, so that it reads
		// as one damaged line followed by good ones... which is refused. Instead drop it: the
		// file is rewritten up to the last whole record before anything is appended.
		if err := truncateTo(f, data, path); err != nil {
			f.Close()
			return nil, nil, false, err
		}
	}
	return j, info, false, nil
}

// truncateTo cuts the file after its last complete line.
func truncateTo(f journalFile, data []byte, path string) error {
	n := bytes.LastIndexByte(data, '\n') + 1
	// The damaged last line may also be a complete line with a wrong checksum.
	if n == len(data) {
		n = bytes.LastIndexByte(data[:len(data)-1], '\n') + 1
	}
	of, ok := f.(*os.File)
	if !ok {
		return nil
	}
	if err := of.Truncate(int64(n)); err != nil {
		return fmt.Errorf("import journal %s: drop its damaged last record: %w", path, err)
	}
	return of.Sync()
}

// readInfo parses a journal's data for JournalInfo alone.
func readInfo(path string, data []byte) (*JournalInfo, error) {
	recs, damaged, err := parseJournal(path, data)
	if err != nil {
		return nil, err
	}
	st := newState()
	for _, r := range recs {
		st.apply(r)
	}
	info := st.info(path)
	info.Damaged = damaged
	return info, nil
}

// ReadJournal reads the journal at path and says what it records, without locking or
// changing it. It refuses (an error matching ErrJournal) a journal it would not act on.
func ReadJournal(path string) (*JournalInfo, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("import journal %s: %w", path, err)
	}
	return readInfo(path, data)
}

// PendingJournal returns what the journal of domain uuid on uri in dir records, or nil when
// the domain has no unfinished import there.
func PendingJournal(dir, uri, uuid string) (*JournalInfo, error) {
	info, err := ReadJournal(JournalPath(dir, uri, uuid))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	return info, err
}

// checkDomain refuses a journal of another domain or URI than the one at hand.
func (j *journal) checkDomain(uri, uuid, name string) error {
	b := j.st.begin
	if !strings.EqualFold(b.Domain.UUID, uuid) {
		return &journalError{path: j.path, msg: fmt.Sprintf("it is the journal of domain %q (uuid %s), not of domain %q (uuid %s)",
			b.Domain.Name, b.Domain.UUID, name, uuid)}
	}
	if b.URI != uri {
		return &journalError{path: j.path, msg: fmt.Sprintf("it is the journal of an import on %s, not on %s", b.URI, uri)}
	}
	return nil
}

// createJournal writes the begin record to a new journal at path: to a temporary file in the
// same directory, fsynced, then linked to path (which fails if a journal appeared meanwhile)
// and the directory fsynced. The journal returned holds the file's lock.
func createJournal(path string, begin *jrecord, trace func(string)) (*journal, error) {
	dir := filepath.Dir(path)
	if err := ensureDir(dir); err != nil {
		return nil, err
	}
	j := &journal{path: path, st: newState(), trace: trace}
	line, err := encodeRecord(begin)
	if err != nil {
		return nil, err
	}
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".new-*")
	if err != nil {
		return nil, fmt.Errorf("import journal: %w", err)
	}
	tmp := f.Name()
	fail := func(err error) (*journal, error) {
		f.Close()
		os.Remove(tmp)
		return nil, fmt.Errorf("import journal %s: %w", path, err)
	}
	if _, err := lockFile(f); err != nil {
		return fail(err)
	}
	if _, err := f.Write(append([]byte(JournalFormat+"\n"), line...)); err != nil {
		return fail(err)
	}
	j.event("write begin")
	if err := f.Sync(); err != nil {
		return fail(err)
	}
	j.event("sync")
	if err := os.Link(tmp, path); err != nil {
		return fail(err)
	}
	j.event("link")
	os.Remove(tmp)
	if err := syncDir(dir); err != nil {
		return fail(err)
	}
	j.event("sync dir")
	// Appends go to the end (O_APPEND is not needed: nothing else writes the file, and the
	// offset is already at the end).
	j.f = f
	j.st.apply(begin)
	j.start()
	return j, nil
}

// memJournal is the journal of an import that keeps none on disk: the same state, no file.
func memJournal(begin *jrecord) *journal {
	j := &journal{st: newState()}
	j.st.apply(begin)
	return j
}

// start starts the background fsync of done and undone records.
func (j *journal) start() {
	if j.f == nil || j.kick != nil {
		return
	}
	j.kick, j.stopped = make(chan struct{}, 1), make(chan struct{})
	go func() {
		defer close(j.stopped)
		for range j.kick {
			last := time.Now()
			err := j.f.Sync()
			j.event("sync")
			if err != nil {
				j.mu.Lock()
				if j.err == nil {
					j.err = err
				}
				j.mu.Unlock()
			}
			// At most one fsync per syncEvery: the records meanwhile are covered by the next,
			// and an import's own fsyncs do not queue up behind libvirtd's on the same disk.
			if d := syncEvery - time.Since(last); d > 0 {
				time.Sleep(d)
			}
		}
	}()
}

// syncEvery spaces the background fsyncs of done and undone records.
const syncEvery = 50 * time.Millisecond

// append writes one record (and applies it to the state). With durable, it is fsynced before
// append returns; otherwise the background goroutine fsyncs it soon.
func (j *journal) append(r *jrecord, durable bool) error {
	if j.crashed {
		return errCrash
	}
	j.st.apply(r)
	if j.f == nil {
		return nil
	}
	line, err := encodeRecord(r)
	if err != nil {
		return err
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.err != nil {
		return fmt.Errorf("import journal %s: %w", j.path, j.err)
	}
	if _, err := j.f.Write(line); err != nil {
		j.err = err
		return fmt.Errorf("import journal %s: %w", j.path, err)
	}
	j.event("write %s", r.T)
	if durable {
		if err := j.f.Sync(); err != nil {
			j.err = err
			return fmt.Errorf("import journal %s: %w", j.path, err)
		}
		j.event("sync")
		return nil
	}
	select {
	case j.kick <- struct{}{}:
	default: // a sync is pending already and will cover this record
	}
	return nil
}

func intp(i int) *int       { return &i }
func strp(s string) *string { return &s }

// done records step i of the current run as complete.
func (j *journal) done(i int) error {
	return j.append(&jrecord{T: recDone, Index: intp(i)}, false)
}

// undone records undo step i of the current rollback as complete.
func (j *journal) undone(i int) error {
	return j.append(&jrecord{T: recUndone, Index: intp(i)}, false)
}

// tmp records a change of the temporary checkpoint before it is made.
func (j *journal) tmp(op, name string, parent *string) error {
	return j.append(&jrecord{T: recTmp, Op: op, Name: name, Parent: parent}, true)
}

// stop ends the background fsync, fsyncs the file a last time and closes it (the lock goes).
func (j *journal) stop() error {
	if j.f == nil {
		return nil
	}
	if j.kick != nil {
		close(j.kick)
		<-j.stopped
		j.kick = nil
	}
	err := j.f.Sync()
	j.event("sync")
	if cerr := j.f.Close(); err == nil {
		err = cerr
	}
	j.f = nil
	j.mu.Lock()
	defer j.mu.Unlock()
	if err == nil {
		err = j.err
	}
	return err
}

// close closes the journal and keeps the file (the import is unfinished).
func (j *journal) close() error {
	return j.stop()
}

// remove removes the journal: the import finished or was rolled back. The file goes before the
// lock does (removed while locked, so no other process reads it half gone), then the directory
// is fsynced.
func (j *journal) remove() error {
	if j.path == "" {
		return nil
	}
	if j.f != nil {
		if j.kick != nil {
			close(j.kick)
			<-j.stopped
			j.kick = nil
		}
	}
	err := os.Remove(j.path)
	j.event("remove")
	if err == nil || errors.Is(err, os.ErrNotExist) {
		err = syncDir(filepath.Dir(j.path))
		j.event("sync dir")
	}
	if j.f != nil {
		j.f.Close()
		j.f = nil
	}
	if err != nil {
		return fmt.Errorf("import journal %s: remove: %w", j.path, err)
	}
	return nil
}

// hostname is the machine's name for the journal, "" if it has none.
func hostname() string {
	h, _ := os.Hostname()
	return h
}
