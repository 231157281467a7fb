package exporter

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/vmoments/vmoments/driver"
	"github.com/vmoments/vmoments/fleet"
)

// Options configure an [Exporter].
type Options struct {
	// MinInterval is the least time between two refreshes of one host (default 15 s).
	MinInterval time.Duration
	// PerMoment adds a series per snapshot and per checkpoint (their creation times).
	PerMoment bool
	// Wait is how long Collect waits for a running refresh when the scrape gives no deadline
	// (default 8 s, below Prometheus' default scrape timeout of 10 s).
	Wait time.Duration
	// ListTimeout is the fleet's bound on a host's domain list (fleet.Options.ListTimeout), so a
	// daemon that is away shows as down at once (default 2 s; negative for none).
	ListTimeout time.Duration
	// Logger receives the hosts' and domains' errors (default: discarded).
	Logger *slog.Logger
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// An Exporter serves the series of a fleet. It is a prometheus.Collector.
type Exporter struct {
	fleet  *fleet.Fleet
	opts   Options
	ctx    context.Context // of the refreshes, which outlive the scrapes that start them
	cancel context.CancelFunc

	mu    sync.Mutex
	hosts []*hostState
}

// hostState is what the exporter knows of one host.
type hostState struct {
	uri string
	// last is the latest refresh that ended; done says there is one.
	last fleet.Host
	done bool
	// started is when the latest refresh began; running is closed when it ends (nil when no
	// refresh runs).
	started time.Time
	running chan struct{}
	// refreshes counts the refreshes started, errors those that ended with an error (the host's
	// or a domain's).
	refreshes, errors uint64
}

// New returns an exporter of the fleet that fopts describes. opts.PerMoment makes the fleet
// keep the moments; opts.ListTimeout is set as the fleet's. The exporter opens nothing until
// the first scrape (or Refresh).
func New(fopts fleet.Options, opts Options) (*Exporter, error) {
	if opts.MinInterval <= 0 {
		opts.MinInterval = 15 * time.Second
	}
	if opts.Wait <= 0 {
		opts.Wait = 8 * time.Second
	}
	switch {
	case opts.ListTimeout == 0:
		opts.ListTimeout = 2 * time.Second
	case opts.ListTimeout < 0:
		opts.ListTimeout = 0
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	fopts.Moments = fopts.Moments || opts.PerMoment
	fopts.ListTimeout = opts.ListTimeout
	if fopts.Now == nil {
		fopts.Now = opts.Now
	}
	f, err := fleet.New(fopts)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	e := &Exporter{fleet: f, opts: opts, ctx: ctx, cancel: cancel}
	for _, uri := range f.URIs() {
		e.hosts = append(e.hosts, &hostState{uri: uri})
	}
	return e, nil
}

// Close cancels the running refreshes, waits for them (up to 15 s: a dial libvirt does not let
// go of cannot be canceled) and closes the fleet's connections.
func (e *Exporter) Close() error {
	e.cancel()
	e.mu.Lock()
	var waits []chan struct{}
	for _, h := range e.hosts {
		if h.running != nil {
			waits = append(waits, h.running)
		}
	}
	e.mu.Unlock()
	limit := time.After(15 * time.Second)
	for _, w := range waits {
		select {
		case <-w:
		case <-limit:
			return errors.New("exporter: a refresh did not end within 15 s of Close; its connection is left open")
		}
	}
	return e.fleet.Close()
}

// Refresh starts a refresh of every host that is due (its last one started MinInterval ago or
// more, and none runs), waits for the running ones until ctx ends, and returns the latest state
// of every host. A host whose last refresh failed for want of a connection (its libvirtd away)
// is due at once, MinInterval or not: nothing answered it, so nothing was asked. When a refresh
// this call waited for, started before the call, ends so, one more is started and waited for:
// the scrape that comes first after a daemon is back finds it back.
func (e *Exporter) Refresh(ctx context.Context) []HostState {
	begin := e.opts.Now()
	for round := 0; round < 2; round++ {
		e.mu.Lock()
		var waits []chan struct{}
		now := e.opts.Now()
		for _, h := range e.hosts {
			due := h.started.IsZero() || now.Sub(h.started) >= e.opts.MinInterval ||
				h.done && connectionFailed(h.last) && h.started.Before(begin)
			if h.running == nil && due {
				e.start(h, now)
			}
			if h.running != nil {
				waits = append(waits, h.running)
			}
		}
		e.mu.Unlock()
		if len(waits) == 0 || !wait(ctx, waits) {
			break
		}
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	out := make([]HostState, len(e.hosts))
	for i, h := range e.hosts {
		out[i] = HostState{URI: h.uri, Host: h.last, Done: h.done, Running: h.running != nil,
			Refreshes: h.refreshes, Errors: h.errors}
	}
	return out
}

// wait waits for every channel to close, or for ctx to end (then it returns false).
func wait(ctx context.Context, chans []chan struct{}) bool {
	for _, c := range chans {
		select {
		case <-c:
		case <-ctx.Done():
			return false
		}
	}
	return true
}

// connectionFailed says whether a refresh failed because the host's libvirtd did not answer.
func connectionFailed(h fleet.Host) bool {
	return h.Err != nil && errors.Is(h.Err, driver.ErrConnection)
}

// HostState is what the exporter serves for one host.
type HostState struct {
	URI string
	// Host is the latest refresh that ended; Done false when none has yet.
	Host fleet.Host
	Done bool
	// Running says a refresh is under way.
	Running bool
	// Refreshes counts the refreshes started (how often libvirt was asked), Errors those that
	// ended with an error.
	Refreshes, Errors uint64
}

// start starts a refresh of h; e.mu must be held.
func (e *Exporter) start(h *hostState, now time.Time) {
	done := make(chan struct{})
	h.running, h.started = done, now
	h.refreshes++
	go func() {
		r, err := e.fleet.RefreshHost(e.ctx, h.uri)
		if err != nil { // not a URI of the fleet: cannot happen
			r = fleet.Host{URI: h.uri, Err: err}
		}
		failed := r.Err != nil
		if r.Err != nil {
			e.opts.Logger.Error("cannot read host", "uri", h.uri, "attempts", r.Attempts, "err", r.Err)
		}
		for _, d := range r.Domains {
			if d.Err != nil {
				failed = true
				e.opts.Logger.Error("cannot read domain", "uri", h.uri, "domain", d.Name, "err", d.Err)
			}
		}
		e.mu.Lock()
		h.last, h.done = r, true
		if failed {
			h.errors++
		}
		h.running = nil
		e.mu.Unlock()
		close(done)
	}()
}

// Describe sends the descriptors of every metric family the exporter can serve.
func (e *Exporter) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range allDescs {
		ch <- d
	}
}

// Collect refreshes the hosts that are due, waiting up to Options.Wait, and sends the series.
func (e *Exporter) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), e.opts.Wait)
	defer cancel()
	e.collect(ch, e.Refresh(ctx))
}
