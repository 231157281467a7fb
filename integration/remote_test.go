//go:build integration

package integration

import (
	"context"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vmoments/vmoments/conf"
	"github.com/vmoments/vmoments/driver"
	"github.com/vmoments/vmoments/driver/qemu/qemutest"
	"github.com/vmoments/vmoments/momentlist"
)

// TestRemoteURI proves that a remote URI works the same as a local one: a second libvirtd
// listens on 127.0.0.1 (see qemutest.Daemon for why and how it is kept apart from the system
// daemon), a domain with real and redefined moments is defined there, and vmoments through
// qemu+tcp://127.0.0.1:PORT/system serves the same lists as vmoments through the daemon's unix
// socket and as libvirt itself.
func TestRemoteURI(t *testing.T) {
	d := qemutest.StartDaemon(t)
	conn := d.Connect(t)
	g := conn.NewGuest(t, group, "remote")
	if doms := conn.DomainNames(t); len(doms) != 1 {
		t.Fatalf("the second libvirtd has %d domains (%q); want only the test's own %s (it must not see the system daemon's)", len(doms), doms, g.Name)
	}

	// Real offline snapshots with a revert, then redefined trees of both kinds (snapshots first:
	// with a checkpoint present QEMU refuses snapshots of a shut-off guest).
	g.Snapshot("real1", 0)
	g.Snapshot("real2", 0)
	g.Revert("real1", 0)
	g.Snapshot("real3", 0)
	snaps := genTree(true, treeShape{N: 300, Roots: 3, Branch: 0.15, Seed: 31})
	cps := genTree(false, treeShape{N: 60, Roots: 2, Branch: 0.15, Seed: 32})
	timed(t, "redefine 300 snapshots over TCP", func() { redefine(g, snaps) })
	timed(t, "redefine 60 checkpoints over TCP", func() { redefine(g, cps) })

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	want := map[conf.Kind]qemutest.Tree{conf.Snapshot: g.SnapshotTree(), conf.Checkpoint: g.CheckpointTree()}
	if n := len(want[conf.Snapshot].Parent); n != 303 {
		t.Fatalf("libvirt lists %d snapshots, want 303", n)
	}
	lists := map[string]map[conf.Kind]*momentlist.List{}
	for _, uri := range []string{d.URI, d.LocalURI} {
		drv, err := driver.Open(ctx, uri, driver.ReadOnly)
		if err != nil {
			t.Fatalf("open %s: %v", uri, err)
		}
		defer drv.Close()
		dom, err := drv.Domain(ctx, g.Name)
		if err != nil {
			t.Fatal(err)
		}
		lists[uri] = map[conf.Kind]*momentlist.List{}
		for _, kind := range []conf.Kind{conf.Snapshot, conf.Checkpoint} {
			var l *momentlist.List
			timed(t, "vmoments: load "+kind.String()+"s through "+uri, func() {
				if l, err = dom.Moments(ctx, kind); err != nil {
					t.Fatalf("%s: load %ss: %v", uri, kind, err)
				}
			})
			got := listTree(l)
			w := want[kind]
			if kind == conf.Checkpoint {
				// Fresh load: libvirt's rule (the leaf of a single chain, else none); this
				// tree has branches, so none. libvirt does not report its own.
				w.Current = ""
			}
			if !got.Equal(w) {
				t.Fatalf("%s: vmoments' %ss differ from libvirt's: %s", uri, kind, got.Diff(w))
			}
			lists[uri][kind] = l
		}
	}
	// Remote and local also agree on what libvirt does not tell: the order of children, the
	// definitions, the per-disk current moments.
	for _, kind := range []conf.Kind{conf.Snapshot, conf.Checkpoint} {
		remote, local := lists[d.URI][kind], lists[d.LocalURI][kind]
		for _, m := range remote.All() {
			lm := local.Find(m.Name())
			if lm == nil {
				t.Fatalf("%s %s: remote only", kind, m.Name())
			}
			if !m.Def().Equal(lm.Def()) {
				t.Fatalf("%s %s: definitions differ:\n remote %+v\n local  %+v", kind, m.Name(), *m.Def(), *lm.Def())
			}
			if rc, lc := names(m.Children()), names(lm.Children()); !slices.Equal(rc, lc) {
				t.Fatalf("%s %s: children remote %v, local %v", kind, m.Name(), rc, lc)
			}
		}
		if rs, ls := names(remote.CurrentSet()), names(local.CurrentSet()); !slices.Equal(rs, ls) {
			t.Fatalf("%s per-disk current set: remote %v, local %v", kind, rs, ls)
		}
	}
	t.Logf("conformance through %s: %d cases", d.URI, runConformance(t, d.URI, g, 16))
}

// TestRestartDuringLoad restarts libvirtd while vmoments is fetching the XML of a domain's
// snapshots: the load must be retried on a new connection and end with the full, right tree.
// Only the test's own daemon can be restarted (the system daemon is never touched); the
// restart happens from the load's progress callback, once a third of the moments are in, and
// the callback returns only when the new daemon answers, so the retry meets a live daemon.
func TestRestartDuringLoad(t *testing.T) {
	d := qemutest.StartDaemon(t)
	conn := d.Connect(t)
	g := conn.NewGuest(t, group, "restart")
	tr := genTree(true, treeShape{N: 1500, Roots: 2, Branch: 0.1, Seed: 41})
	timed(t, "redefine 1,500 snapshots over TCP", func() { redefine(g, tr) })

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	drv, err := driver.Open(ctx, d.URI, driver.ReadOnly)
	if err != nil {
		t.Fatalf("open %s: %v", d.URI, err)
	}
	defer drv.Close()
	dom, err := drv.Domain(ctx, g.Name)
	if err != nil {
		t.Fatal(err)
	}
	var (
		once      sync.Once
		restarted atomic.Bool
	)
	pctx := driver.WithProgress(ctx, func(fetched, total int) {
		if fetched >= total/3 && total > 0 {
			once.Do(func() {
				if err := d.Restart(t); err != nil {
					t.Errorf("restart the second libvirtd: %v", err)
					return
				}
				restarted.Store(true)
			})
		}
	})
	var list *momentlist.List
	timed(t, "vmoments: load 1,500 snapshots across a libvirtd restart", func() {
		list, err = dom.Moments(pctx, conf.Snapshot)
	})
	if !restarted.Load() {
		t.Fatalf("the daemon was not restarted during the load (load error: %v)", err)
	}
	if err != nil {
		t.Fatalf("load across a libvirtd restart: %v", err)
	}
	if got, want := listTree(list), tr.Relations(); !got.Equal(want) {
		t.Fatalf("after the restart vmoments loaded a different tree: %s", got.Diff(want))
	}
	// The driver keeps working on its new connection.
	if _, err := dom.List(ctx, conf.Snapshot, "", momentlist.Leaves); err != nil {
		t.Fatalf("list after the restart: %v", err)
	}
}
