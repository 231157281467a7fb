package policy

import (
	"fmt"
	"maps"
	"math/rand/v2"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/vmoments/vmoments/conf"
	"github.com/vmoments/vmoments/momentlist"
)

// histories is how many seeded random histories the property tests plan.
const histories = 1500

// zones are the locations random histories use: daylight saving in both hemispheres, a
// 30-minute change (Lord Howe), offsets that are not whole hours (Kathmandu, Chatham).
var zones = []string{"UTC", "America/New_York", "Europe/Berlin", "Australia/Lord_Howe", "Asia/Kathmandu", "Pacific/Chatham"}

// edgeInstants are times random histories cluster around: daylight saving changes, the turn of
// a year, a week with 53 in its year.
var edgeInstants = []string{
	"2024-11-03 05:30", "2024-03-10 06:45", "2024-03-31 00:30", "2024-10-27 00:30", "2024-04-06 15:00",
	"2024-12-31 23:30", "2020-12-31 12:00", "2025-01-05 23:00", "2023-09-23 14:00",
}

// history is a random history: a list, a policy, now.
type history struct {
	list   *momentlist.List
	policy Policy
	now    time.Time
	desc   string
}

// randomHistory makes history number seed: up to 80 moments of one kind in a random tree,
// creation times clustered at one scale (minutes to months) near a random or an edge instant,
// some equal, some out of tree order, some missing, some in the future; a random current and
// random disks; a random non-empty policy.
func randomHistory(t testing.TB, seed uint64) history {
	rng := rand.New(rand.NewPCG(seed, 0x706f6c696379))
	kind := conf.Snapshot
	if rng.IntN(2) == 0 {
		kind = conf.Checkpoint
	}
	loc := zone(t, zones[rng.IntN(len(zones))])
	var base time.Time
	if rng.IntN(2) == 0 {
		base = at(t, time.UTC, edgeInstants[rng.IntN(len(edgeInstants))])
	} else {
		base = time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(rng.Int64N(int64(6 * 365 * 24 * time.Hour))))
	}
	scales := []time.Duration{time.Minute, 20 * time.Minute, time.Hour, 6 * time.Hour, 24 * time.Hour, 7 * 24 * time.Hour, 30 * 24 * time.Hour}
	scale := scales[rng.IntN(len(scales))]
	n := rng.IntN(81)
	ms := make([]mom, n)
	tm := base.Add(-time.Duration(n/2) * scale)
	prefixes := []string{"n-", "m-", "nightly-"}
	for i := range ms {
		switch r := rng.IntN(10); {
		case r == 0: // the same second as the one before
		case r == 1 && i > 0: // out of order: older than its predecessor
			tm = tm.Add(-time.Duration(rng.Int64N(int64(2 * scale))))
		default:
			tm = tm.Add(time.Duration(rng.Int64N(int64(3 * scale))))
		}
		m := mom{name: fmt.Sprintf("%s%d", prefixes[rng.IntN(len(prefixes))], i), created: tm}
		if rng.IntN(40) == 0 {
			m.noTime = true
		}
		switch r := rng.IntN(20); {
		case i == 0 || r == 0:
		case r < 6:
			m.parent = ms[rng.IntN(i)].name
		default:
			m.parent = ms[i-1].name
		}
		if kind == conf.Checkpoint {
			for _, d := range []string{"vda", "vdb", "vdc"} {
				if mode := []string{"bitmap", "bitmap", "no"}[rng.IntN(3)]; true {
					m.disks = append(m.disks, d+":"+mode)
				}
			}
		} else if rng.IntN(3) == 0 {
			m.disks = []string{"vda:external", "vdb:no"}
			if rng.IntN(2) == 0 {
				m.disks = []string{"vda:no", "vdb:external"}
			}
		} else {
			m.disks = []string{"vda:internal", "vdb:internal"}
		}
		ms[i] = m
	}
	current := ""
	if n > 0 && rng.IntN(5) > 0 {
		current = ms[rng.IntN(n)].name
	}
	l := build(t, kind, current, ms)

	var p Policy
	for p.Empty() {
		pick := func(odds int) int {
			if rng.IntN(odds) == 0 {
				return 1 + rng.IntN(8)
			}
			return 0
		}
		p = Policy{Last: pick(4), Hourly: pick(4), Daily: pick(3), Weekly: pick(3), Monthly: pick(3), Yearly: pick(4)}
		if rng.IntN(3) == 0 {
			p.Within = Duration{Years: rng.IntN(2) * rng.IntN(2), Months: rng.IntN(3) * rng.IntN(2), Days: rng.IntN(10) * rng.IntN(2), Hours: rng.IntN(48)}
		}
	}
	if rng.IntN(3) == 0 {
		p.Match = regexp.MustCompile(`^n(ightly)?-`)
	}
	p.Location = loc
	// now: after everything, or somewhere inside the history (some moments are then future).
	now := tm.Add(time.Duration(rng.Int64N(int64(10 * scale))))
	if n > 0 && rng.IntN(4) == 0 {
		now = ms[rng.IntN(n)].created
	}
	desc := fmt.Sprintf("seed %d: %d %ss in %s, scale %v, %s, now %s", seed, n, kind, loc, scale, p, now.In(loc).Format(time.RFC3339))
	return history{list: l, policy: p, now: now, desc: desc}
}

// bruteKeeps is the package documentation's semantics written out directly, apart from Plan:
// for every moment of h, the reasons (by Why) that keep it, with no libvirt refusals.
func bruteKeeps(h history) map[string][]Why {
	l, p, loc := h.list, h.policy, h.policy.Location
	out := map[string][]Why{}
	add := func(name string, w Why) {
		if !slices.Contains(out[name], w) {
			out[name] = append(out[name], w)
		}
	}
	type cand struct {
		name  string
		t     time.Time
		depth int
	}
	// newer says whether a counts as newer than b: time, then depth, then name.
	newer := func(a, b cand) bool {
		if !a.t.Equal(b.t) {
			return a.t.After(b.t)
		}
		if a.depth != b.depth {
			return a.depth > b.depth
		}
		return a.name > b.name
	}
	var cands []cand
	for _, m := range l.All() {
		d := m.Def()
		switch {
		case p.Match != nil && !p.Match.MatchString(m.Name()):
			add(m.Name(), NotMatched)
		case !d.HasCreated:
			add(m.Name(), NoCreationTime)
		case d.Created.After(h.now):
			add(m.Name(), InFuture)
		default:
			depth := 0
			for x := m.Parent(); x != nil; x = x.Parent() {
				depth++
			}
			cands = append(cands, cand{m.Name(), d.Created, depth})
		}
	}
	sort.Slice(cands, func(i, j int) bool { return newer(cands[i], cands[j]) })
	for i := 0; i < p.Last && i < len(cands); i++ {
		add(cands[i].name, KeepLast)
	}
	// The calendar periods, each named by a key computed from the wall clock's fields (weeks by
	// the date of their Monday, not by ISOWeek).
	keys := map[Why]func(time.Time) string{
		KeepHourly: func(t time.Time) string { y, mo, d := t.Date(); return fmt.Sprint(y, mo, d, t.Hour()) },
		KeepDaily:  func(t time.Time) string { y, mo, d := t.Date(); return fmt.Sprint(y, mo, d) },
		KeepWeekly: func(t time.Time) string {
			y, mo, d := t.Date()
			back := (int(t.Weekday()) + 6) % 7 // days since Monday
			return fmt.Sprint(time.Date(y, mo, d-back, 12, 0, 0, 0, time.UTC).Date())
		},
		KeepMonthly: func(t time.Time) string { y, mo, _ := t.Date(); return fmt.Sprint(y, mo) },
		KeepYearly:  func(t time.Time) string { return fmt.Sprint(t.Year()) },
	}
	for w, n := range map[Why]int{KeepHourly: p.Hourly, KeepDaily: p.Daily, KeepWeekly: p.Weekly, KeepMonthly: p.Monthly, KeepYearly: p.Yearly} {
		best := map[string]cand{}
		for _, c := range cands {
			k := keys[w](c.t.In(loc))
			if b, ok := best[k]; !ok || newer(c, b) {
				best[k] = c
			}
		}
		tops := slices.Collect(maps.Values(best))
		sort.Slice(tops, func(i, j int) bool { return newer(tops[i], tops[j]) })
		for i := 0; i < n && i < len(tops); i++ {
			add(tops[i].name, w)
		}
	}
	if !p.Within.IsZero() && len(cands) > 0 {
		nt := cands[0].t.In(loc)
		y, mo, d := nt.Date()
		cut := time.Date(y-p.Within.Years, mo-time.Month(p.Within.Months), d-p.Within.Days, nt.Hour(), nt.Minute(), nt.Second(), nt.Nanosecond(), loc)
		cut = cut.Add(-time.Duration(p.Within.Hours) * time.Hour)
		for _, c := range cands {
			if c.t.After(cut) {
				add(c.name, KeepWithin)
			}
		}
	}
	// The protections, walked up from the current moment by hand.
	if cur := l.Current(); cur != nil {
		add(cur.Name(), Current)
		disks := map[string]bool{}
		for _, m := range l.All() {
			for _, ds := range m.Def().Disks {
				disks[ds.Name] = true
			}
		}
		for disk := range disks {
			for x := cur; x != nil; x = x.Parent() {
				if x.Def().Covers(disk) {
					add(x.Name(), CurrentForDisks)
					break
				}
			}
		}
	}
	if cur := l.Current(); cur == nil && l.Kind() == conf.Checkpoint {
		newest := map[string]cand{}
		for _, m := range l.All() {
			depth := 0
			for x := m.Parent(); x != nil; x = x.Parent() {
				depth++
			}
			c := cand{m.Name(), m.Def().Created, depth} // no creation time: the zero time, the oldest
			for _, ds := range m.Def().Disks {
				if ds.Mode != "bitmap" {
					continue
				}
				if n, ok := newest[ds.Name]; !ok || newer(c, n) {
					newest[ds.Name] = c
				}
			}
		}
		for _, c := range newest {
			add(c.name, NewestForDisks)
		}
	}
	for _, ws := range out {
		slices.Sort(ws)
	}
	return out
}

// whys are a decision's reasons by Why.
func whys(d Decision) []Why {
	var out []Why
	for _, r := range d.Reasons {
		if !slices.Contains(out, r.Why) {
			out = append(out, r.Why)
		}
	}
	slices.Sort(out)
	return out
}

// TestPropertyBruteForce: over seeded random histories, Plan keeps exactly the moments, and
// for exactly the reasons, that a direct implementation of the documented semantics gives; the
// current moment and every disk's current moment are kept; pruning the result again deletes
// nothing and leaves the current and per-disk current moments where they were.
func TestPropertyBruteForce(t *testing.T) {
	var moments, deleted, kept int
	for seed := range uint64(histories) {
		h := randomHistory(t, seed)
		res := mustPlan(t, h.list, h.policy, h.now, Deletion{MetadataOnly: true})
		want := bruteKeeps(h)
		if len(res.Moments) != h.list.Len() {
			t.Fatalf("%s: %d decisions for %d moments", h.desc, len(res.Moments), h.list.Len())
		}
		var wantDelete []string
		for _, d := range res.Moments {
			if got, w := whys(d), want[d.Name()]; !slices.Equal(got, w) {
				t.Fatalf("%s:\n%s: plan keeps for %v, the brute force for %v\n%s", h.desc, d.Name(), got, w, summary(res))
			}
			if d.Keep != (len(want[d.Name()]) > 0) {
				t.Fatalf("%s: %s: Keep %v with reasons %v", h.desc, d.Name(), d.Keep, d.Reasons)
			}
			if !d.Keep {
				wantDelete = append(wantDelete, d.Name())
			}
		}
		if got := slices.Sorted(slices.Values(res.Delete)); !slices.Equal(got, slices.Sorted(slices.Values(wantDelete))) {
			t.Fatalf("%s: deletes %v, the decisions say %v", h.desc, res.Delete, wantDelete)
		}
		after := apply(t, h.list, res)
		again := mustPlan(t, after, h.policy, h.now, Deletion{MetadataOnly: true})
		if len(again.Delete) > 0 {
			t.Fatalf("%s: pruning the result again deletes %v\nfirst plan:\n%s\nsecond:\n%s", h.desc, again.Delete, summary(res), summary(again))
		}
		if a, b := nameOf(h.list.Current()), nameOf(after.Current()); a != b {
			t.Fatalf("%s: the current moment moved from %q to %q", h.desc, a, b)
		}
		if a, b := currentFor(h.list), currentFor(after); a != b {
			t.Fatalf("%s: the per-disk current moments changed from %s to %s", h.desc, a, b)
		}
		moments += h.list.Len()
		deleted += len(res.Delete)
		kept += res.Kept()
	}
	t.Logf("%d histories, %d moments: %d kept, %d deleted; each pruned again deletes nothing", histories, moments, kept, deleted)
}

func nameOf(m *momentlist.Moment) string {
	if m == nil {
		return ""
	}
	return m.Name()
}

// currentFor is a list's per-disk current moments as "disk=name" words, sorted.
func currentFor(l *momentlist.List) string {
	var out []string
	for disk, m := range l.CurrentFor() {
		out = append(out, disk+"="+m.Name())
	}
	slices.Sort(out)
	return strings.Join(out, " ")
}
