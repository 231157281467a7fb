package fleet

import (
	"context"
	"errors"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/vmoments/vmoments/conf"
	"github.com/vmoments/vmoments/driver"
)

// host is one connection of the fleet and the domain handles kept between its refreshes.
type host struct {
	uri   string
	fleet *Fleet

	mu    sync.Mutex // one refresh at a time
	drv   driver.Driver
	sizes *sizer

	dmu  sync.Mutex               // guards doms: a refresh reads domains in parallel
	doms map[string]driver.Domain // by UUID
	// exactAt is when the kept domains were last loaded whole (Options.ExactEvery).
	exactAt time.Time
}

// The pauses between the attempts of a host whose connection fails.
const (
	retryFirst = 250 * time.Millisecond
	retryMax   = 4 * time.Second
)

// refresh reads the host, trying again on connection failures for up to Options.Retry.
func (h *host) refresh(ctx context.Context) Host {
	h.mu.Lock()
	defer h.mu.Unlock()
	opts := &h.fleet.opts
	out := Host{URI: h.uri, Started: opts.Now()}
	deadline := out.Started.Add(opts.Retry)
	pause := retryFirst
	for {
		out.Attempts++
		doms, err := h.read(ctx)
		if err == nil {
			out.Domains, out.Err = doms, nil
			break
		}
		out.Err = err
		if !retriable(err) || ctx.Err() != nil || opts.Now().Add(pause).After(deadline) {
			break
		}
		t := time.NewTimer(pause)
		select {
		case <-ctx.Done():
			t.Stop()
		case <-t.C:
		}
		if ctx.Err() != nil {
			break
		}
		pause = min(2*pause, retryMax)
	}
	out.Duration = opts.Now().Sub(out.Started)
	return out
}

// retriable says whether a host failure may go away by itself: the connection failed or broke.
func retriable(err error) bool {
	return errors.Is(err, driver.ErrConnection)
}

// hostError says whether a domain's error is the host's: the connection is gone (or the call's
// context ended), so the whole host fails rather than one domain.
func hostError(err error) bool {
	return errors.Is(err, driver.ErrConnection) || errors.Is(err, driver.ErrClosed) ||
		errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)
}

// read is one attempt at the host: open (once), list the domains, read the selected ones.
func (h *host) read(ctx context.Context) ([]Domain, error) {
	opts := &h.fleet.opts
	if h.drv == nil {
		drv, err := opts.Open(ctx, h.uri)
		if err != nil {
			return nil, err
		}
		h.drv = drv
	}
	lctx, cancel := ctx, context.CancelFunc(func() {})
	if opts.ListTimeout > 0 {
		lctx, cancel = context.WithTimeout(ctx, opts.ListTimeout)
	}
	infos, err := h.drv.Domains(lctx)
	cancel()
	if err != nil {
		return nil, err
	}
	var sel []driver.DomainInfo
	live := map[string]bool{}
	for _, in := range infos {
		if h.fleet.selected(in.Name) {
			sel = append(sel, in)
			live[in.UUID] = true
		}
	}
	h.dmu.Lock()
	for uuid := range h.doms { // undefined since, or no longer selected: let the handle go
		if !live[uuid] {
			delete(h.doms, uuid)
		}
	}
	h.dmu.Unlock()
	local := isLocal(h.drv.URI())
	exact := false
	if now := opts.Now(); opts.ExactEvery > 0 && now.Sub(h.exactAt) >= opts.ExactEvery {
		exact, h.exactAt = true, now
	}
	out := make([]Domain, len(sel))
	keep := make([]bool, len(sel))
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		hostErr error
	)
	sem := make(chan struct{}, opts.DomainParallel)
	for i, in := range sel {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			d, ok, err := h.domain(ctx, in, local, exact)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err != nil:
				if hostErr == nil {
					hostErr = err
				}
			case ok:
				out[i], keep[i] = d, true
			}
		}()
	}
	wg.Wait()
	if hostErr != nil {
		return nil, hostErr
	}
	var doms []Domain
	for i := range out {
		if keep[i] {
			doms = append(doms, out[i])
		}
	}
	sortDomains(doms)
	return doms, nil
}

// handle returns the kept handle of a domain, looking it up (by UUID) the first time.
func (h *host) handle(ctx context.Context, in driver.DomainInfo) (driver.Domain, error) {
	if dom := h.domsGet(in.UUID); dom != nil {
		return dom, nil
	}
	dom, err := h.drv.Domain(ctx, in.UUID)
	if err != nil {
		return nil, err
	}
	h.domsPut(in.UUID, dom)
	return dom, nil
}

// domain reads one domain. ok false: the domain is gone (left out). A non-nil error is the
// host's (hostError); the domain's own failures are in Domain.Err.
func (h *host) domain(ctx context.Context, in driver.DomainInfo, local, exact bool) (Domain, bool, error) {
	opts := &h.fleet.opts
	d := Domain{URI: h.uri, Name: in.Name, UUID: in.UUID, State: in.State}
	fail := func(err error) (Domain, bool, error) {
		switch {
		case errors.Is(err, driver.ErrDomainNotFound):
			h.domsDelete(in.UUID)
			return d, false, nil
		case hostError(err):
			return d, false, err
		}
		d.Err = err
		return d, true, nil
	}
	dom, kept := h.domsGet(in.UUID), true
	if dom == nil {
		kept = false
		var err error
		if dom, err = h.handle(ctx, in); err != nil {
			return fail(err)
		}
	}
	if exact && kept { // a new handle loads whole anyway
		for _, k := range conf.Kinds {
			if err := dom.Reload(ctx, k); err != nil {
				return fail(err)
			}
		}
	}
	snaps, err := dom.Moments(ctx, conf.Snapshot)
	if err != nil {
		return fail(err)
	}
	cps, err := dom.Moments(ctx, conf.Checkpoint)
	if err != nil {
		return fail(err)
	}
	var st *driver.Storage
	if sr, ok := dom.(driver.StorageReader); ok {
		if st, err = sr.Storage(ctx); err != nil {
			return fail(err)
		}
	}
	var sm, cm []Moment
	d.Snapshots, sm = summarize(snaps, opts.Moments)
	d.Checkpoints, cm = summarize(cps, opts.Moments)
	if opts.Moments {
		d.Moments = append(sm, cm...)
	}
	if c := snaps.Current(); c != nil {
		d.CurrentSnapshot = c.Name()
	}
	if c := cps.Current(); c != nil {
		d.CurrentCheckpoint = c.Name()
	}
	d.CurrentCheckpointRule = cps.CurrentRule()
	for _, m := range snaps.All() {
		if m.Def().IsExternal() {
			d.ExternalSnapshots++
		}
	}
	if st != nil && st.State != driver.DomainNoState {
		d.State = st.State // the later reading
	}
	d.Disks = freshness(cps, st)
	d.Bytes = h.sizes.measure(ctx, snaps, st, local)
	return d, true, nil
}

func (h *host) domsGet(uuid string) driver.Domain {
	h.dmu.Lock()
	defer h.dmu.Unlock()
	return h.doms[uuid]
}

func (h *host) domsPut(uuid string, d driver.Domain) {
	h.dmu.Lock()
	defer h.dmu.Unlock()
	h.doms[uuid] = d
}

func (h *host) domsDelete(uuid string) {
	h.dmu.Lock()
	defer h.dmu.Unlock()
	delete(h.doms, uuid)
}

// close closes the host's driver.
func (h *host) close() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.drv == nil {
		return nil
	}
	err := h.drv.Close()
	h.drv = nil
	h.doms = map[string]driver.Domain{}
	return err
}

// isLocal says whether a connection's files are this machine's: a QEMU URI without a host
// (qemu:///system, qemu:///session, qemu+unix:///system?socket=...). libvirt's test driver keeps
// no files; a remote host's files are not ours even when the host is this one.
func isLocal(uri string) bool {
	u, err := url.Parse(uri)
	if err != nil {
		return false
	}
	scheme, transport, _ := strings.Cut(u.Scheme, "+")
	return scheme == "qemu" && u.Host == "" && (transport == "" || transport == "unix")
}
