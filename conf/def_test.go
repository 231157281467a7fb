package conf

import (
	"slices"
	"testing"
	"time"
)

// TestStatus: the status class comes from <state> alone (docs/libvirt.md §2 virDomainSnapshotFilter).
func TestStatus(t *testing.T) {
	tests := []struct {
		kind   Kind
		state  string
		memory string
		want   Status
	}{
		{Snapshot, "shutoff", "no", Inactive},
		{Snapshot, "shutoff", "internal", Inactive}, // memory does not matter
		{Snapshot, "disk-snapshot", "no", DiskOnly},
		{Snapshot, "running", "internal", Active},
		{Snapshot, "running", "no", Active},
		{Snapshot, "paused", "", Active},
		{Snapshot, "blocked", "", Active},
		{Snapshot, "nostate", "", Active},
		{Snapshot, "shutdown", "", Active},
		{Snapshot, "crashed", "", Active},
		{Snapshot, "pmsuspended", "", Active},
		{Snapshot, "", "", Active},
		{Checkpoint, "shutoff", "", NoStatus},
	}
	for _, tt := range tests {
		d := &Def{Kind: tt.kind, State: tt.state, Memory: MemorySpec{Mode: tt.memory}}
		if got := d.Status(); got != tt.want {
			t.Errorf("%v state %q memory %q: Status = %v, want %v", tt.kind, tt.state, tt.memory, got, tt.want)
		}
	}
	for s, want := range map[Status]string{NoStatus: "", Inactive: "inactive", Active: "active", DiskOnly: "disk-only"} {
		if s.String() != want {
			t.Errorf("Status(%d).String() = %q, want %q", int(s), s.String(), want)
		}
	}
	for k, want := range map[Kind]string{NoKind: "none", Snapshot: "snapshot", Checkpoint: "checkpoint", Kind(7): "unknown kind"} {
		if k.String() != want {
			t.Errorf("Kind(%d).String() = %q, want %q", int(k), k.String(), want)
		}
	}
}

// TestLocation: external = external memory or any external disk (docs/libvirt.md §2
// virDomainSnapshotDefIsExternal); checkpoints have no location.
func TestLocation(t *testing.T) {
	tests := []struct {
		name     string
		d        Def
		external bool
		location string
	}{
		{"internal", Def{Kind: Snapshot, Memory: MemorySpec{Mode: "internal"}, Disks: []DiskSpec{{Name: "vda", Mode: "internal"}}}, false, "internal"},
		{"no memory, no disks", Def{Kind: Snapshot}, false, "internal"},
		{"external memory only", Def{Kind: Snapshot, Memory: MemorySpec{Mode: "external", File: "/m"}, Disks: []DiskSpec{{Name: "vda", Mode: "no"}}}, true, "external"},
		{"one external disk of two", Def{Kind: Snapshot, Memory: MemorySpec{Mode: "no"}, Disks: []DiskSpec{{Name: "vda", Mode: "internal"}, {Name: "vdb", Mode: "external"}}}, true, "external"},
		{"manual disk is not external", Def{Kind: Snapshot, Disks: []DiskSpec{{Name: "vda", Mode: "manual"}}}, false, "internal"},
		{"checkpoint", Def{Kind: Checkpoint, Disks: []DiskSpec{{Name: "vda", Mode: "bitmap"}}}, false, ""},
	}
	for _, tt := range tests {
		if got := tt.d.IsExternal(); got != tt.external {
			t.Errorf("%s: IsExternal = %v, want %v", tt.name, got, tt.external)
		}
		if got := tt.d.Location(); got != tt.location {
			t.Errorf("%s: Location = %q, want %q", tt.name, got, tt.location)
		}
	}
}

// TestCovers: a snapshot covers disks with snapshot internal or external, a checkpoint disks with
// checkpoint='bitmap' (docs/design.md §2).
func TestCovers(t *testing.T) {
	s := &Def{Kind: Snapshot, Disks: []DiskSpec{{Name: "vda", Mode: "internal"}, {Name: "vdb", Mode: "no"},
		{Name: "vdc", Mode: "external"}, {Name: "vdd", Mode: "manual"}, {Name: "vde"}}}
	c := &Def{Kind: Checkpoint, Disks: []DiskSpec{{Name: "vda", Mode: "bitmap"}, {Name: "vdb", Mode: "no"}}}
	tests := []struct {
		d    *Def
		disk string
		want bool
	}{
		{s, "vda", true}, {s, "vdb", false}, {s, "vdc", true}, {s, "vdd", false}, {s, "vde", false}, {s, "vdz", false},
		{c, "vda", true}, {c, "vdb", false}, {c, "vdc", false},
	}
	for _, tt := range tests {
		if got := tt.d.Covers(tt.disk); got != tt.want {
			t.Errorf("%v Covers(%s) = %v, want %v", tt.d.Kind, tt.disk, got, tt.want)
		}
	}
	if got := s.CoveredDisks(); !slices.Equal(got, []string{"vda", "vdc"}) {
		t.Errorf("snapshot CoveredDisks = %v", got)
	}
	if got := c.CoveredDisks(); !slices.Equal(got, []string{"vda"}) {
		t.Errorf("checkpoint CoveredDisks = %v", got)
	}
	if got := (&Def{Kind: Checkpoint}).CoveredDisks(); got != nil {
		t.Errorf("no disks: CoveredDisks = %v", got)
	}
}

// TestEqual: every field counts, the raw XML does not.
func TestEqual(t *testing.T) {
	base := func() *Def {
		return &Def{Kind: Snapshot, Name: "s", Description: "d", Parent: "p", Created: time.Unix(5, 0), HasCreated: true,
			State: "running", Memory: MemorySpec{Mode: "internal"}, Disks: []DiskSpec{{Name: "vda", Mode: "internal"}},
			Active: ptr(true), HasDomain: true}
	}
	changes := map[string]func(*Def){
		"kind":        func(d *Def) { d.Kind = Checkpoint },
		"name":        func(d *Def) { d.Name = "t" },
		"description": func(d *Def) { d.Description = "" },
		"parent":      func(d *Def) { d.Parent = "q" },
		"created":     func(d *Def) { d.Created = time.Unix(6, 0) },
		"hasCreated":  func(d *Def) { d.HasCreated = false },
		"state":       func(d *Def) { d.State = "paused" },
		"memory":      func(d *Def) { d.Memory.Mode = "no" },
		"disks":       func(d *Def) { d.Disks[0].Mode = "no" },
		"no disks":    func(d *Def) { d.Disks = nil },
		"active nil":  func(d *Def) { d.Active = nil },
		"active 0":    func(d *Def) { d.Active = ptr(false) },
		"hasDomain":   func(d *Def) { d.HasDomain = false },
	}
	for name, change := range changes {
		d := base()
		change(d)
		if d.Equal(base()) || base().Equal(d) {
			t.Errorf("%s: changed definition is Equal", name)
		}
	}
	a, b := base(), base()
	a.SetRaw([]byte("<x/>"))
	b.Created = time.Unix(5, 0).UTC() // same instant, other location
	if !a.Equal(b) {
		t.Error("raw XML or time location made definitions unequal")
	}
	var nilDef *Def
	if !nilDef.Equal(nil) || nilDef.Equal(a) || a.Equal(nil) {
		t.Error("nil handling")
	}
}
