package momentlist

import (
	"errors"
	"testing"

	"github.com/vmoments/vmoments/conf"
)

// Every error is classed for errors.Is, with libvirt's message untouched.
func TestErrorClasses(t *testing.T) {
	l := libvirtExample(t, conf.Snapshot)
	other := New(conf.Snapshot)
	foreign := ok(other.Create(snap("x", "", "running")))
	tests := []struct {
		name  string
		err   error
		class error
		msg   string
	}{
		{"add duplicate", second(l.add(snap("s1", "", "running"))), ErrExists, "operation failed: domain moment s1 already exists"},
		{"create duplicate", second(l.Create(snap("s1", "", "running"))), ErrExists, "operation failed: domain moment s1 already exists"},
		{"own parent", l.checkCycles(snap("s1", "s1", "")), ErrInvalidArg, "invalid argument: cannot set moment s1 as its own parent"},
		{"parent not found", l.checkCycles(snap("s9", "s0", "")), ErrInvalidArg, "invalid argument: parent s0 for moment s9 not found"},
		{"cycle", l.checkCycles(snap("s1", "s8", "")), ErrInvalidArg, "invalid argument: parent s7 would create cycle to s1"},
		{"foreign from", second(l.Select(foreign, 0)), ErrInvalidArg, "moment x is not in this snapshot list"},
		{"nil def", second(l.Redefine(nil, KeepCurrent)), ErrInvalidArg, "moment definition is nil"},
		{"add unnamed", second(l.add(snap("", "", ""))), ErrInvalidArg, "snapshot definition has no name"},
		{"unnamed", second(l.Redefine(snap("", "", ""), KeepCurrent)), ErrInvalidArg, "a redefined snapshot must have a name"},
		{"select bits", second(New(conf.Checkpoint).Select(nil, Active)), ErrUnsupportedFlags,
			"unsupported flags (0x80) in function momentlist.List.Select: checkpoint has no active filter"},
		{"snapshot flags", second(FromLibvirt(conf.Snapshot, 1<<12)), ErrUnsupportedFlags, "unsupported flags (0x1000) in function momentlist.FromLibvirt"},
		{"delete mode", l.Delete(l.Find("s1"), 3), ErrUnsupportedFlags, "unsupported delete mode DeleteMode(3) for snapshot s1"},
	}
	for _, tt := range tests {
		if tt.err == nil || !errors.Is(tt.err, tt.class) || tt.err.Error() != tt.msg {
			t.Errorf("%s: %v (class %v), want %q (class %v)", tt.name, tt.err, errors.Is(tt.err, tt.class), tt.msg, tt.class)
		}
		for _, c := range []error{ErrExists, ErrInvalidArg, ErrUnsupportedFlags} {
			if c != tt.class && errors.Is(tt.err, c) {
				t.Errorf("%s: also matches %v", tt.name, c)
			}
		}
	}
	// Load's joined errors keep their classes
	err := New(conf.Snapshot).Load([]*conf.Def{snap("a", "", ""), snap("a", "", ""), snap("b", "q", "")}, "zz")
	if !errors.Is(err, ErrExists) || !errors.Is(err, ErrInvalidArg) || !errors.Is(err, ErrInconsistent) {
		t.Errorf("Load errors lost their classes: %v", err)
	}
}

func second[T any](_ T, err error) error { return err }
