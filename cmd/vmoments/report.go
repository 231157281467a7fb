package main

import (
	"cmp"
	"context"
	"encoding/csv"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/vmoments/vmoments/cmd/vmoments/internal/vsh"
	"github.com/vmoments/vmoments/cmd/vmoments/internal/vshfmt"
	"github.com/vmoments/vmoments/driver"
	"github.com/vmoments/vmoments/fleet"
)

// The options report and exporter share: the connections and the domain patterns.
var fleetOpts = []vsh.Opt{
	{Name: "connect", Kind: vsh.String, OptionOnly: true, Repeat: true,
		Help: "connection URI to read; give it once per host (default: -c, else libvirt's default)"},
	{Name: "hosts", Kind: vsh.String, OptionOnly: true, Help: "file of connection URIs, one per line, # comments"},
	{Name: "parallel", Kind: vsh.String, OptionOnly: true, Help: "hosts read at once (default 8)"},
}

// patternOpt is the last option of both commands: the domain patterns.
var patternOpt = vsh.Opt{Name: "pattern", Kind: vsh.Argv, Optional: true,
	Help: "domain names to read: globs (web-*) or /regular expressions/; none: every domain"}

var reportCmd = vsh.Cmd{
	Name: "report", Summary: "Snapshots and checkpoints of every domain of many hosts, in one table",
	Desc: "Reads every domain (or those a PATTERN selects) of every connection, hosts in parallel, over\n" +
		"    read-only connections, and prints one row per domain: state, snapshots, the current one,\n" +
		"    the oldest and newest (their age), the depth of the tree, external snapshots, the disk space\n" +
		"    the snapshots hold (unknown where it cannot be known, never a guess), checkpoints, the current\n" +
		"    checkpoint and the rule that made it current, and per disk its newest checkpoint and its age\n" +
		"    (the base of its next incremental backup; 'none' when no checkpoint covers the disk).\n" +
		"    A host that cannot be read is one row with its error, and the exit status is then 1; a\n" +
		"    connection that fails is tried again for --retry. --json and --csv are stable formats\n" +
		"    (REPORT.md).",
	Opts: opts(fleetOpts, []vsh.Opt{
		{Name: "json", Kind: vsh.Bool, Help: "print JSON (REPORT.md)"},
		{Name: "csv", Kind: vsh.Bool, Help: "print CSV with a header row (REPORT.md)"},
		{Name: "moments", Kind: vsh.Bool, Help: "list the snapshots and checkpoints themselves, one row each"},
		{Name: "older-than", Kind: vsh.String, OptionOnly: true,
			Help: "keep moments (with --moments) or domains whose oldest moment is older than DURATION (30d, 12h, 1w)"},
		{Name: "sort", Kind: vsh.String, OptionOnly: true,
			Help: "order rows by host (default), domain, snapshots, oldest, newest, depth, size, checkpoints, backup; with --moments by host, domain, name, kind, age"},
		{Name: "retry", Kind: vsh.String, OptionOnly: true,
			Help: "how long a host whose connection fails is tried again (default 15s; 0: once)"},
		patternOpt,
	}),
	Examples: []vsh.Example{
		{Line: "vmoments report", What: "every domain of libvirt's default connection"},
		{Line: "vmoments report --connect qemu+ssh://root@kvm1/system --connect qemu+ssh://root@kvm2/system 'web-*'",
			What: "the web domains of two hosts"},
		{Line: "vmoments report --hosts /etc/vmoments/hosts --sort size", What: "the whole fleet, the most disk space held by snapshots first"},
		{Line: "vmoments report --hosts hosts --moments --older-than 30d", What: "every snapshot and checkpoint older than 30 days"},
		{Line: "vmoments report --hosts hosts --sort backup", What: "the disks whose newest checkpoint is oldest first: backups that stopped"},
		{Line: "vmoments report --json | jq '.hosts[].domains[] | select(.snapshots.count > 3) | .domain'",
			What: "domains with more than 3 snapshots"},
		{Line: "vmoments report --csv > fleet.csv", What: "a spreadsheet"},
	},
	NoConnect: true,
	Group:     "fleet", // help lists report and exporter as a group of their own
}

// fleetURIs returns the connections of report and exporter: every --connect, then the hosts
// file's; without either, -c, else libvirt's default (as the other commands connect).
func (a *app) fleetURIs(ctx context.Context, c *vsh.Parsed) ([]string, error) {
	uris := slices.Clone(c.List("connect"))
	for _, u := range uris {
		if u == "" {
			return nil, emptyOption("connect")
		}
	}
	if path, ok := c.Value("hosts"); ok {
		if path == "" {
			return nil, emptyOption("hosts")
		}
		f, err := os.Open(path)
		if err != nil {
			return nil, vsh.Errorf("cannot read the hosts file: %v", err)
		}
		defer f.Close()
		more, err := fleet.ReadHosts(f, path)
		if err != nil {
			return nil, vsh.Errorf("%v", err)
		}
		uris = append(uris, more...)
	}
	if len(uris) > 0 {
		return uris, nil
	}
	uri := a.g.URI
	if !a.g.URIGiven {
		if v, ok := a.env("VIRSH_DEFAULT_CONNECT_URI"); ok && v != "" {
			uri = v
		} else if v, ok := a.env("LIBVIRT_DEFAULT_URI"); ok && v != "" {
			uri = v
		}
	}
	if uri == "" {
		// libvirt's default: libvirt resolves it, and the rows say which it is.
		resolved, err := a.probe(ctx, "", driver.ReadOnly)
		if err != nil {
			return nil, libvirtErr(err, "failed to connect to the hypervisor")
		}
		uri = resolved
	}
	return []string{uri}, nil
}

// fleetOptions reads the options report and exporter share into fleet options.
func (a *app) fleetOptions(ctx context.Context, c *vsh.Parsed) (fleet.Options, error) {
	var fo fleet.Options
	uris, err := a.fleetURIs(ctx, c)
	if err != nil {
		return fo, err
	}
	fo.URIs = uris
	fo.Patterns = c.Argv()
	for _, p := range fo.Patterns {
		if _, err := fleet.ParsePattern(p); err != nil {
			return fo, vsh.Errorf("%v", err)
		}
	}
	if s, ok := c.Value("parallel"); ok {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			return fo, vsh.Errorf("invalid --parallel '%s': want a number of hosts, 1 or more", s)
		}
		fo.Parallel = n
	}
	// Names-only refreshes of kept domains, as fleet's own default (fleet.Options.Open), made
	// whole every fleet.Options.ExactEvery.
	fo.Open = func(ctx context.Context, uri string) (driver.Driver, error) {
		return a.open(ctx, uri, driver.ReadOnly|driver.NamesOnlyRefresh)
	}
	return fo, nil
}

// parseDuration reads a duration as Go writes them (90s, 1h30m) with days (d) and weeks (w):
// 30d, 2w, 1d12h.
func parseDuration(opt, s string) (time.Duration, error) {
	bad := vsh.Errorf("invalid --%s '%s': want a duration such as 30d, 12h, 90m, 1w", opt, s)
	if s == "" {
		return 0, emptyOption(opt)
	}
	if strings.ContainsAny(s, "-+") {
		return 0, bad
	}
	var total time.Duration
	rest := s
	for rest != "" {
		i := strings.IndexAny(rest, "dw")
		if i < 0 {
			d, err := time.ParseDuration(rest)
			if err != nil {
				return 0, bad
			}
			return total + d, nil
		}
		n, err := strconv.ParseFloat(rest[:i], 64)
		if err != nil || n < 0 {
			return 0, bad
		}
		unit := 24 * time.Hour
		if rest[i] == 'w' {
			unit *= 7
		}
		total += time.Duration(n * float64(unit))
		rest = rest[i+1:]
	}
	if total < 0 {
		return 0, bad
	}
	return total, nil
}

// reportSorts are the --sort fields of domain rows: each orders the worst first.
var reportSorts = map[string]func(a, b *fleet.Domain) int{
	"host":      func(a, b *fleet.Domain) int { return 0 },
	"domain":    func(a, b *fleet.Domain) int { return cmp.Compare(a.Name, b.Name) },
	"snapshots": func(a, b *fleet.Domain) int { return cmp.Compare(b.Snapshots.Count, a.Snapshots.Count) },
	"checkpoints": func(a, b *fleet.Domain) int {
		return cmp.Compare(b.Checkpoints.Count, a.Checkpoints.Count)
	},
	"depth":  func(a, b *fleet.Domain) int { return cmp.Compare(b.Snapshots.Depth, a.Snapshots.Depth) },
	"oldest": func(a, b *fleet.Domain) int { return compareTimes(oldestOf(a), oldestOf(b)) },
	"newest": func(a, b *fleet.Domain) int {
		return compareTimes(timeOf(a.Snapshots.Newest), timeOf(b.Snapshots.Newest))
	},
	"size": func(a, b *fleet.Domain) int {
		// Known sizes, largest first, then the unknown ones.
		if a.Bytes.Total.Known != b.Bytes.Total.Known {
			if a.Bytes.Total.Known {
				return -1
			}
			return 1
		}
		return cmp.Compare(b.Bytes.Total.Bytes, a.Bytes.Total.Bytes)
	},
	"backup": func(a, b *fleet.Domain) int { return compareTimes(stalestBackup(a), stalestBackup(b)) },
}

// momentSorts are the --sort fields of --moments rows.
var momentSorts = map[string]func(a, b *momentRow) int{
	"host":   func(a, b *momentRow) int { return 0 },
	"domain": func(a, b *momentRow) int { return cmp.Compare(a.domain, b.domain) },
	"name":   func(a, b *momentRow) int { return cmp.Compare(a.m.Name, b.m.Name) },
	"kind":   func(a, b *momentRow) int { return cmp.Compare(a.m.Kind, b.m.Kind) },
	"age":    func(a, b *momentRow) int { return compareTimes(timeOf(&a.m), timeOf(&b.m)) },
}

// timeOf is a moment's creation time; the zero time (sorted first) when it has none or is nil.
func timeOf(m *fleet.Moment) time.Time {
	if m == nil || !m.HasCreated {
		return time.Time{}
	}
	return m.Created
}

// compareTimes orders times, earliest first, with the zero time (nothing known) last.
func compareTimes(a, b time.Time) int {
	switch {
	case a.IsZero() && b.IsZero():
		return 0
	case a.IsZero():
		return 1
	case b.IsZero():
		return -1
	}
	return a.Compare(b)
}

// oldestOf is the creation time of the domain's oldest moment, snapshot or checkpoint.
func oldestOf(d *fleet.Domain) time.Time {
	s, c := timeOf(d.Snapshots.Oldest), timeOf(d.Checkpoints.Oldest)
	if s.IsZero() || !c.IsZero() && c.Before(s) {
		return c
	}
	return s
}

// stalestBackup is the oldest of the disks' newest checkpoints; a disk no checkpoint covers is
// the stalest of all (a time before any other).
func stalestBackup(d *fleet.Domain) time.Time {
	var t time.Time
	for _, disk := range d.Disks {
		if disk.Newest == nil {
			return time.Unix(0, 0)
		}
		if t.IsZero() || disk.Newest.Created.Before(t) {
			t = disk.Newest.Created
		}
	}
	return t
}

// momentRow is one moment of --moments.
type momentRow struct {
	uri, domain string
	m           fleet.Moment
}

func runReport(ctx context.Context, a *app, c *vsh.Parsed) error {
	if err := exclusive(c, [2]string{"json", "csv"}); err != nil {
		return err
	}
	moments := c.Has("moments")
	sortBy := "host"
	if s, ok := c.Value("sort"); ok {
		sortBy = s
	}
	if _, ok := reportSorts[sortBy]; !moments && !ok {
		return vsh.Errorf("invalid --sort '%s': want one of %s", sortBy, strings.Join(sortedKeys(reportSorts), ", "))
	}
	if _, ok := momentSorts[sortBy]; moments && !ok {
		return vsh.Errorf("invalid --sort '%s' with --moments: want one of %s", sortBy, strings.Join(sortedKeys(momentSorts), ", "))
	}
	var olderThan time.Duration
	if s, ok := c.Value("older-than"); ok {
		var err error
		if olderThan, err = parseDuration("older-than", s); err != nil {
			return err
		}
	}
	retry := 15 * time.Second
	if s, ok := c.Value("retry"); ok {
		var err error
		if retry, err = parseDuration("retry", s); err != nil {
			return err
		}
	}
	fo, err := a.fleetOptions(ctx, c)
	if err != nil {
		return err
	}
	fo.Retry = retry
	fo.Moments = moments
	f, err := fleet.New(fo)
	if err != nil {
		return vsh.Errorf("%v", err)
	}
	defer f.Close()
	p := a.transferProgress(c.Has("json") || c.Has("csv"))
	r := f.Refresh(ctx, func(done, total int) { p.report("hosts", done, total) })
	p.done()
	if err := ctx.Err(); err != nil {
		return err
	}
	now := time.Now()
	old := func(t time.Time) bool { return olderThan == 0 || !t.IsZero() && now.Sub(t) > olderThan }

	// The rows, filtered and sorted; failing hosts keep their place among the hosts.
	for i := range r.Hosts {
		h := &r.Hosts[i]
		if olderThan > 0 && !moments {
			h.Domains = slices.DeleteFunc(h.Domains, func(d fleet.Domain) bool { return !old(oldestOf(&d)) })
		}
		if less := reportSorts[sortBy]; !moments && less != nil {
			slices.SortStableFunc(h.Domains, func(x, y fleet.Domain) int { return less(&x, &y) })
		}
	}
	var rows []momentRow
	if moments {
		for _, h := range r.Hosts {
			for _, d := range h.Domains {
				for _, m := range d.Moments {
					if old(timeOf(&m)) {
						rows = append(rows, momentRow{uri: h.URI, domain: d.Name, m: m})
					}
				}
			}
		}
		if less := momentSorts[sortBy]; sortBy != "host" {
			slices.SortStableFunc(rows, func(x, y momentRow) int { return less(&x, &y) })
		}
	}
	domainsSorted := sortBy != "host" && sortBy != "domain" && !moments
	switch {
	case c.Has("json"):
		err = a.printJSON(reportJSONOf(r, moments, rows, now))
	case c.Has("csv"):
		err = a.reportCSV(r, moments, rows, now, domainsSorted, sortBy)
	default:
		a.reportTable(r, moments, rows, now, domainsSorted, sortBy)
	}
	if err != nil {
		return err
	}
	if failed := r.Failed(); len(failed) > 0 {
		return vsh.Errorf("%d of %d hosts could not be read", len(failed), len(r.Hosts))
	}
	return nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// domainRows are the domains of every host in report order: host by host, or, sorted by a
// field other than host and domain, all together in that order.
func domainRows(r *fleet.Report, together bool, sortBy string) []*fleet.Domain {
	var out []*fleet.Domain
	for i := range r.Hosts {
		for j := range r.Hosts[i].Domains {
			out = append(out, &r.Hosts[i].Domains[j])
		}
	}
	if together {
		less := reportSorts[sortBy]
		slices.SortStableFunc(out, func(x, y *fleet.Domain) int { return less(x, y) })
	}
	return out
}

// age prints how long ago t was: 45s, 12m, 5h (under two days), 45d.
func age(now, t time.Time) string {
	d := now.Sub(t)
	neg := ""
	if d < 0 {
		neg, d = "-", -d
	}
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%s%ds", neg, int(d/time.Second))
	case d < time.Hour:
		return fmt.Sprintf("%s%dm", neg, int(d/time.Minute))
	case d < 48*time.Hour:
		return fmt.Sprintf("%s%dh", neg, int(d/time.Hour))
	}
	return fmt.Sprintf("%s%dd", neg, int(d/(24*time.Hour)))
}

// bytesText prints a size in IEC units: 0 B, 512 B, 1.5 KiB, 20.0 GiB.
func bytesText(n uint64) string {
	if n < 1024 {
		return fmt.Sprintf("%d B", n)
	}
	units := []string{"KiB", "MiB", "GiB", "TiB", "PiB", "EiB"}
	v := float64(n) / 1024
	i := 0
	for v >= 1024 && i < len(units)-1 {
		v /= 1024
		i++
	}
	return fmt.Sprintf("%.1f %s", v, units[i])
}

func sizeText(s fleet.Size) string {
	if !s.Known {
		return "unknown"
	}
	return bytesText(s.Bytes)
}

// disksText is the per-disk column: "vda c3 2h, vdb none".
func disksText(now time.Time, d *fleet.Domain) string {
	if d.Disks == nil {
		return "-"
	}
	var parts []string
	for _, disk := range d.Disks {
		switch {
		case disk.Newest == nil:
			parts = append(parts, disk.Name+" none")
		case !disk.Newest.HasCreated:
			parts = append(parts, disk.Name+" "+disk.Newest.Name)
		default:
			parts = append(parts, disk.Name+" "+disk.Newest.Name+" "+age(now, disk.Newest.Created))
		}
	}
	if len(parts) == 0 {
		return "-"
	}
	return strings.Join(parts, ", ")
}

func momentAge(now time.Time, m *fleet.Moment) string {
	if m == nil {
		return "-"
	}
	if !m.HasCreated {
		return "?"
	}
	return age(now, m.Created)
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// reportTable prints the table of domains (or of moments) and a row for every failed host.
func (a *app) reportTable(r *fleet.Report, moments bool, rows []momentRow, now time.Time, together bool, sortBy string) {
	if moments {
		t := vshfmt.NewTable("Host", "Domain", "Kind", "Name", "Created", "Age", "Current", "Location")
		for _, row := range rows {
			m := row.m
			created := "-"
			if m.HasCreated {
				created = m.Created.In(a.loc).Format("2006-01-02 15:04:05 -0700")
			}
			cur := "no"
			if m.Current {
				cur = "yes"
			}
			t.Append(row.uri, row.domain, m.Kind.String(), m.Name, created, momentAge(now, &m), cur, orDash(m.Location))
		}
		for _, h := range r.Failed() {
			t.Append(h.URI, "-", "-", "-", "-", "-", "-", "error: "+libvirtMessage(h.Err))
		}
		a.printf("%s", t.Format(a.locale, !a.g.Quiet))
		return
	}
	t := vshfmt.NewTable("Host", "Domain", "State", "Snapshots", "Current", "Oldest", "Newest", "Depth",
		"External", "Size", "Checkpoints", "Current checkpoint", "Disk backups")
	add := func(d *fleet.Domain) {
		if d.Err != nil {
			t.Append(d.URI, d.Name, d.State.String(), "-", "-", "-", "-", "-", "-", "-", "-", "-", "error: "+libvirtMessage(d.Err))
			return
		}
		cur := "-"
		if d.Checkpoints.Count > 0 {
			cur = orDash(d.CurrentCheckpoint) + " (" + fleet.RuleName(d.CurrentCheckpointRule) + ")"
		}
		t.Append(d.URI, d.Name, d.State.String(), strconv.Itoa(d.Snapshots.Count), orDash(d.CurrentSnapshot),
			momentAge(now, d.Snapshots.Oldest), momentAge(now, d.Snapshots.Newest), strconv.Itoa(d.Snapshots.Depth),
			strconv.Itoa(d.ExternalSnapshots), sizeText(d.Bytes.Total), strconv.Itoa(d.Checkpoints.Count), cur,
			disksText(now, d))
	}
	failedRow := func(h *fleet.Host) {
		t.Append(h.URI, "-", "-", "-", "-", "-", "-", "-", "-", "-", "-", "-", "error: "+libvirtMessage(h.Err))
	}
	if together {
		for _, d := range domainRows(r, true, sortBy) {
			add(d)
		}
		for _, h := range r.Failed() {
			failedRow(&h)
		}
	} else {
		for i := range r.Hosts {
			h := &r.Hosts[i]
			if h.Err != nil {
				failedRow(h)
				continue
			}
			for j := range h.Domains {
				add(&h.Domains[j])
			}
		}
	}
	a.printf("%s", t.Format(a.locale, !a.g.Quiet))
}

// The --json document (REPORT.md). Names and meanings are stable: fields may be added, none
// renamed or removed.
type reportJSON struct {
	Generated string           `json:"generated"`
	Hosts     []hostJSON       `json:"hosts"`
	Moments   []fleetMomentRow `json:"moments,omitempty"`
}

type hostJSON struct {
	URI             string       `json:"uri"`
	Error           *string      `json:"error"`
	DurationSeconds float64      `json:"durationSeconds"`
	Attempts        int          `json:"attempts"`
	Domains         []domainJSON `json:"domains,omitempty"`
}

type domainJSON struct {
	URI                   string           `json:"uri"`
	Domain                string           `json:"domain"`
	UUID                  string           `json:"uuid"`
	State                 string           `json:"state"`
	Snapshots             kindJSON         `json:"snapshots"`
	CurrentSnapshot       *string          `json:"currentSnapshot"`
	ExternalSnapshots     int              `json:"externalSnapshots"`
	SnapshotBytes         bytesJSON        `json:"snapshotBytes"`
	Checkpoints           kindJSON         `json:"checkpoints"`
	CurrentCheckpoint     *string          `json:"currentCheckpoint"`
	CurrentCheckpointRule string           `json:"currentCheckpointRule"`
	Disks                 []diskBackupJSON `json:"disks"`
	Error                 *string          `json:"error"`
}

type kindJSON struct {
	Count  int            `json:"count"`
	Oldest *momentRefJSON `json:"oldest"`
	Newest *momentRefJSON `json:"newest"`
	Depth  int            `json:"depth"`
}

type momentRefJSON struct {
	Name       string  `json:"name"`
	Created    *string `json:"created"`
	AgeSeconds *int64  `json:"ageSeconds"`
}

type bytesJSON struct {
	Total           *uint64 `json:"total"`
	Overlays        *uint64 `json:"overlays"`
	MemoryFiles     *uint64 `json:"memoryFiles"`
	InternalVMState *uint64 `json:"internalVMState"`
	// Unknown says why each part that is null is not known, by the part's field name.
	Unknown map[string]string `json:"unknown,omitempty"`
}

type diskBackupJSON struct {
	Name              string         `json:"name"`
	CurrentCheckpoint *string        `json:"currentCheckpoint"`
	NewestCheckpoint  *momentRefJSON `json:"newestCheckpoint"`
	Uncovered         bool           `json:"uncovered"`
}

type fleetMomentRow struct {
	URI        string  `json:"uri"`
	Domain     string  `json:"domain"`
	Kind       string  `json:"kind"`
	Name       string  `json:"name"`
	Parent     *string `json:"parent"`
	Created    *string `json:"created"`
	AgeSeconds *int64  `json:"ageSeconds"`
	Current    bool    `json:"current"`
	Location   string  `json:"location,omitempty"`
}

func nonEmptyPtr(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func errPtr(err error) *string {
	if err == nil {
		return nil
	}
	s := libvirtMessage(err)
	return &s
}

func refJSON(now time.Time, m *fleet.Moment) *momentRefJSON {
	if m == nil {
		return nil
	}
	r := &momentRefJSON{Name: m.Name}
	if m.HasCreated {
		s := m.Created.UTC().Format(time.RFC3339)
		a := int64(now.Sub(m.Created) / time.Second)
		r.Created, r.AgeSeconds = &s, &a
	}
	return r
}

func sizePtr(s fleet.Size) *uint64 {
	if !s.Known {
		return nil
	}
	n := s.Bytes
	return &n
}

func domainJSONOf(now time.Time, d *fleet.Domain) domainJSON {
	j := domainJSON{URI: d.URI, Domain: d.Name, UUID: d.UUID, State: d.State.String(),
		Snapshots:         kindJSON{Count: d.Snapshots.Count, Oldest: refJSON(now, d.Snapshots.Oldest), Newest: refJSON(now, d.Snapshots.Newest), Depth: d.Snapshots.Depth},
		Checkpoints:       kindJSON{Count: d.Checkpoints.Count, Oldest: refJSON(now, d.Checkpoints.Oldest), Newest: refJSON(now, d.Checkpoints.Newest), Depth: d.Checkpoints.Depth},
		CurrentSnapshot:   nonEmptyPtr(d.CurrentSnapshot),
		ExternalSnapshots: d.ExternalSnapshots,
		CurrentCheckpoint: nonEmptyPtr(d.CurrentCheckpoint), CurrentCheckpointRule: fleet.RuleName(d.CurrentCheckpointRule),
		Disks: []diskBackupJSON{}, Error: errPtr(d.Err),
		SnapshotBytes: bytesJSON{Total: sizePtr(d.Bytes.Total), Overlays: sizePtr(d.Bytes.Overlays),
			MemoryFiles: sizePtr(d.Bytes.MemoryFiles), InternalVMState: sizePtr(d.Bytes.InternalVMState)},
	}
	for part, s := range map[string]fleet.Size{"overlays": d.Bytes.Overlays, "memoryFiles": d.Bytes.MemoryFiles,
		"internalVMState": d.Bytes.InternalVMState} {
		if !s.Known {
			if j.SnapshotBytes.Unknown == nil {
				j.SnapshotBytes.Unknown = map[string]string{}
			}
			j.SnapshotBytes.Unknown[part] = s.Why
		}
	}
	for _, disk := range d.Disks {
		j.Disks = append(j.Disks, diskBackupJSON{Name: disk.Name, CurrentCheckpoint: nonEmptyPtr(disk.Current),
			NewestCheckpoint: refJSON(now, disk.Newest), Uncovered: disk.Uncovered})
	}
	return j
}

func momentJSONOf(now time.Time, row momentRow) fleetMomentRow {
	m := row.m
	j := fleetMomentRow{URI: row.uri, Domain: row.domain, Kind: m.Kind.String(), Name: m.Name,
		Parent: nonEmptyPtr(m.Parent), Current: m.Current, Location: m.Location}
	if ref := refJSON(now, &m); ref != nil {
		j.Created, j.AgeSeconds = ref.Created, ref.AgeSeconds
	}
	return j
}

func reportJSONOf(r *fleet.Report, moments bool, rows []momentRow, now time.Time) reportJSON {
	out := reportJSON{Generated: now.UTC().Format(time.RFC3339), Hosts: []hostJSON{}}
	for i := range r.Hosts {
		h := &r.Hosts[i]
		hj := hostJSON{URI: h.URI, Error: errPtr(h.Err), DurationSeconds: h.Duration.Seconds(), Attempts: h.Attempts}
		if !moments {
			hj.Domains = []domainJSON{}
			for j := range h.Domains {
				hj.Domains = append(hj.Domains, domainJSONOf(now, &h.Domains[j]))
			}
		}
		out.Hosts = append(out.Hosts, hj)
	}
	if moments {
		out.Moments = []fleetMomentRow{}
		for _, row := range rows {
			out.Moments = append(out.Moments, momentJSONOf(now, row))
		}
	}
	return out
}

// reportCSV prints the CSV of REPORT.md: a header row, then one row per domain (or moment) and
// one per failed host.
func (a *app) reportCSV(r *fleet.Report, moments bool, rows []momentRow, now time.Time, together bool, sortBy string) error {
	w := csv.NewWriter(a.stdout)
	ts := func(m *fleet.Moment) string {
		if m == nil || !m.HasCreated {
			return ""
		}
		return m.Created.UTC().Format(time.RFC3339)
	}
	name := func(m *fleet.Moment) string {
		if m == nil {
			return ""
		}
		return m.Name
	}
	if moments {
		w.Write([]string{"uri", "domain", "kind", "name", "parent", "created", "age_seconds", "current", "location", "error"})
		for _, row := range rows {
			m := row.m
			ageSecs := ""
			if m.HasCreated {
				ageSecs = strconv.FormatInt(int64(now.Sub(m.Created)/time.Second), 10)
			}
			w.Write([]string{row.uri, row.domain, m.Kind.String(), m.Name, m.Parent, ts(&m), ageSecs,
				strconv.FormatBool(m.Current), m.Location, ""})
		}
		for _, h := range r.Failed() {
			w.Write([]string{h.URI, "", "", "", "", "", "", "", "", libvirtMessage(h.Err)})
		}
		w.Flush()
		return w.Error()
	}
	w.Write([]string{"uri", "domain", "uuid", "state", "snapshots", "current_snapshot", "oldest_snapshot",
		"oldest_snapshot_created", "newest_snapshot", "newest_snapshot_created", "snapshot_depth",
		"external_snapshots", "snapshot_bytes", "checkpoints", "current_checkpoint", "current_checkpoint_rule",
		"oldest_checkpoint_created", "newest_checkpoint_created", "disk_newest_checkpoints", "uncovered_disks", "error"})
	size := func(s fleet.Size) string {
		if !s.Known {
			return ""
		}
		return strconv.FormatUint(s.Bytes, 10)
	}
	add := func(d *fleet.Domain) {
		var newest, uncovered []string
		for _, disk := range d.Disks {
			if disk.Newest != nil {
				newest = append(newest, disk.Name+"="+disk.Newest.Name+"@"+ts(disk.Newest))
			}
			if disk.Uncovered {
				uncovered = append(uncovered, disk.Name)
			}
		}
		errText := ""
		if d.Err != nil {
			errText = libvirtMessage(d.Err)
		}
		w.Write([]string{d.URI, d.Name, d.UUID, d.State.String(), strconv.Itoa(d.Snapshots.Count), d.CurrentSnapshot,
			name(d.Snapshots.Oldest), ts(d.Snapshots.Oldest), name(d.Snapshots.Newest), ts(d.Snapshots.Newest),
			strconv.Itoa(d.Snapshots.Depth), strconv.Itoa(d.ExternalSnapshots), size(d.Bytes.Total),
			strconv.Itoa(d.Checkpoints.Count), d.CurrentCheckpoint, fleet.RuleName(d.CurrentCheckpointRule),
			ts(d.Checkpoints.Oldest), ts(d.Checkpoints.Newest), strings.Join(newest, " "), strings.Join(uncovered, " "), errText})
	}
	for _, d := range domainRows(r, together, sortBy) {
		add(d)
	}
	for _, h := range r.Failed() {
		w.Write([]string{h.URI, "", "", "", "", "", "", "", "", "", "", "", "", "", "", "", "", "", "", "", libvirtMessage(h.Err)})
	}
	w.Flush()
	return w.Error()
}
