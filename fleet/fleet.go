package fleet

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/vmoments/vmoments/driver"
)

// Options configure a [Fleet].
type Options struct {
	// URIs are the connections, each exactly as the user gave it: the uri label of every row
	// and series. Duplicates are read once.
	URIs []string
	// Patterns select domains by name (see [ParsePattern]); none selects every domain.
	Patterns []string
	// Parallel is how many hosts are read at once (default 8).
	Parallel int
	// DomainParallel is how many domains of one host are read at once (default 4).
	DomainParallel int
	// Retry is how long a host whose connection fails is tried again, with a pause doubling
	// from 250 ms to 4 s; 0 tries once.
	Retry time.Duration
	// ListTimeout bounds the first call of a host's refresh, the list of its domains: a host
	// whose libvirtd does not answer within it fails at once rather than after the driver's
	// wait for a restarting daemon (up to 10 s). 0 sets no bound. The exporter sets one, so that
	// a daemon that is away shows as down while it is away.
	ListTimeout time.Duration
	// Moments keeps every moment of every domain in [Domain.Moments] (the report's --moments,
	// the exporter's --per-moment).
	Moments bool
	// Open opens a connection. The default is driver.Open(ctx, uri, driver.ReadOnly|
	// driver.NamesOnlyRefresh) (the caller imports the drivers it wants, driver/qemu and
	// driver/test). A fleet only reads: whatever Open returns is used for reads alone.
	//
	// The default keeps a refresh where no metadata file tells what changed (a remote URI) to
	// the names and the new moments, instead of every definition again: a fleet refreshed
	// every few seconds would otherwise cost each host a cold load each time. Its blind spot,
	// a moment redefined in place by someone else, is closed by ExactEvery.
	Open func(ctx context.Context, uri string) (driver.Driver, error)
	// ExactEvery is how often the kept domains' lists are loaded whole again
	// (driver.Reader.Reload), so that a moment redefined in place elsewhere (a new parent,
	// creation time or disks) shows within it whatever the driver's refresh sees. The default
	// is 10 minutes; a negative value never reloads.
	ExactEvery time.Duration
	// Now is the clock of the ages and of the refresh times (default time.Now).
	Now func() time.Time
	// QemuImg is the qemu-img program that reads internal snapshots of local images (default
	// "qemu-img" on $PATH); "-" never runs it (their sizes are then unknown).
	QemuImg string
}

// A Fleet is the hosts and domains of a set of connections, refreshed on request.
type Fleet struct {
	opts     Options
	patterns []Pattern
	hosts    []*host
	byURI    map[string]*host
	sem      chan struct{} // bounds the hosts refreshed at once
}

// New returns a fleet of opts.URIs. It opens nothing yet: the first refresh of each host does.
// A pattern that does not parse is an error.
func New(opts Options) (*Fleet, error) {
	if len(opts.URIs) == 0 {
		return nil, errors.New("fleet: no connection URI given")
	}
	if opts.Parallel < 1 {
		opts.Parallel = 8
	}
	if opts.DomainParallel < 1 {
		opts.DomainParallel = 4
	}
	if opts.Open == nil {
		opts.Open = func(ctx context.Context, uri string) (driver.Driver, error) {
			return driver.Open(ctx, uri, driver.ReadOnly|driver.NamesOnlyRefresh)
		}
	}
	if opts.ExactEvery == 0 {
		opts.ExactEvery = 10 * time.Minute
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.QemuImg == "" {
		opts.QemuImg = "qemu-img"
	}
	f := &Fleet{opts: opts, byURI: map[string]*host{}, sem: make(chan struct{}, opts.Parallel)}
	for _, p := range opts.Patterns {
		pat, err := ParsePattern(p)
		if err != nil {
			return nil, err
		}
		f.patterns = append(f.patterns, pat)
	}
	for _, uri := range opts.URIs {
		if f.byURI[uri] != nil {
			continue
		}
		h := &host{uri: uri, fleet: f, doms: map[string]driver.Domain{}, sizes: newSizer(opts.QemuImg)}
		f.hosts = append(f.hosts, h)
		f.byURI[uri] = h
	}
	return f, nil
}

// URIs returns the fleet's connections in the order given, duplicates removed.
func (f *Fleet) URIs() []string {
	out := make([]string, len(f.hosts))
	for i, h := range f.hosts {
		out[i] = h.uri
	}
	return out
}

// Report is one refresh of the whole fleet.
type Report struct {
	// Started is when the refresh began; Duration how long it took.
	Started  time.Time
	Duration time.Duration
	// Hosts are in the order of the fleet's URIs.
	Hosts []Host
}

// Failed returns the hosts that could not be read.
func (r *Report) Failed() []Host {
	var out []Host
	for _, h := range r.Hosts {
		if h.Err != nil {
			out = append(out, h)
		}
	}
	return out
}

// Refresh refreshes every host (at most Options.Parallel at once) and returns the report.
// progress, if not nil, is called after each host with the number done and the total.
func (f *Fleet) Refresh(ctx context.Context, progress func(done, total int)) *Report {
	r := &Report{Started: f.opts.Now(), Hosts: make([]Host, len(f.hosts))}
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		done int
	)
	for i, h := range f.hosts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r.Hosts[i] = f.refreshHost(ctx, h)
			if progress != nil {
				mu.Lock()
				done++
				progress(done, len(f.hosts))
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	r.Duration = f.opts.Now().Sub(r.Started)
	return r
}

// RefreshHost refreshes one host of the fleet, as Refresh does for each (it waits its turn
// among the Options.Parallel hosts refreshed at once).
func (f *Fleet) RefreshHost(ctx context.Context, uri string) (Host, error) {
	h := f.byURI[uri]
	if h == nil {
		return Host{}, fmt.Errorf("fleet: %q is not a connection of the fleet", uri)
	}
	return f.refreshHost(ctx, h), nil
}

func (f *Fleet) refreshHost(ctx context.Context, h *host) Host {
	select {
	case f.sem <- struct{}{}:
	case <-ctx.Done():
		return Host{URI: h.uri, Started: f.opts.Now(), Err: ctx.Err()}
	}
	defer func() { <-f.sem }()
	return h.refresh(ctx)
}

// Close closes every connection the fleet opened.
func (f *Fleet) Close() error {
	var errs []error
	for _, h := range f.hosts {
		if err := h.close(); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// selected says whether the patterns select the domain name.
func (f *Fleet) selected(name string) bool {
	if len(f.patterns) == 0 {
		return true
	}
	return slices.ContainsFunc(f.patterns, func(p Pattern) bool { return p.Match(name) })
}
