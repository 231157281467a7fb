package transfer

import (
	"archive/tar"
	"bufio"
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"
)

// An export lives in a Store: a directory, a .tar file (plain or gzip), or memory (Copy).
// Writers put the moment files first and manifest.json last, into a temporary directory or
// file beside the target that only a complete, fsynced export is renamed or linked from.

// Source reads the files of an export.
type Source interface {
	// ReadFile returns one file by its path inside the export (fs.ErrNotExist if absent).
	ReadFile(name string) ([]byte, error)
	Close() error
}

// Sink receives the files of a new export.
type Sink interface {
	WriteFile(name string, data []byte) error
	// Commit finishes the export (a tar file appears under its name only now).
	Commit() error
	// Abort drops what was written (after a failed export).
	Abort()
}

// archiveKind is the kind of export path's name asks for: "" for a directory, "tar" or
// "tar.gz"; a name that ends like another archive or compressed file (x.zip, x.tar.xz,
// x.tar.zst, x.gz, x.tar.anything) is refused rather than made into a directory of that name.
// zstd has no library among the modules vmoments builds with (compress/gzip is Go's own), so
// .tar.zst is refused too: pipe a .tar through zstd instead.
func archiveKind(path string) (string, error) {
	l := strings.ToLower(filepath.Base(path))
	for _, k := range []struct{ ext, kind string }{
		{".tar", "tar"}, {".tar.gz", "tar.gz"}, {".tgz", "tar.gz"},
	} {
		if strings.HasSuffix(l, k.ext) {
			return k.kind, nil
		}
	}
	refuse := func(ext string) error {
		return fmt.Errorf("export %s: %s files are not supported: write a directory, a .tar or a .tar.gz (.tgz) file", path, ext)
	}
	if i := strings.LastIndex(l, ".tar."); i >= 0 {
		return "", refuse(l[i:])
	}
	for _, ext := range []string{".zip", ".7z", ".rar", ".tbz", ".tbz2", ".txz", ".tzst", ".tlz", ".taz",
		".gz", ".zst", ".zstd", ".bz2", ".xz", ".lz4", ".lzma", ".lz", ".z", ".br", ".cpio", ".iso", ".jar"} {
		if strings.HasSuffix(l, ext) {
			return "", refuse(ext)
		}
	}
	return "", nil
}

// maxFile bounds one file read from an export, maxTotal all of a tar's files together.
const (
	maxFile  = 64 << 20
	maxTotal = 4 << 30
)

// OpenSource opens the export at path: a directory, or a tar file, plain or compressed with
// gzip (told by its first bytes, whatever its name).
func OpenSource(path string) (Source, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("open export %s: %w", path, err)
	}
	if !st.IsDir() {
		return openTar(path)
	}
	root, err := os.OpenRoot(path)
	if err != nil {
		return nil, fmt.Errorf("open export %s: %w", path, err)
	}
	return &dirSource{root: root, path: path}, nil
}

// CreateSink starts a new export at path: a .tar or .tar.gz (.tgz) file (written to a
// temporary file beside it and linked into place on Commit; an existing file is refused) or a
// directory (written into a temporary directory beside it and renamed into place on Commit;
// path must not exist or be an empty directory). Either way nothing appears at path before
// every file and the manifest are written and fsynced: an export that was interrupted or
// killed leaves nothing an import would accept (at most a hidden .NAME.tmp-* beside it).
func CreateSink(path string) (Sink, error) {
	kind, err := archiveKind(path)
	if err != nil {
		return nil, err
	}
	if kind != "" {
		if _, err := os.Lstat(path); err == nil {
			return nil, fmt.Errorf("export %s: file exists (remove it first)", path)
		}
		f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
		if err != nil {
			return nil, fmt.Errorf("export %s: %w", path, err)
		}
		t := &tarSink{f: f, path: path, dirs: map[string]bool{}}
		var w io.Writer = f
		switch kind {
		case "tar.gz":
			t.zw = gzip.NewWriter(f)
			w = t.zw
		}
		t.tw = tar.NewWriter(w)
		return t, nil
	}
	switch ents, err := os.ReadDir(path); {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return nil, fmt.Errorf("export %s: %w", path, err)
	case len(ents) > 0:
		return nil, fmt.Errorf("export %s: directory is not empty (export into a new or empty directory)", path)
	}
	parent := filepath.Dir(filepath.Clean(path))
	if st, err := os.Stat(parent); err != nil || !st.IsDir() {
		if err == nil {
			err = errors.New("not a directory")
		}
		return nil, fmt.Errorf("export %s: %s: %w", path, parent, err)
	}
	tmp, err := os.MkdirTemp(parent, "."+filepath.Base(filepath.Clean(path))+".tmp-")
	if err != nil {
		return nil, fmt.Errorf("export %s: %w", path, err)
	}
	root, err := os.OpenRoot(tmp)
	if err != nil {
		os.RemoveAll(tmp)
		return nil, fmt.Errorf("export %s: %w", path, err)
	}
	d := &dirSink{root: root, path: path, tmp: tmp, dirs: map[string]bool{}, sync: make(chan *os.File, 64)}
	for range syncers {
		d.wg.Add(1)
		go d.syncer()
	}
	return d, nil
}

// syncers is the number of goroutines that fsync a directory export's files while it writes
// the next ones (one fsync at a time would add its latency to every file).
const syncers = 4

type dirSource struct {
	root *os.Root
	path string
}

func (d *dirSource) ReadFile(name string) ([]byte, error) {
	// os.Root refuses any path that leaves the directory, symbolic links included.
	f, err := d.root.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("%s: not a regular file", name)
	}
	if st.Size() > maxFile {
		return nil, fmt.Errorf("%s: %d bytes, more than an export's limit of %d", name, st.Size(), maxFile)
	}
	return io.ReadAll(io.LimitReader(f, maxFile+1))
}

func (d *dirSource) Close() error { return d.root.Close() }

type dirSink struct {
	root *os.Root
	path string          // where the export goes
	tmp  string          // where it is written
	dirs map[string]bool // directories made already, as tarSink's

	sync chan *os.File // files written, to fsync and close
	wg   sync.WaitGroup
	mu   sync.Mutex
	err  error // the first failed fsync or close
}

func (d *dirSink) syncer() {
	defer d.wg.Done()
	for f := range d.sync {
		err := f.Sync()
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			d.mu.Lock()
			if d.err == nil {
				d.err = fmt.Errorf("export %s: %s: %w", d.path, f.Name(), err)
			}
			d.mu.Unlock()
		}
	}
}

func (d *dirSink) WriteFile(name string, data []byte) error {
	if dir, _, ok := strings.Cut(name, "/"); ok && !d.dirs[dir] {
		if err := d.root.Mkdir(dir, 0o755); err != nil && !errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("export %s: %w", d.path, err)
		}
		d.dirs[dir] = true
	}
	f, err := d.root.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return fmt.Errorf("export %s: %w", d.path, err)
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return fmt.Errorf("export %s: %s: %w", d.path, name, err)
	}
	d.sync <- f
	return nil
}

// Commit waits until every file is fsynced, fsyncs the directories, renames the temporary
// directory into place (over an empty directory, or where none was) and fsyncs its parent.
func (d *dirSink) Commit() error {
	close(d.sync)
	d.wg.Wait()
	err := d.err
	for dir := range d.dirs {
		if err == nil {
			err = syncAt(d.root, dir)
		}
	}
	if err == nil {
		err = syncAt(d.root, ".")
	}
	d.root.Close()
	if err == nil {
		err = os.Chmod(d.tmp, 0o755)
	}
	if err == nil {
		// rename(2) replaces an empty directory, and refuses a directory that is not empty
		// (someone wrote into it meanwhile); os.Rename refuses any directory, so the system
		// call it is.
		if err = syscall.Rename(d.tmp, d.path); err != nil {
			err = &os.LinkError{Op: "rename", Old: d.tmp, New: d.path, Err: err}
		}
	}
	if err == nil {
		err = syncDir(filepath.Dir(filepath.Clean(d.path)))
	}
	if err != nil {
		os.RemoveAll(d.tmp)
		return fmt.Errorf("export %s: %w", d.path, err)
	}
	return nil
}

// syncAt fsyncs the directory name inside root.
func syncAt(root *os.Root, name string) error {
	f, err := root.Open(name)
	if err != nil {
		return err
	}
	defer f.Close()
	return f.Sync()
}

// Abort removes the temporary directory: the target path never saw the export.
func (d *dirSink) Abort() {
	close(d.sync)
	d.wg.Wait()
	d.root.Close()
	os.RemoveAll(d.tmp)
}

type tarSink struct {
	f    *os.File
	zw   io.WriteCloser // the compressor, nil for a plain tar
	tw   *tar.Writer
	path string
	dirs map[string]bool
}

func (t *tarSink) WriteFile(name string, data []byte) error {
	now := time.Now().Truncate(time.Second)
	if dir, _, ok := strings.Cut(name, "/"); ok && !t.dirs[dir] {
		t.dirs[dir] = true
		if err := t.tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: dir + "/", Mode: 0o755, ModTime: now}); err != nil {
			return fmt.Errorf("export %s: %w", t.path, err)
		}
	}
	hdr := &tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: 0o644, Size: int64(len(data)), ModTime: now}
	if err := t.tw.WriteHeader(hdr); err != nil {
		return fmt.Errorf("export %s: %w", t.path, err)
	}
	if _, err := t.tw.Write(data); err != nil {
		return fmt.Errorf("export %s: %w", t.path, err)
	}
	return nil
}

func (t *tarSink) Commit() error {
	err := t.tw.Close()
	if err == nil && t.zw != nil {
		err = t.zw.Close()
	}
	if err == nil {
		err = t.f.Sync()
	}
	if cerr := t.f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(t.f.Name(), 0o644)
	}
	if err == nil {
		// Link, not rename: refuses to replace a file that appeared meanwhile.
		if err = os.Link(t.f.Name(), t.path); err == nil {
			os.Remove(t.f.Name())
			err = syncDir(filepath.Dir(t.path))
		}
	}
	if err != nil {
		os.Remove(t.f.Name())
		return fmt.Errorf("export %s: %w", t.path, err)
	}
	return nil
}

func (t *tarSink) Abort() {
	t.f.Close()
	os.Remove(t.f.Name())
}

// openTar reads a tar's regular files into memory, uncompressing it first if it is gzip data
// (zstd data is refused with a hint); it never writes them anywhere, so no entry name can
// place a file outside anything. Names are cleaned of a leading "./".
func openTar(path string) (Source, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open export %s: %w", path, err)
	}
	defer f.Close()
	br := bufio.NewReader(f)
	magic, _ := br.Peek(4)
	var r io.Reader = br
	switch {
	case bytes.HasPrefix(magic, []byte{0x1f, 0x8b}):
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, fmt.Errorf("open export %s: %w", path, err)
		}
		defer zr.Close()
		r = zr
	case bytes.Equal(magic, []byte{0x28, 0xb5, 0x2f, 0xfd}):
		return nil, fmt.Errorf("open export %s: zstd-compressed data is not supported (uncompress it first: zstd -d); an export is a directory, a .tar or a .tar.gz file", path)
	}
	m := &Memory{files: map[string][]byte{}}
	tr := tar.NewReader(r)
	var total int64
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("open export %s: not a directory or a tar file (plain or gzip): %w", path, err)
		}
		if hdr.Typeflag != tar.TypeReg {
			continue
		}
		if hdr.Size > maxFile || total+hdr.Size > maxTotal {
			return nil, fmt.Errorf("open export %s: %s: %d bytes, more than an export's limit", path, hdr.Name, hdr.Size)
		}
		total += hdr.Size
		data, err := io.ReadAll(tr)
		if err != nil {
			return nil, fmt.Errorf("open export %s: %s: %w", path, hdr.Name, err)
		}
		m.files[strings.TrimPrefix(hdr.Name, "./")] = data
	}
	return m, nil
}

// Memory is an export held in memory: Copy passes one from Export to Import. It is both a
// Source and a Sink.
type Memory struct {
	files map[string][]byte
}

// NewMemory returns an empty in-memory export.
func NewMemory() *Memory { return &Memory{files: map[string][]byte{}} }

// ReadFile returns a copy of a file.
func (m *Memory) ReadFile(name string) ([]byte, error) {
	d, ok := m.files[name]
	if !ok {
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
	}
	return bytes.Clone(d), nil
}

// WriteFile stores a copy of data.
func (m *Memory) WriteFile(name string, data []byte) error {
	if _, dup := m.files[name]; dup {
		return fmt.Errorf("%s: file exists", name)
	}
	m.files[name] = bytes.Clone(data)
	return nil
}

// Names returns the file names, sorted.
func (m *Memory) Names() []string {
	out := make([]string, 0, len(m.files))
	for n := range m.files {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

func (m *Memory) Commit() error { return nil }
func (m *Memory) Abort()        { clear(m.files) }
func (m *Memory) Close() error  { return nil }

func bytesReader(b []byte) io.Reader { return bytes.NewReader(b) }
