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

// warmAll times the warm queries of the files and of the names-only refresh, alternating call
// by call so that both see the same moments of a shared machine: "warm SOURCE NAME SECONDS
// COUNT FETCHED" per query, FETCHED the XML documents the refreshes fetched through the API in
// all (none when nothing changed); then the filters alone ("select NAME SECONDS").
func (p params) warmAll(ctx context.Context) error {
	type handle struct {
		source string
		dom    driver.Domain
		times  []time.Duration
		count  int
		fetch  int
	}
	var hs []*handle
	for _, w := range []struct {
		source string
		mode   driver.Mode
	}{
		{"files", driver.ReadOnly},
		{"api-names", driver.ReadOnly | driver.NoLocalFiles | driver.NamesOnlyRefresh},
	} {
		drv, dom, err := open(ctx, p.uri, p.domain, w.mode)
		if err != nil {
			return err
		}
		defer drv.Close()
		if _, err := dom.List(ctx, p.kind, "", 0); err != nil {
			return err
		}
		hs = append(hs, &handle{source: w.source, dom: dom})
	}
	roots, err := hs[0].dom.List(ctx, p.kind, "", momentlist.Roots)
	if err != nil {
		return err
	}
	if len(roots) == 0 {
		return fmt.Errorf("domain %s has no %ss", p.domain, p.kind)
	}
	for _, q := range queries {
		if !q.both && q.kind != p.kind {
			continue
		}
		from := q.from
		if from == "root" {
			from = roots[0].Name()
		}
		for _, h := range hs {
			h.times, h.count, h.fetch = h.times[:0], 0, 0
		}
		for range p.n {
			for _, h := range hs {
				start := time.Now()
				ms, err := h.dom.List(ctx, p.kind, from, q.f)
				if err != nil {
					return fmt.Errorf("warm %s %s: %w", h.source, q.name, err)
				}
				h.times = append(h.times, time.Since(start))
				h.count = len(ms)
				if s, ok := qemu.SourceOf(h.dom, p.kind); ok {
					h.fetch += s.APIFetches
				}
			}
		}
		for _, h := range hs {
			fmt.Printf("warm %s %s %.6f %d %d\n", h.source, q.name, median(h.times).Seconds(), h.count, h.fetch)
		}
	}
	return p.selectOnly(ctx)
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
