package virt

import (
	"errors"
	"fmt"
	"slices"
	"testing"

	"libvirt.org/go/libvirt"

	"github.com/vmoments/vmoments/conf"
	"github.com/vmoments/vmoments/driver"
	"github.com/vmoments/vmoments/driver/internal/load"
	"github.com/vmoments/vmoments/momentlist"
)

func TestClassify(t *testing.T) {
	tests := []struct {
		err  libvirt.Error
		want load.Class
	}{
		{libvirt.Error{Code: libvirt.ERR_RPC, Message: "Too many domain_snapshots '20000' for limit '16384'"}, load.TooMany},
		{libvirt.Error{Code: libvirt.ERR_RPC, Message: "too many remote strings: 20000 > 16384"}, load.TooMany},
		{libvirt.Error{Code: libvirt.ERR_INTERNAL_ERROR, Message: "internal error: Too many domain_checkpoints '17000' for limit '16384'"}, load.TooMany},
		{libvirt.Error{Code: libvirt.ERR_NO_DOMAIN_SNAPSHOT, Message: "Domain snapshot not found: no domain snapshot with matching name 's1'"}, load.Gone},
		{libvirt.Error{Code: libvirt.ERR_NO_DOMAIN_CHECKPOINT, Message: "Domain checkpoint not found: no domain checkpoint with matching name 'c1'"}, load.Gone},
		{libvirt.Error{Code: libvirt.ERR_SYSTEM_ERROR, Message: "Cannot recv data: Connection reset by peer"}, load.ConnLost},
		{libvirt.Error{Code: libvirt.ERR_RPC, Message: "internal error: client socket is closed"}, load.ConnLost},
		{libvirt.Error{Code: libvirt.ERR_INVALID_CONN, Message: "invalid connection pointer in virDomainSnapshotGetXMLDesc"}, load.ConnLost},
		{libvirt.Error{Code: libvirt.ERR_NO_DOMAIN, Message: "Domain not found: no domain with matching uuid"}, load.Other},
	}
	for _, tt := range tests {
		t.Run(tt.err.Message, func(t *testing.T) {
			err := classify(nil, tt.err)
			if got := load.ClassOf(err); got != tt.want {
				t.Errorf("class = %v, want %v", got, tt.want)
			}
			var le libvirt.Error
			if !errors.As(err, &le) || le.Message != tt.err.Message {
				t.Errorf("libvirt.Error not kept: %v", err)
			}
		})
	}
}

func TestWrap(t *testing.T) {
	d := &Driver{uri: "qemu:///system", opts: Options{Hint: func(op string, le libvirt.Error) string {
		if op == "delete snapshot" {
			return "A hint"
		}
		return ""
	}}}
	lerr := libvirt.Error{Code: libvirt.ERR_OPERATION_INVALID, Message: "Requested operation is not valid: snapshot busy"}
	tests := []struct {
		name             string
		domain, moment   string
		op               string
		err              error
		want             string
		wantLibvirtError bool
	}{
		{"libvirt error with moment and hint", "x", "s1", "delete snapshot", lerr,
			`qemu:///system: domain "x": snapshot "s1": Requested operation is not valid: snapshot busy. A hint`, true},
		{"load error names its moment", "x", "", "load",
			&load.MomentError{Kind: conf.Checkpoint, Name: "c 2", Err: &load.Classified{Class: load.ConnLost, Err: lerr}},
			`qemu:///system: domain "x": checkpoint "c 2": Requested operation is not valid: snapshot busy`, true},
		{"parse error of a moment", "x", "", "load",
			&load.MomentError{Kind: conf.Snapshot, Name: "s3", Err: fmt.Errorf("parsing its XML: bad")},
			`qemu:///system: domain "x": snapshot "s3": parsing its XML: bad`, false},
		{"no domain", "", "", "", lerr, `qemu:///system: Requested operation is not valid: snapshot busy`, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := d.wrap(tt.domain, conf.Snapshot, tt.moment, tt.op, tt.err)
			if err.Error() != tt.want {
				t.Errorf("got  %s\nwant %s", err, tt.want)
			}
			var le libvirt.Error
			if errors.As(err, &le) != tt.wantLibvirtError {
				t.Errorf("errors.As(libvirt.Error) = %v, want %v", !tt.wantLibvirtError, tt.wantLibvirtError)
			}
			var de *driver.Error
			if !errors.As(err, &de) {
				t.Errorf("not a *driver.Error: %T", err)
			}
		})
	}
}

func def(name, parent string, disks ...string) *conf.Def {
	d := &conf.Def{Kind: conf.Snapshot, Name: name, Parent: parent, State: "running", HasCreated: true}
	for _, n := range disks {
		d.Disks = append(d.Disks, conf.DiskSpec{Name: n, Mode: "internal"})
	}
	return d
}

// shape lists every moment with its children in child-list order.
func shape(l *momentlist.List) []string {
	var out []string
	var walk func(m *momentlist.Moment)
	walk = func(m *momentlist.Moment) {
		children := func() []*momentlist.Moment {
			if m != nil {
				return m.Children()
			}
			roots, _ := l.Select(nil, momentlist.Roots) // the roots in child-list order
			return roots
		}()
		var kids []string
		for _, c := range children {
			kids = append(kids, c.Name())
		}
		name := "(roots)"
		if m != nil {
			name = m.Name()
		}
		out = append(out, fmt.Sprint(name, kids))
		for _, c := range children {
			walk(c)
		}
	}
	walk(nil)
	return out
}

func TestCloneList(t *testing.T) {
	l := momentlist.New(conf.Snapshot)
	// Built by create (children newest first) and redefine (re-parented first).
	if err := l.Load([]*conf.Def{def("a", "", "vda"), def("b", "a", "vda"), def("c", "a"), def("d", "b", "vdb"), def("e", "")}, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Redefine(def("b", "e", "vda"), momentlist.KeepCurrent); err != nil {
		t.Fatal(err)
	}
	l.SetCurrent(l.Find("d"))
	c := l.Clone()
	if got, want := shape(c), shape(l); !slices.Equal(got, want) {
		t.Errorf("clone's tree %v, want %v", got, want)
	}
	if c.Current() == nil || c.Current().Name() != "d" || c.CurrentRule() != momentlist.CurrentSet {
		t.Errorf("clone's current = %v (%v), want d (set)", c.Current(), c.CurrentRule())
	}
	l.Revert(l.Find("c"))
	if r := l.Clone().CurrentRule(); r != momentlist.CurrentReverted {
		t.Errorf("clone's rule = %v, want the original's (reverted)", r)
	}
	// Changing the clone leaves the original alone.
	if err := c.Delete(c.Find("b"), momentlist.DeletePlain); err != nil {
		t.Fatal(err)
	}
	c.Find("a").Def().Disks[0].Name = "changed"
	if l.Find("d").Def().Parent != "b" || l.Find("a").Def().Disks[0].Name != "vda" || l.Len() != 5 {
		t.Errorf("changing the clone changed the original: d's parent %q, a's disk %q, %d moments",
			l.Find("d").Def().Parent, l.Find("a").Def().Disks[0].Name, l.Len())
	}
}
