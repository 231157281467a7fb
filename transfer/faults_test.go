package transfer

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vmoments/vmoments/conf"
	"github.com/vmoments/vmoments/driver"
	"github.com/vmoments/vmoments/momentlist"
)

// exported builds a snapshot tree, exports it to memory and returns the export and manifest.
func exported(t *testing.T, n int) (driver.Driver, driver.Domain, *Memory, *Manifest) {
	t.Helper()
	drv, dom := openDomain(t, nodeURI(t), "snaps")
	buildSnapshots(t, dom, n)
	mem := NewMemory()
	m, err := ExportTo(ctx, dom, mem, ExportOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return drv, dom, mem, m
}

// rewrite changes one file of an in-memory export and, with fixSum, its checksum in the manifest.
func rewrite(t *testing.T, mem *Memory, m *Manifest, name string, edit func([]byte) []byte, fixSum bool) {
	t.Helper()
	for i, e := range m.Moments {
		if e.Name != name {
			continue
		}
		mem.files[e.File] = edit(mem.files[e.File])
		if fixSum {
			sum := sha256.Sum256(mem.files[e.File])
			m.Moments[i].SHA256 = hex.EncodeToString(sum[:])
		}
	}
	writeManifest(t, mem, m)
}

func writeManifest(t *testing.T, mem *Memory, m *Manifest) {
	t.Helper()
	data, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	mem.files[ManifestName] = data
}

// dropTail deletes the last k snapshots of the export's topological order (leaves first) and
// returns their names: the destination then has part of the tree, as a half-done transfer would.
func dropTail(t *testing.T, dom driver.Domain, m *Manifest, k int) []string {
	t.Helper()
	var gone []string
	for i := len(m.Moments) - 1; i >= len(m.Moments)-k; i-- {
		if err := deleteMetadata(ctx, dom, conf.Snapshot, m.Moments[i].Name); err != nil {
			t.Fatal(err)
		}
		gone = append(gone, m.Moments[i].Name)
	}
	return gone
}

// TestRefusedBeforeAnyChange: an altered file, a missing file, a crafted file name, a cycle, a
// manifest for another domain and a conflicting definition are all refused before any change.
func TestRefusedBeforeAnyChange(t *testing.T) {
	for _, tc := range []struct {
		name  string
		spoil func(t *testing.T, mem *Memory, m *Manifest)
		want  string
	}{
		{"altered file", func(t *testing.T, mem *Memory, m *Manifest) {
			rewrite(t, mem, m, m.Moments[len(m.Moments)-3].Name, func(b []byte) []byte {
				return []byte(strings.Replace(string(b), "</name>", "x</name>", 1))
			}, false)
		}, "was altered after the export"},
		{"missing file", func(t *testing.T, mem *Memory, m *Manifest) {
			delete(mem.files, m.Moments[len(m.Moments)-2].File)
		}, "is missing from the export"},
		{"missing manifest", func(t *testing.T, mem *Memory, m *Manifest) {
			delete(mem.files, ManifestName)
		}, "not an export: manifest.json is missing"},
		{"escaping file name", func(t *testing.T, mem *Memory, m *Manifest) {
			m.Moments[len(m.Moments)-1].File = "snapshots/../../evil.xml"
			writeManifest(t, mem, m)
		}, "starts with '.'"},
		{"escaping file name deeper", func(t *testing.T, mem *Memory, m *Manifest) {
			m.Moments[len(m.Moments)-1].File = "snapshots/x/../../../evil.xml"
			writeManifest(t, mem, m)
		}, "has the byte '/'"},
		{"absolute file name", func(t *testing.T, mem *Memory, m *Manifest) {
			m.Moments[len(m.Moments)-1].File = "/etc/passwd"
			writeManifest(t, mem, m)
		}, "not under snapshots/"},
		{"other domain", func(t *testing.T, mem *Memory, m *Manifest) {
			m.Domain.UUID = chkUUID
			writeManifest(t, mem, m)
		}, "libvirt accepts moment definitions only for the domain"},
		{"unknown format", func(t *testing.T, mem *Memory, m *Manifest) {
			m.Format = "vmoments-transfer/99"
			writeManifest(t, mem, m)
		}, `format "vmoments-transfer/99"`},
		{"manifest parent lies", func(t *testing.T, mem *Memory, m *Manifest) {
			m.Moments[len(m.Moments)-1].Parent = "s0"
			writeManifest(t, mem, m)
		}, "the manifest says parent"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			drv, dom, mem, m := exported(t, 20)
			dropTail(t, dom, m, 8)
			before := capture(t, drv, dom, conf.Snapshot)
			tc.spoil(t, mem, m)
			_, err := ImportFrom(ctx, dom, mem, ImportOptions{})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("import: %v, want an error with %q", err, tc.want)
			}
			var se *StepError
			if errors.As(err, &se) {
				t.Errorf("refused only after starting: %v", err)
			}
			sameState(t, "after a refused import", before, capture(t, drv, dom, conf.Snapshot))
		})
	}
}

// TestMidImportFailureRollsBack: libvirt refuses a definition in the middle (its <domain> has
// another UUID: "definition for snapshot %s must use uuid %s"), after some redefines and a
// replace: everything is undone and the destination is as before, current included.
func TestMidImportFailureRollsBack(t *testing.T) {
	drv, dom, mem, m := exported(t, 40)
	gone := dropTail(t, dom, m, 20)
	// One moment the destination keeps gets another description, so --replace replaces it.
	replaced := m.Moments[3].Name
	x, err := dom.XML(ctx, conf.Snapshot, replaced, driver.XMLSecure)
	if err != nil {
		t.Fatal(err)
	}
	x = strings.Replace(x, "</name>", "</name>\n  <description>changed on the destination</description>", 1)
	if _, err := dom.CreateSnapshot(ctx, x, driver.SnapshotCreateRedefine); err != nil {
		t.Fatal(err)
	}
	before := capture(t, drv, dom, conf.Snapshot)
	bad := gone[len(gone)/2]
	rewrite(t, mem, m, bad, func(b []byte) []byte {
		return []byte(strings.Replace(string(b), "<uuid>"+snapUUID+"</uuid>", "<uuid>99999999-2222-3333-4444-000000000001</uuid>", 1))
	}, true)
	_, err = ImportFrom(ctx, dom, mem, ImportOptions{Replace: true})
	var se *StepError
	if !errors.As(err, &se) {
		t.Fatalf("import: %v, want a StepError", err)
	}
	want := fmt.Sprintf("definition for snapshot %s must use uuid %s", bad, snapUUID)
	if se.Step.Name != bad || !strings.Contains(err.Error(), want) || se.RollbackErr != nil || se.Undone < 2 {
		t.Errorf("error %v (step %q, undone %d), want step %q with %q", err, se.Step.Name, se.Undone, bad, want)
	}
	sameState(t, "after a failed import", before, capture(t, drv, dom, conf.Snapshot))
}

// TestFailureAtEveryPhaseRollsBack injects a failure at the first step, at a replace, and at the
// final set-current, and checks the destination each time.
func TestFailureAtEveryPhaseRollsBack(t *testing.T) {
	for _, at := range []Action{Redefine, Replace, SetCurrent} {
		t.Run(string(at), func(t *testing.T) {
			drv, dom, mem, m := exported(t, 30)
			dropTail(t, dom, m, 10)
			// Make the destination's current another snapshot, so set-current has work to do.
			if err := dom.Revert(ctx, m.Moments[1].Name, 0); err != nil {
				t.Fatal(err)
			}
			x, _ := dom.XML(ctx, conf.Snapshot, m.Moments[2].Name, driver.XMLSecure)
			x = strings.Replace(x, "</name>", "</name>\n  <description>other</description>", 1)
			if _, err := dom.CreateSnapshot(ctx, x, driver.SnapshotCreateRedefine); err != nil {
				t.Fatal(err)
			}
			before := capture(t, drv, dom, conf.Snapshot)
			hit := false
			_, err := ImportFrom(ctx, dom, mem, ImportOptions{Replace: true, failAt: func(i int, s Step) error {
				if s.Action == at && !hit {
					hit = true
					return errors.New("injected failure")
				}
				return nil
			}})
			if !hit {
				t.Fatalf("no %s step in the plan", at)
			}
			var se *StepError
			if !errors.As(err, &se) || se.Step.Action != at || se.RollbackErr != nil {
				t.Fatalf("import: %v", err)
			}
			sameState(t, "after failing at "+string(at), before, capture(t, drv, dom, conf.Snapshot))
		})
	}
}

// TestConflictAndReplace: a moment defined differently stops the import before any change;
// --replace redefines it; a dry-run plan says so and changes nothing.
func TestConflictAndReplace(t *testing.T) {
	drv, dom, mem, m := exported(t, 12)
	dropTail(t, dom, m, 4)
	name := m.Moments[2].Name
	x, _ := dom.XML(ctx, conf.Snapshot, name, driver.XMLSecure)
	orig := x
	x = strings.Replace(x, "</name>", "</name>\n  <description>other</description>", 1)
	if _, err := dom.CreateSnapshot(ctx, x, driver.SnapshotCreateRedefine); err != nil {
		t.Fatal(err)
	}
	before := capture(t, drv, dom, conf.Snapshot)
	_, err := ImportFrom(ctx, dom, mem, ImportOptions{})
	if !errors.Is(err, ErrConflict) || !strings.Contains(err.Error(), fmt.Sprintf("snapshot %q", name)) {
		t.Fatalf("import: %v, want a conflict on %q", err, name)
	}
	sameState(t, "after a conflict", before, capture(t, drv, dom, conf.Snapshot))

	p, err := MakePlan(ctx, dom, mem, ImportOptions{Replace: true})
	if err != nil {
		t.Fatal(err)
	}
	if p.Count(Replace) != 1 || p.Count(Redefine) != 4 || p.Count(Skip) != len(m.Moments)-5 {
		t.Errorf("plan: %d replace, %d redefine, %d skip", p.Count(Replace), p.Count(Redefine), p.Count(Skip))
	}
	sameState(t, "after a plan", before, capture(t, drv, dom, conf.Snapshot))

	if _, err := ImportFrom(ctx, dom, mem, ImportOptions{Replace: true}); err != nil {
		t.Fatal(err)
	}
	got, _ := dom.XML(ctx, conf.Snapshot, name, driver.XMLSecure)
	if got != orig {
		t.Errorf("replaced %q is\n%s\nwant\n%s", name, got, orig)
	}
}

// TestOrderIsVerified: a manifest that lists children before their parents still imports
// (the order is derived, not trusted); one whose parents form a cycle is refused.
func TestOrderIsVerified(t *testing.T) {
	drv, dom, mem, m := exported(t, 15)
	want := capture(t, drv, dom, conf.Snapshot)
	for i, j := 0, len(m.Moments)-1; i < j; i, j = i+1, j-1 {
		m.Moments[i], m.Moments[j] = m.Moments[j], m.Moments[i]
	}
	writeManifest(t, mem, m)
	removeAll(t, dom, conf.Snapshot)
	if _, err := ImportFrom(ctx, dom, mem, ImportOptions{}); err != nil {
		t.Fatal(err)
	}
	sameState(t, "after a reversed manifest", want, capture(t, drv, dom, conf.Snapshot))

	// Without the root, on an empty destination, the root's children have no parent anywhere.
	m.Moments = m.Moments[:len(m.Moments)-1]
	writeManifest(t, mem, m)
	removeAll(t, dom, conf.Snapshot)
	if _, err := ImportFrom(ctx, dom, mem, ImportOptions{}); err == nil || !strings.Contains(err.Error(), "is neither in the export nor on the destination") {
		t.Errorf("import without the root: %v", err)
	}
	if l, _ := dom.Moments(ctx, conf.Snapshot); l.Len() != 0 {
		t.Errorf("a refused import left %d snapshots", l.Len())
	}

	var ms []loaded
	for _, p := range [][2]string{{"a", "c"}, {"b", "a"}, {"c", "b"}, {"d", ""}} {
		ms = append(ms, loaded{e: Entry{Name: p[0], Parent: p[1]}})
	}
	if _, err := topoOrder(conf.Snapshot, ms, func(string) bool { return false }); err == nil || !strings.Contains(err.Error(), "cycle") {
		t.Errorf("cycle: %v", err)
	}
}

// TestCopyRemoveSource copies between two connections (two test-driver node files holding a
// domain with the same UUID), removing the source's metadata afterwards.
func TestCopyRemoveSource(t *testing.T) {
	srcDrv, src := openDomain(t, nodeURI(t), "snaps")
	buildSnapshots(t, src, 25)
	want := capture(t, srcDrv, src, conf.Snapshot)
	dstDrv, dst := openDomain(t, nodeURI(t), "snaps")
	res, err := Copy(ctx, src, dst, CopyOptions{RemoveSource: true})
	if err != nil {
		t.Fatal(err)
	}
	if res.Removed != len(want.XML) {
		t.Errorf("removed %d, want %d", res.Removed, len(want.XML))
	}
	sameState(t, "destination after copy", want, capture(t, dstDrv, dst, conf.Snapshot))
	if n, _ := src.List(ctx, conf.Snapshot, "", momentlist.Filter(0)); len(n) != 0 {
		t.Errorf("%d snapshots left on the source", len(n))
	}
}

// TestCopyFailureLeavesBoth: an import that fails on the destination leaves the source as it
// was (with RemoveSource) and the destination as it was.
func TestCopyFailureLeavesBoth(t *testing.T) {
	srcDrv, src := openDomain(t, nodeURI(t), "snaps")
	buildSnapshots(t, src, 10)
	wantSrc := capture(t, srcDrv, src, conf.Snapshot)
	dstDrv, dst := openDomain(t, nodeURI(t), "snaps")
	// A conflicting moment on the destination stops the import.
	x, _ := src.XML(ctx, conf.Snapshot, "s0", driver.XMLSecure)
	x = strings.Replace(x, "</name>", "</name>\n  <description>other</description>", 1)
	if _, err := dst.CreateSnapshot(ctx, x, driver.SnapshotCreateRedefine); err != nil {
		t.Fatal(err)
	}
	wantDst := capture(t, dstDrv, dst, conf.Snapshot)
	if _, err := Copy(ctx, src, dst, CopyOptions{RemoveSource: true}); !errors.Is(err, ErrConflict) {
		t.Fatalf("copy: %v, want a conflict", err)
	}
	sameState(t, "source", wantSrc, capture(t, srcDrv, src, conf.Snapshot))
	sameState(t, "destination", wantDst, capture(t, dstDrv, dst, conf.Snapshot))
}

// TestTarIsSelfContained: a tar export imports from its bytes alone, and entries outside the
// layout are ignored rather than written anywhere.
func TestTarIsSelfContained(t *testing.T) {
	_, dom := openDomain(t, nodeURI(t), "snaps")
	buildSnapshots(t, dom, 5)
	p := filepath.Join(t.TempDir(), "x.tar")
	if _, err := Export(ctx, dom, p, ExportOptions{}); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(p)
	if err != nil || st.Size() == 0 {
		t.Fatalf("tar: %v", err)
	}
	src, err := OpenSource(p)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := readExport(src, nil); err != nil {
		t.Fatal(err)
	}
	leftovers, _ := filepath.Glob(filepath.Join(filepath.Dir(p), ".x.tar.tmp-*"))
	if len(leftovers) != 0 {
		t.Errorf("temporary files left: %q", leftovers)
	}
}

// failingDeletes is a domain whose n-th Delete (counting from 1) fails.
type failingDeletes struct {
	driver.Domain
	n, calls int
}

func (f *failingDeletes) Delete(ctx context.Context, kind conf.Kind, name string, flags driver.DeleteFlags) error {
	f.calls++
	if f.calls == f.n {
		return fmt.Errorf("injected failure deleting %s %q", kind, name)
	}
	return f.Domain.Delete(ctx, kind, name, flags)
}

func (f *failingDeletes) URI() string { return f.Domain.(interface{ URI() string }).URI() }

// TestCopyRemoveSourceFailureRestoresSource: when removing the source's metadata fails halfway,
// the removed moments are redefined again and the destination is rolled back: both end as
// they began, currents included.
func TestCopyRemoveSourceFailureRestoresSource(t *testing.T) {
	srcDrv, src := openDomain(t, nodeURI(t), "snaps")
	buildSnapshots(t, src, 30)
	want := capture(t, srcDrv, src, conf.Snapshot)
	dstDrv, dst := openDomain(t, nodeURI(t), "snaps")
	empty := capture(t, dstDrv, dst, conf.Snapshot)
	_, err := Copy(ctx, &failingDeletes{Domain: src, n: 20}, dst, CopyOptions{RemoveSource: true})
	if err == nil || !strings.Contains(err.Error(), "the source's 19 removed moments were redefined again") ||
		!strings.Contains(err.Error(), "both are as they were before the copy") {
		t.Fatalf("copy: %v", err)
	}
	sameState(t, "source", want, capture(t, srcDrv, src, conf.Snapshot))
	sameState(t, "destination", empty, capture(t, dstDrv, dst, conf.Snapshot))
}

// TestCopyOntoItselfRefused: a copy whose destination is the source's own connection would skip
// every moment and then, with RemoveSource, delete the only copy: it is refused.
func TestCopyOntoItselfRefused(t *testing.T) {
	drv, src := openDomain(t, nodeURI(t), "snaps")
	buildSnapshots(t, src, 5)
	want := capture(t, drv, src, conf.Snapshot)
	same, err := drv.Domain(ctx, "snaps")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Copy(ctx, src, same, CopyOptions{RemoveSource: true}); err == nil || !strings.Contains(err.Error(), "the same connection") {
		t.Fatalf("copy onto itself: %v", err)
	}
	sameState(t, "source", want, capture(t, drv, src, conf.Snapshot))
}
