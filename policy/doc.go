// Package policy decides which moments of a domain a retention policy keeps, and says why:
// restic's `forget` rules (--keep-last, --keep-hourly ... --keep-yearly over calendar
// periods, --keep-within) brought to libvirt's snapshots and checkpoints, with libvirt's
// own limits underneath. It is pure Go (no libvirt, no cgo): a management tool plans with
// [Plan] on a [momentlist.List] it loaded itself and deletes what the plan says, in the
// plan's order; `vmoments prune` is that, through the driver.
//
// # The rules
//
// A [Policy] has keep rules; a moment is kept when any rule keeps it (the rules are OR-ed),
// and the plan lists every rule that kept it. The rules look at the candidates: the moments
// of the list whose names [Policy.Match] matches (all of them when Match is nil) and that have
// a creation time no later than now. "Newest" orders candidates by creation time; moments
// created in the same second are ordered by their depth in the tree (a moment deeper than
// another counts as newer: a child made in the same second as its parent is the newer one),
// then by name (the greater name, compared byte by byte, counts as newer). So the order is
// total and every plan is reproducible.
//
//   - Last N keeps the N newest candidates.
//   - Hourly N, Daily N, Weekly N, Monthly N and Yearly N divide time into calendar periods of
//     [Policy.Location] (time.Local when nil): hours (:00 to :59), days (00:00 to 23:59),
//     weeks (Monday 00:00 to Sunday 23:59, ISO 8601 weeks: the week of 31 December 2024, a
//     Tuesday, is 2025-W01), months and years. Each candidate falls in the period of its
//     creation time, as the wall clock of the location shows it. Of the periods that contain
//     at least one candidate, the rule takes the N latest (ordered by their newest candidate)
//     and keeps the newest candidate of each. Periods without a candidate do not count: Daily 7 on a domain snapshotted every
//     other day keeps 7 snapshots spanning 13 days. Buckets are wall-clock periods: when the
//     clocks go back (daylight saving time ends), the hour that happens twice is one hourly
//     period, and the day is still one daily period (of 25 hours).
//   - Within D keeps every candidate created less than D before the newest candidate. D is
//     years, months, days and hours ([ParseDuration]: 1y6m, 30d, 36h, 2y3m4d5h); the cutoff is
//     the newest candidate's creation time on the location's calendar moved back by the years,
//     months and days (as time.Time.AddDate does, so 31 March minus one month is 3 March),
//     then by the hours (real hours). A candidate created exactly at the cutoff is not within.
//
// These are restic's rules (its documentation of `forget`, "Removing snapshots according to a
// policy", and its ApplyPolicy), with two differences stated here once. restic gives the moments created after now a place in the
// calendar periods (they count as the newest); here they take part in no rule and are kept as
// "in the future", so that one moment stamped by a wrong clock cannot push real ones out of
// their periods. And recent restic releases keep the oldest snapshot too when a rule finds fewer
// periods than its count; here a rule keeps exactly what it says.
//
// A policy without any rule is an error ([ErrEmptyPolicy]), never "delete everything"; so is
// a negative count or duration.
//
// # What is never deleted
//
// Whatever the rules say, the plan keeps, with the reason:
//
//   - the moments Match does not match ("not matched");
//   - moments without a creation time, and those created after now ("in the future");
//   - the current moment of the list: libvirt's current snapshot, or the current checkpoint,
//     which libvirt tracks internally (the parent of the next checkpoint created);
//   - each disk's current moment ([momentlist.List.CurrentFor]): for checkpoints the one whose
//     bitmap the disk's next incremental backup starts from, for snapshots the nearest one at
//     or above the current snapshot that captured the disk;
//   - when a list of checkpoints has no current checkpoint (libvirt keeps its pointer to itself,
//     and after a load of a branched tree its rule gives none), the newest checkpoint that
//     covers each disk, as the likely start of its next incremental backup: a plan that cannot
//     tell where backups continue keeps every candidate for it;
//   - every moment whose delete libvirt would refuse, as far as libvirt's rules say so before
//     anything is tried (see [Deletion] for the rules and libvirt's words).
//
// Deleting the others never changes the current moment or any disk's current moment: deletes
// are plain (a deleted moment's children move up to its parent, as libvirt re-links them), and
// a disk's current moment is the nearest covering one on the chain above the current moment,
// which keeps its place. So a plan made again after its deletes deletes nothing more.
//
// # Order
//
// [Result.Delete] is the order to delete in: leaves first (each moment after every moment of
// its subtree that goes too), so that deletes re-link as few children as possible, and so that
// libvirt judges each delete on the tree as it will be at that step. The plan follows the
// deletes on a copy of the list with libvirt's own tree rules ([momentlist.List.Delete]); a
// moment libvirt would refuse at its step is tried again after the others (its refusal may go
// away, as when its internal parent went first), and kept with libvirt's reason if it still
// would be refused. Deleting in another order may meet refusals the plan did not foresee.
//
// # Example
//
//	p := policy.Policy{Daily: 7, Weekly: 4, Within: policy.Duration{Hours: 12}}
//	res, err := policy.Plan(list, p, time.Now(), policy.Deletion{Active: true})
//	if err != nil {
//		return err // an empty or negative policy
//	}
//	for _, name := range res.Delete {
//		if err := dom.Delete(ctx, list.Kind(), name, 0); err != nil {
//			return err // stop at the first failure: a delete cannot be undone
//		}
//	}
package policy
