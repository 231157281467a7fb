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
	"github.com/vmoments/vmoments/driver/internal/local"
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
	// files is the cache of libvirtd's metadata directory of this domain and kind, nil when
	// the driver does not read the files; filesOff, when set, says why the files are not
	// tried any more (the process may not read them).
	files    *local.Dir
	filesOff string
	// checked is the content of files whose sample was last checked through the API; verified
	// is what the last refresh from the files verified and published.
	checked  *local.Content
	verified verified
	// synced is the driver's change generation the list was last in step with (Single
	// drivers: see refreshRead).
	synced uint64
	// info says how the list was last loaded or refreshed.
	info LoadInfo
}

func newDomain(d *Driver, name, uuid string) *Domain {
	dom := &Domain{drv: d, name: name, uuid: uuid}
	for _, kind := range conf.Kinds {
		dom.kinds[kind].files, dom.kinds[kind].filesOff = d.localDir(kind, name, uuid)
	}
	return dom
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
	how := refreshRead
	if full {
		how = refreshFull
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	if err := d.refresh(ctx, kind, st, how); err != nil {
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
