package virt

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"libvirt.org/go/libvirt"

	"github.com/vmoments/vmoments/conf"
	"github.com/vmoments/vmoments/driver"
	"github.com/vmoments/vmoments/driver/internal/load"
	"github.com/vmoments/vmoments/momentlist"
)

// Domain is one libvirt domain's moments. It implements driver.Domain.
//
// Each kind has its own mutex and its own published list. A published list is never changed
// again: a refresh that finds changes loads a new list, and a change works on a copy
// (List.Clone) that then replaces it. So the moments handed out stay valid and consistent
// while the domain moves on.
type Domain struct {
	drv        *Driver
	name, uuid string

	kinds [3]kindState // indexed by conf.Kind (NoKind unused)
}

type kindState struct {
	mu   sync.Mutex
	list *momentlist.List // nil until loaded; immutable once published
	// memo remembers the domain-level list calls libvirtd refused as too big (past 16,384
	// names), so a refresh asks for their pieces directly instead of being refused again.
	memo load.Memo
}

func newDomain(d *Driver, name, uuid string) *Domain {
	return &Domain{drv: d, name: name, uuid: uuid}
}

// Name returns the domain's name.
func (d *Domain) Name() string { return d.name }

// UUID returns the domain's UUID.
func (d *Domain) UUID() string { return d.uuid }

// Driver returns the driver the domain belongs to.
func (d *Domain) Driver() driver.Driver { return d.drv }

// handle returns the domain's libvirt handle on the read or write connection; the caller
// frees it when its call is done (see domainHandle).
func (d *Domain) handle(write bool) (*slot, *libvirt.Domain, error) {
	s, err := d.drv.conn(write)
	if err != nil {
		return nil, nil, err
	}
	return d.handleOn(s)
}

func (d *Domain) handleOn(s *slot) (*slot, *libvirt.Domain, error) {
	h, err := d.drv.domainHandle(s, d.uuid)
	if err != nil {
		return nil, nil, d.drv.wrap(d.name, conf.NoKind, "", "", err)
	}
	return s, h, nil
}

func (d *Domain) state(kind conf.Kind) (*kindState, error) {
	if !kind.Valid() {
		return nil, &driver.Error{URI: d.drv.uri, Domain: d.name, Msg: fmt.Sprintf("unknown moment kind %d (want conf.Snapshot or conf.Checkpoint)", kind)}
	}
	return &d.kinds[kind], nil
}

// loaded brings the list of kind in step with libvirt (loads it afresh with full), under the
// kind's lock, and returns it: the one path of List, Moments, Current, Def and Reload. A
// published list is never changed again, so the caller reads it after the lock is released
// (a Clone for Moments included).
func (d *Domain) loaded(ctx context.Context, kind conf.Kind, full bool) (*momentlist.List, error) {
	st, err := d.state(kind)
	if err != nil {
		return nil, err
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	if err := d.refresh(ctx, kind, st, full); err != nil {
		return nil, err
	}
	return st.list, nil
}

// List refreshes the list of kind and selects from it.
func (d *Domain) List(ctx context.Context, kind conf.Kind, from string, f momentlist.Filter) ([]*momentlist.Moment, error) {
	l, err := d.loaded(ctx, kind, false)
	if err != nil {
		return nil, err
	}
	var fm *momentlist.Moment
	if from != "" {
		if fm = l.Find(from); fm == nil {
			return nil, d.notFound(kind, from)
		}
	}
	out, err := l.Select(fm, f)
	if err != nil {
		return nil, &driver.Error{URI: d.drv.uri, Domain: d.name, Kind: kind, Moment: from, Msg: err.Error(), Err: err}
	}
	return out, nil
}

// Moments refreshes the list of kind and returns a private copy of it.
func (d *Domain) Moments(ctx context.Context, kind conf.Kind) (*momentlist.List, error) {
	l, err := d.loaded(ctx, kind, false)
	if err != nil {
		return nil, err
	}
	return l.Clone(), nil
}

// Current refreshes the list of kind and returns its current moment and the rule behind it.
func (d *Domain) Current(ctx context.Context, kind conf.Kind) (*momentlist.Moment, momentlist.CurrentRule, error) {
	l, err := d.loaded(ctx, kind, false)
	if err != nil {
		return nil, 0, err
	}
	return l.Current(), l.CurrentRule(), nil
}

// Def refreshes the list of kind and returns one moment's definition.
func (d *Domain) Def(ctx context.Context, kind conf.Kind, name string) (*conf.Def, error) {
	l, err := d.loaded(ctx, kind, false)
	if err != nil {
		return nil, err
	}
	m := l.Find(name)
	if m == nil {
		return nil, d.notFound(kind, name)
	}
	return m.Def(), nil
}

// Reload loads the list of kind again in full.
func (d *Domain) Reload(ctx context.Context, kind conf.Kind) error {
	_, err := d.loaded(ctx, kind, true)
	return err
}

// XML asks libvirt for one moment's XML.
func (d *Domain) XML(ctx context.Context, kind conf.Kind, name string, flags driver.XMLFlags) (string, error) {
	if _, err := d.state(kind); err != nil {
		return "", err
	}
	if err := d.drv.ctxErr(ctx, d.name); err != nil {
		return "", d.drv.wrap(d.name, kind, name, "get XML", err)
	}
	return d.xml(ctx, kind, name, flags, true)
}

// xmlOnce fetches without a retry.
func (d *Domain) xmlOnce(ctx context.Context, kind conf.Kind, name string, flags driver.XMLFlags) (string, error) {
	return d.xml(ctx, kind, name, flags, false)
}

func (d *Domain) xml(ctx context.Context, kind conf.Kind, name string, flags driver.XMLFlags, retry bool) (string, error) {
	// libvirt gives the security-sensitive parts only on a read-write connection ("operation
	// forbidden: virDomainSnapshotGetXMLDesc with secure flag"), as virsh without -r has.
	secure := flags&driver.XMLSecure != 0
	s, dom, err := d.handle(secure && !d.drv.readOnly)
	if err != nil {
		return "", d.drv.wrap(d.name, kind, name, "get XML", err)
	}
	defer dom.Free()
	var xml string
	if kind == conf.Snapshot {
		var h *libvirt.DomainSnapshot
		if h, err = dom.SnapshotLookupByName(name, 0); err == nil {
			xml, err = h.GetXMLDesc(libvirt.DomainSnapshotXMLFlags(flags))
			h.Free()
		}
	} else {
		var h *libvirt.DomainCheckpoint
		if h, err = dom.CheckpointLookupByName(name, 0); err == nil {
			xml, err = h.GetXMLDesc(libvirt.DomainCheckpointXMLFlags(flags))
			h.Free()
		}
	}
	if err != nil {
		err = classify(s.conn, err)
		if retry && load.ClassOf(err) == load.ConnLost && !d.drv.opts.Single {
			if _, rerr := d.drv.reconnect(ctx, s, ReconnectWait); rerr == nil {
				return d.xmlOnce(ctx, kind, name, flags)
			}
		}
		err = d.drv.wrap(d.name, kind, name, "get XML", err)
		if secure && d.drv.readOnly && errors.Is(err, driver.ErrReadOnly) {
			if e, ok := err.(*driver.Error); ok {
				e.Hint = joinHints(e.Hint, "The driver was opened read-only; XMLSecure needs a driver opened read-write")
			}
		}
		return "", err
	}
	return xml, nil
}

// notFound is the error for a moment the loaded list lacks, in libvirt's words.
func (d *Domain) notFound(kind conf.Kind, name string) error {
	return &driver.Error{URI: d.drv.uri, Domain: d.name, Kind: kind, Moment: name,
		Msg: fmt.Sprintf("no domain %s with matching name '%s'", kind, name), Class: driver.ErrMomentNotFound}
}

// refresh brings st.list in step with libvirt (see driver.Domain.List), retrying once on a new
// connection when the connection is lost (never for a Single driver).
func (d *Domain) refresh(ctx context.Context, kind conf.Kind, st *kindState, full bool) error {
	s, err := d.drv.conn(false)
	if err != nil {
		return d.drv.wrap(d.name, kind, "", "load", err)
	}
	err = d.refreshOn(ctx, s, kind, st, full)
	if err == nil || load.ClassOf(err) != load.ConnLost || ctx.Err() != nil {
		return d.drv.wrap(d.name, kind, "", "load", err)
	}
	ns, rerr := d.drv.reconnect(ctx, s, ReconnectWait)
	if rerr != nil {
		e := d.drv.wrap(d.name, kind, "", "load", err).(*driver.Error)
		e.Hint = reconnectHint(rerr)
		return e
	}
	return d.drv.wrap(d.name, kind, "", "load", d.refreshOn(ctx, ns, kind, st, full))
}

func (d *Domain) refreshOn(ctx context.Context, s *slot, kind conf.Kind, st *kindState, full bool) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	_, dom, err := d.handleOn(s)
	if err != nil {
		return err
	}
	defer dom.Free()
	old := st.list
	loading := old == nil || full
	// A load fetches every listed moment, so it keeps the handles the list returns; a refresh
	// usually fetches nothing, so it lists names only (about 70 % less client work).
	raw := newSource(kind, s.conn, dom, loading)
	defer raw.close()
	var src load.Source = raw
	if w := d.drv.opts.wrapSource; w != nil {
		src = w(src)
	}
	names, _, err := st.memo.Names(ctx, src)
	if err != nil {
		return err
	}
	cur := ""
	if kind == conf.Snapshot {
		if cur, err = currentSnapshot(s.conn, dom); err != nil {
			return err
		}
	}
	if loading {
		defs, _, err := load.Fetch(ctx, src, names, d.drv.opts.Workers)
		if err != nil {
			return err
		}
		d.publishLoad(st, kind, defs, cur)
		return nil
	}
	var fresh []string
	for _, n := range names {
		if old.Find(n) == nil {
			fresh = append(fresh, n)
		}
	}
	gone := old.Len() - (len(names) - len(fresh))
	oldCur := ""
	if c := old.Current(); c != nil {
		oldCur = c.Name()
	}
	if len(fresh) == 0 && gone == 0 && (kind == conf.Checkpoint || cur == oldCur) {
		return nil // nothing changed
	}
	// The set of listed names is built only now: most refreshes return above.
	listed := make(map[string]bool, len(names))
	for _, n := range names {
		listed[n] = true
	}
	// A moment deleted elsewhere hands its children to its parent, and libvirt rewrites their
	// definitions: fetch those again rather than keep a parent that is gone (which would
	// break the relations and clear the current moment).
	refetch := map[string]bool{}
	if gone > 0 {
		for _, m := range old.All() {
			if p := m.Def().Parent; listed[m.Name()] && p != "" && !listed[p] {
				refetch[m.Name()] = true
				fresh = append(fresh, m.Name())
			}
		}
	}
	newDefs, _, err := load.Fetch(ctx, src, fresh, d.drv.opts.Workers)
	if err != nil {
		return err
	}
	defs := make([]*conf.Def, 0, len(names))
	for _, m := range old.All() {
		if listed[m.Name()] && !refetch[m.Name()] {
			defs = append(defs, m.Def().Clone())
		}
	}
	d.publishLoad(st, kind, append(defs, newDefs...), cur)
	return nil
}

// publishLoad publishes a freshly loaded list. A load that finds broken relations keeps the
// tree as libvirt does (the affected moments become roots, current is cleared): that is
// libvirt's own state, so it is served, not reported.
func (d *Domain) publishLoad(st *kindState, kind conf.Kind, defs []*conf.Def, cur string) {
	l := momentlist.New(kind)
	_ = l.Load(defs, cur)
	st.list = l
}

// currentSnapshot returns the name of libvirt's current snapshot, "" if none.
func currentSnapshot(conn *libvirt.Connect, dom *libvirt.Domain) (string, error) {
	h, err := dom.SnapshotCurrent(0)
	if err != nil {
		if isCode(err, libvirt.ERR_NO_DOMAIN_SNAPSHOT) {
			return "", nil
		}
		return "", classify(conn, err)
	}
	defer h.Free()
	name, err := h.GetName()
	if err != nil {
		return "", classify(conn, err)
	}
	return name, nil
}
