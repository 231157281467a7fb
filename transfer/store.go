package transfer

import (
	"archive/tar"
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// An export lives in a Store: a directory, a .tar file, or memory (Copy). Writers put the moment
// files first and manifest.json last, so an interrupted export never has a manifest.

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

// isTar says whether path names a tar file rather than a directory.
func isTar(path string) bool { return strings.HasSuffix(strings.ToLower(path), ".tar") }

// maxFile bounds one file read from an export, maxTotal all of a tar's files together.
const (
	maxFile  = 64 << 20
	maxTotal = 4 << 30
)

// OpenSource opens the export at path: a .tar file or a directory.
func OpenSource(path string) (Source, error) {
	if isTar(path) {
		return openTar(path)
	}
	root, err := os.OpenRoot(path)
	if err != nil {
		return nil, fmt.Errorf("open export %s: %w", path, err)
	}
	return &dirSource{root: root, path: path}, nil
}

// CreateSink starts a new export at path: a .tar file (written to a temporary file beside it and
// renamed on Commit; an existing file is refused) or a directory (created, or empty).
func CreateSink(path string) (Sink, error) {
	if isTar(path) {
		if _, err := os.Lstat(path); err == nil {
			return nil, fmt.Errorf("export %s: file exists (remove it first)", path)
		}
		f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
		if err != nil {
			return nil, fmt.Errorf("export %s: %w", path, err)
		}
		return &tarSink{f: f, tw: tar.NewWriter(f), path: path, dirs: map[string]bool{}}, nil
	}
	if err := os.MkdirAll(path, 0o755); err != nil {
		return nil, fmt.Errorf("export %s: %w", path, err)
	}
	ents, err := os.ReadDir(path)
	if err != nil {
		return nil, fmt.Errorf("export %s: %w", path, err)
	}
	if len(ents) > 0 {
		return nil, fmt.Errorf("export %s: directory is not empty (export into a new or empty directory)", path)
	}
	root, err := os.OpenRoot(path)
	if err != nil {
		return nil, fmt.Errorf("export %s: %w", path, err)
	}
	return &dirSink{root: root, path: path, dirs: map[string]bool{}}, nil
}

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
	root    *os.Root
	path    string
	written []string
	dirs    map[string]bool // directories made (or found) already, as tarSink's
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
	d.written = append(d.written, name)
	if _, err := f.Write(data); err != nil {
		f.Close()
		return fmt.Errorf("export %s: %s: %w", d.path, name, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("export %s: %s: %w", d.path, name, err)
	}
	return nil
}

func (d *dirSink) Commit() error { return d.root.Close() }

func (d *dirSink) Abort() {
	for _, n := range d.written {
		d.root.Remove(n)
	}
	for _, dir := range kindDir {
		d.root.Remove(dir)
	}
	d.root.Close()
}

type tarSink struct {
	f    *os.File
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

// openTar reads a tar's regular files into memory; it never writes them anywhere, so no entry
// name can place a file outside anything. Names are cleaned of a leading "./".
func openTar(path string) (Source, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open export %s: %w", path, err)
	}
	defer f.Close()
	m := &Memory{files: map[string][]byte{}}
	tr := tar.NewReader(f)
	var total int64
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("open export %s: %w", path, err)
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
