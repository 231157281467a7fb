package conf

import (
	"testing"
	"time"
)

func TestDefClone(t *testing.T) {
	active := true
	d := &Def{Kind: Snapshot, Name: "s1", Parent: "s0", Created: time.Unix(1600000000, 0), HasCreated: true,
		State: "running", Disks: []DiskSpec{{Name: "vda", Mode: "internal"}}, Active: &active}
	d.SetRaw([]byte("<domainsnapshot/>"))
	c := d.Clone()
	if !c.Equal(d) || string(c.Raw()) != string(d.Raw()) {
		t.Fatalf("clone %+v differs from %+v", c, d)
	}
	c.Disks[0].Mode = "external"
	*c.Active = false
	c.Parent = "other"
	if d.Disks[0].Mode != "internal" || !*d.Active || d.Parent != "s0" {
		t.Fatalf("changing the clone changed the original: %+v", d)
	}
	if n := (&Def{Name: "bare"}).Clone(); n.Disks != nil || n.Active != nil {
		t.Fatalf("clone of a bare definition grew fields: %+v", n)
	}
}
