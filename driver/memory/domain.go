package memory

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/vmoments/vmoments/conf"
	"github.com/vmoments/vmoments/driver"
	"github.com/vmoments/vmoments/driver/internal/load"
	"github.com/vmoments/vmoments/momentlist"
)

// domain is a handle on one domain of a connection. It implements driver.Domain.
//
// As the libvirt-backed drivers' handles, each kind has its own mutex and its own published
// list, loaded from the server's XML once and refreshed on every later read (only moments it
// has not seen are fetched); a published list is never changed again, a change works on a copy.
type domain struct {
	drv        *conn
	name, uuid string
	kinds      [3]kindState
}

type kindState struct {
	mu   sync.Mutex
	list *momentlist.List // nil until loaded; immutable once published
}

// Name returns the domain's name.
func (d *domain) Name() string { return d.name }

// UUID returns the domain's UUID.
func (d *domain) UUID() string { return d.uuid }

// Driver returns the connection the domain was looked up on.
func (d *domain) Driver() driver.Driver { return d.drv }

// String describes the handle for logs.
func (d *domain) String() string { return fmt.Sprintf("domain %q of %s", d.name, d.drv.uri) }

func (d *domain) state(kind conf.Kind) (*kindState, error) {
	if !kind.Valid() {
		return nil, &driver.Error{URI: d.drv.uri, Domain: d.name, Msg: fmt.Sprintf("unknown moment kind %d (want conf.Snapshot or conf.Checkpoint)", kind)}
	}
	return &d.kinds[kind], nil
}

// wrap makes err a *driver.Error about the domain and the moment (as the libvirt-backed
// drivers wrap libvirt's errors): an *lerr gives the message and the class, a *driver.Error
// gets the domain and moment it lacks, anything else (the context's error) is wrapped.
func (d *domain) wrap(kind conf.Kind, moment string, err error) error {
	if err == nil {
		return nil
	}
	var de *driver.Error
	if errors.As(err, &de) {
		if de.Domain == "" {
			de.Domain = d.name
		}
		if de.Kind == conf.NoKind && de.Moment == "" && !de.Unnamed {
			de.Kind = kind
			setMoment(de, moment)
		}
		return de
	}
	e := &driver.Error{URI: d.drv.uri, Domain: d.name, Kind: kind}
	setMoment(e, moment)
	var le *lerr
	var me *load.MomentError
	switch {
	case errors.As(err, &le):
		e.Msg, e.Class, e.Hint = le.msg, le.class, le.hint
	case errors.As(err, &me):
		e.Kind, e.Moment, e.Msg, e.Err = me.Kind, me.Name, me.Err.Error(), err
	default:
		e.Err = err
	}
	return e
}

// setMoment names the moment of e (newMoment: a moment whose XML gives no name).
func setMoment(e *driver.Error, moment string) {
	if moment == newMoment {
		e.Unnamed = true
	} else {
		e.Moment = moment
	}
}

// loaded brings the list of kind in step with the server, under the kind's lock, and returns it.
func (d *domain) loaded(ctx context.Context, kind conf.Kind, full bool) (*momentlist.List, error) {
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
func (d *domain) List(ctx context.Context, kind conf.Kind, from string, f momentlist.Filter) ([]*momentlist.Moment, error) {
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
func (d *domain) Moments(ctx context.Context, kind conf.Kind) (*momentlist.List, error) {
	l, err := d.loaded(ctx, kind, false)
	if err != nil {
		return nil, err
	}
	return l.Clone(), nil
}

// Current refreshes the list of kind and returns its current moment and the rule behind it.
func (d *domain) Current(ctx context.Context, kind conf.Kind) (*momentlist.Moment, momentlist.CurrentRule, error) {
	l, err := d.loaded(ctx, kind, false)
	if err != nil {
		return nil, 0, err
	}
	return l.Current(), l.CurrentRule(), nil
}

// Def refreshes the list of kind and returns one moment's definition.
func (d *domain) Def(ctx context.Context, kind conf.Kind, name string) (*conf.Def, error) {
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
func (d *domain) Reload(ctx context.Context, kind conf.Kind) error {
	_, err := d.loaded(ctx, kind, true)
	return err
}

// notFound is the error for a moment the loaded list lacks, in libvirt's words.
func (d *domain) notFound(kind conf.Kind, name string) error {
	return &driver.Error{URI: d.drv.uri, Domain: d.name, Kind: kind, Moment: name,
		Msg: fmt.Sprintf("no domain %s with matching name '%s'", kind, name), Class: driver.ErrMomentNotFound}
}

// XML asks the server for one moment's XML now, with libvirt's XML flags.
func (d *domain) XML(ctx context.Context, kind conf.Kind, name string, flags driver.XMLFlags) (string, error) {
	if _, err := d.state(kind); err != nil {
		return "", err
	}
	if err := ctx.Err(); err != nil {
		return "", d.wrap(kind, name, err)
	}
	if err := d.drv.isClosed(); err != nil {
		return "", d.wrap(kind, name, err)
	}
	x, err := d.drv.srv.xml(d.uuid, kind, name, flags, d.drv.readOnly)
	if err != nil {
		return "", d.wrap(kind, name, err)
	}
	return x, nil
}

// refresh brings st.list in step with the server, as the libvirt-backed drivers refresh: the
// names are listed again (with the current snapshot), only unseen moments are fetched, gone
// ones dropped; a full refresh (or the first) fetches every moment.
func (d *domain) refresh(ctx context.Context, kind conf.Kind, st *kindState, full bool) error {
	if err := d.drv.isClosed(); err != nil {
		return d.wrap(kind, "", err)
	}
	if err := ctx.Err(); err != nil {
		return d.wrap(kind, "", err)
	}
	src := &source{srv: d.drv.srv, uuid: d.uuid, kind: kind}
	names, cur, err := d.drv.srv.names(d.uuid, kind)
	if err != nil {
		return d.wrap(kind, "", err)
	}
	old := st.list
	if old == nil || full {
		defs, _, err := load.Fetch(ctx, src, names, load.DefaultWorkers)
		if err != nil {
			return d.wrap(kind, "", err)
		}
		st.list = publish(kind, defs, cur)
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
		return nil
	}
	newDefs, _, err := load.Fetch(ctx, src, fresh, load.DefaultWorkers)
	if err != nil {
		return d.wrap(kind, "", err)
	}
	listed := make(map[string]bool, len(names))
	for _, n := range names {
		listed[n] = true
	}
	defs := make([]*conf.Def, 0, len(names))
	for _, m := range old.All() {
		if listed[m.Name()] {
			defs = append(defs, m.Def().Clone())
		}
	}
	st.list = publish(kind, append(defs, newDefs...), cur)
	return nil
}

// publish makes a loaded list; broken relations are served as libvirt keeps them (the
// affected moments become roots, current is cleared).
func publish(kind conf.Kind, defs []*conf.Def, cur string) *momentlist.List {
	l := momentlist.New(kind)
	_ = l.Load(defs, cur)
	return l
}

// source is the load.Source of one domain and kind of a server.
type source struct {
	srv  *Server
	uuid string
	kind conf.Kind
}

func (s *source) Kind() conf.Kind { return s.kind }

func (s *source) List(_ context.Context, from string, flags uint32) ([]string, error) {
	if from != "" || flags != 0 {
		return nil, fmt.Errorf("memory: the loader asked for a partial list (from %q, flags 0x%x)", from, flags)
	}
	names, _, err := s.srv.names(s.uuid, s.kind)
	return names, err
}

func (s *source) XML(_ context.Context, _ int, name string) ([]byte, error) {
	x, err := s.srv.xml(s.uuid, s.kind, name, 0, false)
	if err != nil {
		var le *lerr
		if errors.As(err, &le) && le.class == driver.ErrMomentNotFound {
			return nil, &load.Classified{Class: load.Gone, Err: err}
		}
		return nil, err
	}
	return []byte(x), nil
}

// names returns the names of the domain's moments of kind, in the order they were added, and
// the current snapshot's name ("" for none, and for checkpoints).
func (s *Server) names(uuid string, kind conf.Kind) ([]string, string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v := s.byUUID(uuid)
	if v == nil {
		return nil, "", domainGone()
	}
	l := v.lists[kind]
	all := l.All()
	names := make([]string, len(all))
	for i, m := range all {
		names[i] = m.Name()
	}
	cur := ""
	if c := l.Current(); c != nil && kind == conf.Snapshot {
		cur = c.Name()
	}
	return names, cur, nil
}

// domainGone is the error of a domain undefined while a handle on it is kept.
func domainGone() *lerr {
	return errorf(driver.ErrDomainNotFound, "Domain not found: no domain with matching uuid")
}

// xml formats one moment's XML as libvirt gives it (virDomainSnapshotGetXMLDesc /
// virDomainCheckpointGetXMLDesc).
func (s *Server) xml(uuid string, kind conf.Kind, name string, flags driver.XMLFlags, readOnly bool) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v := s.byUUID(uuid)
	if v == nil {
		return "", domainGone()
	}
	m := v.lists[kind].Find(name)
	if m == nil {
		return "", noMoment(kind, name)
	}
	if readOnly && flags&driver.XMLSecure != 0 {
		fn := "virDomainSnapshotGetXMLDesc"
		if kind == conf.Checkpoint {
			fn = "virDomainCheckpointGetXMLDesc"
		}
		e := errorf(driver.ErrReadOnly, "operation forbidden: %s with secure flag", fn)
		e.hint = "The driver was opened read-only; XMLSecure needs a driver opened read-write"
		return "", e
	}
	supported := driver.XMLSecure
	fn := "DomainSnapshotGetXMLDesc"
	if kind == conf.Checkpoint {
		supported |= driver.CheckpointXMLNoDomain | driver.CheckpointXMLSize
		fn = "DomainCheckpointGetXMLDesc"
	}
	if bad := flags &^ supported; bad != 0 {
		return "", unsupported(uint32(bad), fn)
	}
	return format(m.Def(), flags&driver.CheckpointXMLNoDomain != 0 && kind == conf.Checkpoint)
}

// format writes a definition as libvirt does, without the domain if noDomain.
func format(def *conf.Def, noDomain bool) (string, error) {
	if noDomain && def.HasDomain {
		def = def.Clone()
		def.HasDomain = false
	}
	b, err := def.Format()
	if err != nil {
		return "", fmt.Errorf("formatting %s %q: %w", def.Kind, def.Name, err)
	}
	return string(b), nil
}

// NativeList is the server's own answer for the conformance suite's oracle (drivertest.Oracle):
// the names libvirt's list flags select from the server's list, not from the handle's loaded
// one. Without libvirt, the suite then checks the handles (loads, refreshes, the XML round trip
// and the checkpoint pointer they follow) against the server; the libvirt semantics of the
// server are checked by the comparison with libvirt's test driver (drivertest's
// Config.Reference).
func (d *domain) NativeList(ctx context.Context, kind conf.Kind, from string, flags uint32) ([]string, error) {
	if _, err := d.state(kind); err != nil {
		return nil, err
	}
	f, err := momentlist.FromLibvirt(kind, flags)
	if err != nil {
		return nil, d.wrap(kind, from, errorf(nil, "%s", err.Error()))
	}
	s := d.drv.srv
	s.mu.Lock()
	defer s.mu.Unlock()
	v := s.byUUID(d.uuid)
	if v == nil {
		return nil, d.wrap(kind, from, domainGone())
	}
	l := v.lists[kind]
	var fm *momentlist.Moment
	if from != "" {
		if fm = l.Find(from); fm == nil {
			return nil, d.wrap(kind, from, noMoment(kind, from))
		}
	}
	ms, err := l.Select(fm, f)
	if err != nil {
		return nil, d.wrap(kind, from, errorf(nil, "%s", err.Error()))
	}
	out := make([]string, len(ms))
	for i, m := range ms {
		out[i] = m.Name()
	}
	return out, nil
}

// NativeCurrentSnapshot is the server's current snapshot ("" if none), for the suite's oracle.
func (d *domain) NativeCurrentSnapshot(context.Context) (string, error) {
	_, cur, err := d.drv.srv.names(d.uuid, conf.Snapshot)
	return cur, d.wrap(conf.Snapshot, "", err)
}
