package main

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/vmoments/vmoments/cmd/vmoments/internal/vsh"
	"github.com/vmoments/vmoments/conf"
	"github.com/vmoments/vmoments/driver"
	"github.com/vmoments/vmoments/momentlist"
)

// domain is virshCommandOptDomain: the <domain> option, looked up by name, UUID or ID.
func (a *app) domain(ctx context.Context, c *vsh.Parsed) (driver.Domain, error) {
	name, _ := c.Value("domain")
	if name == "" {
		return nil, emptyOption("domain")
	}
	a.traceLookup(ctx, name)
	dom, err := a.drv.Domain(ctx, name)
	if err != nil {
		if ctx.Err() != nil {
			return nil, err // interrupted, not a lookup that failed
		}
		// virsh resets libvirt's error and says only this.
		return nil, &vsh.Error{Lines: []string{"failed to get domain '" + name + "'"}, Err: err}
	}
	return dom, nil
}

// load returns a private copy of the domain's moment list of kind (listing: for a list command,
// whose failure virsh words differently). On a terminal, unless quiet output was asked for
// (JSON), a load slower than half a second shows "fetched/total" on stderr.
func (a *app) load(ctx context.Context, dom driver.Domain, kind conf.Kind, quiet, listing bool) (*momentlist.List, error) {
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
			return nil, libvirtErr(err, "unexpected problem querying checkpoints")
		}
		return nil, libvirtErr(err)
	}
	return l, nil
}

// lookupMoment is virshLookupSnapshot (withCurrent: the option arg or --current, exclusive) and
// virshLookupCheckpoint (the option arg only), with libvirt's messages for missing moments.
func lookupMoment(c *vsh.Parsed, l *momentlist.List, kind conf.Kind, arg string, withCurrent bool) (*momentlist.Moment, error) {
	name, given := c.Value(arg)
	if given && name == "" {
		return nil, emptyOption(arg)
	}
	current := withCurrent && c.Has("current")
	if current && given {
		return nil, vsh.Errorf("--%s and --current are mutually exclusive", arg)
	}
	switch {
	case given:
		m := l.Find(name)
		if m == nil {
			return nil, vsh.Errorf("%s", notFound(kind, name))
		}
		return m, nil
	case current:
		m := l.Current()
		if m == nil {
			return nil, vsh.Errorf("Domain snapshot not found: the domain does not have a current snapshot")
		}
		return m, nil
	case withCurrent:
		return nil, vsh.Errorf("--%s or --current is required", arg)
	}
	return nil, vsh.Errorf("--%s is required", arg)
}

// kindTitle returns "Snapshot" or "Checkpoint": the kind capitalised, for libvirt's error prefixes.
func kindTitle(kind conf.Kind) string {
	return strings.ToUpper(kind.String()[:1]) + kind.String()[1:]
}

// notFound is libvirt's VIR_ERR_NO_DOMAIN_SNAPSHOT / _CHECKPOINT message for a name.
func notFound(kind conf.Kind, name string) string {
	return fmt.Sprintf("Domain %s not found: no domain %s with matching name '%s'", kind, kind, name)
}
