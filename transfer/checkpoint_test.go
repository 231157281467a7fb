package transfer

import (
	"errors"
	"path/filepath"
	"testing"

	"github.com/vmoments/vmoments/conf"
	"github.com/vmoments/vmoments/driver"
)

// probeCurrent asks libvirt itself where its current-checkpoint pointer is: a created checkpoint
// gets it as parent (docs/libvirt.md §3). The probe is deleted again.
func probeCurrent(t *testing.T, dom driver.Domain) string {
	t.Helper()
	if _, err := dom.CreateCheckpoint(ctx, "<domaincheckpoint><name>probe</name></domaincheckpoint>", 0); err != nil {
		t.Fatal(err)
	}
	d, err := dom.Def(ctx, conf.Checkpoint, "probe")
	if err != nil {
		t.Fatal(err)
	}
	if err := dom.Delete(ctx, conf.Checkpoint, "probe", driver.DeleteMetadataOnly); err != nil {
		t.Fatal(err)
	}
	return d.Parent
}

// TestCheckpointCurrentEveryCase: whatever checkpoint was current on the source — a leaf, one
// with children, none — is libvirt's current checkpoint after the import (asked of libvirt with a
// probe, not only of vmoments' tracking), and a failed import puts the pointer back.
func TestCheckpointCurrentEveryCase(t *testing.T) {
	for _, tc := range []struct {
		name string
		// shape changes the source after buildCheckpoints; it returns the expected current.
		shape func(t *testing.T, drv driver.Driver, dom driver.Domain) (driver.Domain, string)
		steer bool
	}{
		{"leaf of the chain", func(t *testing.T, drv driver.Driver, dom driver.Domain) (driver.Domain, string) {
			return dom, "c5"
		}, false},
		{"with children", func(t *testing.T, drv driver.Driver, dom driver.Domain) (driver.Domain, string) {
			for _, n := range []string{"c5", "c4", "c3", "c2"} {
				if err := dom.Delete(ctx, conf.Checkpoint, n, driver.DeleteMetadataOnly); err != nil {
					t.Fatal(err)
				}
			}
			return dom, "c1" // current moved up to c1, which keeps the branch cb1 → cb2
		}, true},
		{"none after a load of a branched tree", func(t *testing.T, drv driver.Driver, dom driver.Domain) (driver.Domain, string) {
			fresh, err := drv.Domain(ctx, dom.Name())
			if err != nil {
				t.Fatal(err)
			}
			return fresh, ""
		}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			drv, dom := openDomain(t, nodeURI(t), "chks")
			buildCheckpoints(t, dom, 6)
			dom, want := tc.shape(t, drv, dom)
			if cur, _, _ := dom.Current(ctx, conf.Checkpoint); nameOf(cur) != want {
				t.Fatalf("source current %q, want %q", nameOf(cur), want)
			}
			before := capture(t, drv, dom, conf.Checkpoint)
			path := filepath.Join(t.TempDir(), "x.tar")
			if _, err := Export(ctx, dom, path, ExportOptions{}); err != nil {
				t.Fatal(err)
			}
			removeAll(t, dom, conf.Checkpoint)

			// A failure at the very end (after any steering) leaves libvirt's pointer where it
			// was: none, on the emptied domain.
			last := lastStep(t, dom, path)
			_, err := Import(ctx, dom, path, ImportOptions{failAt: func(i int, s Step) error {
				if i == last {
					return errors.New("injected")
				}
				return nil
			}})
			var se *StepError
			if !errors.As(err, &se) || se.RollbackErr != nil {
				t.Fatalf("import with failure: %v", err)
			}
			if l, _ := dom.Moments(ctx, conf.Checkpoint); l.Len() != 0 {
				t.Fatalf("%d checkpoints left after a rolled-back import", l.Len())
			}

			res, err := Import(ctx, dom, path, ImportOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if got := res.Plan.Count(SteerCurrent) == 1; got != tc.steer {
				t.Errorf("plan steers: %v, want %v (note %q)", got, tc.steer, res.Plan.CheckpointNote)
			}
			if res.CurrentCheckpoint != want || len(res.Notes) != 0 {
				t.Errorf("current after import %q (notes %q), want %q", res.CurrentCheckpoint, res.Notes, want)
			}
			sameState(t, "after import", before, capture(t, drv, dom, conf.Checkpoint))
			if got := probeCurrent(t, dom); got != want {
				t.Errorf("libvirt's own current checkpoint is %q, want %q", got, want)
			}
		})
	}
}

// TestCheckpointRollbackRestoresPointer: the destination keeps part of the tree with its own
// current; an import that fails after steering puts libvirt's pointer back on it.
func TestCheckpointRollbackRestoresPointer(t *testing.T) {
	drv, dom := openDomain(t, nodeURI(t), "chks")
	buildCheckpoints(t, dom, 6)
	path := filepath.Join(t.TempDir(), "out")
	m, err := Export(ctx, dom, path, ExportOptions{Kinds: []conf.Kind{conf.Checkpoint}})
	if err != nil {
		t.Fatal(err)
	}
	// Keep c0..c2; the branch and c3..c5 go, and c2 becomes current.
	for _, n := range []string{"cb2", "cb1", "c5", "c4", "c3"} {
		if err := dom.Delete(ctx, conf.Checkpoint, n, driver.DeleteMetadataOnly); err != nil {
			t.Fatal(err)
		}
	}
	// Move libvirt's pointer to c0 (a checkpoint with children), as another tool could have.
	steerTo(t, dom, "c0")
	before := capture(t, drv, dom, conf.Checkpoint)
	p, err := MakePlan(ctx, dom, mustOpen(t, path), ImportOptions{})
	if err != nil {
		t.Fatal(err)
	}
	last := len(p.Steps) - 1
	if p.Steps[last].Action != SteerCurrent || p.Steps[last].Name != m.CurrentCheckpoint {
		t.Fatalf("last step %v, want steering to %q", p.Steps[last], m.CurrentCheckpoint)
	}
	_, err = Import(ctx, dom, path, ImportOptions{failAfter: func(i int, s Step) error {
		if i == last {
			// Steered, then failed: the rollback must undo the steering too.
			return errors.New("injected after steering")
		}
		return nil
	}})
	var se *StepError
	if !errors.As(err, &se) || se.RollbackErr != nil {
		t.Fatalf("import: %v", err)
	}
	sameState(t, "after rollback", before, capture(t, drv, dom, conf.Checkpoint))
	if got := probeCurrent(t, dom); got != "c0" {
		t.Errorf("libvirt's current checkpoint after rollback is %q, want c0", got)
	}
}

// steerTo moves libvirt's current checkpoint to target as another tool could, from where the
// driver says it is.
func steerTo(t *testing.T, dom driver.Domain, target string) {
	t.Helper()
	cur, _, err := dom.Current(ctx, conf.Checkpoint)
	if err != nil {
		t.Fatal(err)
	}
	j := memJournal(&jrecord{T: recBegin, CurCP: strp(nameOf(cur))})
	if err := steerCheckpoint(ctx, dom, target, j); err != nil {
		t.Fatal(err)
	}
}

func mustOpen(t *testing.T, path string) Source {
	t.Helper()
	src, err := OpenSource(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { src.Close() })
	return src
}

// lastStep is the index of the last step an import of path onto dom would take.
func lastStep(t *testing.T, dom driver.Domain, path string) int {
	t.Helper()
	p, err := MakePlan(ctx, dom, mustOpen(t, path), ImportOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return len(p.Steps) - 1
}
