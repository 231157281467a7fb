package momentlist

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/vmoments/vmoments/conf"
)

// at gives d a creation time of unix seconds.
func at(d *conf.Def, unix int64) *conf.Def {
	d.Created, d.HasCreated = time.Unix(unix, 0).UTC(), true
	return d
}

func newestNames(m map[string]*Moment) map[string]string {
	out := make(map[string]string, len(m))
	for disk, mo := range m {
		out[disk] = mo.Name()
	}
	return out
}

func TestNewestFor(t *testing.T) {
	tests := []struct {
		name string
		defs []*conf.Def
		want map[string]string
	}{
		{"empty", nil, map[string]string{}},
		{
			// The branched tree after a fresh load: libvirt has no current checkpoint, and each
			// disk still has its newest checkpoint.
			"branched",
			[]*conf.Def{
				at(ckpt("c1", "", "vda:bitmap", "vdb:bitmap"), 100),
				at(ckpt("c2", "c1", "vda:bitmap", "vdb:no"), 200),
				at(ckpt("c3", "c1", "vda:no", "vdb:bitmap"), 150),
			},
			map[string]string{"vda": "c2", "vdb": "c3"},
		},
		{
			"same second: the deeper one",
			[]*conf.Def{
				at(ckpt("b", "", "vda:bitmap"), 100),
				at(ckpt("a", "b", "vda:bitmap"), 100),
			},
			map[string]string{"vda": "a"},
		},
		{
			"same second and depth: the greater name",
			[]*conf.Def{
				at(ckpt("r", "", "vda:no"), 50),
				at(ckpt("x", "r", "vda:bitmap"), 100),
				at(ckpt("y", "r", "vda:bitmap"), 100),
			},
			map[string]string{"vda": "y"},
		},
		{
			"no creation time is oldest",
			[]*conf.Def{
				ckpt("untimed", "", "vda:bitmap", "vdb:bitmap"),
				at(ckpt("timed", "untimed", "vda:bitmap", "vdb:no"), 1),
			},
			map[string]string{"vda": "timed", "vdb": "untimed"},
		},
		{
			"snapshots: internal and external cover, no does not",
			[]*conf.Def{
				at(snap("s1", "", "shutoff", "vda:internal", "vdb:internal"), 10),
				at(snap("s2", "s1", "disk-snapshot", "vda:external", "vdb:no"), 20),
			},
			map[string]string{"vda": "s2", "vdb": "s1"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			kind := conf.Checkpoint
			if len(tt.defs) > 0 {
				kind = tt.defs[0].Kind
			}
			l := load(t, kind, "", tt.defs...)
			if got := newestNames(l.NewestFor()); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("NewestFor = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestUncovered(t *testing.T) {
	l := load(t, conf.Checkpoint, "",
		at(ckpt("c1", "", "vda:bitmap", "vdb:no"), 1),
		at(ckpt("c2", "c1", "vda:no", "vdc:bitmap"), 2))
	got := l.Uncovered([]string{"vda", "vdb", "vdc", "vdd", "vdb"})
	if want := []string{"vdb", "vdd"}; !slices.Equal(got, want) {
		t.Errorf("Uncovered = %v, want %v", got, want)
	}
	if got := New(conf.Checkpoint).Uncovered([]string{"vda"}); !slices.Equal(got, []string{"vda"}) {
		t.Errorf("Uncovered on an empty list = %v, want [vda]", got)
	}
	if got := l.Uncovered(nil); got != nil {
		t.Errorf("Uncovered(nil) = %v, want nil", got)
	}
}

// TestNewestForRandom checks NewestFor and Uncovered against a brute-force reading of the
// definitions on random forests with many creation-time ties, in both kinds.
func TestNewestForRandom(t *testing.T) {
	r := rand.New(rand.NewPCG(12, 34))
	disks := []string{"vda", "vdb", "vdc", "vdd"}
	for round := range 300 {
		kind := conf.Kinds[round%2]
		n := 1 + r.IntN(40)
		var defs []*conf.Def
		for i := range n {
			parent := ""
			if i > 0 && r.IntN(5) != 0 {
				parent = defs[r.IntN(i)].Name
			}
			d := randomDef(r, kind, fmt.Sprintf("m%02d", r.IntN(1000)*100+i), parent)
			if r.IntN(8) != 0 {
				at(d, int64(r.IntN(6))) // few distinct seconds: many ties
			}
			defs = append(defs, d)
		}
		l := load(t, kind, "", defs...)

		depth := func(m *Moment) int {
			n := 0
			for ; m != nil; m = m.Parent() {
				n++
			}
			return n
		}
		key := func(m *Moment) [2]int64 {
			sec := int64(-1 << 62)
			if m.Def().HasCreated {
				sec = m.Def().Created.Unix()
			}
			return [2]int64{sec, int64(depth(m))}
		}
		want := map[string]string{}
		var uncovered []string
		for _, disk := range disks {
			var best *Moment
			for _, m := range l.All() {
				if !m.Def().Covers(disk) {
					continue
				}
				if best == nil {
					best = m
					continue
				}
				km, kb := key(m), key(best)
				if km[0] > kb[0] || km[0] == kb[0] && (km[1] > kb[1] || km[1] == kb[1] && m.Name() > best.Name()) {
					best = m
				}
			}
			if best != nil {
				want[disk] = best.Name()
			} else {
				uncovered = append(uncovered, disk)
			}
		}
		if got := newestNames(l.NewestFor()); !reflect.DeepEqual(got, want) {
			t.Fatalf("round %d: NewestFor = %v, want %v", round, got, want)
		}
		if got := l.Uncovered(disks); !slices.Equal(got, uncovered) {
			t.Fatalf("round %d: Uncovered = %v, want %v", round, got, uncovered)
		}
	}
}
