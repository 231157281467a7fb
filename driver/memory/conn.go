package memory

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"

	"github.com/vmoments/vmoments/conf"
	"github.com/vmoments/vmoments/driver"
)

// conn is a connection to a [Server]. It implements driver.Driver.
type conn struct {
	srv      *Server
	uri      string
	readOnly bool

	mu     sync.Mutex
	closed bool
}

// URI returns the server's URI.
func (d *conn) URI() string { return d.uri }

// Capabilities returns what the server accepts.
func (d *conn) Capabilities() driver.Capabilities { return d.srv.caps }

// Versions returns the versions the server was configured with (9.0.0 by default).
func (d *conn) Versions(context.Context) (driver.Versions, error) { return d.srv.versions, nil }

// Close closes the connection: its domains' calls fail with driver.ErrClosed afterwards.
func (d *conn) Close() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if !d.closed {
		d.closed = true
		if d.srv.release != nil {
			d.srv.release()
		}
	}
	return nil
}

// String describes the driver for logs.
func (d *conn) String() string { return "vmoments memory driver for " + d.uri }

// isClosed returns ErrClosed (a *driver.Error about the URI) if the connection is closed.
func (d *conn) isClosed() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return &driver.Error{URI: d.uri, Class: driver.ErrClosed}
	}
	return nil
}

// Domains lists the server's domains, sorted by name.
func (d *conn) Domains(ctx context.Context) ([]driver.DomainInfo, error) {
	if err := ctx.Err(); err != nil {
		return nil, &driver.Error{URI: d.uri, Err: err}
	}
	if err := d.isClosed(); err != nil {
		return nil, err
	}
	return d.srv.domains(), nil
}

// Domain looks a domain up as virsh does: a running domain's numeric ID, then a UUID, then a
// name. Every call returns a new handle with lists of its own.
func (d *conn) Domain(ctx context.Context, ref string) (driver.Domain, error) {
	if err := ctx.Err(); err != nil {
		return nil, &driver.Error{URI: d.uri, Domain: ref, Err: err}
	}
	if err := d.isClosed(); err != nil {
		return nil, err
	}
	v := d.srv.lookup(ref)
	if v == nil {
		return nil, &driver.Error{URI: d.uri, Domain: ref, Class: driver.ErrDomainNotFound,
			Msg: fmt.Sprintf("Domain not found: no domain with matching name '%s'", ref)}
	}
	return &domain{drv: d, name: v.name, uuid: v.uuid}, nil
}

// lookup finds a domain by running ID, UUID or name (virsh's order).
func (s *Server) lookup(ref string) *vm {
	s.mu.Lock()
	defer s.mu.Unlock()
	if id, err := strconv.ParseUint(ref, 10, 31); err == nil {
		for _, v := range s.vms {
			if v.id == int(id) {
				return v
			}
		}
	}
	if len(ref) == 36 {
		if v := s.byUUID(strings.ToLower(ref)); v != nil {
			return v
		}
	}
	for _, v := range s.vms {
		if v.name == ref {
			return v
		}
	}
	return nil
}

// lerr is an error as libvirt reports it: its message (with libvirt's prefix for the error
// code) and the driver error class it maps to.
type lerr struct {
	msg   string
	class error
	hint  string
}

func (e *lerr) Error() string { return e.msg }

func errorf(class error, format string, args ...any) *lerr {
	return &lerr{msg: fmt.Sprintf(format, args...), class: class}
}

// noMoment is libvirt's error for a moment its lookup does not find.
func noMoment(kind conf.Kind, name string) *lerr {
	title := "Domain snapshot"
	if kind == conf.Checkpoint {
		title = "Domain checkpoint"
	}
	return errorf(driver.ErrMomentNotFound, "%s not found: no domain %s with matching name '%s'", title, kind, name)
}

// unsupported is libvirt's virCheckFlags refusal in a driver function of this driver.
func unsupported(bits uint32, function string) *lerr {
	return errorf(nil, "unsupported flags (0x%x) in function memory%s", bits, function)
}
