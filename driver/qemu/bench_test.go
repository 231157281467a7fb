//go:build integration

package qemu_test

import (
	"fmt"
	"testing"
	"time"

	"libvirt.org/go/libvirt"

	"github.com/vmoments/vmoments/conf"
	"github.com/vmoments/vmoments/driver"
	"github.com/vmoments/vmoments/momentlist"
)

// Sizes of the benchmark domain: big enough that a refresh's cost per moment shows, small
// enough that `go test -tags integration -bench=. -benchtime=1x` stays quick (redefining a
// checkpoint costs libvirtd some 20 ms).
const (
	benchSnapshots   = 1000
	benchCheckpoints = 200
)

// benchQueries are the filters a warm list is asked for; from "root" is the first root.
var benchQueries = []struct {
	name string
	kind conf.Kind
	from string
	f    momentlist.Filter
}{
	{"all", conf.Snapshot, "", 0},
	{"roots", conf.Snapshot, "", momentlist.Roots},
	{"leaves", conf.Snapshot, "", momentlist.Leaves},
	{"no-leaves", conf.Snapshot, "", momentlist.NoLeaves},
	{"topological", conf.Snapshot, "", momentlist.Topological},
	{"descendants", conf.Snapshot, "root", momentlist.Descendants},
	{"inactive-internal", conf.Snapshot, "", momentlist.Inactive | momentlist.Internal},
	{"current", conf.Snapshot, "", momentlist.Current},
	{"no-current", conf.Snapshot, "", momentlist.NoCurrent},
	{"per-disk-current", conf.Snapshot, "", momentlist.PerDisk | momentlist.Current},
	{"all", conf.Checkpoint, "", 0},
	{"leaves", conf.Checkpoint, "", momentlist.Leaves},
	{"descendants", conf.Checkpoint, "root", momentlist.Descendants},
	{"per-disk-current", conf.Checkpoint, "", momentlist.PerDisk | momentlist.Current},
}

// benchDomain makes a throw-away domain with benchSnapshots snapshots (the domain embedded, a
// chain where every third moment has a side leaf; the last one current) and benchCheckpoints
// checkpoints in a chain. It fails without a daemon.
func benchDomain(b *testing.B) string {
	b.Helper()
	_, dom, name := throwaway(b, "bench")
	domXML, err := dom.GetXMLDesc(0)
	if err != nil {
		b.Fatal(err)
	}
	parent := func(prefix string, i int) string {
		switch {
		case i == 0:
			return ""
		case i%3 == 0:
			return fmt.Sprintf("%s%d", prefix, i-1)
		default:
			return fmt.Sprintf("%s%d", prefix, (i-1)/3*3)
		}
	}
	start := time.Now()
	for i := range benchSnapshots {
		flags := libvirt.DOMAIN_SNAPSHOT_CREATE_REDEFINE
		if i == benchSnapshots-1 {
			flags |= libvirt.DOMAIN_SNAPSHOT_CREATE_CURRENT
		}
		h, err := dom.CreateSnapshotXML(redefineSnapshotXML(fmt.Sprintf("s%d", i), parent("s", i), "shutoff", 1700000000+int64(i), domXML), flags)
		if err != nil {
			b.Fatalf("redefine snapshot s%d: %v", i, err)
		}
		h.Free()
	}
	for i := range benchCheckpoints {
		p := ""
		if i > 0 {
			p = fmt.Sprintf("<parent><name>c%d</name></parent>", i-1)
		}
		h, err := dom.CreateCheckpointXML(fmt.Sprintf("<domaincheckpoint><name>c%d</name>%s<creationTime>%d</creationTime>"+
			"<disks><disk name='vda' checkpoint='bitmap' bitmap='c%d'/><disk name='vdb' checkpoint='bitmap' bitmap='c%d'/></disks>%s</domaincheckpoint>",
			i, p, 1700000000+i, i, i, domXML), libvirt.DOMAIN_CHECKPOINT_CREATE_REDEFINE)
		if err != nil {
			b.Fatalf("redefine checkpoint c%d: %v", i, err)
		}
		h.Free()
	}
	b.Logf("domain %s: %d snapshots and %d checkpoints redefined in %v", name, benchSnapshots, benchCheckpoints, time.Since(start).Round(time.Millisecond))
	return name
}

// BenchmarkList measures the driver on a live libvirtd: a cold load (a new domain handle each
// time: list the names, fetch every XML, parse, build the tree) and the warm query, one loaded
// handle asked again and again: each call refreshes (the names again, the current snapshot,
// nothing fetched when nothing changed) and then filters. ns/moment is the time per moment in
// the list, to compare across sizes.
func BenchmarkList(b *testing.B) {
	name := benchDomain(b)
	drv, dom := openDomain(b, name, driver.ReadOnly)
	sizes := map[conf.Kind]int{conf.Snapshot: benchSnapshots, conf.Checkpoint: benchCheckpoints}
	roots := map[conf.Kind]string{}
	for kind := range sizes {
		ms, err := dom.List(ctx, kind, "", momentlist.Roots)
		if err != nil {
			b.Fatal(err)
		}
		if len(ms) == 0 {
			b.Fatalf("domain %s has no %s roots", name, kind)
		}
		roots[kind] = ms[0].Name()
	}
	for kind, n := range sizes {
		b.Run(fmt.Sprintf("cold/%s", kind), func(b *testing.B) {
			for b.Loop() {
				fresh, err := drv.Domain(ctx, name)
				if err != nil {
					b.Fatal(err)
				}
				ms, err := fresh.List(ctx, kind, "", 0)
				if err != nil {
					b.Fatal(err)
				}
				if len(ms) != n {
					b.Fatalf("cold load of %s: %d %ss, want %d", name, len(ms), kind, n)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/moment")
		})
	}
	for _, q := range benchQueries {
		b.Run(fmt.Sprintf("warm/%s/%s", q.kind, q.name), func(b *testing.B) {
			from := q.from
			if from == "root" {
				from = roots[q.kind]
			}
			for b.Loop() {
				if _, err := dom.List(ctx, q.kind, from, q.f); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(sizes[q.kind]), "ns/moment")
		})
	}
}
