package virt

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"libvirt.org/go/libvirt"

	"github.com/vmoments/vmoments/conf"
	"github.com/vmoments/vmoments/driver"
	"github.com/vmoments/vmoments/driver/drivertest"
	"github.com/vmoments/vmoments/momentlist"
)

// randomTree builds a list of n snapshots where each new one hangs below a random earlier one
// (or is a root), with a random current.
func randomTree(r *rand.Rand, n int) *momentlist.List {
	l := momentlist.New(conf.Snapshot)
	var defs []*conf.Def
	for i := range n {
		parent := ""
		if i > 0 && r.IntN(6) != 0 {
			parent = fmt.Sprintf("s%d", r.IntN(i))
		}
		defs = append(defs, def(fmt.Sprintf("s%d", i), parent, "vda"))
	}
	if err := l.Load(defs, ""); err != nil {
		panic(err)
	}
	if k := r.IntN(n + 1); k < n {
		l.SetCurrent(l.Find(fmt.Sprintf("s%d", k)))
	}
	return l
}

// TestLeavesFirstEndState checks the order of DeleteOneByOne against libvirt's own delete (as
// momentlist mirrors it): on random trees, for every moment and both modes, plain deletes in
// leavesFirst order (then the moment itself for CHILDREN) must each delete a leaf and end with
// the tree and the current moment of one CHILDREN / CHILDREN_ONLY delete.
func TestLeavesFirstEndState(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 9))
	cases := 0
	for trial := range 60 {
		base := randomTree(r, 1+r.IntN(25))
		for _, target := range base.All() {
			for _, mode := range []momentlist.DeleteMode{momentlist.DeleteChildrenOnly, momentlist.DeleteChildren} {
				want := base.Clone()
				if err := want.Delete(want.Find(target.Name()), mode); err != nil {
					t.Fatal(err)
				}
				got := base.Clone()
				order := leavesFirst(got.Find(target.Name()))
				if len(order) != target.NumDescendants() {
					t.Fatalf("trial %d: leavesFirst(%s) = %v, want its %d descendants", trial, target.Name(), order, target.NumDescendants())
				}
				if mode == momentlist.DeleteChildren {
					order = append(order, target.Name())
				}
				for _, n := range order {
					m := got.Find(n)
					if m == nil || m.NumChildren() != 0 {
						t.Fatalf("trial %d, %v of %s: %s is deleted when it is not a leaf (order %v)", trial, mode, target.Name(), n, order)
					}
					if err := got.Delete(m, momentlist.DeletePlain); err != nil {
						t.Fatal(err)
					}
				}
				if g, w := shape(got), shape(want); !slices.Equal(g, w) {
					t.Errorf("trial %d, %v of %s: tree %v, want %v", trial, mode, target.Name(), g, w)
				}
				if g, w := got.Current(), want.Current(); (g == nil) != (w == nil) || g != nil && g.Name() != w.Name() {
					t.Errorf("trial %d, %v of %s (current was %v): current %v, want %v", trial, mode, target.Name(), base.Current(), g, w)
				}
				cases++
			}
		}
	}
	t.Logf("%d deletes compared", cases)
}

func TestLeavesFirstOrder(t *testing.T) {
	// w5 -> {w6 -> w7, w8 -> w9 -> w10 -> w11}, linked in that order (children newest first).
	l := momentlist.New(conf.Snapshot)
	var defs []*conf.Def
	for _, d := range [][2]string{{"w5", ""}, {"w6", "w5"}, {"w7", "w6"}, {"w8", "w5"}, {"w9", "w8"}, {"w10", "w9"}, {"w11", "w10"}} {
		defs = append(defs, def(d[0], d[1]))
	}
	if err := l.Load(defs, ""); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		from string
		want []string
	}{
		{"w5", []string{"w11", "w10", "w9", "w8", "w7", "w6"}},
		{"w8", []string{"w11", "w10", "w9"}},
		{"w7", nil},
	}
	for _, tt := range tests {
		if got := leavesFirst(l.Find(tt.from)); !slices.Equal(got, tt.want) {
			t.Errorf("leavesFirst(%s) = %v, want %v", tt.from, got, tt.want)
		}
	}
	// A chain deeper than any recursion would like.
	deep := momentlist.New(conf.Snapshot)
	const depth = 100000
	chain := make([]*conf.Def, depth)
	for i := range depth {
		parent := ""
		if i > 0 {
			parent = fmt.Sprint(i - 1)
		}
		chain[i] = def(fmt.Sprint(i), parent)
	}
	if err := deep.Load(chain, ""); err != nil {
		t.Fatal(err)
	}
	got := leavesFirst(deep.Find("0"))
	if len(got) != depth-1 || got[0] != fmt.Sprint(depth-1) || got[len(got)-1] != "1" {
		t.Errorf("chain of %d: %d names from %s to %s", depth, len(got), got[0], got[len(got)-1])
	}
}

func TestDeleteStepErrorMessage(t *testing.T) {
	d := &Driver{uri: "qemu:///system"}
	lerr := libvirt.Error{Code: libvirt.ERR_OPERATION_FAILED, Message: "operation failed: boom"}
	order := []string{"w11", "w10", "w9", "w8", "w7", "w6", "w5"}
	tests := []struct {
		failAt int
		want   string
	}{
		{0, `qemu:///system: domain "x": snapshot "w11": operation failed: boom. vmoments deletes the descendants of snapshot "w5" one at a time, leaves first (libvirt 9.0 crashes on some deletes with children): none was deleted before "w11"; "w11" and the rest are kept`},
		{2, `qemu:///system: domain "x": snapshot "w9": operation failed: boom. vmoments deletes the descendants of snapshot "w5" one at a time, leaves first (libvirt 9.0 crashes on some deletes with children): 2 deleted before "w9" ("w11", "w10") are gone; "w9" and the rest are kept`},
		{6, `qemu:///system: domain "x": snapshot "w5": operation failed: boom. vmoments deletes the descendants of snapshot "w5" one at a time, leaves first (libvirt 9.0 crashes on some deletes with children): 6 deleted before "w5" ("w11", "w10", "w9", "w8", "w7", ... 1 more) are gone; "w5" and the rest are kept`},
	}
	for _, tt := range tests {
		var done []string
		err := deleteEach(context.Background(), conf.Snapshot, "w5", order, func(n string) error {
			if n == order[tt.failAt] {
				return lerr
			}
			done = append(done, n)
			return nil
		})
		if !slices.Equal(done, order[:tt.failAt]) {
			t.Errorf("fail at %d: deleted %v, want %v", tt.failAt, done, order[:tt.failAt])
		}
		werr := d.wrap("x", conf.Snapshot, "w5", "delete snapshot", classify(nil, err))
		if werr.Error() != tt.want {
			t.Errorf("fail at %d:\ngot  %s\nwant %s", tt.failAt, werr, tt.want)
		}
		var le libvirt.Error
		if !errors.As(werr, &le) || le.Code != libvirt.ERR_OPERATION_FAILED {
			t.Errorf("fail at %d: libvirt.Error not reachable: %v", tt.failAt, werr)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := deleteEach(ctx, conf.Snapshot, "w5", order, func(string) error { t.Error("deleted after cancel"); return nil })
	if !errors.Is(err, context.Canceled) {
		t.Errorf("canceled: %v", err)
	}
}

// openTest opens test:///default as the test driver does, with the QEMU driver's
// DeleteOneByOne, and builds w5 -> {w6 -> w7, w8 -> w9 -> w10 -> w11} with w9 current (the
// shape that crashes libvirt 9.0's QEMU driver; the test driver, libvirt's reference for
// deletes, handles it).
func openTest(t *testing.T, beforeDelete func(string) error) (*Driver, *Domain) {
	t.Helper()
	ctx := context.Background()
	drv, err := Open(ctx, "test:///default", driver.ReadWrite, Options{Single: true, DeleteOneByOne: true, beforeDelete: beforeDelete})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { drv.Close() })
	dom, err := drv.LookupDomain(ctx, "test")
	if err != nil {
		t.Fatal(err)
	}
	create := func(n string) {
		if _, err := dom.CreateSnapshot(ctx, "<domainsnapshot><name>"+n+"</name></domainsnapshot>", 0); err != nil {
			t.Fatal(err)
		}
	}
	revert := func(n string) {
		if err := dom.Revert(ctx, n, 0); err != nil {
			t.Fatal(err)
		}
	}
	create("w5")
	create("w6")
	create("w7")
	revert("w5")
	for _, n := range []string{"w8", "w9", "w10", "w11"} {
		create(n)
	}
	revert("w9")
	return drv, dom
}

func names(t *testing.T, dom *Domain) []string {
	t.Helper()
	ms, err := dom.List(context.Background(), conf.Snapshot, "", momentlist.Topological)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, m := range ms {
		out = append(out, m.Name())
	}
	slices.Sort(out)
	return out
}

// TestDeleteOneByOne deletes with children on the test driver through DeleteOneByOne: the end
// state (checked against libvirt's own answers) is libvirt's, and a delete failing midway
// leaves the ones before it deleted, says so, and the list matches libvirt afterwards.
func TestDeleteOneByOne(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name        string
		target      string
		flags       driver.DeleteFlags
		failAt      string
		wantNames   []string
		wantCurrent string
		wantErr     string
	}{
		{"children only", "w5", driver.DeleteChildrenOnly, "", []string{"w5"}, "w5", ""},
		{"children", "w8", driver.DeleteChildren, "", []string{"w5", "w6", "w7"}, "w5", ""},
		{"children of a leaf", "w7", driver.DeleteChildren, "", []string{"w10", "w11", "w5", "w6", "w8", "w9"}, "w9", ""},
		{"children only, current outside", "w6", driver.DeleteChildrenOnly, "", []string{"w10", "w11", "w5", "w6", "w8", "w9"}, "w9", ""},
		// both flags: libvirt's own refusal, nothing deleted
		{"children and children only", "w5", driver.DeleteChildren | driver.DeleteChildrenOnly, "", []string{"w10", "w11", "w5", "w6", "w7", "w8", "w9"}, "w9",
			`test:///default: domain "test": snapshot "w5": Flags 'VIR_DOMAIN_SNAPSHOT_DELETE_CHILDREN' and 'VIR_DOMAIN_SNAPSHOT_DELETE_CHILDREN_ONLY' are mutually exclusive`},
		{"fails midway", "w5", driver.DeleteChildrenOnly, "w8", []string{"w5", "w6", "w7", "w8"}, "w8",
			`test:///default: domain "test": snapshot "w8": injected failure. vmoments deletes the descendants of snapshot "w5" one at a time, leaves first (libvirt 9.0 crashes on some deletes with children): 3 deleted before "w8" ("w11", "w10", "w9") are gone; "w8" and the rest are kept`},
		{"fails first", "w8", driver.DeleteChildren, "w11", []string{"w10", "w11", "w5", "w6", "w7", "w8", "w9"}, "w9",
			`test:///default: domain "test": snapshot "w11": injected failure. vmoments deletes the descendants of snapshot "w8" one at a time, leaves first (libvirt 9.0 crashes on some deletes with children): none was deleted before "w11"; "w11" and the rest are kept`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			drv, dom := openTest(t, func(n string) error {
				if n == tt.failAt {
					return errors.New("injected failure")
				}
				return nil
			})
			err := dom.Delete(ctx, conf.Snapshot, tt.target, tt.flags)
			if tt.wantErr == "" && err != nil || tt.wantErr != "" && (err == nil || err.Error() != tt.wantErr) {
				t.Errorf("Delete:\ngot  %v\nwant %s", err, tt.wantErr)
			}
			if got := names(t, dom); !slices.Equal(got, tt.wantNames) {
				t.Errorf("snapshots %v, want %v", got, tt.wantNames)
			}
			cur, _, err := dom.Current(ctx, conf.Snapshot)
			if err != nil || cur == nil || cur.Name() != tt.wantCurrent {
				t.Errorf("current %v (%v), want %s", cur, err, tt.wantCurrent)
			}
			drivertest.CheckState(t, drv, dom, conf.Snapshot, "")
			if tt.failAt != "" && !strings.Contains(tt.wantErr, "none was deleted") {
				// The list was loaded afresh: the moments it hands out are libvirt's now.
				if l := dom.kinds[conf.Snapshot].list; l == nil || l.Len() != len(tt.wantNames) {
					t.Errorf("list after the failure: %v, want a fresh load of %d", l, len(tt.wantNames))
				}
			}
		})
	}
}
