package transfer

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vmoments/vmoments/conf"
	"github.com/vmoments/vmoments/driver"
)

// TestExportFormats: a directory (new, or an empty one that exists, or one whose name has a
// dot), .tar, .tar.gz and .tgz round-trip; an import reads a compressed tar whatever its name says; nothing is left
// beside the target.
func TestExportFormats(t *testing.T) {
	drv, dom := openDomain(t, nodeURI(t), "snaps")
	buildSnapshots(t, dom, 12)
	want := capture(t, drv, dom, conf.Snapshot)
	dir := t.TempDir()
	empty := filepath.Join(dir, "empty")
	if err := os.Mkdir(empty, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"new-dir", "empty", "x.tar", "x.tar.gz", "x.tgz", "X.TGZ", "guest.d"} {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(dir, name)
			if _, err := Export(ctx, dom, path, ExportOptions{}); err != nil {
				t.Fatal(err)
			}
			src := mustOpen(t, path)
			if _, _, err := readExport(src, nil); err != nil {
				t.Fatal(err)
			}
			removeAll(t, dom, conf.Snapshot)
			if _, err := Import(ctx, dom, path, ImportOptions{}); err != nil {
				t.Fatal(err)
			}
			sameState(t, name, want, capture(t, drv, dom, conf.Snapshot))
		})
	}
	// Named like a plain tar, compressed: read by its first bytes.
	renamed := filepath.Join(dir, "really-gzip.tar")
	if err := os.Link(filepath.Join(dir, "x.tar.gz"), renamed); err != nil {
		t.Fatal(err)
	}
	if _, _, err := readExport(mustOpen(t, renamed), nil); err != nil {
		t.Errorf("a gzip tar named .tar: %v", err)
	}
	// zstd data is refused by its first bytes, with a hint.
	zst := filepath.Join(dir, "zstd.tar")
	if err := os.WriteFile(zst, []byte{0x28, 0xb5, 0x2f, 0xfd, 0, 0, 0, 0}, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := OpenSource(zst); err == nil || err.Error() != "open export "+zst+": zstd-compressed data is not supported (uncompress it first: zstd -d); an export is a directory, a .tar or a .tar.gz file" {
		t.Errorf("zstd data: %v", err)
	}
	for _, ext := range []string{".tar.gz"} {
		st, err := os.Stat(filepath.Join(dir, "x"+ext))
		plain, _ := os.Stat(filepath.Join(dir, "x.tar"))
		if err != nil || st.Size() >= plain.Size()/3 {
			t.Errorf("%s is %d bytes, the plain tar %d: not compressed?", ext, st.Size(), plain.Size())
		}
	}
	if left, _ := filepath.Glob(filepath.Join(dir, ".*tmp-*")); len(left) > 0 {
		t.Errorf("temporary files left: %q", left)
	}
	if st, err := os.Stat(filepath.Join(dir, "new-dir")); err != nil || st.Mode().Perm() != 0o755 {
		t.Errorf("the exported directory: %v, %v", st.Mode(), err)
	}
}

// TestExportRefusesArchiveNames: a name that ends like an archive vmoments does not write is
// refused, and nothing is made (before, x.zip became a directory named x.zip).
func TestExportRefusesArchiveNames(t *testing.T) {
	_, dom := openDomain(t, nodeURI(t), "snaps")
	dir := t.TempDir()
	for name, ext := range map[string]string{"x.zip": ".zip", "x.tar.xz": ".tar.xz", "x.tar.bz2": ".tar.bz2", "x.gz": ".gz",
		"x.zst": ".zst", "x.7z": ".7z", "x.tar.zst": ".tar.zst", "X.TZST": ".tzst", "x.tar.foo": ".tar.foo"} {
		path := filepath.Join(dir, name)
		_, err := Export(ctx, dom, path, ExportOptions{})
		want := "export " + path + ": " + ext + " files are not supported: write a directory, a .tar or a .tar.gz (.tgz) file"
		if err == nil || err.Error() != want {
			t.Errorf("%s: %v, want %q", name, err, want)
		}
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 0 {
		t.Errorf("refused exports left %v", ents)
	}
}

// cancelingSink cancels the export's context after n files.
type cancelingSink struct {
	Sink
	n      int
	cancel context.CancelFunc
}

func (c *cancelingSink) WriteFile(name string, data []byte) error {
	if c.n--; c.n == 0 {
		c.cancel()
	}
	return c.Sink.WriteFile(name, data)
}

// refusingXML refuses the XML of every moment after the first few, as libvirt refuses SECURE
// on a read-only connection.
type refusingXML struct {
	driver.Domain
	after int
}

func (r *refusingXML) XML(ctx context.Context, kind conf.Kind, name string, flags driver.XMLFlags) (string, error) {
	if r.after--; r.after < 0 {
		return "", errors.New("operation forbidden: read only access prevents virDomainSnapshotGetXMLDesc")
	}
	return r.Domain.XML(ctx, kind, name, flags)
}

// TestFailedExportLeavesNothing: an export that fails (libvirt refuses a moment's XML, as it
// refuses SECURE on a read-only connection: where a directory used to be left behind) or is canceled halfway leaves nothing at
// the target path, and no temporary directory or file beside it.
func TestFailedExportLeavesNothing(t *testing.T) {
	_, dom := openDomain(t, nodeURI(t), "snaps")
	buildSnapshots(t, dom, 20)
	dir := t.TempDir()
	for _, name := range []string{"d", "x.tar", "x.tar.gz"} {
		path := filepath.Join(dir, name)
		if _, err := Export(ctx, &refusingXML{Domain: dom, after: 5}, path, ExportOptions{Secure: true}); err == nil || !strings.Contains(err.Error(), "forbidden") {
			t.Fatalf("an export whose XML libvirt refuses: %v", err)
		}
		sink, err := CreateSink(path)
		if err != nil {
			t.Fatal(err)
		}
		cctx, cancel := context.WithCancel(ctx)
		_, err = ExportTo(cctx, dom, &cancelingSink{Sink: sink, n: 7, cancel: cancel}, ExportOptions{})
		cancel()
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("canceled export: %v", err)
		}
		sink.Abort()
		if _, err := os.Lstat(path); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s: a failed export left it (%v)", name, err)
		}
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 0 {
		t.Errorf("failed exports left %v", ents)
	}
}

// TestOldDashFileNames: an export made before a leading '-' was escaped (file
// snapshots/--tree.xml) still imports; a new one writes %2D-tree.xml.
func TestOldDashFileNames(t *testing.T) {
	drv, dom := openDomain(t, nodeURI(t), "snaps")
	for _, n := range []string{"--tree", "-x"} {
		if _, err := dom.CreateSnapshot(ctx, "<domainsnapshot><name>"+n+"</name></domainsnapshot>", 0); err != nil {
			t.Fatal(err)
		}
	}
	want := capture(t, drv, dom, conf.Snapshot)
	mem := NewMemory()
	m, err := ExportTo(ctx, dom, mem, ExportOptions{})
	if err != nil {
		t.Fatal(err)
	}
	old := NewMemory()
	for i, e := range m.Moments {
		if !strings.HasPrefix(e.File, "snapshots/%2D") {
			t.Fatalf("%q written as %s", e.Name, e.File)
		}
		x, _ := mem.ReadFile(e.File)
		m.Moments[i].File = "snapshots/" + e.Name + ".xml" // as older vmoments wrote it
		old.WriteFile(m.Moments[i].File, x)
	}
	writeManifest(t, old, m)
	removeAll(t, dom, conf.Snapshot)
	if _, err := ImportFrom(ctx, dom, old, ImportOptions{}); err != nil {
		t.Fatal(err)
	}
	sameState(t, "old export", want, capture(t, drv, dom, conf.Snapshot))
}
