package momentlist

import (
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/vmoments/vmoments/conf"
)

func currentName(l *List) string {
	if c := l.Current(); c != nil {
		return c.Name()
	}
	return ""
}

// docs/libvirt.md §2 "Current snapshot": create → current with the previous current as parent (not a
// leaf); redefine → current only with CURRENT; revert → current.
func TestSnapshotCurrentRules(t *testing.T) {
	l := New(conf.Snapshot)
	ok(l.Create(snap("a", "", "running")))
	ok(l.Create(snap("b", "ignored", "running")))
	if l.Find("b").Def().Parent != "a" || currentName(l) != "b" || l.CurrentRule() != CurrentCreated {
		t.Fatalf("create: b's parent %q, current %q (%v)", l.Find("b").Def().Parent, currentName(l), l.CurrentRule())
	}
	l.Revert(l.Find("a"))
	if currentName(l) != "a" || l.CurrentRule() != CurrentReverted {
		t.Fatalf("revert: current %q (%v)", currentName(l), l.CurrentRule())
	}
	c := ok(l.Create(snap("c", "", "running")))
	if c.Parent() != l.Find("a") || c.Def().Parent != "a" {
		t.Fatal("create after revert: parent is not the reverted-to snapshot")
	}
	ok(l.Redefine(snap("d", "b", "running"), KeepCurrent))
	if currentName(l) != "c" {
		t.Fatalf("redefine without CURRENT moved current to %q", currentName(l))
	}
	ok(l.Redefine(snap("e", "", "shutoff"), AsCurrent))
	if currentName(l) != "e" || l.CurrentRule() != CurrentRedefined {
		t.Fatalf("redefine with CURRENT: current %q (%v)", currentName(l), l.CurrentRule())
	}
	l.SetCurrent(l.Find("d"))
	if currentName(l) != "d" || l.CurrentRule() != CurrentSet {
		t.Fatal("SetCurrent")
	}
	l.SetCurrent(nil)
	if l.Current() != nil || l.CurrentRule() != CurrentNone {
		t.Fatal("SetCurrent(nil)")
	}
	checkInvariants(t, l)
}

// docs/libvirt.md §2: loading sets current before the relations are rebuilt; broken relations lose it.
func TestSnapshotLoadCurrent(t *testing.T) {
	l := load(t, conf.Snapshot, "b", snap("a", "", "running"), snap("b", "a", "running"))
	if currentName(l) != "b" || l.CurrentRule() != CurrentLoaded {
		t.Fatalf("loaded current %q (%v)", currentName(l), l.CurrentRule())
	}
	err := l.Load([]*conf.Def{snap("a", "", "running"), snap("b", "x", "running")}, "a")
	if err == nil || !strings.Contains(err.Error(), "moment b lacks parent x") || l.Current() != nil ||
		l.CurrentRule() != CurrentRelationsBroken {
		t.Fatalf("broken load: %v, current %q", err, currentName(l))
	}
	err = l.Load([]*conf.Def{snap("a", "", "running")}, "zz")
	if err == nil || err.Error() != "current snapshot zz not found" || l.Current() != nil || l.Len() != 1 {
		t.Fatalf("unknown current: %v, current %q", err, currentName(l))
	}
}

// docs/libvirt.md §3: libvirt's internal checkpoint current rules.
func TestCheckpointCurrentRules(t *testing.T) {
	t.Run("observed c1 c2 c3 c4", func(t *testing.T) {
		l := New(conf.Checkpoint)
		ok(l.Create(ckpt("c1", "")))
		ok(l.Create(ckpt("c2", "")))
		ok(l.Redefine(ckpt("c3", "c1"), AsCurrent)) // makeCurrent is ignored for checkpoints
		if currentName(l) != "c2" {
			t.Fatalf("c3 redefined under c1 became current (current %q)", currentName(l))
		}
		c4 := ok(l.Create(ckpt("c4", "")))
		if c4.Def().Parent != "c2" || currentName(l) != "c4" || l.CurrentRule() != CurrentCreated {
			t.Fatalf("c4 parent %q, current %q", c4.Def().Parent, currentName(l))
		}
	})
	tests := []struct {
		name    string
		setup   func(l *List)
		def     *conf.Def
		current bool
	}{
		{"parent is current", func(l *List) { ok(l.Create(ckpt("a", ""))) }, ckpt("x", "a"), true},
		{"no current, no parent", func(*List) {}, ckpt("x", ""), true},
		{"no current, some parent", func(l *List) { ok(l.Create(ckpt("a", ""))); l.SetCurrent(nil) }, ckpt("x", "a"), true},
		{"root while a current exists", func(l *List) { ok(l.Create(ckpt("a", ""))) }, ckpt("x", ""), false},
		{"parent not current", func(l *List) { ok(l.Create(ckpt("a", ""))); ok(l.Create(ckpt("b", ""))) }, ckpt("x", "a"), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := New(conf.Checkpoint)
			tt.setup(l)
			before := l.Current()
			m := ok(l.Redefine(tt.def, KeepCurrent))
			if got := l.Current() == m; got != tt.current {
				t.Fatalf("redefined %s current = %v, want %v", m.Name(), got, tt.current)
			}
			if tt.current && l.CurrentRule() != CurrentRedefined || !tt.current && l.Current() != before {
				t.Fatalf("rule %v, current %q", l.CurrentRule(), currentName(l))
			}
		})
	}
}

// docs/libvirt.md §3: after a load, the checkpoint current is the leaf of a single chain, else none.
func TestCheckpointLoadCurrent(t *testing.T) {
	tests := []struct {
		name string
		defs []*conf.Def
		want string
		rule CurrentRule
	}{
		{"empty", nil, "", CurrentNone},
		{"chain", []*conf.Def{ckpt("c1", ""), ckpt("c2", "c1"), ckpt("c3", "c2")}, "c3", CurrentLoadedLeaf},
		{"branched", []*conf.Def{ckpt("c1", ""), ckpt("c2", "c1"), ckpt("c3", "c1")}, "", CurrentLoadBranched},
		{"two roots", []*conf.Def{ckpt("c1", ""), ckpt("c2", "")}, "", CurrentLoadBranched},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := New(conf.Checkpoint)
			if err := l.Load(tt.defs, "c1"); err != nil { // the current argument is ignored
				t.Fatal(err)
			}
			if currentName(l) != tt.want || l.CurrentRule() != tt.rule {
				t.Fatalf("current %q (%v), want %q (%v)", currentName(l), l.CurrentRule(), tt.want, tt.rule)
			}
		})
	}
	l := New(conf.Checkpoint)
	err := l.Load([]*conf.Def{ckpt("c1", ""), ckpt("c2", "gone")}, "")
	if err == nil || l.Current() != nil || l.CurrentRule() != CurrentRelationsBroken {
		t.Fatalf("broken checkpoint load: %v, current %q", err, currentName(l))
	}
}

// docs/design.md §2: nearest moment from current up (itself included) covering the
// disk; the current set is the union.
func TestCurrentFor(t *testing.T) {
	tests := []struct {
		name    string
		kind    conf.Kind
		defs    []*conf.Def
		current string
		want    string // disk=moment, sorted by disk
		set     string
	}{
		{"snapshot chain", conf.Snapshot, []*conf.Def{
			snap("full", "", "running", "vda:internal", "vdb:internal"),
			snap("a", "full", "disk-snapshot", "vda:external", "vdb:no"),
			snap("b", "a", "disk-snapshot", "vda:no", "vdb:external"),
		}, "b", "vda=a vdb=b", "b a"},
		{"Krempa's case: two partial snapshots", conf.Snapshot, []*conf.Def{
			snap("p1", "", "disk-snapshot", "vda:external", "vdb:no"),
			snap("p2", "p1", "disk-snapshot", "vda:no", "vdb:external"),
		}, "p2", "vda=p1 vdb=p2", "p2 p1"},
		{"current covers all", conf.Snapshot, []*conf.Def{
			snap("x", "", "running", "vda:internal"), snap("y", "x", "running", "vda:internal"),
		}, "y", "vda=y", "y"},
		{"nothing covered", conf.Snapshot, []*conf.Def{snap("x", "", "running", "vda:no")}, "x", "", ""},
		{"no current", conf.Snapshot, []*conf.Def{snap("x", "", "running", "vda:internal")}, "", "", ""},
		{"side branch ignored", conf.Snapshot, []*conf.Def{
			snap("r", "", "running", "vda:internal"),
			snap("side", "r", "running", "vdb:internal"),
			snap("cur", "r", "running", "vda:internal"),
		}, "cur", "vda=cur", "cur"},
		{"checkpoint bitmaps", conf.Checkpoint, []*conf.Def{
			ckpt("c1", "", "vda:bitmap", "vdb:bitmap"),
			ckpt("c2", "c1", "vda:bitmap", "vdb:no"),
			ckpt("c3", "c2", "vda:no", "vdb:no"),
		}, "c3", "vda=c2 vdb=c1", "c2 c1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := load(t, tt.kind, "", tt.defs...)
			l.SetCurrent(l.Find(tt.current))
			got := l.CurrentFor()
			var parts []string
			for _, disk := range slices.Sorted(maps.Keys(got)) {
				parts = append(parts, disk+"="+got[disk].Name())
			}
			if s := strings.Join(parts, " "); s != tt.want {
				t.Fatalf("CurrentFor = %q, want %q", s, tt.want)
			}
			if s := names(l.CurrentSet()); s != tt.set {
				t.Fatalf("CurrentSet = %q, want %q", s, tt.set)
			}
			// per-disk Current|NoCurrent partition the list (docs/design.md §2)
			in := ok(l.count(nil, Current|PerDisk))
			out := ok(l.count(nil, NoCurrent|PerDisk))
			if in != len(l.CurrentSet()) || in+out != l.Len() {
				t.Fatalf("per-disk current %d + not current %d, set %d, len %d", in, out, len(l.CurrentSet()), l.Len())
			}
		})
	}
}

func TestCurrentRuleString(t *testing.T) {
	seen := map[string]bool{}
	for r := CurrentNone; r <= CurrentAfterDelete; r++ {
		s := r.String()
		if s == "" || s == "unknown current rule" || seen[s] {
			t.Errorf("CurrentRule(%d).String() = %q (empty, unknown or repeated)", int(r), s)
		}
		seen[s] = true
	}
	if CurrentRule(99).String() != "unknown current rule" {
		t.Error("out-of-range rule")
	}
}
