package virt

import (
	"context"
	"errors"
	"strings"

	"libvirt.org/go/libvirt"

	"github.com/vmoments/vmoments/conf"
	"github.com/vmoments/vmoments/driver"
	"github.com/vmoments/vmoments/driver/internal/load"
)

// wrap turns err into a *driver.Error about the URI, the domain and the moment (moment "" for
// none): libvirt's message verbatim, the libvirt.Error reachable with errors.As, and the
// driver's hint for op, if any. A load error names its moment itself.
func (d *Driver) wrap(domain string, kind conf.Kind, moment, op string, err error) error {
	if err == nil {
		return nil
	}
	if de, ok := err.(*driver.Error); ok {
		// It says what it knows (the connection's URI, a class); add where it happened.
		if de.Domain == "" {
			de.Domain = domain
		}
		if de.Kind == conf.NoKind && de.Moment == "" && !de.Unnamed {
			de.Kind = kind
			if moment == newMoment {
				de.Unnamed = true
			} else {
				de.Moment = moment
			}
		}
		return de
	}
	var me *load.MomentError
	if moment == "" && errors.As(err, &me) {
		kind, moment = me.Kind, me.Name
	}
	var step *deleteStepError
	if errors.As(err, &step) {
		kind, moment = step.Kind, step.Failed
	}
	e := &driver.Error{URI: d.uri, Domain: domain, Kind: kind, Moment: moment, Err: err, Class: classOf(err)}
	if e.Class == err {
		e.Err = nil // the error is the class itself (ErrReadOnly, ErrClosed)
	}
	if moment == newMoment {
		e.Moment, e.Unnamed = "", true
	}
	var le libvirt.Error
	if errors.As(err, &le) {
		e.Msg = le.Message
		if d.opts.Hint != nil {
			e.Hint = d.opts.Hint(op, le)
		}
	} else if me != nil {
		e.Msg = me.Err.Error()
	}
	if step != nil {
		e.Hint = joinHints(e.Hint, step.hint())
	}
	return e
}

// classOf returns the driver error class of err, nil if it has none.
func classOf(err error) error {
	for _, c := range []error{driver.ErrReadOnly, driver.ErrClosed, driver.ErrDomainNotFound, driver.ErrMomentNotFound, driver.ErrConnection} {
		if errors.Is(err, c) {
			return c
		}
	}
	var le libvirt.Error
	if errors.As(err, &le) {
		switch le.Code {
		case libvirt.ERR_NO_DOMAIN:
			return driver.ErrDomainNotFound
		case libvirt.ERR_NO_DOMAIN_SNAPSHOT, libvirt.ERR_NO_DOMAIN_CHECKPOINT:
			return driver.ErrMomentNotFound
		case libvirt.ERR_OPERATION_DENIED:
			// "read only access prevents ...", "... with secure flag": refused on a read-only
			// connection.
			return driver.ErrReadOnly
		}
	}
	if load.ClassOf(err) == load.ConnLost {
		return driver.ErrConnection
	}
	return nil
}

// joinHints joins hint sentences, skipping empty ones.
func joinHints(hints ...string) string {
	var out []string
	for _, h := range hints {
		if h != "" {
			out = append(out, h)
		}
	}
	return strings.Join(out, ". ")
}

// classify gives a libvirt error its load.Class (see load.Class for the codes).
func classify(conn *libvirt.Connect, err error) error {
	if err == nil {
		return nil
	}
	var le libvirt.Error
	if !errors.As(err, &le) {
		return err
	}
	class := load.Other
	msg := strings.ToLower(le.Message)
	switch {
	case strings.Contains(msg, "too many"):
		// libvirtd: "Too many domain_snapshots '20000' for limit '16384'";
		// the client: "too many remote strings: 20000 > 16384".
		class = load.TooMany
	case le.Code == libvirt.ERR_NO_DOMAIN_SNAPSHOT || le.Code == libvirt.ERR_NO_DOMAIN_CHECKPOINT:
		class = load.Gone
	case le.Code == libvirt.ERR_SYSTEM_ERROR || le.Code == libvirt.ERR_RPC ||
		le.Code == libvirt.ERR_NO_CONNECT || le.Code == libvirt.ERR_INVALID_CONN:
		class = load.ConnLost
	default:
		if conn != nil {
			if alive, aerr := conn.IsAlive(); aerr != nil || !alive {
				class = load.ConnLost
			}
		}
	}
	if class == load.Other {
		return err
	}
	return &load.Classified{Class: class, Err: err}
}

// ctxErr returns ctx's error wrapped for the domain, or nil.
func (d *Driver) ctxErr(ctx context.Context, domain string) error {
	if err := ctx.Err(); err != nil {
		return &driver.Error{URI: d.uri, Domain: domain, Err: err}
	}
	return nil
}

// reconnectHint explains why a lost connection was not replaced.
func reconnectHint(rerr error) string {
	if errors.Is(rerr, errNoReconnect) {
		return "The test driver's state lived in that one connection and is gone with it, so vmoments does not reconnect: open the URI again"
	}
	var le libvirt.Error
	if errors.As(rerr, &le) {
		return "Reconnecting failed too: " + le.Message
	}
	return "Reconnecting failed too: " + rerr.Error()
}
