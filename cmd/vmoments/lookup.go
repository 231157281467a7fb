package main

import (
	"fmt"
	"sync"
	"time"

	"github.com/vmoments/vmoments/conf"
	"github.com/vmoments/vmoments/driver"
	"github.com/vmoments/vmoments/momentlist"
)

// domain is virshCommandOptDomain: the <domain> option, looked up by name or UUID.
func (a *app) domain(c *parsedCmd) (driver.Domain, bool) {
	name, _ := c.str("domain")
	if name == "" {
		a.emptyOption("domain")
		return nil, false
	}
	dom, err := a.drv.Domain(a.ctx, name)
	if err != nil {
		// virsh resets libvirt's error and says only this.
		a.errorf("failed to get domain '%s'", name)
		return nil, false
	}
	return dom, true
}

// emptyOption is virsh's vshCommandOptStringReq error for a string option given an empty value.
func (a *app) emptyOption(name string) {
	a.errorf("Failed to get option '%s': Option argument is empty", name)
}

// load returns a private copy of the domain's moment list of kind (listing: for a list command,
// whose failure virsh words differently). On a terminal, unless quiet
// output was asked for (JSON), a load slower than half a second shows "fetched/total" on stderr.
func (a *app) load(dom driver.Domain, kind conf.Kind, quiet, listing bool) (*momentlist.List, bool) {
	ctx := a.ctx
	var p *progress
	if a.stderrTTY && !quiet {
		p = &progress{w: a.stderr, kind: kind, start: time.Now(), delay: 500 * time.Millisecond}
		ctx = driver.WithProgress(ctx, p.update)
	}
	l, err := dom.Moments(ctx, kind)
	if p != nil {
		p.done()
	}
	if err != nil {
		// virsh: checkpoint-list says its own line first, then vshCommandRun reports
		// libvirt's error; snapshot-list reports libvirt's error alone.
		if listing && kind == conf.Checkpoint {
			a.errorf("unexpected problem querying checkpoints")
		}
		a.errorf("%s", libvirtMessage(err))
		return nil, false
	}
	return l, true
}

// lookupMoment is virshLookupSnapshot (withCurrent: the option arg or --current, exclusive) and
// virshLookupCheckpoint (the option arg only), with libvirt's messages for missing moments.
func (a *app) lookupMoment(c *parsedCmd, l *momentlist.List, kind conf.Kind, arg string, withCurrent bool) (*momentlist.Moment, bool) {
	name, given := c.str(arg)
	if given && name == "" {
		a.emptyOption(arg)
		return nil, false
	}
	current := withCurrent && c.has("current")
	if current && given {
		a.errorf("--%s and --current are mutually exclusive", arg)
		return nil, false
	}
	switch {
	case given:
		m := l.Find(name)
		if m == nil {
			a.errorf("%s", notFound(kind, name))
			return nil, false
		}
		return m, true
	case current:
		m := l.Current()
		if m == nil {
			a.errorf("Domain snapshot not found: the domain does not have a current snapshot")
			return nil, false
		}
		return m, true
	case withCurrent:
		a.errorf("--%s or --current is required", arg)
	default:
		a.errorf("--%s is required", arg)
	}
	return nil, false
}

// progress draws "KINDs: fetched/total" on a terminal once a load has taken longer than delay,
// and erases it when the load ends.
type progress struct {
	w     interface{ Write([]byte) (int, error) }
	kind  conf.Kind
	start time.Time
	delay time.Duration
	mu    sync.Mutex
	shown bool
}

func (p *progress) update(fetched, total int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if time.Since(p.start) < p.delay {
		return
	}
	p.shown = true
	fmt.Fprintf(p.w, "\r%ss: %d/%d", p.kind, fetched, total)
}

func (p *progress) done() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.shown {
		fmt.Fprint(p.w, "\r\x1b[K")
	}
}
