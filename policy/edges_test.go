package policy

import (
	"testing"
	"time"

	"github.com/vmoments/vmoments/conf"
)

// TestBucketEdges: calendar periods at daylight saving changes, at year and week boundaries, in
// zones with odd offsets; equal creation times; moments in the future.
func TestBucketEdges(t *testing.T) {
	ny := zone(t, "America/New_York")
	ktm := zone(t, "Asia/Kathmandu") // +05:45
	utc := time.UTC
	// utcAt builds items from UTC instants, so that repeated wall-clock hours can be named.
	u := func(name, when string) mom { return mom{name: name, created: at(t, utc, when)} }
	tests := []struct {
		name   string
		loc    *time.Location
		policy Policy
		ms     []mom
		now    time.Time
		want   string
	}{
		{
			// 2024-11-03 in New York: 01:00 to 01:59 happens twice (EDT, then EST).
			name: "the hour that happens twice is one hourly period", loc: ny, policy: Policy{Hourly: 2},
			ms:   []mom{u("a", "2024-11-03 05:10"), u("b", "2024-11-03 05:50"), u("c", "2024-11-03 06:05"), u("d", "2024-11-03 07:10")},
			want: "d: hourly 2024-11-03 02h (1/2)\nc: hourly 2024-11-03 01h (2/2)\nb: delete\na: delete\norder: b a\n",
		},
		{
			name: "the 25-hour day is one daily period", loc: ny, policy: Policy{Daily: 2},
			ms:   []mom{u("a", "2024-11-02 03:59"), u("b", "2024-11-03 04:00"), u("c", "2024-11-04 04:59"), u("d", "2024-11-04 05:00")},
			want: "d: daily 2024-11-04 (1/2)\nc: daily 2024-11-03 (2/2)\nb: delete\na: delete\norder: b a\n",
		},
		{
			// 2024-03-10 in New York: 01:59 EST is followed by 03:00 EDT; there is no 02h.
			name: "the hour skipped in spring is no period", loc: ny, policy: Policy{Hourly: 2},
			// 01:30 EST and 03:10 EDT are 40 minutes apart, in two periods.
			ms:   []mom{u("a", "2024-03-10 06:30"), u("b", "2024-03-10 07:10"), u("c", "2024-03-10 07:50")},
			want: "c: hourly 2024-03-10 03h (1/2)\nb: delete\na: hourly 2024-03-10 01h (2/2)\norder: b\n",
		},
		{
			// A calendar day across the autumn change is 25 real hours; 24h is 24.
			name: "within 1d over the autumn change is 25 hours", loc: ny, policy: Policy{Within: Duration{Days: 1}},
			ms:   []mom{u("a", "2024-11-02 15:59"), u("b", "2024-11-02 16:01"), u("c", "2024-11-03 17:00")},
			want: "c: within 1d of the newest\nb: within 1d of the newest\na: delete\norder: a\n",
		},
		{
			name: "within 24h over the autumn change is 24 hours", loc: ny, policy: Policy{Within: Duration{Hours: 24}},
			ms:   []mom{u("a", "2024-11-02 16:01"), u("b", "2024-11-02 17:01"), u("c", "2024-11-03 17:00")},
			want: "c: within 24h of the newest\nb: within 24h of the newest\na: delete\norder: a\n",
		},
		{
			// 31 December 2024 is a Tuesday: its week is 2025-W01, with 30 December.
			name: "the week across new year", loc: utc, policy: Policy{Weekly: 2},
			ms:   []mom{u("a", "2024-12-29 12:00"), u("b", "2024-12-30 00:00"), u("c", "2025-01-01 09:00")},
			want: "c: weekly 2025-W01 (1/2)\nb: delete\na: weekly 2024-W52 (2/2)\norder: b\n",
		},
		{
			name: "years are calendar years, not ISO week years", loc: utc, policy: Policy{Yearly: 2},
			ms:   []mom{u("a", "2024-12-29 12:00"), u("b", "2024-12-31 23:59:59"), u("c", "2025-01-01 00:00")},
			want: "c: yearly 2025 (1/2)\nb: yearly 2024 (2/2)\na: delete\norder: a\n",
		},
		{
			// 2020 has 53 ISO weeks: 31 December 2020 (Thursday) to 3 January 2021 are 2020-W53.
			name: "week 53", loc: utc, policy: Policy{Weekly: 3},
			ms:   []mom{u("a", "2020-12-27 23:00"), u("b", "2020-12-31 10:00"), u("c", "2021-01-03 23:59:59"), u("d", "2021-01-04 00:00")},
			want: "d: weekly 2021-W01 (1/3)\nc: weekly 2020-W53 (2/3)\nb: delete\na: weekly 2020-W52 (3/3)\norder: b\n",
		},
		{
			name: "the periods are the location's: UTC", loc: utc, policy: Policy{Daily: 5},
			ms:   []mom{u("a", "2025-06-01 18:10"), u("b", "2025-06-01 18:20")},
			want: "b: daily 2025-06-01 (1/5)\na: delete\norder: a\n",
		},
		{
			// The same instants in Kathmandu (+05:45) are 23:55 and 00:05: two days.
			name: "the periods are the location's: Kathmandu", loc: ktm, policy: Policy{Daily: 5, Hourly: 1},
			ms:   []mom{u("a", "2025-06-01 18:10"), u("b", "2025-06-01 18:20")},
			want: "b: hourly 2025-06-02 00h (1/1); daily 2025-06-02 (1/5)\na: daily 2025-06-01 (2/5)\norder: \n",
		},
		{
			name: "equal times in a chain: the deepest is the newest", loc: utc, policy: Policy{Last: 2},
			ms: []mom{
				{name: "z", created: at(t, utc, "2025-01-01 00:00")},
				{name: "y", parent: "z", created: at(t, utc, "2025-01-01 00:00")},
				{name: "x", parent: "y", created: at(t, utc, "2025-01-01 00:00")},
			},
			want: "x: last 1/2\ny: last 2/2\nz: delete\norder: z\n",
		},
		{
			name: "equal times and depths: the greater name is the newest", loc: utc, policy: Policy{Last: 1, Daily: 1},
			ms: []mom{
				{name: "p", created: at(t, utc, "2025-01-01 00:00")},
				{name: "b10", parent: "p", created: at(t, utc, "2025-01-01 00:00")},
				{name: "b9", parent: "p", created: at(t, utc, "2025-01-01 00:00")},
			},
			want: "b9: last 1/1; daily 2025-01-01 (1/1)\nb10: delete\np: delete\norder: b10 p\n",
		},
		{
			name: "an older child: time decides before depth", loc: utc, policy: Policy{Last: 1},
			ms: []mom{
				{name: "p", created: at(t, utc, "2025-01-02 00:00")},
				{name: "c", parent: "p", created: at(t, utc, "2025-01-01 00:00")},
			},
			want: "p: last 1/1\nc: delete\norder: c\n",
		},
		{
			name: "a future moment takes no period", loc: utc, policy: Policy{Daily: 1, Monthly: 1},
			ms:   []mom{u("a", "2025-03-01 08:00"), u("b", "2025-03-01 09:00"), u("c", "2025-03-01 23:00")},
			now:  at(t, utc, "2025-03-01 12:00"),
			want: "c: in the future\nb: daily 2025-03-01 (1/1); monthly 2025-03 (1/1)\na: delete\norder: a\n",
		},
		{
			name: "only future moments: nothing is a candidate", loc: utc, policy: Policy{Last: 1, Within: Duration{Days: 1}},
			ms:   []mom{u("a", "2025-03-02 08:00"), u("b", "2025-03-03 09:00")},
			now:  at(t, utc, "2025-03-01 12:00"),
			want: "b: in the future\na: in the future\norder: \n",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := tc.policy
			p.Location = tc.loc
			now := tc.now
			if now.IsZero() {
				now = at(t, utc, "2030-01-01 00:00")
			}
			ms := tc.ms
			if !treeGiven(ms) {
				for i := 1; i < len(ms); i++ {
					ms[i].parent = ms[i-1].name
				}
			}
			l := build(t, conf.Snapshot, "", ms)
			got := summary(mustPlan(t, l, p, now, Deletion{MetadataOnly: true}))
			if got != tc.want {
				t.Errorf("plan:\n%s\nwant:\n%s", got, tc.want)
			}
		})
	}
}

// treeGiven says whether a test gives parents itself; otherwise its moments form a chain.
func treeGiven(ms []mom) bool {
	for _, m := range ms {
		if m.parent != "" {
			return true
		}
	}
	return false
}
