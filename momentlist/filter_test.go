package momentlist

import (
	"fmt"
	"testing"

	"github.com/vmoments/vmoments/conf"
)

// docs/libvirt.md §1 step 7: libvirt's own example lists topologically as s1 s7 s8 s3 s6 s4 s5 s2, for
// snapshots and checkpoints alike (the generic layer).
func TestLibvirtTopologicalExample(t *testing.T) {
	for _, kind := range []conf.Kind{conf.Snapshot, conf.Checkpoint} {
		l := libvirtExample(t, kind)
		got := names(ok(l.Select(nil, Topological)))
		if got != "s1 s7 s8 s3 s6 s4 s5 s2" {
			t.Errorf("%s: topological %q, want \"s1 s7 s8 s3 s6 s4 s5 s2\"", kind, got)
		}
		// without TOPOLOGICAL: insertion order at domain level (documented)
		if got := names(ok(l.Select(nil, 0))); got != "s1 s3 s2 s6 s5 s4 s7 s8" {
			t.Errorf("%s: default order %q", kind, got)
		}
		checkInvariants(t, l)
	}
}

// filterTree: the test driver's example (docs/libvirt.md §5) plus a lone external root.
//
//	lone (paused, external memory)        roots newest-linked first: lone, base
//	base (shutoff)
//	├── side (running)                    children newest-linked first: side, mid
//	└── mid (running)
//	    └── tip (disk-snapshot, external) current
func filterTree(t testing.TB) *List {
	lone := snap("lone", "", "paused", "vda:internal")
	lone.Memory = conf.MemorySpec{Mode: "external", File: "/m"}
	return load(t, conf.Snapshot, "tip",
		snap("base", "", "shutoff", "vda:internal", "vdb:internal"),
		snap("mid", "base", "running", "vda:internal", "vdb:no"),
		snap("tip", "mid", "disk-snapshot", "vda:external", "vdb:no"),
		snap("side", "base", "running", "vda:internal", "vdb:internal"),
		lone)
}

// docs/libvirt.md §1 GetNames steps 1–7 and §2 virDomainSnapshotFilter, plus vmoments' Current,
// NoCurrent and PerDisk (docs/design.md §1, §2).
func TestSelectSnapshotFilters(t *testing.T) {
	tests := []struct {
		from string
		f    Filter
		want string
	}{
		// §1 step 2: no flag = all (insertion order); ROOTS = roots only (child-list order)
		{"", 0, "base mid tip side lone"},
		{"", Roots, "lone base"},
		{"", Topological, "lone base side mid tip"},
		{"", Roots | Topological, "lone base"},
		// §1 step 2: with from, the bit means DESCENDANTS; from never listed
		{"base", 0, "side mid"},
		{"base", Descendants, "side mid tip"},
		{"base", Descendants | Topological, "side mid tip"},
		{"tip", 0, ""},
		{"tip", Descendants, ""},
		// §1 step 5: leaves
		{"", Leaves, "tip side lone"},
		{"", NoLeaves, "base mid"},
		{"", Leaves | NoLeaves, ""},
		{"", Roots | Leaves, "lone"},
		{"base", Descendants | Leaves, "side tip"},
		// §1 step 3: metadata
		{"", Metadata, "base mid tip side lone"},
		{"", NoMetadata, ""},
		{"", Metadata | NoMetadata, "base mid tip side lone"},
		{"base", NoMetadata, ""},
		// §2 status group
		{"", Inactive, "base"},
		{"", Active, "mid side lone"},
		{"", DiskOnly, "tip"},
		{"", Inactive | Active, "base mid side lone"},
		{"", Active | DiskOnly, "mid tip side lone"},
		{"", Inactive | Active | DiskOnly, "base mid tip side lone"},
		// §2 location group
		{"", Internal, "base mid side"},
		{"", External, "tip lone"},
		{"", Internal | External, "base mid tip side lone"},
		// groups AND together
		{"", Leaves | Active, "side lone"},
		{"", Active | External, "lone"},
		{"", Roots | Internal, "base"},
		// vmoments: current
		{"", Current, "tip"},
		{"", NoCurrent, "base mid side lone"},
		{"", Current | NoCurrent, ""},
		{"", Current | Leaves, "tip"},
		{"", Current | NoLeaves, ""},
		{"", Current | Roots, ""},
		{"", NoCurrent | Leaves | Topological, "lone side"},
		{"base", Current, ""},
		{"base", Descendants | Current, "tip"},
		{"mid", NoCurrent, ""},
		// vmoments: per-disk current (vda: tip; vdb: base, as mid and tip do not cover vdb)
		{"", PerDisk, "base mid tip side lone"},
		{"", Current | PerDisk, "base tip"},
		{"", NoCurrent | PerDisk, "mid side lone"},
		{"", Current | NoCurrent | PerDisk, ""},
		{"", Roots | Current | PerDisk, "base"},
		{"", Current | PerDisk | Topological, "base tip"},
		{"base", Descendants | Current | PerDisk, "tip"},
		{"base", Descendants | NoCurrent | PerDisk, "side mid"},
	}
	l := filterTree(t)
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%s/%v", tt.from, tt.f), func(t *testing.T) {
			got := ok(l.Select(l.Find(tt.from), tt.f))
			if names(got) != tt.want {
				t.Fatalf("Select(%q, %v) = %q, want %q", tt.from, tt.f, names(got), tt.want)
			}
			n := ok(l.count(l.Find(tt.from), tt.f))
			if n != len(got) {
				t.Fatalf("Count = %d, Select has %d", n, len(got))
			}
		})
	}
}

// With no current moment, Current matches nothing and NoCurrent everything (docs/design.md §1).
func TestSelectNoCurrent(t *testing.T) {
	l := filterTree(t)
	l.SetCurrent(nil)
	for f, want := range map[Filter]string{
		Current:             "",
		NoCurrent:           "base mid tip side lone",
		Current | PerDisk:   "",
		NoCurrent | PerDisk: "base mid tip side lone",
	} {
		if got := names(ok(l.Select(nil, f))); got != want {
			t.Errorf("%v: %q, want %q", f, got, want)
		}
	}
}

// docs/libvirt.md §3: checkpoints have no metadata, status or location filters; unknown bits fail for
// both kinds, in libvirt's "unsupported flags" wording.
func TestSelectUnsupported(t *testing.T) {
	tests := []struct {
		kind conf.Kind
		f    Filter
		want string
	}{
		{conf.Checkpoint, Metadata, "unsupported flags (0x10) in function momentlist.List.Select: checkpoint has no metadata filter"},
		{conf.Checkpoint, NoMetadata | Roots, "unsupported flags (0x20) in function momentlist.List.Select: checkpoint has no no-metadata filter"},
		{conf.Checkpoint, Inactive | External, "unsupported flags (0x440) in function momentlist.List.Select: checkpoint has no inactive|external filter"},
		{conf.Snapshot, 1 << 20, "unsupported flags (0x100000) in function momentlist.List.Select"},
		{conf.Checkpoint, 1<<20 | Active, "unsupported flags (0x100080) in function momentlist.List.Select"},
	}
	for _, tt := range tests {
		l := New(tt.kind)
		ok(l.Create(&conf.Def{Kind: tt.kind, Name: "a"}))
		_, err := l.Select(nil, tt.f)
		if err == nil || err.Error() != tt.want {
			t.Errorf("%s Select(%v): %v, want %q", tt.kind, tt.f, err, tt.want)
		}
		if _, err := l.count(nil, tt.f); err == nil {
			t.Errorf("%s Count(%v) succeeded", tt.kind, tt.f)
		}
	}
	// every checkpoint bit is accepted
	l := libvirtExample(t, conf.Checkpoint)
	for f := Filter(0); f <= checkpointFilters; f++ {
		if f&^checkpointFilters != 0 {
			continue
		}
		if _, err := l.Select(nil, f); err != nil {
			t.Fatalf("checkpoint Select(%v): %v", f, err)
		}
	}
}

// docs/libvirt.md §1 step 6 / virDomainSnapshotNum: counting takes the same path as listing.
func TestCount(t *testing.T) {
	l := libvirtExample(t, conf.Snapshot)
	for _, tt := range []struct {
		from string
		f    Filter
		want int
	}{{"", 0, 8}, {"", Roots, 1}, {"", Topological, 8}, {"s1", 0, 2}, {"s1", Descendants, 7}, {"s3", Descendants | Leaves, 3}} {
		if got := ok(l.count(l.Find(tt.from), tt.f)); got != tt.want {
			t.Errorf("Count(%q, %v) = %d, want %d", tt.from, tt.f, got, tt.want)
		}
	}
}

// docs/libvirt.md §2 and §3: libvirt's list flag numbers both ways.
func TestFlagConversion(t *testing.T) {
	snapTests := []struct {
		lv   uint32
		want Filter
	}{
		{0, 0}, {1, Roots}, {2, Metadata}, {4, Leaves}, {8, NoLeaves}, {16, NoMetadata},
		{32, Inactive}, {64, Active}, {128, DiskOnly}, {256, Internal}, {512, External},
		{1024, Topological}, {1 | 4 | 1024, Roots | Leaves | Topological}, {2047, snapshotFilters &^ (Current | NoCurrent | PerDisk)},
	}
	for _, tt := range snapTests {
		f, err := FromLibvirt(conf.Snapshot, tt.lv)
		if err != nil || f != tt.want {
			t.Errorf("FromLibvirt(snapshot, %d) = %v, %v; want %v", tt.lv, f, err, tt.want)
		}
		if back := f.Libvirt(conf.Snapshot); back != tt.lv {
			t.Errorf("SnapshotFlags round trip %d → %v → %d", tt.lv, f, back)
		}
	}
	ckptTests := []struct {
		lv   uint32
		want Filter
	}{{0, 0}, {1, Roots}, {2, Topological}, {4, Leaves}, {8, NoLeaves}, {15, Roots | Topological | Leaves | NoLeaves}}
	for _, tt := range ckptTests {
		f, err := FromLibvirt(conf.Checkpoint, tt.lv)
		if err != nil || f != tt.want {
			t.Errorf("FromLibvirt(checkpoint, %d) = %v, %v; want %v", tt.lv, f, err, tt.want)
		}
		if back := f.Libvirt(conf.Checkpoint); back != tt.lv {
			t.Errorf("CheckpointFlags round trip %d → %v → %d", tt.lv, f, back)
		}
	}
	if _, err := FromLibvirt(conf.Snapshot, 2048|1); err == nil || err.Error() != "unsupported flags (0x800) in function momentlist.FromLibvirt" {
		t.Errorf("SnapshotFlags(2049): %v", err)
	}
	if _, err := FromLibvirt(conf.Checkpoint, 16|2); err == nil || err.Error() != "unsupported flags (0x10) in function momentlist.FromLibvirt" {
		t.Errorf("CheckpointFlags(18): %v", err)
	}
	// vmoments' own bits are not libvirt's
	if v := (Current | NoCurrent | PerDisk | Leaves).Libvirt(conf.Snapshot); v != 4 {
		t.Errorf("own bits leaked into snapshot flags: %d", v)
	}
	if v := (Metadata | Inactive | Leaves).Libvirt(conf.Checkpoint); v != 4 {
		t.Errorf("snapshot-only bits leaked into checkpoint flags: %d", v)
	}
}

func TestFilterString(t *testing.T) {
	for f, want := range map[Filter]string{
		0:                            "0",
		Roots:                        "roots",
		Leaves | Current:             "leaves|current",
		PerDisk | NoCurrent | 1<<20:  "no-current|per-disk|0x100000",
		Inactive | Active | DiskOnly: "inactive|active|disk-only",
	} {
		if got := f.String(); got != want {
			t.Errorf("%d.String() = %q, want %q", uint32(f), got, want)
		}
	}
}

// Select, Count and the other read-only methods never write to the list: they may run
// concurrently under a read lock (run with -race).
func TestConcurrentReads(t *testing.T) {
	l := filterTree(t)
	done := make(chan bool)
	for i := range 4 {
		go func() {
			for range 200 {
				_, _ = l.Select(nil, Filter(i)|Current|PerDisk|Topological)
				_, _ = l.count(l.Find("base"), Descendants|Leaves)
				_ = l.CurrentFor()
				_ = l.findLeaf()
				l.forEachDescendant(nil, func(*Moment) {})
			}
			done <- true
		}()
	}
	for range 4 {
		<-done
	}
}
