package momentlist

import (
	"math/rand/v2"
	"testing"

	"github.com/vmoments/vmoments/conf"
)

// Clone copies tree, orders, current and rule; the two lists are then independent.
func TestClone(t *testing.T) {
	for seed := range uint64(200) {
		for _, kind := range []conf.Kind{conf.Snapshot, conf.Checkpoint} {
			r := rand.New(rand.NewPCG(seed, 99))
			l := growForest(t, r, kind, 5+r.IntN(40))
			if r.IntN(3) == 0 {
				ok(l.add(randomDef(r, kind, "unlinked", ""))) // an unlinked moment clones unlinked
			}
			if m := randomMoment(r, l); m != nil && kind == conf.Snapshot {
				active := true
				m.Def().Active = &active // <active> is not read by the List
			}
			c := l.Clone()
			if c.Kind() != kind {
				t.Fatalf("clone kind %v", c.Kind())
			}
			for _, f := range []Filter{0, Topological, Roots} {
				if a, b := names(ok(l.Select(nil, f))), names(ok(c.Select(nil, f))); a != b {
					t.Fatalf("seed %d %v: original %q, clone %q", seed, f, a, b)
				}
			}
			if currentName(l) != currentName(c) || l.CurrentRule() != c.CurrentRule() || l.Len() != c.Len() {
				t.Fatalf("seed %d: current %q/%q rule %v/%v", seed, currentName(l), currentName(c), l.CurrentRule(), c.CurrentRule())
			}
			for _, m := range l.All() {
				n := c.Find(m.Name())
				if n == m || n.Def() == m.Def() || !n.Def().Equal(m.Def()) || n.class != m.class {
					t.Fatalf("seed %d: %s not copied faithfully", seed, m.Name())
				}
			}
			if c.Find("unlinked") != nil {
				c.remove(c.Find("unlinked"))
				l.remove(l.Find("unlinked"))
			}
			checkInvariants(t, c)
			before := names(ok(l.Select(nil, Topological)))
			// mutate the clone hard; the original must not move
			for _, m := range c.All() {
				if r.IntN(2) == 0 && c.Find(m.Name()) == m {
					_ = c.Delete(m, DeletePlain)
				}
			}
			ok(c.Create(randomDef(r, kind, "new", "")))
			checkInvariants(t, c)
			checkInvariants(t, l)
			if after := names(ok(l.Select(nil, Topological))); after != before {
				t.Fatalf("seed %d: mutating the clone changed the original", seed)
			}
		}
	}
}
