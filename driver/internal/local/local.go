// Package local is the local metadata source of the QEMU driver: it reads the moments of one
// domain from the files libvirtd itself keeps them in, instead of asking libvirtd for each
// moment's XML over its RPC, and it says exactly what changed since it last looked.
//
// libvirtd's QEMU driver keeps every snapshot in SNAPSHOTDIR/DOMAIN/NAME.xml and every checkpoint
// in CHECKPOINTDIR/DOMAIN/NAME.xml (qemuDomainSnapshotWriteMetadata, qemuCheckpointWriteMetadata:
// /var/lib/libvirt/qemu/{snapshot,checkpoint} for qemu:///system, $XDG_CONFIG_HOME/libvirt/qemu/...
// for qemu:///session). It writes a file on every change of the moment (create, redefine,
// re-parenting by a delete, a change of the current snapshot) with virXMLSaveFile, which writes
// NAME.xml.new and renames it over NAME.xml: every rewrite is a new inode and changes the
// directory. A file is libvirt's internal format: the definition libvirt's API returns, with
// the security-sensitive parts of the embedded <domain> (VNC passwords, ...) and, for snapshots,
// <active>1</active> on the current snapshot and <active>0</active> on the others.
//
// A [Dir] caches one such directory: each file's identity (device, inode, size, modification
// and change time) and its parsed definition. [Dir.Scan] re-reads exactly the files whose
// identity changed; when the directory's own identity is unchanged it reads nothing at all.
// Identities seen less than [Settle] after they were made are not trusted: a file system
// stamps times with a coarse clock, so a change made in the same tick as an earlier look could
// leave the same stamps. Such files (and such a directory) are looked at again on the next scan.
//
// What the files say is only libvirtd's if the names, the current snapshot and a sample of the
// definitions agree with libvirt's API; [Content.Verify] checks the first two, and the driver
// (driver/internal/virt) makes the calls. A definition read from a file never carries the file's
// bytes: its Raw is nil, so nothing a caller gets from the driver can hold what the API hides.
//
// The package reads files only; it never writes, locks or renames anything.
package local

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/vmoments/vmoments/conf"
)

// Settle is how old an identity must be before a scan trusts it. File systems stamp times
// from a clock that ticks every few milliseconds (ext3 and ext4 with small inodes, and some
// network file systems, every second or two): a file rewritten within the same tick as an
// earlier scan could keep its old stamps. An identity whose stamps are less than Settle older
// than the scan that saw it is checked again on the next scan, however it looks.
const Settle = 2 * time.Second

// Dir is the cache of one domain's metadata directory of one kind. It is not safe for
// concurrent use: the driver calls it under the lock of the domain's kind.
type Dir struct {
	kind conf.Kind
	path string
	uuid string

	// Workers is the number of files read and parsed at once (default: the number of CPUs, at
	// most 8).
	Workers int
	// Progress, if set, is told how a scan's reading goes: once with (0, n) before the files of
	// n moments it had not seen are read, then after each of them, from the reading goroutines
	// (a driver.ProgressFunc: what a load through the API reports of the moments it fetches).
	// Files of known moments read again (changed, or seen too soon to be trusted) are few and
	// not counted.
	Progress func(read, total int)
	// now is the clock (tests move it).
	now func() time.Time

	entries map[string]*entry // by moment name
	dirID   identity
	settled bool // dirID was settled when it was seen
	scanned bool // entries and dirID describe the directory as last seen
	missing bool // the directory did not exist at the last scan

	last  *Content // what the last scan returned
	stats Stats
}

// entry is one file as last seen.
type entry struct {
	file    string // the file's name in the directory
	id      identity
	settled bool
	def     *conf.Def // nil when err is set
	active  bool      // <active>1</active>
	err     *Problem  // the file could not be used (parsed, named, owned)
	quiet   bool      // read again, not new: not counted as progress
}

// identity is what tells one version of a file from another.
type identity struct {
	dev, ino     uint64
	size         int64
	mtime, ctime int64 // nanoseconds since the epoch
}

func identityOf(st *syscall.Stat_t) identity {
	return identity{dev: uint64(st.Dev), ino: st.Ino, size: st.Size,
		mtime: st.Mtim.Nano(), ctime: st.Ctim.Nano()}
}

// settledAt reports whether the identity's stamps are Settle older than t.
func (id identity) settledAt(t time.Time) bool {
	limit := t.Add(-Settle).UnixNano()
	return id.mtime < limit && id.ctime < limit
}

func (id identity) stamp() time.Time { return time.Unix(0, max(id.mtime, id.ctime)) }

// Stats count the work of a Dir's scans, since it was made.
type Stats struct {
	Scans   int // calls of Scan
	Skipped int // scans that found the directory unchanged and read nothing
	Stat    int // files whose identity was checked
	Read    int // files read and parsed
}

// New returns the cache of the directory path, which holds (or will hold) the moments of kind of
// the domain with the given UUID. Nothing is read until the first Scan.
func New(kind conf.Kind, path, uuid string) *Dir {
	return &Dir{kind: kind, path: path, uuid: strings.ToLower(uuid), now: time.Now}
}

// Path returns the directory's path.
func (d *Dir) Path() string { return d.path }

// Kind returns the kind of moment the directory holds.
func (d *Dir) Kind() conf.Kind { return d.kind }

// Stats returns the work done so far.
func (d *Dir) Stats() Stats { return d.stats }

// Reset forgets everything seen, so that the next Scan reads every file again (a fresh load).
func (d *Dir) Reset() {
	d.entries, d.scanned, d.settled, d.missing, d.last = nil, false, false, false, nil
	d.dirID = identity{}
}

// Content is what a directory holds, as a scan saw it. It is never changed once returned:
// later scans that find the same content return the same *Content.
type Content struct {
	// Defs are the definitions, by moment name. They are shared with later scans and with the
	// driver's lists: nobody may modify them.
	Defs map[string]*conf.Def
	// Active are the snapshots whose file says <active>1</active>, sorted.
	Active []string
	// Missing says the directory does not exist (no moment of this kind was ever written).
	Missing bool
	// Newest is the moment whose file changed last ("" when there is none).
	Newest string
	// problem is the first file (by name) that could not be used.
	problem *Problem
}

// Scan brings the cache in step with the directory and returns what it holds, and whether that
// differs from what the previous scan returned. It re-reads exactly the files whose identity
// changed (or was not yet settled), drops the ones that are gone, and reads no file at all when
// the directory itself is unchanged and settled.
//
// A directory that cannot be opened or read fails with a *Problem (Sticky for a permission
// refusal: the process cannot read libvirtd's files). A file that cannot be read, parsed, or
// that names another moment or another domain makes the Scan fail with a *Problem too (the
// cache keeps what it read, so the next Scan re-reads only what changed again).
//
// A canceled ctx stops the reading between files; Scan then returns ctx's error and keeps
// what it had.
func (d *Dir) Scan(ctx context.Context) (c *Content, changed bool, err error) {
	d.stats.Scans++
	start := d.now()
	f, err := os.Open(d.path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			changed = d.last == nil || !d.last.Missing
			if changed {
				d.Reset()
				d.scanned, d.missing = true, true
				d.last = &Content{Defs: map[string]*conf.Def{}, Missing: true}
			}
			return d.last, changed, nil
		}
		return nil, false, openProblem(d.kind, d.path, err)
	}
	defer f.Close()
	var st syscall.Stat_t
	if err := syscall.Fstat(int(f.Fd()), &st); err != nil {
		return nil, false, &Problem{Kind: d.kind, Path: d.path, Msg: "cannot stat the directory", Err: err}
	}
	if st.Mode&syscall.S_IFMT != syscall.S_IFDIR {
		return nil, false, &Problem{Kind: d.kind, Path: d.path, Msg: "is not a directory", Sticky: true}
	}
	dirID := identityOf(&st)
	if d.scanned && !d.missing && d.settled && dirID == d.dirID {
		d.stats.Skipped++
		return d.last, false, d.last.err()
	}
	names, err := f.Readdirnames(-1)
	if err != nil {
		return nil, false, openProblem(d.kind, d.path, err)
	}
	old := d.entries
	next := make(map[string]*entry, len(names))
	var reread []*entry
	for _, file := range names {
		moment, ok := momentName(file)
		if !ok {
			continue
		}
		e := old[moment]
		if e == nil || e.file != file {
			// New: read (its identity comes from the open file).
			e = &entry{file: file}
			next[moment] = e
			reread = append(reread, e)
			continue
		}
		d.stats.Stat++
		var fst syscall.Stat_t
		if err := statAt(int(f.Fd()), d.path, file, &fst); err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				continue // deleted since the directory was read: the names check tells
			}
			return nil, false, openProblem(d.kind, filepath.Join(d.path, file), err)
		}
		if identityOf(&fst) == e.id && e.settled {
			next[moment] = e
			continue
		}
		// Changed, or the same identity seen too soon to be trusted: read again (not counted
		// as progress, which counts the moments a scan had not seen).
		e = &entry{file: file, quiet: true}
		next[moment] = e
		reread = append(reread, e)
	}
	if err := d.readAll(ctx, reread, start); err != nil {
		return nil, false, err
	}
	for moment, e := range next {
		if e.def == nil && e.err == nil {
			delete(next, moment) // gone between the stat and the read
		}
	}
	changed = d.last == nil || d.missing || len(next) != len(old)
	for moment, e := range next {
		o := old[moment]
		if o == nil || o == e {
			changed = changed || o == nil
			continue
		}
		// Re-read: the same definition keeps its pointer, so that the driver's lists and the
		// next Content share it and a file re-read only because its stamps were recent is no
		// change.
		if o.err == nil && e.err == nil && o.active == e.active && o.def.Equal(e.def) {
			e.def = o.def
			continue
		}
		changed = true
	}
	d.entries, d.dirID, d.scanned, d.missing = next, dirID, true, false
	d.settled = dirID.settledAt(start)
	if changed {
		d.last = d.result()
	}
	return d.last, changed, d.last.err()
}

// momentName returns the moment a directory entry holds: NAME.xml, as libvirt's loader
// (qemuDomainSnapshotLoad, qemuCheckpointLoad) reads them; it skips names starting with '.'
// and everything else (NAME.xml.new is a rewrite in progress).
func momentName(file string) (string, bool) {
	if strings.HasPrefix(file, ".") || !strings.HasSuffix(file, ".xml") || len(file) == len(".xml") {
		return "", false
	}
	return strings.TrimSuffix(file, ".xml"), true
}

// result builds the Content of the cache as it is.
func (d *Dir) result() *Content {
	s := &Content{Defs: make(map[string]*conf.Def, len(d.entries)), Missing: d.missing}
	var newest time.Time
	var problems []*entry
	for moment, e := range d.entries {
		if e.err != nil {
			problems = append(problems, e)
			continue
		}
		s.Defs[moment] = e.def
		if e.active {
			s.Active = append(s.Active, moment)
		}
		if t := e.id.stamp(); s.Newest == "" || t.After(newest) || t.Equal(newest) && moment < s.Newest {
			newest, s.Newest = t, moment
		}
	}
	slices.Sort(s.Active)
	if len(problems) > 0 {
		// The same problem every time: the first file by name.
		slices.SortFunc(problems, func(a, b *entry) int { return strings.Compare(a.file, b.file) })
		s.problem = problems[0].err
	}
	return s
}

func (s *Content) err() error {
	if s.problem != nil {
		return s.problem
	}
	return nil
}

// readAll reads and parses the files of entries, Workers at a time, until ctx is done.
func (d *Dir) readAll(ctx context.Context, entries []*entry, start time.Time) error {
	if len(entries) == 0 {
		return nil
	}
	workers := d.Workers
	if workers < 1 {
		workers = min(runtime.GOMAXPROCS(0), 8)
	}
	workers = min(workers, len(entries))
	dir, err := os.Open(d.path)
	if err != nil {
		return openProblem(d.kind, d.path, err)
	}
	defer dir.Close()
	dirfd := int(dir.Fd())
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		fatal error
		next  = make(chan *entry)
		done  atomic.Int64
	)
	progress, total := d.Progress, 0
	var told atomic.Int64
	for _, e := range entries {
		if !e.quiet {
			total++
		}
	}
	if progress != nil && total > 0 {
		progress(0, total)
	}
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := make([]byte, 0, 8192)
			for e := range next {
				if ctx.Err() != nil {
					continue // drain
				}
				var err error
				buf, err = d.read(dirfd, e, buf, start)
				if err != nil {
					mu.Lock()
					if fatal == nil {
						fatal = err
					}
					mu.Unlock()
				}
				done.Add(1)
				if progress != nil && !e.quiet {
					progress(int(told.Add(1)), total)
				}
			}
		}()
	}
	for _, e := range entries {
		if ctx.Err() != nil {
			break
		}
		next <- e
	}
	close(next)
	wg.Wait()
	d.stats.Read += int(done.Load())
	if err := ctx.Err(); err != nil {
		return err
	}
	return fatal
}

// read reads one file into e through dirfd, with buf as scratch (returned, maybe grown). A file
// gone since the directory was read leaves e empty. Errors that concern the file's content are
// stored in e.err; the error returned is one that stops the scan (permission, I/O).
func (d *Dir) read(dirfd int, e *entry, buf []byte, start time.Time) ([]byte, error) {
	path := filepath.Join(d.path, e.file)
	fd, err := syscall.Openat(dirfd, e.file, syscall.O_RDONLY|syscall.O_NOFOLLOW|syscall.O_CLOEXEC|syscall.O_NONBLOCK, 0)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return buf, nil
		}
		if errors.Is(err, syscall.ELOOP) {
			e.err = &Problem{Kind: d.kind, Path: path, Msg: "is a symbolic link, not a file libvirtd wrote"}
			return buf, nil
		}
		return buf, openProblem(d.kind, path, err)
	}
	defer syscall.Close(fd)
	var st syscall.Stat_t
	if err := syscall.Fstat(fd, &st); err != nil {
		return buf, &Problem{Kind: d.kind, Path: path, Msg: "cannot stat", Err: err}
	}
	e.id = identityOf(&st)
	e.settled = e.id.settledAt(start)
	if st.Mode&syscall.S_IFMT != syscall.S_IFREG {
		e.err = &Problem{Kind: d.kind, Path: path, Msg: "is not a regular file"}
		return buf, nil
	}
	// libvirtd replaces a file by renaming a new one over it and never writes it in place, so
	// the file has the size fstat gave: one read, usually.
	buf = buf[:0]
	if need := int(st.Size); cap(buf) < need {
		buf = make([]byte, 0, need)
	}
	for len(buf) < int(st.Size) {
		n, err := syscall.Read(fd, buf[len(buf):int(st.Size)])
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			return buf, &Problem{Kind: d.kind, Path: path, Msg: "cannot read", Err: err}
		}
		if n == 0 {
			e.err = &Problem{Kind: d.kind, Path: path, Msg: fmt.Sprintf("ended after %d of the %d bytes fstat gave", len(buf), st.Size)}
			return buf, nil
		}
		buf = buf[:len(buf)+n]
	}
	def, active, perr := d.parse(e.file, buf)
	if perr != nil {
		perr.Path = path
		e.err = perr
		return buf, nil
	}
	e.def, e.active, e.err = def, active, nil
	return buf, nil
}

// parse reads one file's definition and checks that it is the moment the file's name says, of
// this domain. The definition keeps no raw XML and no <active>.
func (d *Dir) parse(file string, data []byte) (*conf.Def, bool, *Problem) {
	moment, _ := momentName(file)
	// ParseFast keeps data as the definition's raw XML (its fields are copies): data is the
	// worker's buffer, reused for the next file, so the raw XML is dropped at once below.
	def, err := conf.ParseFast(d.kind, data)
	if err != nil {
		return nil, false, &Problem{Kind: d.kind, Moment: moment, Msg: "does not parse", Err: err}
	}
	// The file holds what libvirt's API hides (XMLSecure): no definition served from it may keep
	// its bytes. Raw is nil from here on; callers that need the document ask the API.
	def.SetRaw(nil)
	if def.Name != moment {
		return nil, false, &Problem{Kind: d.kind, Moment: moment,
			Msg: fmt.Sprintf("defines %s %q, not the moment its name says", d.kind, def.Name)}
	}
	active := false
	if d.kind == conf.Snapshot {
		if def.Active == nil {
			// libvirt refuses such a file when it loads ("Could not find 'active' element").
			return nil, false, &Problem{Kind: d.kind, Moment: moment, Msg: "has no <active> element"}
		}
		active = *def.Active
	}
	def.Active = nil // libvirt's API never shows it
	if d.uuid != "" {
		if u, ok := domainUUID(data); ok && strings.ToLower(u) != d.uuid {
			return nil, false, &Problem{Kind: d.kind, Moment: moment,
				Msg: fmt.Sprintf("embeds the domain with UUID %s, not this domain's %s", u, d.uuid)}
		}
	}
	return def, active, nil
}

// domainUUID returns the <uuid> of the embedded <domain> of a file libvirt wrote (a top-level
// child, indented by two spaces), if it has one.
func domainUUID(data []byte) (string, bool) {
	i := bytes.Index(data, []byte("\n  <domain "))
	if i < 0 {
		i = bytes.Index(data, []byte("\n  <domain>"))
	}
	if i < 0 {
		return "", false
	}
	data = data[i:]
	j := bytes.Index(data, []byte("<uuid>"))
	if j < 0 {
		return "", false
	}
	data = data[j+len("<uuid>"):]
	k := bytes.Index(data, []byte("</uuid>"))
	if k < 0 {
		return "", false
	}
	return string(bytes.TrimSpace(data[:k])), true
}
