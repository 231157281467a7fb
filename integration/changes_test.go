//go:build integration

package integration

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/vmoments/vmoments/conf"
	"github.com/vmoments/vmoments/driver"
	"github.com/vmoments/vmoments/driver/drivertest"
	"github.com/vmoments/vmoments/driver/qemu/qemutest"
)

// TestChangesThroughDriver makes every kind of change through vmoments on a running QEMU guest
// and, after each one, checks that the list vmoments keeps equals what libvirt reports: the
// same moments, the same parents, the same current snapshot. For checkpoints, whose current
// libvirt never reports, it checks the prediction where libvirt reveals it: a new checkpoint's
// parent is libvirt's current checkpoint, so the current vmoments claimed before each create must
// be the parent libvirt gives the new one.
func TestChangesThroughDriver(t *testing.T) {
	conn := qemutest.Connect(t, systemURI)
	g := conn.NewGuest(t, group, "changes")
	g.Start()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	drv, err := driver.Open(ctx, systemURI, driver.ReadWrite)
	if err != nil {
		t.Fatalf("open %s: %v", systemURI, err)
	}
	defer drv.Close()
	dom, err := drv.Domain(ctx, g.UUID)
	if err != nil {
		t.Fatal(err)
	}

	// track follows libvirt's internal current checkpoint, independently of vmoments.
	var track drivertest.Tracker
	snap := func(name string, flags driver.SnapshotCreateFlags, disks ...qemutest.Disk) func() error {
		return func() error {
			got, err := dom.CreateSnapshot(ctx, qemutest.SnapshotRequest(name, disks...), flags)
			if err == nil && got != name {
				err = fmt.Errorf("CreateSnapshot returned %q, want %q", got, name)
			}
			return err
		}
	}
	// checkpoint creates a checkpoint through vmoments and checks the current it predicted.
	checkpoint := func(name string, disks ...qemutest.Disk) func() error {
		return func() error {
			before, rule, err := dom.Current(ctx, conf.Checkpoint)
			if err != nil {
				return err
			}
			if _, err := dom.CreateCheckpoint(ctx, qemutest.CheckpointRequest(name, disks...), 0); err != nil {
				return err
			}
			track.Created(name)
			wantParent := ""
			if before != nil {
				wantParent = before.Name()
			}
			if got := g.CheckpointTree().Parent[name]; got != wantParent {
				return fmt.Errorf("libvirt made %q the parent of the new checkpoint %s, so its current checkpoint was %q; vmoments said %q (%v)",
					got, name, got, wantParent, rule)
			}
			return nil
		}
	}
	// redefineCheckpoint redefines a checkpoint without bitmaps (metadata only) under parent.
	redefineCheckpoint := func(name, parent string) func() error {
		return func() error {
			n := treeNode{Name: name, Parent: parent, Created: time.Now().Add(-time.Hour), Disks: only("vda", "bitmap", "no")}
			_, err := dom.CreateCheckpoint(ctx, tree{}.redefineXML(n, g.XML(), g.Dir), driver.CheckpointCreateRedefine)
			track.Redefined(name, parent)
			return err
		}
	}
	del := func(kind conf.Kind, name string, flags driver.DeleteFlags) func() error {
		return func() error {
			if kind == conf.Checkpoint {
				track.Delete(t, dom, name, flags)
			}
			return dom.Delete(ctx, kind, name, flags)
		}
	}

	steps := []struct {
		name string
		do   func() error
	}{
		{"snapshot r1 with memory", snap("r1", 0)},
		{"snapshot r2 with memory", snap("r2", 0)},
		{"snapshot r3 with memory", snap("r3", 0)},
		{"revert to r1", func() error { return dom.Revert(ctx, "r1", driver.RevertRunning) }},
		{"snapshot r4 (branch under r1)", snap("r4", 0)},
		{"snapshot r5", snap("r5", 0)},
		{"set current r2", func() error { return dom.SetCurrent(ctx, "r2") }},
		{"delete r2 plain (r3 moves up, current to r1)", del(conf.Snapshot, "r2", 0)},
		{"delete r4's children only (r5)", del(conf.Snapshot, "r4", driver.DeleteChildrenOnly)},
		{"redefine r6 under r3 as current", func() error {
			n := treeNode{Name: "r6", Parent: "r3", Created: time.Now().Add(-time.Hour), State: "running", Memory: "internal", Disks: both("internal")}
			_, err := dom.CreateSnapshot(ctx, tree{Snapshots: true}.redefineXML(n, g.XML(), g.Dir), driver.SnapshotCreateRedefine|driver.SnapshotCreateCurrent)
			return err
		}},
		{"delete r6 metadata only (current back to r3)", del(conf.Snapshot, "r6", driver.DeleteMetadataOnly)},
		{"snapshot r7 with memory", snap("r7", 0)},
		{"snapshot r8 with memory", snap("r8", 0)},
		{"delete r7 with children (r8; current to r3)", del(conf.Snapshot, "r7", driver.DeleteChildren)},
		{"snapshot x1 disk-only external", snap("x1", driver.SnapshotCreateDiskOnly, both("external")...)},
		{"snapshot x2 disk-only, vdb left out", snap("x2", driver.SnapshotCreateDiskOnly, only("vda", "external", "no")...)},
		{"snapshot x3 disk-only", snap("x3", driver.SnapshotCreateDiskOnly, both("external")...)},
		{"delete x3 plain (an external leaf: libvirt commits it)", del(conf.Snapshot, "x3", 0)},
		{"checkpoint c1", checkpoint("c1", both("bitmap")...)},
		{"checkpoint c2, vdb left out", checkpoint("c2", only("vda", "bitmap", "no")...)},
		{"redefine c3 under c1 (not current: c2 is)", redefineCheckpoint("c3", "c1")},
		{"checkpoint c4 (under c2)", checkpoint("c4", both("bitmap")...)},
		{"checkpoint c5, vda left out", checkpoint("c5", only("vdb", "bitmap", "no")...)},
		{"delete c3 metadata only", del(conf.Checkpoint, "c3", driver.DeleteMetadataOnly)},
		{"delete c2 plain (c4 moves up under c1)", del(conf.Checkpoint, "c2", 0)},
		{"checkpoint c6", checkpoint("c6", both("bitmap")...)},
		{"checkpoint c7", checkpoint("c7", both("bitmap")...)},
		{"delete c6's children only (current back to c6)", del(conf.Checkpoint, "c6", driver.DeleteChildrenOnly)},
		{"checkpoint c8", checkpoint("c8", both("bitmap")...)},
		{"delete c8 with children (current to c6)", del(conf.Checkpoint, "c8", driver.DeleteChildren)},
		{"checkpoint c9", checkpoint("c9", both("bitmap")...)},
		{"reload checkpoints: a single chain, its leaf is current", func() error {
			track.Current = "c9" // the fresh-load rule; libvirt's own pointer is c9 as well
			return dom.Reload(ctx, conf.Checkpoint)
		}},
		{"checkpoint c10 after the reload", checkpoint("c10", both("bitmap")...)},
	}
	cases := 0
	for i, s := range steps {
		if err := s.do(); err != nil {
			t.Fatalf("step %d, %s: %v", i+1, s.name, err)
		}
		checkSameAsLibvirt(ctx, t, g, dom, fmt.Sprintf("after step %d, %s", i+1, s.name))
		// The suite's state check: this handle, a fresh one and libvirt agree.
		cases += drivertest.CheckState(t, drv, dom, conf.Snapshot, "")
		cases += drivertest.CheckState(t, drv, dom, conf.Checkpoint, track.Current)
		if t.Failed() {
			t.Fatalf("after step %d, %s", i+1, s.name)
		}
	}
	// Every list flag on the final state through the handle that made the changes.
	cases += drivertest.CheckLists(t, dom, conf.Snapshot, drivertest.Options{ListEvery: 4})
	cases += drivertest.CheckLists(t, dom, conf.Checkpoint, drivertest.Options{CheckpointCurrent: &track.Current, ListEvery: 4})
	t.Logf("conformance: %d cases over %d changes", cases, len(steps))
}

// checkSameAsLibvirt fails the test unless dom's loaded lists equal libvirt's own answers.
func checkSameAsLibvirt(ctx context.Context, t *testing.T, g *qemutest.Guest, dom driver.Domain, when string) {
	t.Helper()
	for _, kind := range []conf.Kind{conf.Snapshot, conf.Checkpoint} {
		list, err := dom.Moments(ctx, kind)
		if err != nil {
			t.Fatalf("%s: %s list: %v", when, kind, err)
		}
		got := listTree(list)
		var want qemutest.Tree
		if kind == conf.Snapshot {
			want = g.SnapshotTree()
		} else {
			want = g.CheckpointTree()
			got.Current = "" // libvirt does not tell; the creates check it
		}
		if !got.Equal(want) {
			t.Fatalf("%s: vmoments' %ss differ from libvirt's: %s", when, kind, got.Diff(want))
		}
	}
}
