package transfer

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vmoments/vmoments/conf"
)

// TestRoundTripSnapshots: export → delete all metadata → import gives back every snapshot's XML,
// the tree, the current snapshot (one with children) and the per-disk current, through a
// directory and through a tar file.
func TestRoundTripSnapshots(t *testing.T) {
	for _, where := range []string{"dir", "export.tar"} {
		t.Run(where, func(t *testing.T) {
			drv, dom := openDomain(t, nodeURI(t), "snaps")
			buildSnapshots(t, dom, 60)
			before := capture(t, drv, dom, conf.Snapshot)
			path := filepath.Join(t.TempDir(), where)
			m, err := Export(ctx, dom, path, ExportOptions{Secure: true})
			if err != nil {
				t.Fatal(err)
			}
			if len(m.Moments) != len(before.XML) || m.CurrentSnapshot != before.Current || m.Domain.UUID != snapUUID {
				t.Fatalf("manifest: %d moments, current %q, uuid %s; want %d, %q, %s",
					len(m.Moments), m.CurrentSnapshot, m.Domain.UUID, len(before.XML), before.Current, snapUUID)
			}
			removeAll(t, dom, conf.Snapshot)
			if l, _ := dom.Moments(ctx, conf.Snapshot); l.Len() != 0 {
				t.Fatalf("%d snapshots left after removing all", l.Len())
			}
			res, err := Import(ctx, dom, path, ImportOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if res.Redefined != len(before.XML) || res.CurrentSnapshot != before.Current {
				t.Errorf("import redefined %d, current %q; want %d, %q", res.Redefined, res.CurrentSnapshot, len(before.XML), before.Current)
			}
			sameState(t, "after round trip", before, capture(t, drv, dom, conf.Snapshot))

			// A second import changes nothing: every moment is skipped.
			res, err = Import(ctx, dom, path, ImportOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if res.Skipped != len(before.XML) || res.Redefined != 0 || res.Plan.Count(SetCurrent) != 0 {
				t.Errorf("second import: %d skipped, %d redefined, %d set-current; want all skipped", res.Skipped, res.Redefined, res.Plan.Count(SetCurrent))
			}
		})
	}
}

// TestRoundTripCheckpoints: a chain with partial disks and a branch redefined below c1; the
// checkpoint current (created, a leaf of the chain) comes back current.
func TestRoundTripCheckpoints(t *testing.T) {
	drv, dom := openDomain(t, nodeURI(t), "chks")
	buildCheckpoints(t, dom, 6)
	before := capture(t, drv, dom, conf.Checkpoint)
	if before.Current != "c5" {
		t.Fatalf("checkpoint current %q, want c5 (the redefined branch must not take it)", before.Current)
	}
	path := filepath.Join(t.TempDir(), "out")
	m, err := Export(ctx, dom, path, ExportOptions{Kinds: []conf.Kind{conf.Checkpoint}})
	if err != nil {
		t.Fatal(err)
	}
	if m.CurrentCheckpoint != "c5" || m.CurrentCheckpointRule == "" {
		t.Fatalf("manifest current checkpoint %q (%s)", m.CurrentCheckpoint, m.CurrentCheckpointRule)
	}
	removeAll(t, dom, conf.Checkpoint)
	res, err := Import(ctx, dom, path, ImportOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if res.CurrentCheckpoint != "c5" || len(res.Notes) != 0 {
		t.Errorf("current checkpoint after import %q (notes %q), want c5", res.CurrentCheckpoint, res.Notes)
	}
	sameState(t, "after round trip", before, capture(t, drv, dom, conf.Checkpoint))
}

// TestNamesStayInside: every file of an export of the odd names is a regular file directly in
// snapshots/ (or manifest.json), its name has no byte outside the safe set, and the manifest
// maps each name back.
func TestNamesStayInside(t *testing.T) {
	_, dom := openDomain(t, nodeURI(t), "snaps")
	buildSnapshots(t, dom, 0)
	root := t.TempDir()
	path := filepath.Join(root, "out")
	m, err := Export(ctx, dom, path, ExportOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var files []string
	err = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(path, p)
		if strings.HasPrefix(rel, "..") {
			t.Errorf("file %s is outside the export", p)
		}
		if len(d.Name()) > 255 {
			t.Errorf("file name %d bytes long", len(d.Name()))
		}
		files = append(files, filepath.ToSlash(rel))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != len(oddNames)+1 {
		t.Errorf("%d files, want %d: %q", len(files), len(oddNames)+1, files)
	}
	byName := map[string]Entry{}
	for _, e := range m.Moments {
		byName[e.Name] = e
		if err := checkFileName(e.File); err != nil {
			t.Error(err)
		}
		stem := strings.TrimSuffix(strings.TrimPrefix(e.File, "snapshots/"), ".xml")
		if back, ok := unescape(stem); ok && back != e.Name {
			t.Errorf("%q → %s → %q", e.Name, e.File, back)
		}
	}
	for _, n := range oddNames {
		if _, ok := byName[n]; !ok {
			t.Errorf("%q missing from the manifest", n)
		}
	}
	if byName["UPPER"].File == byName["upper"].File || strings.EqualFold(byName["UPPER"].File, byName["upper"].File) {
		t.Errorf("UPPER and upper share a file name on case-insensitive systems: %s, %s", byName["UPPER"].File, byName["upper"].File)
	}
}

func TestFileName(t *testing.T) {
	long := strings.Repeat("x", 300)
	for _, tc := range []struct{ name, want string }{
		{"s1", "snapshots/s1.xml"},
		{"with space", "snapshots/with%20space.xml"},
		{"..", "snapshots/%2E..xml"},
		{".hidden", "snapshots/%2Ehidden.xml"},
		{"../x", "snapshots/%2E.%2Fx.xml"},
		{"/", "snapshots/%2F.xml"},
		{"é", "snapshots/%C3%A9.xml"},
		{"%", "snapshots/%25.xml"},
		{"--tree", "snapshots/%2D-tree.xml"},
		{"-", "snapshots/%2D.xml"},
		{"a-b-", "snapshots/a-b-.xml"},
		{long, "snapshots/" + long[:183] + "~" + "b0d9dc4fe3bb08b0" + ".xml"},
	} {
		got := FileName(conf.Snapshot, tc.name)
		if tc.name == long {
			if len(got) != len(tc.want) || !strings.HasPrefix(got, "snapshots/"+long[:183]+"~") {
				t.Errorf("FileName(long) = %s", got)
			}
			continue
		}
		if got != tc.want {
			t.Errorf("FileName(%q) = %s, want %s", tc.name, got, tc.want)
		}
		if err := checkFileName(got); err != nil {
			t.Error(err)
		}
	}
	for _, bad := range []string{"../x.xml", "snapshots/../x.xml", "/etc/passwd", "snapshots/.x.xml", "snapshots/a/b.xml",
		"snapshots/x", "other/x.xml", "snapshots/" + strings.Repeat("a", 260) + ".xml", "snapshots/a\\b.xml"} {
		if checkFileName(bad) == nil {
			t.Errorf("checkFileName(%q) accepted it", bad)
		}
	}
	// Exports made before a leading '-' was escaped still import.
	if err := checkFileName("snapshots/--tree.xml"); err != nil {
		t.Errorf("an old export's file name: %v", err)
	}
	// Cutting never splits an escape.
	s := escapeName(strings.Repeat("é", 100), false)
	if i := strings.IndexByte(s, '~'); i < 0 || strings.Count(s[:i], "%")*3 != i {
		t.Errorf("escape of a long unicode name was cut inside an escape: %s", s)
	}
}

// TestExportRefusesNonEmptyDir: an export never mixes with other files.
func TestExportRefusesNonEmptyDir(t *testing.T) {
	_, dom := openDomain(t, nodeURI(t), "snaps")
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "x"), nil, 0o644)
	if _, err := Export(ctx, dom, dir, ExportOptions{}); err == nil || !strings.Contains(err.Error(), "not empty") {
		t.Errorf("export into a non-empty directory: %v", err)
	}
	tarPath := filepath.Join(dir, "x.tar")
	os.WriteFile(tarPath, nil, 0o644)
	if _, err := Export(ctx, dom, tarPath, ExportOptions{}); err == nil || !strings.Contains(err.Error(), "exists") {
		t.Errorf("export over an existing tar: %v", err)
	}
}

// TestRoundTrip500: 500 moments, through the test driver: 500 snapshots (and the odd names)
// with branches every 7 creates and a current with children, exported to a tar, deleted,
// imported; timings are logged.
func TestRoundTrip500(t *testing.T) {
	drv, dom := openDomain(t, nodeURI(t), "snaps")
	buildSnapshots(t, dom, 500)
	before := capture(t, drv, dom, conf.Snapshot)
	path := filepath.Join(t.TempDir(), "x.tar")
	start := time.Now()
	if _, err := Export(ctx, dom, path, ExportOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Logf("timing: export %d snapshots: %v", len(before.XML), time.Since(start).Round(time.Millisecond))
	removeAll(t, dom, conf.Snapshot)
	start = time.Now()
	res, err := Import(ctx, dom, path, ImportOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("timing: import %d snapshots: %v", res.Redefined, time.Since(start).Round(time.Millisecond))
	sameState(t, "after round trip", before, capture(t, drv, dom, conf.Snapshot))
}
