package test_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/vmoments/vmoments/conf"
	"github.com/vmoments/vmoments/driver"
	"github.com/vmoments/vmoments/momentlist"
)

// BenchmarkListRefresh is a List on a loaded domain of 1,000 snapshots: one list call to
// libvirt (nothing new to fetch), the current snapshot, and the filter walk.
func BenchmarkListRefresh(b *testing.B) {
	drv := open(b, "test:///default", driver.ReadWrite)
	dom := domain(b, drv, "test")
	if _, err := dom.CreateSnapshot(ctx, "<domainsnapshot><name>s0</name></domainsnapshot>", 0); err != nil {
		b.Fatal(err)
	}
	tmpl := snapXML(b, dom, "NAME", "PARENT", "running")
	for i := 1; i < 1000; i++ {
		x := replaceAll(tmpl, "NAME", fmt.Sprintf("s%d", i), "PARENT", fmt.Sprintf("s%d", (i-1)/2))
		if _, err := dom.CreateSnapshot(ctx, x, driver.SnapshotCreateRedefine); err != nil {
			b.Fatal(err)
		}
	}
	if err := dom.Reload(ctx, conf.Snapshot); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		ms, err := dom.List(ctx, conf.Snapshot, "", momentlist.Leaves|momentlist.NoCurrent)
		if err != nil || len(ms) != 500 {
			b.Fatalf("%d leaves, %v", len(ms), err)
		}
	}
}

func replaceAll(s string, oldnew ...string) string {
	for i := 0; i+1 < len(oldnew); i += 2 {
		s = strings.ReplaceAll(s, oldnew[i], oldnew[i+1])
	}
	return s
}
