package momentlist

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"testing"

	"github.com/vmoments/vmoments/conf"
)

// Benchmarks on a 100,000-moment list of a realistic shape: long chains (each new moment is
// a child of the current one) with branches (a revert to a random earlier moment every ~30
// moments), 2–3 disks each, states and locations mixed. Figures are reported per moment:
// ns/moment (time / (iterations × moments)) and B/moment.

const benchMoments = 100_000

// benchDefs returns the definitions of the benchmark list in creation order, parents set.
func benchDefs(kind conf.Kind, n int) []*conf.Def {
	r := rand.New(rand.NewPCG(42, 7))
	defs := make([]*conf.Def, n)
	current := -1
	for i := range defs {
		if current >= 0 && r.IntN(30) == 0 {
			current = r.IntN(i) // revert: the next moment starts a branch
		}
		d := &conf.Def{Kind: kind, Name: fmt.Sprintf("moment-%06d", i)}
		if current >= 0 {
			d.Parent = defs[current].Name
		}
		disks := []string{"vda", "vdb", "vdc"}[:2+r.IntN(2)]
		for j, disk := range disks {
			mode := "internal"
			switch {
			case kind == conf.Checkpoint:
				mode = "bitmap"
				if j > 0 && r.IntN(3) == 0 {
					mode = "no"
				}
			case r.IntN(10) == 0:
				mode = "external"
			case j > 0 && r.IntN(4) == 0:
				mode = "no"
			}
			d.Disks = append(d.Disks, conf.DiskSpec{Name: disk, Mode: mode})
		}
		if kind == conf.Snapshot {
			d.State = []string{"running", "shutoff", "disk-snapshot", "paused"}[r.IntN(4)]
		}
		defs[i] = d
		current = i
	}
	return defs
}

func benchList(b *testing.B, kind conf.Kind) *List {
	b.Helper()
	defs := benchDefs(kind, benchMoments)
	l := New(kind)
	if err := l.Load(defs, defs[len(defs)-1].Name); err != nil {
		b.Fatal(err)
	}
	l.SetCurrent(l.Find(defs[len(defs)-1].Name)) // checkpoints: a branched tree loads with none
	return l
}

func perMoment(b *testing.B, moments int) {
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(moments), "ns/moment")
}

// BenchmarkBuild loads 100,000 definitions (Add each, then UpdateRelations) and, separately,
// creates them one by one the way libvirt records new moments (Create/Revert).
func BenchmarkBuild(b *testing.B) {
	defs := benchDefs(conf.Snapshot, benchMoments)
	b.Run("Load", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			l := New(conf.Snapshot)
			if err := l.Load(defs, ""); err != nil {
				b.Fatal(err)
			}
		}
		perMoment(b, benchMoments)
		reportAllocsPerMoment(b, func() { _ = New(conf.Snapshot).Load(defs, "") })
	})
	b.Run("Create", func(b *testing.B) {
		parents := make([]string, len(defs))
		for i, d := range defs {
			parents[i] = d.Parent
		}
		b.ReportAllocs()
		for b.Loop() {
			l := New(conf.Snapshot)
			for i, d := range defs {
				if parents[i] != "" && (l.current == nil || parents[i] != l.current.def.Name) {
					l.Revert(l.Find(parents[i]))
				}
				if _, err := l.Create(d); err != nil {
					b.Fatal(err)
				}
			}
		}
		perMoment(b, benchMoments)
	})
}

// reportAllocsPerMoment reports the bytes one build allocates, per moment.
func reportAllocsPerMoment(b *testing.B, build func()) {
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	build()
	runtime.ReadMemStats(&after)
	b.ReportMetric(float64(after.TotalAlloc-before.TotalAlloc)/benchMoments, "alloc-B/moment")
}

// BenchmarkRetained measures the memory a loaded list keeps: the list itself (moments, index,
// links) and, separately, with the definitions (without raw XML, which conf keeps as is).
func BenchmarkRetained(b *testing.B) {
	for b.Loop() {
		var m0, m1, m2 runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&m0)
		defs := benchDefs(conf.Snapshot, benchMoments)
		runtime.GC()
		runtime.ReadMemStats(&m1)
		l := New(conf.Snapshot)
		_ = l.Load(defs, "")
		runtime.GC()
		runtime.ReadMemStats(&m2)
		b.ReportMetric(float64(m2.HeapAlloc-m1.HeapAlloc)/benchMoments, "list-B/moment")
		b.ReportMetric(float64(m2.HeapAlloc-m0.HeapAlloc)/benchMoments, "total-B/moment")
		runtime.KeepAlive(l)
	}
}

// BenchmarkSelect runs every filter over the 100,000-moment list.
func BenchmarkSelect(b *testing.B) {
	snaps := benchList(b, conf.Snapshot)
	ckpts := benchList(b, conf.Checkpoint)
	root := snaps.roots()[0]
	cases := []struct {
		name string
		l    *List
		from *Moment
		f    Filter
	}{
		{"all", snaps, nil, 0},
		{"roots", snaps, nil, Roots},
		{"topological", snaps, nil, Topological},
		{"leaves", snaps, nil, Leaves},
		{"no-leaves", snaps, nil, NoLeaves},
		{"metadata", snaps, nil, Metadata},
		{"inactive", snaps, nil, Inactive},
		{"active", snaps, nil, Active},
		{"disk-only", snaps, nil, DiskOnly},
		{"internal", snaps, nil, Internal},
		{"external", snaps, nil, External},
		{"current", snaps, nil, Current},
		{"no-current", snaps, nil, NoCurrent},
		{"current-per-disk", snaps, nil, Current | PerDisk},
		{"no-current-per-disk", snaps, nil, NoCurrent | PerDisk},
		{"descendants-of-root", snaps, root, Descendants},
		{"leaves-active-external-topological", snaps, nil, Leaves | Active | External | Topological},
		{"checkpoint-leaves", ckpts, nil, Leaves},
		{"checkpoint-current-per-disk", ckpts, nil, Current | PerDisk | Topological},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := c.l.Select(c.from, c.f); err != nil {
					b.Fatal(err)
				}
			}
			perMoment(b, c.l.Len())
		})
		b.Run(c.name+"/count", func(b *testing.B) {
			for b.Loop() {
				if _, err := c.l.count(c.from, c.f); err != nil {
					b.Fatal(err)
				}
			}
			perMoment(b, c.l.Len())
		})
	}
}

// BenchmarkTopologicalWalk visits every moment in pre-order.
func BenchmarkTopologicalWalk(b *testing.B) {
	l := benchList(b, conf.Snapshot)
	for b.Loop() {
		l.forEachDescendant(nil, func(*Moment) {})
	}
	perMoment(b, l.Len())
}

// BenchmarkCurrentFor computes the per-disk current from the deepest moment of the list,
// reporting ns per moment on the walked chain (O(depth × disks)).
func BenchmarkCurrentFor(b *testing.B) {
	l := benchList(b, conf.Snapshot)
	deepest, depth := l.Current(), 0
	l.forEachDescendant(nil, func(m *Moment) {
		d := 0
		for a := m; a != nil; a = a.Parent() {
			d++
		}
		if d > depth {
			deepest, depth = m, d
		}
	})
	l.SetCurrent(deepest)
	b.Run("CurrentFor", func(b *testing.B) {
		for b.Loop() {
			_ = l.CurrentFor()
		}
		b.ReportMetric(float64(depth), "depth")
		perMoment(b, depth)
	})
	b.Run("CurrentSet", func(b *testing.B) {
		for b.Loop() {
			_ = l.CurrentSet()
		}
		perMoment(b, depth)
	})
}

// BenchmarkClone copies the 100,000-moment list (definitions included).
func BenchmarkClone(b *testing.B) {
	l := benchList(b, conf.Snapshot)
	b.ReportAllocs()
	for b.Loop() {
		_ = l.Clone()
	}
	perMoment(b, l.Len())
}
