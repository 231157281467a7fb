package policy

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/vmoments/vmoments/conf"
	"github.com/vmoments/vmoments/momentlist"
)

// Why is one reason to keep a moment: a rule of the policy, or a protection.
type Why int

// The reasons, in the order a decision lists them.
const (
	// KeepLast: among the Last newest candidates.
	KeepLast Why = iota + 1
	// KeepHourly ... KeepYearly: the newest candidate of one of the latest N periods.
	KeepHourly
	KeepDaily
	KeepWeekly
	KeepMonthly
	KeepYearly
	// KeepWithin: created less than Within before the newest candidate.
	KeepWithin
	// NotMatched: Policy.Match does not match the name, so it is no candidate.
	NotMatched
	// NoCreationTime: the definition has no creation time, so no rule can place it.
	NoCreationTime
	// InFuture: created after now; no rule places it (see the package documentation).
	InFuture
	// Current: the list's current moment (libvirt's current snapshot; the current checkpoint).
	Current
	// CurrentForDisks: the current moment of the disks in Reason.Disks.
	CurrentForDisks
	// NewestForDisks: a checkpoint list without a current checkpoint (libvirt's pointer is not
	// known), and this is the newest checkpoint covering the disks in Reason.Disks: the usual
	// start of their next incremental backup.
	NewestForDisks
	// Refused: libvirt would refuse to delete it; Reason.Detail has libvirt's words.
	Refused
)

// String is the reason's name as plans print it ("daily", "not matched", ...).
func (w Why) String() string {
	switch w {
	case KeepLast:
		return "last"
	case KeepHourly:
		return "hourly"
	case KeepDaily:
		return "daily"
	case KeepWeekly:
		return "weekly"
	case KeepMonthly:
		return "monthly"
	case KeepYearly:
		return "yearly"
	case KeepWithin:
		return "within"
	case NotMatched:
		return "not matched"
	case NoCreationTime:
		return "no creation time"
	case InFuture:
		return "in the future"
	case Current:
		return "current"
	case CurrentForDisks:
		return "current for disks"
	case NewestForDisks:
		return "newest for disks"
	case Refused:
		return "refused"
	}
	return "Why(" + strconv.Itoa(int(w)) + ")"
}

// Rule reports whether w is a keep rule of the policy rather than a protection.
func (w Why) Rule() bool { return w >= KeepLast && w <= KeepWithin }

// period is the calendar period of a counting rule ("day" for KeepDaily).
func (w Why) period() string {
	switch w {
	case KeepHourly:
		return "hour"
	case KeepDaily:
		return "day"
	case KeepWeekly:
		return "week"
	case KeepMonthly:
		return "month"
	case KeepYearly:
		return "year"
	}
	return "moment"
}

// Reason is one reason why a moment is kept.
type Reason struct {
	Why Why
	// Rank is, for KeepLast, the moment's place among the newest candidates (1 = the newest);
	// for the calendar rules, the period's place among the latest periods (1 = the latest).
	// Count is the rule's N.
	Rank, Count int
	// Period names the calendar period of a calendar rule, in the policy's location:
	// "2025-03-07 14h", "2025-03-07", "2025-W10", "2025-03", "2025".
	Period string
	// Within is the rule's duration, for KeepWithin.
	Within Duration
	// Disks are the disks a CurrentForDisks moment is the current moment of, or a
	// NewestForDisks moment the newest for.
	Disks []string
	// Detail is, for Refused, libvirt's message for the refusal.
	Detail string
}

// String says the reason in words: "last 1/3", "daily 2025-03-07 (2/7)", "within 30d of the
// newest", "current for vda, vdb", "newest for vdb (no current checkpoint known)", "libvirt
// refuses: deleting external snapshot that has
// internal snapshot as parent not supported".
func (r Reason) String() string {
	switch r.Why {
	case KeepLast:
		return fmt.Sprintf("last %d/%d", r.Rank, r.Count)
	case KeepHourly, KeepDaily, KeepWeekly, KeepMonthly, KeepYearly:
		return fmt.Sprintf("%s %s (%d/%d)", r.Why, r.Period, r.Rank, r.Count)
	case KeepWithin:
		return "within " + r.Within.String() + " of the newest"
	case CurrentForDisks:
		return "current for " + strings.Join(r.Disks, ", ")
	case NewestForDisks:
		return "newest for " + strings.Join(r.Disks, ", ") + " (no current checkpoint known)"
	case Refused:
		return "libvirt refuses: " + r.Detail
	}
	return r.Why.String()
}

// Decision is the plan for one moment.
type Decision struct {
	// Moment is the moment in the list given to Plan.
	Moment *momentlist.Moment
	// Keep says the moment stays; Reasons then holds every reason, in the order of the Why
	// constants (empty for a moment to delete).
	Keep    bool
	Reasons []Reason
}

// Name is the moment's name.
func (d Decision) Name() string { return d.Moment.Name() }

// Has reports whether one of the decision's reasons is w.
func (d Decision) Has(w Why) bool {
	return slices.ContainsFunc(d.Reasons, func(r Reason) bool { return r.Why == w })
}

// Result is a plan: a decision for every moment of the list and the order of the deletes.
type Result struct {
	Kind   conf.Kind
	Policy Policy
	// Deletion is how the deletes will be made (what the refusals were judged by).
	Deletion Deletion
	// Now is the time the plan was made for.
	Now time.Time
	// Newest is the newest candidate, the reference of Within (nil when there is none).
	Newest *momentlist.Moment
	// Cutoff is Within's cutoff (zero when Within is not used or there is no candidate).
	Cutoff time.Time
	// Moments are the decisions for every moment of the list, newest first (the package
	// documentation's order; moments without a creation time last).
	Moments []Decision
	// Delete are the names of the moments to delete, in the order to delete them.
	Delete []string
}

// Kept returns the number of moments the plan keeps.
func (r *Result) Kept() int { return len(r.Moments) - len(r.Delete) }

// Plan decides, for every moment of list, whether p keeps it and why, as of now, for deletes
// made as how says (which decides what libvirt would refuse). It does not change list. The
// only errors are those of p.Validate.
func Plan(list *momentlist.List, p Policy, now time.Time, how Deletion) (*Result, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	loc := p.location()
	res := &Result{Kind: list.Kind(), Policy: p, Deletion: how, Now: now}
	all := list.All()
	ord := newOrder(all)
	decs := make(map[*momentlist.Moment]*Decision, len(all))
	for _, m := range all {
		decs[m] = &Decision{Moment: m}
	}
	keep := func(m *momentlist.Moment, r Reason) { decs[m].Reasons = append(decs[m].Reasons, r) }

	// The candidates, newest first.
	var cands []*momentlist.Moment
	for _, m := range all {
		d := m.Def()
		switch {
		case p.Match != nil && !p.Match.MatchString(m.Name()):
			keep(m, Reason{Why: NotMatched})
		case !d.HasCreated:
			keep(m, Reason{Why: NoCreationTime})
		case d.Created.After(now):
			keep(m, Reason{Why: InFuture})
		default:
			cands = append(cands, m)
		}
	}
	slices.SortFunc(cands, func(a, b *momentlist.Moment) int { return ord.compare(b, a) })

	// The rules, in the order of the Why constants.
	for _, r := range p.counts() {
		if r.n == 0 {
			continue
		}
		seen := map[string]bool{}
		for i, m := range cands {
			if len(seen) == r.n {
				break
			}
			key := strconv.Itoa(i)
			if r.why != KeepLast {
				key = periodOf(r.why, m.Def().Created.In(loc))
			}
			if seen[key] {
				continue // an older moment of a period already kept
			}
			seen[key] = true
			reason := Reason{Why: r.why, Rank: len(seen), Count: r.n}
			if r.why != KeepLast {
				reason.Period = key
			}
			keep(m, reason)
		}
	}
	if len(cands) > 0 {
		res.Newest = cands[0]
	}
	if !p.Within.IsZero() && len(cands) > 0 {
		res.Cutoff = p.Within.Before(cands[0].Def().Created.In(loc))
		for _, m := range cands {
			if !m.Def().Created.After(res.Cutoff) {
				break
			}
			keep(m, Reason{Why: KeepWithin, Within: p.Within})
		}
	}

	// The protections.
	if c := list.Current(); c != nil {
		keep(c, Reason{Why: Current})
	}
	disks := map[*momentlist.Moment][]string{}
	for disk, m := range list.CurrentFor() {
		disks[m] = append(disks[m], disk)
	}
	for m, ds := range disks {
		slices.Sort(ds)
		keep(m, Reason{Why: CurrentForDisks, Disks: ds})
	}
	if list.Kind() == conf.Checkpoint && list.Current() == nil {
		newest := map[string]*momentlist.Moment{}
		for _, m := range all {
			for _, disk := range m.Def().CoveredDisks() {
				if n := newest[disk]; n == nil || ord.compare(m, n) > 0 {
					newest[disk] = m
				}
			}
		}
		byMoment := map[*momentlist.Moment][]string{}
		for disk, m := range newest {
			byMoment[m] = append(byMoment[m], disk)
		}
		for m, ds := range byMoment {
			slices.Sort(ds)
			keep(m, Reason{Why: NewestForDisks, Disks: ds})
		}
	}

	// What remains is deleted unless libvirt would refuse, judged step by step.
	var doomed []*momentlist.Moment
	for _, m := range all {
		if len(decs[m].Reasons) == 0 {
			doomed = append(doomed, m)
		}
	}
	order, refused := how.simulate(list, doomed)
	for m, why := range refused {
		keep(m, Reason{Why: Refused, Detail: why})
	}
	res.Delete = order

	res.Moments = make([]Decision, 0, len(all))
	for _, m := range all {
		d := decs[m]
		d.Keep = len(d.Reasons) > 0
		slices.SortStableFunc(d.Reasons, func(a, b Reason) int { return cmp.Compare(a.Why, b.Why) })
		res.Moments = append(res.Moments, *d)
	}
	slices.SortFunc(res.Moments, func(a, b Decision) int { return ord.compare(b.Moment, a.Moment) })
	return res, nil
}

// periodOf names the calendar period of rule w that t (in the policy's location) falls in.
func periodOf(w Why, t time.Time) string {
	switch w {
	case KeepHourly:
		return t.Format("2006-01-02 15h")
	case KeepDaily:
		return t.Format("2006-01-02")
	case KeepWeekly:
		y, wk := t.ISOWeek()
		return fmt.Sprintf("%04d-W%02d", y, wk)
	case KeepMonthly:
		return t.Format("2006-01")
	case KeepYearly:
		return t.Format("2006")
	}
	panic("policy: no period for " + w.String())
}

// order is the package documentation's "newest" order: creation time, then depth in the tree,
// then name. Moments without a creation time come before all others (the oldest), by name.
type order struct {
	depth map[*momentlist.Moment]int
}

func newOrder(all []*momentlist.Moment) order {
	o := order{depth: make(map[*momentlist.Moment]int, len(all))}
	var chain []*momentlist.Moment
	for _, m := range all {
		chain = chain[:0]
		d := 0
		for x := m; x != nil; x = x.Parent() {
			if k, ok := o.depth[x]; ok {
				d = k + 1
				break
			}
			chain = append(chain, x)
		}
		// chain[len-1] is the topmost moment without a known depth, at depth d.
		for i := len(chain) - 1; i >= 0; i-- {
			o.depth[chain[i]] = d
			d++
		}
	}
	return o
}

// compare orders a before b (-1) when a is older.
func (o order) compare(a, b *momentlist.Moment) int {
	da, db := a.Def(), b.Def()
	if da.HasCreated != db.HasCreated {
		if da.HasCreated {
			return 1
		}
		return -1
	}
	if c := da.Created.Compare(db.Created); c != 0 && da.HasCreated {
		return c
	}
	if c := cmp.Compare(o.depth[a], o.depth[b]); c != 0 {
		return c
	}
	return strings.Compare(a.Name(), b.Name())
}
