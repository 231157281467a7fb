package policy

import (
	"errors"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/vmoments/vmoments/conf"
)

// TestRules is one table test per rule, and their combinations, on chains of snapshots without
// a current snapshot (so that only the rules keep anything).
func TestRules(t *testing.T) {
	ny := zone(t, "America/New_York")
	tests := []struct {
		name   string
		policy Policy
		items  []string
		now    string
		want   string
	}{
		{
			name:   "last",
			policy: Policy{Last: 2},
			items:  []string{"a@2025-03-01 10:00", "b@2025-03-02 10:00", "c@2025-03-03 10:00", "d@2025-03-04 10:00"},
			want:   "d: last 1/2\nc: last 2/2\nb: delete\na: delete\norder: b a\n",
		},
		{
			name:   "last more than there are",
			policy: Policy{Last: 10},
			items:  []string{"a@2025-03-01 10:00", "b@2025-03-02 10:00"},
			want:   "b: last 1/10\na: last 2/10\norder: \n",
		},
		{
			name:   "hourly skips hours without moments",
			policy: Policy{Hourly: 2},
			items:  []string{"a@2025-03-07 10:05", "b@2025-03-07 10:50", "c@2025-03-07 11:10", "d@2025-03-07 13:00", "e@2025-03-07 13:59:59"},
			want:   "e: hourly 2025-03-07 13h (1/2)\nd: delete\nc: hourly 2025-03-07 11h (2/2)\nb: delete\na: delete\norder: d b a\n",
		},
		{
			name:   "daily: the newest of each day",
			policy: Policy{Daily: 3},
			items: []string{"a@2025-03-01 08:00", "b@2025-03-01 20:00", "c@2025-03-03 00:00", "d@2025-03-03 23:59:59",
				"e@2025-03-05 12:00", "f@2025-03-06 00:00:01"},
			want: "f: daily 2025-03-06 (1/3)\ne: daily 2025-03-05 (2/3)\nd: daily 2025-03-03 (3/3)\nc: delete\nb: delete\na: delete\norder: c b a\n",
		},
		{
			name:   "weekly: Monday to Sunday",
			policy: Policy{Weekly: 3},
			items: []string{"a@2025-02-24 00:00", "b@2025-03-02 23:59:59", "c@2025-03-03 00:00", "d@2025-03-09 23:00",
				"e@2025-03-10 00:00:00"},
			want: "e: weekly 2025-W11 (1/3)\nd: weekly 2025-W10 (2/3)\nc: delete\nb: weekly 2025-W09 (3/3)\na: delete\norder: c a\n",
		},
		{
			name:   "monthly",
			policy: Policy{Monthly: 2},
			items:  []string{"a@2024-12-31 23:59", "b@2025-01-01 00:00", "c@2025-01-31 23:59", "d@2025-03-01 00:00"},
			want:   "d: monthly 2025-03 (1/2)\nc: monthly 2025-01 (2/2)\nb: delete\na: delete\norder: b a\n",
		},
		{
			name:   "yearly",
			policy: Policy{Yearly: 2},
			items:  []string{"a@2022-06-01 00:00", "b@2023-01-01 00:00", "c@2023-12-31 23:59:59", "d@2025-01-01 00:00"},
			want:   "d: yearly 2025 (1/2)\nc: yearly 2023 (2/2)\nb: delete\na: delete\norder: b a\n",
		},
		{
			name:   "within is strict at the cutoff",
			policy: Policy{Within: Duration{Days: 2}},
			items:  []string{"a@2025-03-01 10:00", "b@2025-03-01 10:00:01", "c@2025-03-02 09:00", "d@2025-03-03 10:00"},
			want:   "d: within 2d of the newest\nc: within 2d of the newest\nb: within 2d of the newest\na: delete\norder: a\n",
		},
		{
			name:   "within counts from the newest, not from now",
			policy: Policy{Within: Duration{Hours: 1}},
			items:  []string{"a@2020-01-01 10:00", "b@2020-01-01 10:30", "c@2020-01-01 11:00"},
			now:    "2025-01-01 00:00",
			want:   "c: within 1h of the newest\nb: within 1h of the newest\na: delete\norder: a\n",
		},
		{
			name:   "within a month of 31 March is from 3 March (AddDate)",
			policy: Policy{Within: Duration{Months: 1}},
			items:  []string{"a@2025-02-28 12:00", "b@2025-03-03 00:00", "c@2025-03-03 00:00:01", "d@2025-03-31 00:00"},
			want:   "d: within 1m of the newest\nc: within 1m of the newest\nb: delete\na: delete\norder: b a\n",
		},
		{
			name:   "within a year of 29 February",
			policy: Policy{Within: Duration{Years: 1}},
			items:  []string{"a@2023-03-01 00:00", "b@2023-03-01 00:00:01", "c@2024-02-29 00:00"},
			want:   "c: within 1y of the newest\nb: within 1y of the newest\na: delete\norder: a\n",
		},
		{
			name:   "rules OR together and each reason is listed",
			policy: Policy{Last: 1, Daily: 2, Weekly: 2, Within: Duration{Hours: 36}},
			items: []string{"a@2025-02-26 09:00", "b@2025-03-02 09:00", "c@2025-03-08 09:00", "d@2025-03-09 09:00",
				"e@2025-03-10 08:00", "f@2025-03-10 09:00"},
			want: "f: last 1/1; daily 2025-03-10 (1/2); weekly 2025-W11 (1/2); within 36h of the newest\n" +
				"e: within 36h of the newest\n" +
				"d: daily 2025-03-09 (2/2); weekly 2025-W10 (2/2); within 36h of the newest\n" +
				"c: delete\nb: delete\na: delete\norder: c b a\n",
		},
		{
			name:   "match limits the candidates",
			policy: Policy{Last: 1, Match: regexp.MustCompile(`^nightly-`)},
			items:  []string{"nightly-1@2025-03-01 00:00", "manual@2025-03-01 12:00", "nightly-2@2025-03-02 00:00", "x-nightly-3@2025-03-03 00:00"},
			want:   "x-nightly-3: not matched\nnightly-2: last 1/1\nmanual: not matched\nnightly-1: delete\norder: nightly-1\n",
		},
		{
			name:   "moments in the future take part in no rule",
			policy: Policy{Last: 1, Daily: 1, Within: Duration{Days: 1}},
			items:  []string{"a@2025-03-01 00:00", "b@2025-03-01 12:00", "c@2025-03-02 00:00", "d@2031-01-01 00:00"},
			now:    "2025-03-05 00:00",
			want: "d: in the future\nc: last 1/1; daily 2025-03-02 (1/1); within 1d of the newest\nb: within 1d of the newest\n" +
				"a: delete\norder: a\n",
		},
		{
			name:   "a moment created exactly now is no future one",
			policy: Policy{Last: 1},
			items:  []string{"a@2025-03-01 00:00", "b@2025-03-05 00:00"},
			now:    "2025-03-05 00:00",
			want:   "b: last 1/1\na: delete\norder: a\n",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := tc.policy
			p.Location = ny
			now := at(t, ny, "2030-01-01 00:00")
			if tc.now != "" {
				now = at(t, ny, tc.now)
			}
			l := build(t, conf.Snapshot, "", chain(t, ny, tc.items...))
			got := summary(mustPlan(t, l, p, now, Deletion{MetadataOnly: true}))
			if got != tc.want {
				t.Errorf("plan:\n%s\nwant:\n%s", got, tc.want)
			}
		})
	}
}

// TestNoCreationTime: a moment without a creation time is kept and takes no place in the rules.
func TestNoCreationTime(t *testing.T) {
	utc := time.UTC
	ms := chain(t, utc, "a@2025-03-01 00:00", "b@2025-03-02 00:00", "c@2025-03-03 00:00")
	ms[2].noTime = true
	l := build(t, conf.Snapshot, "", ms)
	got := summary(mustPlan(t, l, Policy{Last: 1, Location: utc}, at(t, utc, "2026-01-01 00:00"), Deletion{MetadataOnly: true}))
	want := "b: last 1/1\na: delete\nc: no creation time\norder: a\n"
	if got != want {
		t.Errorf("plan:\n%s\nwant:\n%s", got, want)
	}
}

// TestProtections: the current snapshot, the current checkpoint and every disk's current
// checkpoint are kept whatever the rules say, with the disks named.
func TestProtections(t *testing.T) {
	utc := time.UTC
	now := at(t, utc, "2026-01-01 00:00")
	t.Run("current snapshot", func(t *testing.T) {
		l := build(t, conf.Snapshot, "b", chain(t, utc, "a@2025-01-01 00:00", "b@2025-01-02 00:00", "c@2025-01-03 00:00", "d@2025-01-04 00:00"))
		got := summary(mustPlan(t, l, Policy{Last: 1}, now, Deletion{MetadataOnly: true}))
		want := "d: last 1/1\nc: delete\nb: current\na: delete\norder: c a\n"
		if got != want {
			t.Errorf("plan:\n%s\nwant:\n%s", got, want)
		}
	})
	t.Run("per-disk current checkpoints", func(t *testing.T) {
		// c1 covers both disks, c2 vda only, c3 vdb only, c4 vda only and is current: vda's next
		// incremental backup starts from c4, vdb's from c3.
		ms := chain(t, utc, "c1@2025-01-01 00:00", "c2@2025-01-02 00:00", "c3@2025-01-03 00:00", "c4@2025-01-04 00:00", "c5@2025-01-05 00:00")
		ms[0].disks = []string{"vda:bitmap", "vdb:bitmap"}
		ms[1].disks = []string{"vda:bitmap", "vdb:no"}
		ms[2].disks = []string{"vda:no", "vdb:bitmap"}
		ms[3].disks = []string{"vda:bitmap", "vdb:no"}
		ms[4].disks = []string{"vda:bitmap", "vdb:bitmap"}
		l := build(t, conf.Checkpoint, "c4", ms)
		got := summary(mustPlan(t, l, Policy{Last: 1}, now, Deletion{MetadataOnly: true}))
		want := "c5: last 1/1\nc4: current; current for vda\nc3: current for vdb\nc2: delete\nc1: delete\norder: c2 c1\n"
		if got != want {
			t.Errorf("plan:\n%s\nwant:\n%s", got, want)
		}
	})
	t.Run("no current checkpoint: the newest of each disk", func(t *testing.T) {
		// A branched tree loaded afresh has no current checkpoint (libvirt's rule), so where
		// the next incremental backups start is not known: the newest checkpoint of each disk
		// stays.
		ms := chain(t, utc, "c1@2025-01-01 00:00", "c2@2025-01-02 00:00", "c3@2025-01-03 00:00", "c4@2025-01-04 00:00")
		ms[0].disks = []string{"vda:bitmap", "vdb:bitmap"}
		ms[1].disks = []string{"vda:no", "vdb:bitmap"}
		ms[2].disks = []string{"vda:bitmap", "vdb:no"}
		ms[3].disks = []string{"vda:no", "vdb:no"}
		l := build(t, conf.Checkpoint, "", ms)
		got := summary(mustPlan(t, l, Policy{Last: 1}, now, Deletion{MetadataOnly: true}))
		want := "c4: last 1/1\nc3: newest for vda (no current checkpoint known)\nc2: newest for vdb (no current checkpoint known)\nc1: delete\norder: c1\n"
		if got != want {
			t.Errorf("plan:\n%s\nwant:\n%s", got, want)
		}
	})
	t.Run("one moment current for several disks", func(t *testing.T) {
		ms := chain(t, utc, "c1@2025-01-01 00:00", "c2@2025-01-02 00:00")
		ms[0].disks = []string{"vdb:bitmap", "vda:bitmap", "sda:bitmap"}
		ms[1].disks = []string{"vdb:no", "vda:no", "sda:no"}
		l := build(t, conf.Checkpoint, "c2", ms)
		got := summary(mustPlan(t, l, Policy{Last: 1}, now, Deletion{MetadataOnly: true}))
		want := "c2: last 1/1; current\nc1: current for sda, vda, vdb\norder: \n"
		if got != want {
			t.Errorf("plan:\n%s\nwant:\n%s", got, want)
		}
	})
}

// TestEmptyPolicy: an empty policy is an error, never a plan that deletes everything; so are
// negative counts and durations.
func TestEmptyPolicy(t *testing.T) {
	l := build(t, conf.Snapshot, "", chain(t, time.UTC, "a@2025-01-01 00:00"))
	for _, tc := range []struct {
		p    Policy
		want string
	}{
		{Policy{}, ErrEmptyPolicy.Error()},
		{Policy{Match: regexp.MustCompile(".")}, ErrEmptyPolicy.Error()},
		{Policy{Within: Duration{}}, ErrEmptyPolicy.Error()},
		{Policy{Daily: -1}, "invalid policy: keep daily -1: the count must be 0 (unused) or more"},
		{Policy{Last: 1, Within: Duration{Days: -2}}, "invalid policy: keep within -2d: the duration must not be negative"},
	} {
		r, err := Plan(l, tc.p, time.Now(), Deletion{})
		if err == nil || err.Error() != tc.want || r != nil {
			t.Errorf("Plan(%+v) = %v, %v; want the error %q", tc.p, r, err, tc.want)
		}
	}
	if _, err := Plan(l, Policy{}, time.Now(), Deletion{}); !errors.Is(err, ErrEmptyPolicy) {
		t.Errorf("the empty policy's error %v is not ErrEmptyPolicy", err)
	}
}

func TestParseDuration(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Duration
		err  string
	}{
		{in: "2y", want: Duration{Years: 2}},
		{in: "1y6m", want: Duration{Years: 1, Months: 6}},
		{in: "30d", want: Duration{Days: 30}},
		{in: "36h", want: Duration{Hours: 36}},
		{in: "2y3m4d5h", want: Duration{2, 3, 4, 5}},
		{in: "0d", want: Duration{}},
		{in: "", err: "it is empty"},
		{in: "5", err: "no unit after 5"},
		{in: "d", err: `"d" does not start with a number`},
		{in: "1w", err: `unknown unit "w"`},
		{in: "90s", err: `unknown unit "s"`},
		{in: "1d2y", err: `unit "y" repeated or out of order`},
		{in: "1d1d", err: `unit "d" repeated or out of order`},
		{in: "-1d", err: `"-1d" does not start with a number`},
		{in: "99999999999999999999d", err: "is too large"},
		{in: "1d ", err: `" " does not start with a number`},
	} {
		got, err := ParseDuration(tc.in)
		switch {
		case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
			t.Errorf("ParseDuration(%q) = %v, %v; want an error with %q", tc.in, got, err, tc.err)
		case tc.err == "" && (err != nil || got != tc.want):
			t.Errorf("ParseDuration(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
		case tc.err == "" && got.String() != tc.in && !(tc.in == "0d" && got.String() == "0h"):
			t.Errorf("ParseDuration(%q).String() = %q", tc.in, got.String())
		}
	}
}

func TestPolicyString(t *testing.T) {
	for _, tc := range []struct {
		p    Policy
		want string
	}{
		{Policy{Last: 1}, "keep the newest"},
		{Policy{Last: 3, Daily: 7, Weekly: 1, Within: Duration{Hours: 12}, Match: regexp.MustCompile("^n")},
			"keep the 3 newest, the newest of each of the latest 7 days, the newest of the latest week, every moment within 12h of the newest; only names matching ^n"},
		{Policy{}, "keep nothing (an empty policy)"},
	} {
		if got := tc.p.String(); got != tc.want {
			t.Errorf("String() = %q, want %q", got, tc.want)
		}
	}
}
