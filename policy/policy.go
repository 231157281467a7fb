package policy

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Policy is a retention policy: the keep rules and the moments they apply to (see the package
// documentation for the exact semantics). A count of 0 and a zero Within mean the rule is not
// used.
type Policy struct {
	// Last keeps the Last newest candidates.
	Last int
	// Hourly, Daily, Weekly, Monthly and Yearly keep the newest candidate of each of the latest
	// N calendar periods that contain one.
	Hourly, Daily, Weekly, Monthly, Yearly int
	// Within keeps every candidate created less than Within before the newest candidate.
	Within Duration
	// Match, when not nil, limits the candidates to the moments whose names it matches
	// (anywhere in the name, as regexp.MatchString); the others are kept as "not matched".
	Match *regexp.Regexp
	// Location is the time zone of the calendar periods and of Within's calendar part;
	// nil means time.Local.
	Location *time.Location
}

// ErrEmptyPolicy is the error of a policy without any rule: it would keep nothing, and a
// policy that deletes everything is refused rather than guessed at.
var ErrEmptyPolicy = errors.New("empty policy: give at least one keep rule (last, hourly, daily, weekly, monthly, yearly or within)")

// Empty reports whether the policy has no rule.
func (p Policy) Empty() bool {
	return p.Last == 0 && p.Hourly == 0 && p.Daily == 0 && p.Weekly == 0 && p.Monthly == 0 &&
		p.Yearly == 0 && p.Within.IsZero()
}

// Validate returns ErrEmptyPolicy for a policy without rules, and an error naming the rule for
// a negative count or duration.
func (p Policy) Validate() error {
	for _, r := range p.counts() {
		if r.n < 0 {
			return fmt.Errorf("invalid policy: keep %s %d: the count must be 0 (unused) or more", r.why, r.n)
		}
	}
	if p.Within.negative() {
		return fmt.Errorf("invalid policy: keep within %s: the duration must not be negative", p.Within)
	}
	if p.Empty() {
		return ErrEmptyPolicy
	}
	return nil
}

// countRule is one of the counting rules of a policy.
type countRule struct {
	why Why
	n   int
}

// counts returns the counting rules, in the order plans list reasons.
func (p Policy) counts() []countRule {
	return []countRule{{KeepLast, p.Last}, {KeepHourly, p.Hourly}, {KeepDaily, p.Daily},
		{KeepWeekly, p.Weekly}, {KeepMonthly, p.Monthly}, {KeepYearly, p.Yearly}}
}

// String says the policy in words: "keep the 3 newest, the newest of each of the latest 7
// days, every moment within 12h of the newest; only names matching ^nightly-".
func (p Policy) String() string {
	var parts []string
	for _, r := range p.counts() {
		switch {
		case r.n == 0:
		case r.why == KeepLast && r.n == 1:
			parts = append(parts, "the newest")
		case r.why == KeepLast:
			parts = append(parts, fmt.Sprintf("the %d newest", r.n))
		case r.n == 1:
			parts = append(parts, "the newest of the latest "+r.why.period())
		default:
			parts = append(parts, fmt.Sprintf("the newest of each of the latest %d %ss", r.n, r.why.period()))
		}
	}
	if !p.Within.IsZero() {
		parts = append(parts, "every moment within "+p.Within.String()+" of the newest")
	}
	if len(parts) == 0 {
		return "keep nothing (an empty policy)"
	}
	s := "keep " + strings.Join(parts, ", ")
	if p.Match != nil {
		s += "; only names matching " + p.Match.String()
	}
	return s
}

func (p Policy) location() *time.Location {
	if p.Location == nil {
		return time.Local
	}
	return p.Location
}

// Duration is a length of time in calendar units, as restic's --keep-within takes it: years,
// months and days move a time on the calendar (time.Time.AddDate), hours are real hours.
type Duration struct {
	Years, Months, Days, Hours int
}

// IsZero reports whether every unit is 0.
func (d Duration) IsZero() bool { return d == Duration{} }

func (d Duration) negative() bool { return d.Years < 0 || d.Months < 0 || d.Days < 0 || d.Hours < 0 }

// String writes the duration as ParseDuration reads it ("1y6m", "30d", "0h" for zero).
func (d Duration) String() string {
	var b strings.Builder
	for _, u := range []struct {
		n    int
		unit byte
	}{{d.Years, 'y'}, {d.Months, 'm'}, {d.Days, 'd'}, {d.Hours, 'h'}} {
		if u.n != 0 {
			b.WriteString(strconv.Itoa(u.n))
			b.WriteByte(u.unit)
		}
	}
	if b.Len() == 0 {
		return "0h"
	}
	return b.String()
}

// Before returns the time d before t: t moved back on t's calendar by the years, months and
// days (time.Time.AddDate), then by the hours.
func (d Duration) Before(t time.Time) time.Time {
	return t.AddDate(-d.Years, -d.Months, -d.Days).Add(-time.Duration(d.Hours) * time.Hour)
}

// ParseDuration reads a duration as restic's --keep-within does: numbers each followed by a
// unit, y (years), m (months), d (days) or h (hours), in that order, each unit at most once:
// "2y", "1y6m", "30d", "36h", "2y3m4d5h". Note that m is months, not minutes.
func ParseDuration(s string) (Duration, error) {
	var d Duration
	bad := func(why string) (Duration, error) {
		return Duration{}, fmt.Errorf("invalid duration %q: %s (want numbers with the units y, m, d, h in that order, such as 1y6m, 30d or 36h; m is months)", s, why)
	}
	if s == "" {
		return bad("it is empty")
	}
	fields := []*int{&d.Years, &d.Months, &d.Days, &d.Hours}
	next := 0 // the first unit still allowed
	rest := s
	for rest != "" {
		i := 0
		for i < len(rest) && rest[i] >= '0' && rest[i] <= '9' {
			i++
		}
		if i == 0 {
			return bad(fmt.Sprintf("%q does not start with a number", rest))
		}
		if i == len(rest) {
			return bad(fmt.Sprintf("no unit after %s", rest))
		}
		n, err := strconv.Atoi(rest[:i])
		if err != nil || n > 1_000_000 {
			return bad(fmt.Sprintf("%s is too large", rest[:i]))
		}
		u := strings.IndexByte("ymdh", rest[i])
		switch {
		case u < 0:
			return bad(fmt.Sprintf("unknown unit %q", rest[i:i+1]))
		case u < next:
			return bad(fmt.Sprintf("unit %q repeated or out of order", rest[i:i+1]))
		}
		*fields[u] = n
		next = u + 1
		rest = rest[i+1:]
	}
	return d, nil
}
