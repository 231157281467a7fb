package main

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/vmoments/vmoments/conf"
	"github.com/vmoments/vmoments/driver"
	_ "github.com/vmoments/vmoments/driver/qemu"
	"github.com/vmoments/vmoments/momentlist"
)

// cold times the first List of a new driver's new domain handle (connect and lookup untimed).
func cold(ctx context.Context, uri, domain string, kind conf.Kind) (time.Duration, error) {
	drv, dom, err := open(ctx, uri, domain)
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
	fmt.Fprintf(os.Stderr, "libtime: cold load %d %ss: %v\n", len(ms), kind, d.Round(time.Millisecond))
	return d, nil
}

func open(ctx context.Context, uri, domain string) (driver.Driver, driver.Domain, error) {
	drv, err := driver.Open(ctx, uri, driver.ReadOnly)
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

// warm loads once and then asks each query n times, printing the median time of one
// refresh + filter and the number of moments it returned ("warm NAME SECONDS COUNT"). Then it
// times the filter alone, n times on a private copy of the list with no refresh ("select NAME
// SECONDS"): that is the library's own cost, which must grow linearly with the list.
func warm(ctx context.Context, uri, domain string, kind conf.Kind, n int) error {
	drv, dom, err := open(ctx, uri, domain)
	if err != nil {
		return err
	}
	defer drv.Close()
	all, err := dom.List(ctx, kind, "", momentlist.Roots)
	if err != nil {
		return err
	}
	if len(all) == 0 {
		return fmt.Errorf("domain %s has no %ss", domain, kind)
	}
	root := all[0].Name()
	for _, q := range queries {
		if !q.both && q.kind != kind {
			continue
		}
		from := q.from
		if from == "root" {
			from = root
		}
		times := make([]time.Duration, 0, n)
		count := 0
		for range n {
			start := time.Now()
			ms, err := dom.List(ctx, kind, from, q.f)
			if err != nil {
				return fmt.Errorf("warm %s: %w", q.name, err)
			}
			times = append(times, time.Since(start))
			count = len(ms)
		}
		fmt.Printf("warm %s %.6f %d\n", q.name, median(times).Seconds(), count)
	}
	l, err := dom.Moments(ctx, kind)
	if err != nil {
		return err
	}
	for _, q := range queries {
		if !q.both && q.kind != kind {
			continue
		}
		var from *momentlist.Moment
		if q.from == "root" {
			from = l.Find(root)
		}
		times := make([]time.Duration, 0, n)
		for range n {
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
