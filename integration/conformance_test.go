//go:build integration

package integration

import (
	"context"
	"testing"
	"time"

	"github.com/vmoments/vmoments/conf"
	"github.com/vmoments/vmoments/driver"
	"github.com/vmoments/vmoments/driver/drivertest"
	"github.com/vmoments/vmoments/driver/qemu/qemutest"
)

// TestConformance builds every state (states_test.go) on the system daemon and runs the drivers'
// conformance suite on it through the QEMU driver: every combination of libvirt's list flags for
// both kinds, at domain level and from several moments, each compared with libvirt's own answer.
func TestConformance(t *testing.T) {
	conn := qemutest.Connect(t, systemURI)
	total := 0
	for _, st := range states {
		t.Run(st.name, func(t *testing.T) {
			g := conn.NewGuest(t, group, st.name)
			timed(t, "build "+st.name+": "+st.about, func() { st.build(t, g) })
			// Every combination is compared with libvirt's own answer; every 4th (64th on
			// the big trees) is served by Domain.List, which asks libvirtd for the names again,
			// and the others are selected from one Domain.Moments copy of the same state. All
			// through List would triple the run for no new code path.
			every := 4
			if st.name == "redefined" {
				every = 64
			}
			total += runConformance(t, systemURI, g, every)
		})
	}
	t.Logf("conformance: %d cases in all on %d states through the QEMU driver", total, len(states))
}

// runConformance opens a fresh read-only driver on uri and runs the suite's list checks on g
// for snapshots and checkpoints. A fresh handle means the checkpoint current is libvirt's
// fresh-load rule, which the suite computes itself. It returns the number of cases.
func runConformance(t *testing.T, uri string, g *qemutest.Guest, listEvery int) int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	drv, err := driver.Open(ctx, uri, driver.ReadOnly)
	if err != nil {
		t.Fatalf("open %s: %v", uri, err)
	}
	defer drv.Close()
	dom, err := drv.Domain(ctx, g.Name)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, kind := range []conf.Kind{conf.Snapshot, conf.Checkpoint} {
		var k int
		timed(t, "conformance "+kind.String()+"s of "+g.Name+" through "+uri, func() {
			k = drivertest.CheckLists(t, dom, kind, drivertest.Options{ListEvery: listEvery})
		})
		t.Logf("conformance: %d %s cases", k, kind)
		n += k
	}
	return n
}
