// Package virt is the libvirt-backed implementation of the driver contract that driver/qemu and
// driver/test share. They differ only in [Options]: how many connections a driver may hold
// (the test driver's state lives in its one connection) and how libvirt's errors are explained.
package virt

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"sync"
	"time"

	"libvirt.org/go/libvirt"

	"github.com/vmoments/vmoments/conf"
	"github.com/vmoments/vmoments/driver"
	"github.com/vmoments/vmoments/driver/internal/load"
)

// Options say how a driver uses libvirt.
type Options struct {
	// Single makes the driver keep exactly one connection for its whole life, used for reads and
	// changes alike (read-write unless the driver is read-only), and never reconnect: the state of
	// libvirt's test driver lives in that connection and would vanish with it.
	Single bool
	// Workers is the number of XML fetches in flight during a load (default
	// load.DefaultWorkers, libvirtd's max_client_requests).
	Workers int
	// Hint returns a sentence explaining a libvirt error of op ("create snapshot", ...), or "".
	Hint func(op string, le libvirt.Error) string
	// Caps is what the driver accepts (driver.Driver.Capabilities).
	Caps driver.Capabilities
	// DeleteOneByOne makes a snapshot delete with DeleteChildren or DeleteChildrenOnly delete
	// the descendants one at a time, leaves first, with plain deletes (DeleteMetadataOnly
	// carried through), then the snapshot itself for DeleteChildren. libvirt 9.0's QEMU driver
	// crashes (libvirtd SIGSEGV in virDomainMomentForEachChild) on a CHILDREN_ONLY delete of a
	// shut-off guest's snapshot whose subtree branches (see driver/qemu's doc); its own
	// delete of a subtree is a series of single deletes too, so the end state is the same:
	// the moments are gone, and a current snapshot among them ends on the snapshot (after
	// DeleteChildren, on its parent). A failure midway stops there: the error names the
	// moment that failed and says that the ones before it are deleted, and the list is loaded
	// afresh. Deletes libvirt refuses up front (external snapshots, see deleteOrder) are
	// passed to libvirt as one call, for its own refusal.
	DeleteOneByOne bool
	// beforeDelete, if set, is called before each delete of DeleteOneByOne; an error stops the
	// delete there as libvirt's would (tests make a delete fail midway with it).
	beforeDelete func(name string) error
	// wrapSource, if set, wraps the load.Source of every load and refresh (tests count and
	// refuse list calls with it).
	wrapSource func(load.Source) load.Source
}

// Driver is an open libvirt URI. It implements driver.Driver.
type Driver struct {
	uri      string
	readOnly bool
	opts     Options

	mu     sync.Mutex
	read   *slot // connection for reads (for Single, the only one)
	write  *slot // read-write connection, opened on the first change (for Single, == read)
	closed bool
	// doms holds the libvirt domain handles looked up on each connection, by UUID. They are
	// freed with their connection: a handle left over keeps the connection (and the test
	// driver's state) alive after Close.
	doms map[*slot]map[string]*libvirt.Domain
	// retired are the slots replaced by a reconnect, closed by Close.
	retired []*slot
}

// slot is one libvirt connection and its generation: a reconnect makes a new slot, and handles
// looked up on an older generation are looked up again.
type slot struct {
	conn *libvirt.Connect
	gen  int
}

// Open opens uri: a read-only connection for reads (or, with opts.Single, the one connection),
// and with driver.ConnectWrite the read-write one at once.
func Open(ctx context.Context, uri string, mode driver.Mode, opts Options) (*Driver, error) {
	if err := ctx.Err(); err != nil {
		return nil, &driver.Error{URI: uri, Err: err}
	}
	if opts.Workers < 1 {
		opts.Workers = load.DefaultWorkers
	}
	readOnly := mode.ReadOnly()
	d := &Driver{uri: uri, readOnly: readOnly, opts: opts, doms: map[*slot]map[string]*libvirt.Domain{}}
	conn, err := d.dial(readOnly || !opts.Single)
	if err != nil {
		return nil, err
	}
	d.read = &slot{conn: conn, gen: 1}
	if opts.Single && !readOnly {
		d.write = d.read
	}
	if mode&driver.ConnectWrite != 0 && !readOnly && d.write == nil {
		w, err := d.dial(false)
		if err != nil {
			d.read.conn.Close()
			return nil, err
		}
		d.write = &slot{conn: w, gen: 1}
	}
	return d, nil
}

// Probe opens and closes one connection to uri (read-write unless mode has driver.ReadOnly) and
// returns the URI libvirt connected to (see driver.Probe).
func Probe(ctx context.Context, uri string, mode driver.Mode) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", &driver.Error{URI: uri, Err: err}
	}
	var (
		conn *libvirt.Connect
		err  error
	)
	if mode.ReadOnly() {
		conn, err = libvirt.NewConnectReadOnly(uri)
	} else {
		conn, err = libvirt.NewConnect(uri)
	}
	if err != nil {
		return "", connectError(uri, err)
	}
	defer conn.Close()
	if uri != "" {
		return uri, nil
	}
	got, err := conn.GetURI()
	if err != nil {
		return "", connectError(uri, err)
	}
	return got, nil
}

var probeOnce sync.Once

// RegisterProbe makes libvirt's connection the probe of driver.Probe (once per process).
func RegisterProbe() {
	probeOnce.Do(func() { driver.RegisterProbe(Probe) })
}

// connectError is the error of a connection libvirt refused: libvirt's message, the
// libvirt.Error, and ErrConnection.
func connectError(uri string, err error) error {
	e := &driver.Error{URI: uri, Class: driver.ErrConnection, Err: err}
	var le libvirt.Error
	if errors.As(err, &le) {
		e.Msg = le.Message
	}
	return e
}

func (d *Driver) dial(readOnly bool) (*libvirt.Connect, error) {
	var (
		conn *libvirt.Connect
		err  error
	)
	if readOnly {
		conn, err = libvirt.NewConnectReadOnly(d.uri)
	} else {
		conn, err = libvirt.NewConnect(d.uri)
	}
	if err != nil {
		return nil, connectError(d.uri, err)
	}
	return conn, nil
}

// URI returns the URI the driver was opened with.
func (d *Driver) URI() string { return d.uri }

// Capabilities returns what the driver accepts.
func (d *Driver) Capabilities() driver.Capabilities { return d.opts.Caps }

// Versions returns the libvirt versions of the library and of the daemon.
func (d *Driver) Versions(ctx context.Context) (driver.Versions, error) {
	var v driver.Versions
	lib, err := libvirt.GetVersion()
	if err != nil {
		return v, d.wrap("", conf.NoKind, "", "", err)
	}
	v.Library = versionString(lib)
	if d.opts.Single {
		v.Daemon = v.Library // libvirt's test driver runs in this process
		return v, nil
	}
	if err := d.ctxErr(ctx, ""); err != nil {
		return v, err
	}
	s, err := d.conn(false)
	if err != nil {
		return v, err
	}
	var daemon uint32
	err = d.retry(ctx, s, func(s *slot) error {
		var err error
		daemon, err = s.conn.GetLibVersion()
		return classify(s.conn, err)
	})
	if err != nil {
		return v, d.wrap("", conf.NoKind, "", "", err)
	}
	v.Daemon = versionString(daemon)
	return v, nil
}

// versionString formats libvirt's major*1,000,000+minor*1,000+release.
func versionString(v uint32) string {
	return fmt.Sprintf("%d.%d.%d", v/1000000, v/1000%1000, v%1000)
}

// Domains lists the connection's domains, sorted by name.
func (d *Driver) Domains(ctx context.Context) ([]driver.DomainInfo, error) {
	if err := d.ctxErr(ctx, ""); err != nil {
		return nil, err
	}
	s, err := d.conn(false)
	if err != nil {
		return nil, err
	}
	var doms []libvirt.Domain
	err = d.retry(ctx, s, func(rs *slot) error {
		var err error
		s = rs
		doms, err = rs.conn.ListAllDomains(0)
		return classify(rs.conn, err)
	})
	if err != nil {
		return nil, d.wrap("", conf.NoKind, "", "", err)
	}
	out := make([]driver.DomainInfo, 0, len(doms))
	var first error
	for i := range doms {
		h := &doms[i]
		info, err := domainInfo(h)
		h.Free()
		switch {
		case err == nil:
			out = append(out, info)
		case isCode(err, libvirt.ERR_NO_DOMAIN):
			// Undefined between the list and the question: it is gone, as if listed a moment later.
		case first == nil:
			first = err
		}
	}
	if first != nil {
		return nil, d.wrap("", conf.NoKind, "", "", classify(s.conn, first))
	}
	d.forgetGone(out)
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// forgetGone frees the cached handles of domains that are not among those just listed: they
// were undefined, and a program that lists domains again and again (the fleet, the exporter)
// would otherwise keep one handle for every domain that ever existed. A Domain of such a UUID
// looks its handle up again if it is used once more (a domain defined again with that UUID).
func (d *Driver) forgetGone(listed []driver.DomainInfo) {
	exists := make(map[string]bool, len(listed))
	for _, info := range listed {
		exists[info.UUID] = true
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, hs := range d.doms {
		for uuid, h := range hs {
			if !exists[uuid] {
				h.Free()
				delete(hs, uuid)
			}
		}
	}
}

func domainInfo(h *libvirt.Domain) (driver.DomainInfo, error) {
	var info driver.DomainInfo
	var err error
	if info.Name, err = h.GetName(); err != nil {
		return info, err
	}
	if info.UUID, err = h.GetUUIDString(); err != nil {
		return info, err
	}
	state, _, err := h.GetState()
	if err != nil {
		return info, err
	}
	info.State = driver.DomainState(state)
	info.ID = -1
	if active, err := h.IsActive(); err == nil && active {
		if id, err := h.GetID(); err == nil {
			info.ID = int(id)
		}
	}
	return info, nil
}

// ReadOnly reports whether the driver refuses changes.
func (d *Driver) ReadOnly() bool { return d.readOnly }

// Close closes every connection of the driver.
func (d *Driver) Close() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return nil
	}
	d.closed = true
	var errs []error
	for s := range d.doms {
		d.freeHandles(s)
	}
	for i, s := range append([]*slot{d.read, d.write}, d.retired...) {
		if s == nil || (i == 1 && s == d.read) {
			continue
		}
		if _, err := s.conn.Close(); err != nil && i < 2 { // a retired connection is broken anyway
			errs = append(errs, d.wrap("", conf.Snapshot, "", "", err))
		}
	}
	d.read, d.write, d.retired = nil, nil, nil
	return errors.Join(errs...)
}

// conn returns the read or the write connection, opening the write one on first use and
// replacing one that is no longer alive (libvirtd restarted since the last call).
func (d *Driver) conn(write bool) (*slot, error) {
	s, err := d.rawConn(write)
	if err != nil || d.opts.Single {
		return s, err
	}
	if alive, aerr := s.conn.IsAlive(); aerr == nil && alive {
		return s, nil
	}
	// One dial, no wait: callers that have a context and see the call fail retry with a
	// reconnect that waits for the daemon (retry, Domain.refresh).
	if ns, rerr := d.reconnect(context.Background(), s, 0); rerr == nil {
		return ns, nil
	}
	return s, nil // the call will fail with libvirt's own error
}

func (d *Driver) rawConn(write bool) (*slot, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return nil, &driver.Error{URI: d.uri, Class: driver.ErrClosed}
	}
	if !write {
		return d.read, nil
	}
	if d.readOnly {
		return nil, &driver.Error{URI: d.uri, Class: driver.ErrReadOnly}
	}
	if d.write == nil {
		conn, err := d.dial(false)
		if err != nil {
			return nil, err
		}
		d.write = &slot{conn: conn, gen: 1}
	}
	return d.write, nil
}

// errClosed is driver.ErrClosed, for the calls whose error wrap dresses.
var errClosed = driver.ErrClosed

// errNoReconnect is wrapped by the error of a lost connection that a Single driver cannot replace.
var errNoReconnect = errors.New("the connection is lost and cannot be reopened")

// ReconnectWait bounds how long a reconnect waits for a libvirtd that is away, as during a
// restart (a package upgrade stops libvirtd for a few seconds): the driver dials again and
// again for up to this long, or until the caller's context ends.
const ReconnectWait = 10 * time.Second

// Pauses between the dials of a reconnect: the first after 50 ms, doubling up to 1 s.
const (
	redialFirst = 50 * time.Millisecond
	redialMax   = time.Second
)

// reconnect replaces the connection of old (if nobody did already) with a new one. While libvirtd
// refuses the dial as a daemon that is away does (the socket is gone, the port closed, the
// connection reset: the codes load.ConnLost stands for), it dials again after a pause that
// grows from 50 ms to 1 s, for up to wait in all, and returns earlier when ctx ends; wait 0
// dials once. Any other refusal (authentication, an unknown URI) returns at once. Dials happen
// outside d.mu, so Close and the other calls never wait for a daemon; when several callers
// reconnect the same slot at once, the first new connection is kept and the others are closed.
func (d *Driver) reconnect(ctx context.Context, old *slot, wait time.Duration) (*slot, error) {
	deadline := time.Now().Add(wait)
	pause := redialFirst
	for {
		d.mu.Lock()
		p, cur, err := d.slotOf(old)
		d.mu.Unlock()
		if err != nil || p == nil {
			return cur, err
		}
		conn, err := d.dial(p == &d.read)
		if err == nil {
			d.mu.Lock()
			defer d.mu.Unlock()
			if d.closed {
				conn.Close()
				return nil, errClosed
			}
			if *p != old { // replaced while we dialed: keep theirs
				conn.Close()
				return *p, nil
			}
			// Other goroutines may still be in a call on the old handles: keep them (and thereby
			// the old connection object) until Close instead of freeing them under their feet.
			d.retired = append(d.retired, old)
			*p = &slot{conn: conn, gen: old.gen + 1}
			return *p, nil
		}
		var de *driver.Error
		if errors.As(err, &de) {
			err = de.Err
		}
		if load.ClassOf(classify(nil, err)) != load.ConnLost || time.Now().Add(pause).After(deadline) {
			return nil, err
		}
		t := time.NewTimer(pause)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, err
		case <-t.C:
		}
		pause = min(2*pause, redialMax)
	}
}

// slotOf finds the field that holds old; d.mu must be held. When neither does any more (someone
// reconnected already), p is nil and cur is the connection that replaced it.
func (d *Driver) slotOf(old *slot) (p **slot, cur *slot, err error) {
	if d.closed {
		return nil, nil, errClosed
	}
	if d.opts.Single {
		return nil, nil, errNoReconnect
	}
	for _, p := range []**slot{&d.read, &d.write} {
		if *p == old {
			return p, nil, nil
		}
	}
	if d.read != nil && d.read.gen > old.gen {
		return nil, d.read, nil
	}
	return nil, d.write, nil
}

// retry runs call on the read connection s and, when the connection is lost (libvirtd restarted
// since, or during, the call), once more on a new connection, waiting up to ReconnectWait for
// the daemon (see reconnect). call returns a classified error (classify).
func (d *Driver) retry(ctx context.Context, s *slot, call func(s *slot) error) error {
	err := call(s)
	if err == nil || d.opts.Single || load.ClassOf(err) != load.ConnLost || ctx.Err() != nil {
		return err
	}
	ns, rerr := d.reconnect(ctx, s, ReconnectWait)
	if rerr != nil {
		return err
	}
	return call(ns)
}

// Domain looks a domain up as virsh does: a running domain's numeric ID, a UUID, a name.
func (d *Driver) Domain(ctx context.Context, ref string) (driver.Domain, error) {
	dom, err := d.LookupDomain(ctx, ref)
	if err != nil {
		return nil, err // not a nil *Domain in a non-nil interface
	}
	return dom, nil
}

// LookupDomain is Domain with the concrete type, for the conformance suite's oracle.
func (d *Driver) LookupDomain(ctx context.Context, ref string) (*Domain, error) {
	if err := d.ctxErr(ctx, ref); err != nil {
		return nil, err
	}
	s, err := d.conn(false)
	if err != nil {
		return nil, err
	}
	var dom *libvirt.Domain
	err = d.retry(ctx, s, func(rs *slot) error {
		var err error
		s = rs
		dom, err = lookup(rs.conn, ref)
		return classify(rs.conn, err)
	})
	if err != nil {
		return nil, d.wrap(ref, conf.NoKind, "", "", err)
	}
	defer dom.Free()
	name, err := dom.GetName()
	if err != nil {
		return nil, d.wrap(ref, conf.NoKind, "", "", classify(s.conn, err))
	}
	uuid, err := dom.GetUUIDString()
	if err != nil {
		return nil, d.wrap(name, conf.NoKind, "", "", classify(s.conn, err))
	}
	return newDomain(d, name, uuid), nil
}

// lookup is virsh's virshLookupDomainInternal: a non-negative number is tried as a running
// domain's ID, a 36-character string as a UUID, then ref as a name; the error is the name
// lookup's.
func lookup(conn *libvirt.Connect, ref string) (*libvirt.Domain, error) {
	if id, err := strconv.ParseUint(ref, 10, 31); err == nil {
		if dom, err := conn.LookupDomainById(uint32(id)); err == nil {
			return dom, nil
		}
	}
	if len(ref) == 36 {
		if dom, err := conn.LookupDomainByUUIDString(ref); err == nil {
			return dom, nil
		}
	}
	return conn.LookupDomainByName(ref)
}

func isCode(err error, code libvirt.ErrorNumber) bool {
	var le libvirt.Error
	return errors.As(err, &le) && le.Code == code
}

// String describes the driver for logs.
func (d *Driver) String() string { return fmt.Sprintf("vmoments driver for %s", d.uri) }

// domainHandle returns the handle of the domain uuid on connection s, looking it up once.
// The handle carries a reference of the caller's, which the caller releases with Free when its
// call is done: the driver's own reference may be dropped meanwhile (forgetGone, a reconnect's
// freeHandles) without freeing a handle in use.
func (d *Driver) domainHandle(s *slot, uuid string) (*libvirt.Domain, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return nil, errClosed
	}
	h := d.doms[s][uuid]
	if h == nil {
		var err error
		if h, err = s.conn.LookupDomainByUUIDString(uuid); err != nil {
			return nil, classify(s.conn, err)
		}
		if d.doms[s] == nil {
			d.doms[s] = map[string]*libvirt.Domain{}
		}
		d.doms[s][uuid] = h
	}
	if err := h.Ref(); err != nil {
		return nil, classify(s.conn, err)
	}
	return h, nil
}

// freeHandles frees the domain handles of connection s; d.mu must be held.
func (d *Driver) freeHandles(s *slot) {
	for _, h := range d.doms[s] {
		h.Free()
	}
	delete(d.doms, s)
}
