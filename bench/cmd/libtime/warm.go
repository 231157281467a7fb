package main

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/vmoments/vmoments/conf"
	"github.com/vmoments/vmoments/driver"
	"github.com/vmoments/vmoments/driver/qemu"
	"github.com/vmoments/vmoments/momentlist"
)

// cold times the first List of a new driver's new domain handle (connect and lookup untimed).
func cold(ctx context.Context, uri, domain string, kind conf.Kind, source string, mode driver.Mode) (time.Duration, error) {
	drv, dom, err := open(ctx, uri, domain, mode)
	if err != nil {
		return 0, err
	}
	defer drv.Close()
	start := time.Now()
	ms, err := dom.List(ctx, kind, "", 0)
	if err != nil {
		return 0, err
	}
	d := time.Since(start)
	if err := wantSource(dom, kind, source); err != nil {
		return 0, err
	}
	fmt.Fprintf(os.Stderr, "libtime: cold load %d %ss from the %s: %v\n", len(ms), kind, source, d.Round(time.Millisecond))
	return d, nil
}

// wantSource fails unless dom's last load of kind came from the source named.
func wantSource(dom driver.Domain, kind conf.Kind, source string) error {
	s, ok := qemu.SourceOf(dom, kind)
	if !ok {
		return fmt.Errorf("domain %s: no source known for the %ss", dom.Name(), kind)
	}
	if s.Files != (source == "files") {
		return fmt.Errorf("domain %s: %ss: want the %s, got files=%v (%s)", dom.Name(), kind, source, s.Files, s.Fallback)
	}
	return nil
}

func open(ctx context.Context, uri, domain string, mode driver.Mode) (driver.Driver, driver.Domain, error) {
	drv, err := driver.Open(ctx, uri, mode)
	if err != nil {
		return nil, nil, err
	}
	dom, err := drv.Domain(ctx, domain)
	if err != nil {
		drv.Close()
		return nil, nil, err
	}
	return drv, dom, nil
}

// query is one warm question: a filter below a moment ("" = the domain level; "root" = the
// first root of the loaded list).
type query struct {
	name string
	from string
	f    momentlist.Filter
	kind conf.Kind // the kind it is asked of, unless both
	both bool
}

var queries = []query{
	{name: "all", both: true},
	{name: "roots", f: momentlist.Roots, both: true},
	{name: "leaves", f: momentlist.Leaves, both: true},
	{name: "no-leaves", f: momentlist.NoLeaves, both: true},
	{name: "topological", f: momentlist.Topological, both: true},
	{name: "descendants", from: "root", f: momentlist.Descendants, both: true},
	{name: "current", f: momentlist.Current, both: true},
	{name: "no-current", f: momentlist.NoCurrent, both: true},
	{name: "per-disk-current", f: momentlist.PerDisk | momentlist.Current, both: true},
	{name: "inactive", f: momentlist.Inactive, kind: conf.Snapshot},
	{name: "internal", f: momentlist.Internal, kind: conf.Snapshot},
	{name: "leaves-internal", f: momentlist.Leaves | momentlist.Internal, kind: conf.Snapshot},
}

// warmAll times the warm queries of each way of refreshing (see the package doc): "warm
// SOURCE NAME SECONDS COUNT FETCHED" per query, FETCHED the XML documents the refreshes fetched
// through the API in all (the files' and the names-only refresh fetch none when nothing
// changed); then the filters alone ("select NAME SECONDS").
func (p params) warmAll(ctx context.Context) error {
	for _, w := range []struct {
		source string
		mode   driver.Mode
		n      int
		only   string
	}{
		{"files", driver.ReadOnly, p.n, ""},
		{"api-names", driver.ReadOnly | driver.NoLocalFiles | driver.NamesOnlyRefresh, p.n, ""},
		{"api", driver.ReadOnly | driver.NoLocalFiles, p.exact, "all"},
	} {
		if err := p.warm(ctx, w.source, w.mode, w.n, w.only); err != nil {
			return err
		}
	}
	return p.selectOnly(ctx)
}

// warm loads once and then asks each query n times, printing the median time of one
// refresh + filter, the number of moments it returned and the XML fetched.
func (p params) warm(ctx context.Context, source string, mode driver.Mode, n int, only string) error {
	drv, dom, err := open(ctx, p.uri, p.domain, mode)
	if err != nil {
		return err
	}
	defer drv.Close()
	all, err := dom.List(ctx, p.kind, "", momentlist.Roots)
	if err != nil {
		return err
	}
	if len(all) == 0 {
		return fmt.Errorf("domain %s has no %ss", p.domain, p.kind)
	}
	root := all[0].Name()
	for _, q := range queries {
		if !q.both && q.kind != p.kind || only != "" && q.name != only {
			continue
		}
		from := q.from
		if from == "root" {
			from = root
		}
		times := make([]time.Duration, 0, n)
		count, fetched := 0, 0
		for range n {
			start := time.Now()
			ms, err := dom.List(ctx, p.kind, from, q.f)
			if err != nil {
				return fmt.Errorf("warm %s %s: %w", source, q.name, err)
			}
			times = append(times, time.Since(start))
			count = len(ms)
			if s, ok := qemu.SourceOf(dom, p.kind); ok {
				fetched += s.APIFetches
			}
		}
		fmt.Printf("warm %s %s %.6f %d %d\n", source, q.name, median(times).Seconds(), count, fetched)
	}
	return nil
}

// selectOnly times the filter alone, n times on a private copy of the list with no refresh
// ("select NAME SECONDS"): that is the library's own cost, which must grow linearly with the
// list.
func (p params) selectOnly(ctx context.Context) error {
	drv, dom, err := open(ctx, p.uri, p.domain, driver.ReadOnly)
	if err != nil {
		return err
	}
	defer drv.Close()
	l, err := dom.Moments(ctx, p.kind)
	if err != nil {
		return err
	}
	roots, err := l.Select(nil, momentlist.Roots)
	if err != nil || len(roots) == 0 {
		return fmt.Errorf("domain %s: no root %s (%v)", p.domain, p.kind, err)
	}
	for _, q := range queries {
		if !q.both && q.kind != p.kind {
			continue
		}
		var from *momentlist.Moment
		if q.from == "root" {
			from = roots[0]
		}
		times := make([]time.Duration, 0, p.n)
		for range p.n {
			start := time.Now()
			if _, err := l.Select(from, q.f); err != nil {
				return fmt.Errorf("select %s: %w", q.name, err)
			}
			times = append(times, time.Since(start))
		}
		fmt.Printf("select %s %.7f\n", q.name, median(times).Seconds())
	}
	return nil
}
