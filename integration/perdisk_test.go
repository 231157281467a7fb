//go:build integration

package integration

import (
	"context"
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/vmoments/vmoments/conf"
	"github.com/vmoments/vmoments/driver"
	"github.com/vmoments/vmoments/driver/qemu/qemutest"
	"github.com/vmoments/vmoments/momentlist"
)

// TestPerDiskCurrent is docs/design.md §2's per-disk current on a running guest, worked by hand: the
// question an incremental backup of one disk asks ("which checkpoint's bitmap do I start from
// for vdb?"), answered the way the README's example asks it.
//
//	snapshots:   x1 (vda, vdb external) - x2 (vda only)            current x2
//	checkpoints: c1 (vda, vdb) - c2 (vda only) - c3 (vda only)     current c3 (single chain)
//
// so vda's current moments are x2 and c3, vdb's are x1 and c1.
func TestPerDiskCurrent(t *testing.T) {
	conn := qemutest.Connect(t, systemURI)
	g := conn.NewGuest(t, group, "perdisk")
	g.Start()
	g.Snapshot("x1", diskOnly, both("external")...)
	g.Snapshot("x2", diskOnly, only("vda", "external", "no")...)
	g.Checkpoint("c1", both("bitmap")...)
	g.Checkpoint("c2", only("vda", "bitmap", "no")...)
	g.Checkpoint("c3", only("vda", "bitmap", "no")...)

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
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
	for _, tc := range []struct {
		kind     conf.Kind
		current  string
		perDisk  map[string]string // disk -> its current moment
		notInSet []string          // PerDisk|NoCurrent
		rule     momentlist.CurrentRule
	}{
		{conf.Snapshot, "x2", map[string]string{"vda": "x2", "vdb": "x1"}, nil, momentlist.CurrentLoaded},
		{conf.Checkpoint, "c3", map[string]string{"vda": "c3", "vdb": "c1"}, []string{"c2"}, momentlist.CurrentLoadedLeaf},
	} {
		t.Run(tc.kind.String(), func(t *testing.T) {
			cur, rule, err := dom.Current(ctx, tc.kind)
			if err != nil {
				t.Fatal(err)
			}
			if cur == nil || cur.Name() != tc.current || rule != tc.rule {
				t.Fatalf("current %s: %v (%v), want %s (%v)", tc.kind, cur, rule, tc.current, tc.rule)
			}
			l, err := dom.Moments(ctx, tc.kind)
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]string{}
			for disk, m := range l.CurrentFor() {
				got[disk] = m.Name()
			}
			if !maps.Equal(got, tc.perDisk) {
				t.Fatalf("per-disk current %ss: %v, want %v", tc.kind, got, tc.perDisk)
			}
			set, err := dom.List(ctx, tc.kind, "", momentlist.PerDisk|momentlist.Current)
			if err != nil {
				t.Fatal(err)
			}
			wantSet := slices.Sorted(maps.Values(tc.perDisk))
			if gotSet := slices.Sorted(slices.Values(names(set))); !slices.Equal(gotSet, wantSet) {
				t.Fatalf("List(PerDisk|Current) of %ss: %v, want %v", tc.kind, gotSet, wantSet)
			}
			rest, err := dom.List(ctx, tc.kind, "", momentlist.PerDisk|momentlist.NoCurrent)
			if err != nil {
				t.Fatal(err)
			}
			if gotRest := names(rest); !slices.Equal(gotRest, tc.notInSet) {
				t.Fatalf("List(PerDisk|NoCurrent) of %ss: %v, want %v", tc.kind, gotRest, tc.notInSet)
			}
		})
	}
}
