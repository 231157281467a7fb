//go:build integration

package integration

import (
	"context"
	"errors"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vmoments/vmoments/conf"
	"github.com/vmoments/vmoments/driver"
	"github.com/vmoments/vmoments/driver/qemu/qemutest"
	"github.com/vmoments/vmoments/momentlist"
)

// rpcListLimit is libvirtd's limit on the names of one list call (REMOTE_DOMAIN_SNAPSHOT_LIST_MAX).
const rpcListLimit = 16384

// hugeSnapshots is the size of the domain that no single list call can return.
const hugeSnapshots = 20000

// TestTwentyThousandSnapshots redefines 20,000 snapshots on one domain, which libvirt can keep
// but not list in one call, and proves that vmoments loads all of them with the right tree and
// current. The tree is shaped so that the piecewise enumeration has to go all the way down:
// most snapshots are offline internal ones of long chains, so even the finest filter group
// (non-leaf, inactive, internal) has more than 16,384 members and the pieces must be cut along
// the tree (roots, then each root's descendants).
func TestTwentyThousandSnapshots(t *testing.T) {
	conn := qemutest.Connect(t, systemURI)
	g := conn.NewGuest(t, group, "20k")
	tr := genTree(true, treeShape{N: hugeSnapshots, Roots: 6, Branch: 0.03, Offline: 0.95, Seed: 20000})
	if n := finestGroup(tr); n <= rpcListLimit {
		t.Fatalf("tree too easy: its largest non-leaf/inactive/internal group has %d members, want > %d", n, rpcListLimit)
	}
	timed(t, "redefine 20,000 snapshots ("+tr.stats()+")", func() { redefine(g, tr) })

	// The premise: libvirt's own client cannot list this domain.
	out, err := exec.Command("virsh", "-c", systemURI, "snapshot-list", "--name", g.Name).CombinedOutput()
	if err == nil || !strings.Contains(string(out), "too many remote strings") {
		t.Fatalf("virsh snapshot-list on %d snapshots: err %v, output %.200q; want it to fail with \"too many remote strings\"", hugeSnapshots, err, out)
	}
	if _, err := g.ListSnapshots(); err == nil {
		t.Fatalf("ListAllSnapshots on %d snapshots succeeded; libvirtd's limit is %d", hugeSnapshots, rpcListLimit)
	} else {
		t.Logf("libvirt refuses the single call, as expected: %v", err)
	}
	if name := g.CurrentSnapshot(); name != tr.Current {
		t.Fatalf("libvirt's current snapshot of %s is %q, want %q", g.Name, name, tr.Current)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	drv, err := driver.Open(ctx, systemURI, driver.ReadOnly)
	if err != nil {
		t.Fatalf("open %s: %v", systemURI, err)
	}
	defer drv.Close()
	dom, err := drv.Domain(ctx, g.Name)
	if err != nil {
		t.Fatal(err)
	}
	var list *momentlist.List
	timed(t, "vmoments: load 20,000 snapshots", func() {
		if list, err = dom.Moments(ctx, conf.Snapshot); err != nil {
			t.Fatalf("load %d snapshots of %s: %v", hugeSnapshots, g.Name, err)
		}
	})
	want := tr.Relations()
	if got := listTree(list); !got.Equal(want) {
		t.Fatalf("vmoments loaded a different tree: %s", got.Diff(want))
	}
	cur, rule, err := dom.Current(ctx, conf.Snapshot)
	if err != nil || cur == nil || cur.Name() != tr.Current {
		t.Fatalf("current snapshot: got %v (%v, err %v), want %s", cur, rule, err, tr.Current)
	}
	timed(t, "vmoments: refresh (names again, nothing new to fetch)", func() {
		all, err := dom.List(ctx, conf.Snapshot, "", 0)
		if err != nil || len(all) != hugeSnapshots {
			t.Fatalf("refresh: %d snapshots, err %v; want %d", len(all), err, hugeSnapshots)
		}
	})
	timed(t, "vmoments: the roots of the loaded list (a refresh and a filter)", func() {
		roots, err := dom.List(ctx, conf.Snapshot, "", momentlist.Roots)
		if err != nil || len(roots) != 6 {
			t.Fatalf("roots: %d, err %v; want 6", len(roots), err)
		}
	})
	checkCancel(ctx, t, drv, g.Name)
}

// checkCancel cancels a fresh load of the domain's snapshots a tenth of the way through and
// checks that it stops promptly with the context's error, and that the driver still loads
// afterwards.
func checkCancel(ctx context.Context, t *testing.T, drv driver.Driver, name string) {
	t.Helper()
	dom, err := drv.Domain(ctx, name)
	if err != nil {
		t.Fatal(err)
	}
	cctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var canceledAt time.Time
	var once sync.Once
	var mu sync.Mutex
	atCancel, last := -1, 0
	pctx := driver.WithProgress(cctx, func(fetched, total int) {
		mu.Lock()
		last = max(last, fetched)
		mu.Unlock()
		if total > 0 && fetched >= total/10 {
			once.Do(func() {
				mu.Lock()
				atCancel = fetched
				mu.Unlock()
				canceledAt = time.Now()
				cancel()
			})
		}
	})
	_, err = dom.Moments(pctx, conf.Snapshot)
	if canceledAt.IsZero() {
		t.Fatalf("the load ended (err %v) before a tenth was fetched", err)
	}
	took := time.Since(canceledAt)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("load canceled a tenth of the way: err %v, want context.Canceled", err)
	}
	t.Logf("timing: a canceled load returned %v after the cancel", took.Round(time.Millisecond))
	// Promptly means: only the requests already in flight (libvirtd serves 5 per connection)
	// may still complete after the cancel; no new fetch starts.
	mu.Lock()
	after := last - atCancel
	mu.Unlock()
	if after > 2*5 {
		t.Fatalf("%d moments were fetched after the cancel (at %d): the load did not stop", after, atCancel)
	}
	l, err := dom.Moments(ctx, conf.Snapshot)
	if err != nil {
		t.Fatalf("load after a canceled one: %v", err)
	}
	if l.Len() != hugeSnapshots {
		t.Fatalf("load after a canceled one: %d snapshots, want %d", l.Len(), hugeSnapshots)
	}
}

// finestGroup counts the snapshots that are not leaves, inactive and internal: the last
// filter-group piece the enumeration can ask for before it has to cut along the tree.
func finestGroup(tr tree) int {
	hasChild := map[string]bool{}
	for _, n := range tr.Nodes {
		hasChild[n.Parent] = true
	}
	count := 0
	for _, n := range tr.Nodes {
		external := n.Memory == "external"
		for _, d := range n.Disks {
			external = external || d.Mode == "external"
		}
		if hasChild[n.Name] && n.State == "shutoff" && !external {
			count++
		}
	}
	return count
}

// TestDeletedDuringLoad deletes snapshots while vmoments fetches their XML: libvirt listed
// them, but they are gone when their turn comes. The load must skip them rather than fail,
// and the next read must drop those it had fetched before they went.
func TestDeletedDuringLoad(t *testing.T) {
	conn := qemutest.Connect(t, systemURI)
	g := conn.NewGuest(t, group, "gone")
	tr := genTree(true, treeShape{N: 1500, Roots: 3, Branch: 0.2, Seed: 51})
	timed(t, "redefine 1,500 snapshots", func() { redefine(g, tr) })
	want := tr.Relations()
	isParent := map[string]bool{}
	for _, p := range want.Parent {
		isParent[p] = true
	}
	var doomed []string
	for _, n := range tr.Nodes {
		if !isParent[n.Name] && n.Name != tr.Current && len(doomed) < 150 {
			doomed = append(doomed, n.Name) // leaves: deleting them re-parents nothing
		}
	}

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	drv, err := driver.Open(ctx, systemURI, driver.ReadOnly)
	if err != nil {
		t.Fatalf("open %s: %v", systemURI, err)
	}
	defer drv.Close()
	dom, err := drv.Domain(ctx, g.Name)
	if err != nil {
		t.Fatal(err)
	}
	var once sync.Once
	deleted := make(chan struct{})
	pctx := driver.WithProgress(ctx, func(fetched, total int) {
		if fetched >= total/4 && total > 0 {
			once.Do(func() {
				defer close(deleted)
				for _, name := range doomed {
					if err := g.TryDeleteSnapshot(name, driver.DeleteMetadataOnly); err != nil {
						t.Errorf("during the load: %v", err)
					}
				}
			})
		}
	})
	list, err := dom.Moments(pctx, conf.Snapshot)
	select {
	case <-deleted:
	default:
		t.Fatalf("the load ended before a quarter was fetched (err %v)", err)
	}
	if err != nil {
		t.Fatalf("load while %d snapshots were deleted: %v", len(doomed), err)
	}
	skipped := 0
	for _, name := range doomed {
		if list.Find(name) == nil {
			skipped++
		}
		delete(want.Parent, name)
	}
	if skipped == 0 {
		t.Fatalf("all %d deleted snapshots were fetched before they went: the test did not test the skip", len(doomed))
	}
	t.Logf("%d of %d snapshots deleted during the load were skipped, %d had been fetched", skipped, len(doomed), len(doomed)-skipped)
	for name, parent := range want.Parent {
		if m := list.Find(name); m == nil || (m.Parent() == nil) != (parent == "") || (m.Parent() != nil && m.Parent().Name() != parent) {
			t.Fatalf("snapshot %s (parent %q) missing or misplaced after the load", name, parent)
		}
	}
	// The next read asks libvirt for the names again and drops the rest of the gone ones.
	list, err = dom.Moments(ctx, conf.Snapshot)
	if err != nil {
		t.Fatal(err)
	}
	if got := listTree(list); !got.Equal(want) {
		t.Fatalf("after a refresh: %s", got.Diff(want))
	}
}
