package policy

import (
	"fmt"
	"strings"
	"testing"
	"time"
	_ "time/tzdata" // the tests' time zones, whatever the machine has installed

	"github.com/vmoments/vmoments/conf"
	"github.com/vmoments/vmoments/momentlist"
)

// zone loads a time zone for a test.
func zone(t testing.TB, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

// at parses "2006-01-02 15:04" (or with ":05") in loc.
func at(t testing.TB, loc *time.Location, s string) time.Time {
	t.Helper()
	for _, layout := range []string{"2006-01-02 15:04:05", "2006-01-02 15:04"} {
		if tm, err := time.ParseInLocation(layout, s, loc); err == nil {
			return tm
		}
	}
	t.Fatalf("bad time %q", s)
	return time.Time{}
}

// mom is one moment of a test history.
type mom struct {
	name, parent string
	created      time.Time
	noTime       bool
	// disks are "name:mode" (snapshots internal/external/no, checkpoints bitmap/no).
	disks []string
	state string
}

// def is the moment's definition of kind.
func (m mom) def(kind conf.Kind) *conf.Def {
	d := &conf.Def{Kind: kind, Name: m.name, Parent: m.parent, Created: m.created.UTC().Truncate(time.Second), HasCreated: !m.noTime}
	if m.noTime {
		d.Created = time.Time{}
	}
	if kind == conf.Snapshot {
		d.State = m.state
		if d.State == "" {
			d.State = "shutoff"
		}
		d.Memory = conf.MemorySpec{Mode: "no"}
	}
	for _, s := range m.disks {
		n, mode, _ := strings.Cut(s, ":")
		d.Disks = append(d.Disks, conf.DiskSpec{Name: n, Mode: mode})
	}
	return d
}

// build loads the moments into a list of kind; current is the current moment ("" for none).
func build(t testing.TB, kind conf.Kind, current string, ms []mom) *momentlist.List {
	t.Helper()
	l := momentlist.New(kind)
	defs := make([]*conf.Def, len(ms))
	for i, m := range ms {
		defs[i] = m.def(kind)
	}
	cur := current
	if kind == conf.Checkpoint {
		cur = ""
	}
	if err := l.Load(defs, cur); err != nil {
		t.Fatal(err)
	}
	if kind == conf.Checkpoint {
		var c *momentlist.Moment
		if current != "" {
			c = l.Find(current)
		}
		l.SetCurrent(c)
	}
	return l
}

// chain makes a chain of moments named by their times: each "NAME@TIME" the child of the one
// before, TIME as at reads it in loc.
func chain(t testing.TB, loc *time.Location, items ...string) []mom {
	t.Helper()
	var out []mom
	for i, it := range items {
		name, when, ok := strings.Cut(it, "@")
		if !ok {
			t.Fatalf("bad item %q", it)
		}
		m := mom{name: name, created: at(t, loc, when)}
		if i > 0 {
			m.parent = out[i-1].name
		}
		out = append(out, m)
	}
	return out
}

// summary is a plan as "name: reason; reason" lines (a deleted moment: "name: delete"), newest
// first, then the delete order.
func summary(r *Result) string {
	var b strings.Builder
	for _, d := range r.Moments {
		if !d.Keep {
			fmt.Fprintf(&b, "%s: delete\n", d.Name())
			continue
		}
		rs := make([]string, len(d.Reasons))
		for i, x := range d.Reasons {
			rs[i] = x.String()
		}
		fmt.Fprintf(&b, "%s: %s\n", d.Name(), strings.Join(rs, "; "))
	}
	fmt.Fprintf(&b, "order: %s\n", strings.Join(r.Delete, " "))
	return b.String()
}

// mustPlan plans or fails the test.
func mustPlan(t testing.TB, l *momentlist.List, p Policy, now time.Time, how Deletion) *Result {
	t.Helper()
	r, err := Plan(l, p, now, how)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// apply deletes the plan's moments from a copy of l in the plan's order, plainly, and returns
// the copy.
func apply(t testing.TB, l *momentlist.List, r *Result) *momentlist.List {
	t.Helper()
	c := l.Clone()
	for _, n := range r.Delete {
		m := c.Find(n)
		if m == nil {
			t.Fatalf("the plan deletes %q, which is not in the list", n)
		}
		if err := c.Delete(m, momentlist.DeletePlain); err != nil {
			t.Fatal(err)
		}
	}
	return c
}
