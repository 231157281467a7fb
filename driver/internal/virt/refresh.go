package virt

import (
	"context"

	"libvirt.org/go/libvirt"

	"github.com/vmoments/vmoments/conf"
	"github.com/vmoments/vmoments/driver"
	"github.com/vmoments/vmoments/driver/internal/load"
	"github.com/vmoments/vmoments/momentlist"
)

// refreshHow says how far a refresh goes.
type refreshHow int

const (
	// refreshRead is the refresh before every read: afterwards the list equals a fresh load
	// (the package doc of driver, "Loading and refreshing", says how each URI gets there).
	refreshRead refreshHow = iota
	// refreshNames is the refresh before a change: the names again, unseen moments fetched,
	// gone ones dropped. The change is applied to the list next; a moment redefined in place
	// by someone else is caught by the next read.
	refreshNames
	// refreshFull loads afresh: Reload, and after a change that failed midway.
	refreshFull
)

// refresh brings st.list in step with libvirt as how says, retrying once on a new connection
// when the connection is lost (never for a Single driver).
func (d *Domain) refresh(ctx context.Context, kind conf.Kind, st *kindState, how refreshHow) error {
	s, err := d.drv.conn(false)
	if err != nil {
		return d.drv.wrap(d.name, kind, "", "load", err)
	}
	err = d.refreshOn(ctx, s, kind, st, how)
	if err == nil || load.ClassOf(err) != load.ConnLost || ctx.Err() != nil {
		return d.drv.wrap(d.name, kind, "", "load", err)
	}
	ns, rerr := d.drv.reconnect(ctx, s, ReconnectWait)
	if rerr != nil {
		e := d.drv.wrap(d.name, kind, "", "load", err).(*driver.Error)
		e.Hint = reconnectHint(rerr)
		return e
	}
	return d.drv.wrap(d.name, kind, "", "load", d.refreshOn(ctx, ns, kind, st, how))
}

func (d *Domain) refreshOn(ctx context.Context, s *slot, kind conf.Kind, st *kindState, how refreshHow) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	_, dom, err := d.handleOn(s)
	if err != nil {
		return err
	}
	defer dom.Free()
	if st.list == nil {
		how = refreshFull
	}
	if how == refreshNames {
		return d.refreshNamesOnly(ctx, s, dom, kind, st, nil)
	}
	why := st.filesOff
	if st.files != nil && why == "" {
		ok, reason, err := d.refreshFiles(ctx, s, dom, kind, st, how == refreshFull)
		if err != nil || ok {
			return err
		}
		why = reason
	} else if how == refreshRead && d.drv.namesOnly {
		return d.refreshNamesOnly(ctx, s, dom, kind, st, nil)
	} else if how == refreshRead && d.drv.log != nil {
		// libvirt's test driver: only this process changes it, and the log says what the
		// changes through other handles touched.
		if gen, touched, ok := d.drv.log.since(st.synced, kind); ok {
			if err := d.refreshNamesOnly(ctx, s, dom, kind, st, touched); err != nil {
				return err
			}
			st.synced = gen
			return nil
		}
	}
	if why == "" {
		why = d.drv.localWhy
	}
	return d.loadAPI(ctx, s, dom, kind, st, how == refreshFull, why)
}

// loadAPI fetches every definition through libvirt's API (one XML call per moment, several in
// flight). fresh publishes a new list whatever it holds (a load); otherwise the list is kept
// when libvirt's state equals it (a refresh of a remote URI). why says why the files were not
// used ("" when the driver has none).
func (d *Domain) loadAPI(ctx context.Context, s *slot, dom *libvirt.Domain, kind conf.Kind, st *kindState, fresh bool, why string) error {
	var gen uint64
	if d.drv.log != nil {
		gen, _, _ = d.drv.log.since(0, kind)
	}
	// A load fetches every listed moment, so it keeps the handles the list returns: fetching a
	// moment is then a single call, no lookup.
	raw := newSource(kind, s.conn, dom, true)
	defer raw.close()
	src := d.wrapSource(raw)
	names, _, err := st.memo.Names(ctx, src)
	if err != nil {
		return err
	}
	cur, err := d.currentOf(s, dom, kind)
	if err != nil {
		return err
	}
	var known func(string) *conf.Def
	if old := st.list; old != nil && !fresh {
		// An exact refresh: a moment whose XML is what it was keeps its definition, unparsed.
		known = func(name string) *conf.Def {
			if m := old.Find(name); m != nil {
				return m.Def()
			}
			return nil
		}
	}
	defs, _, err := load.FetchReusing(ctx, src, names, d.drv.opts.Workers, known)
	if err != nil {
		return err
	}
	changed := d.publish(st, kind, defs, cur, fresh)
	st.synced = gen
	st.info = LoadInfo{Loaded: true, Dir: dirOf(st), Reason: why, Fetched: len(names), Changed: changed}
	d.drv.debugf("%s: domain %q: %ss: %d through libvirt's API (%s)%s", d.drv.uri, d.name, kind, len(defs),
		orNone(why), changedNote(changed, fresh))
	return nil
}

// refreshNamesOnly asks libvirt for the names (and the current snapshot) only, fetches the
// moments the list does not have and those named in refetch (moments another handle changed),
// and drops those that are gone.
func (d *Domain) refreshNamesOnly(ctx context.Context, s *slot, dom *libvirt.Domain, kind conf.Kind, st *kindState, refetch []string) error {
	old := st.list
	// A refresh usually fetches nothing, so it lists names only (about 70 % less client work
	// than a list that makes a handle per moment).
	raw := newSource(kind, s.conn, dom, false)
	defer raw.close()
	src := d.wrapSource(raw)
	names, _, err := st.memo.Names(ctx, src)
	if err != nil {
		return err
	}
	cur, err := d.currentOf(s, dom, kind)
	if err != nil {
		return err
	}
	var fresh []string
	for _, n := range names {
		if old.Find(n) == nil {
			fresh = append(fresh, n)
		}
	}
	gone := old.Len() - (len(names) - len(fresh))
	st.info.Fetched, st.info.FilesRead, st.info.Changed = 0, 0, false
	if len(fresh) == 0 && len(refetch) == 0 && gone == 0 && (kind == conf.Checkpoint || cur == nameOf(old.Current())) {
		return nil // nothing changed
	}
	// The set of listed names is built only now: most refreshes return above.
	listed := make(map[string]bool, len(names))
	for _, n := range names {
		listed[n] = true
	}
	again := map[string]bool{}
	// A moment deleted elsewhere hands its children to its parent, and libvirt rewrites their
	// definitions: fetch those again rather than keep a parent that is gone (which would
	// break the relations and clear the current moment).
	if gone > 0 {
		for _, m := range old.All() {
			if p := m.Def().Parent; p != "" && !listed[p] {
				refetch = append(refetch, m.Name())
			}
		}
	}
	for _, n := range refetch {
		if listed[n] && old.Find(n) != nil && !again[n] {
			again[n] = true
			fresh = append(fresh, n)
		}
	}
	newDefs, _, err := load.Fetch(ctx, src, fresh, d.drv.opts.Workers)
	if err != nil {
		return err
	}
	refetched := make(map[string]*conf.Def, len(again))
	for _, def := range newDefs {
		if again[def.Name] {
			refetched[def.Name] = def
		}
	}
	// The old list's insertion order, moments fetched again in their places (gone ones left
	// out), then the new ones.
	defs := make([]*conf.Def, 0, len(names))
	for _, m := range old.All() {
		switch n := m.Name(); {
		case !listed[n]:
		case again[n]:
			if def := refetched[n]; def != nil {
				defs = append(defs, def)
			}
		default:
			defs = append(defs, m.Def())
		}
	}
	for _, def := range newDefs {
		if !again[def.Name] {
			defs = append(defs, def)
		}
	}
	st.info.Fetched = len(fresh)
	st.info.Changed = d.publish(st, kind, defs, cur, false)
	return nil
}

// publish publishes the definitions and current snapshot cur as a freshly loaded list, unless
// fresh is false and they equal the list already published (same names, every definition
// Equal, the same current snapshot): then that list stays, with its child order and, for
// checkpoints, the current checkpoint its changes tracked. It reports whether it published.
//
// A load that finds broken relations keeps the tree as libvirt does (the affected moments
// become roots, current is cleared): that is libvirt's own state, so it is served, not
// reported. The definitions are shared with the list, which never changes them.
func (d *Domain) publish(st *kindState, kind conf.Kind, defs []*conf.Def, cur string, fresh bool) bool {
	if !fresh && st.list != nil && sameState(st.list, kind, defs, cur) {
		return false
	}
	l := momentlist.New(kind)
	_ = l.Load(defs, cur)
	st.list = l
	return true
}

// sameState reports whether l holds exactly defs (and, for snapshots, has current cur).
func sameState(l *momentlist.List, kind conf.Kind, defs []*conf.Def, cur string) bool {
	if l.Len() != len(defs) {
		return false
	}
	if kind == conf.Snapshot && nameOf(l.Current()) != cur {
		return false
	}
	for _, def := range defs {
		m := l.Find(def.Name)
		if m == nil || m.Def() != def && !m.Def().Equal(def) {
			return false
		}
	}
	return true
}

func (d *Domain) wrapSource(src load.Source) load.Source {
	if w := d.drv.opts.wrapSource; w != nil {
		return w(src)
	}
	return src
}

// currentOf returns libvirt's current snapshot for snapshots, "" for checkpoints (libvirt
// exposes no current checkpoint).
func (d *Domain) currentOf(s *slot, dom *libvirt.Domain, kind conf.Kind) (string, error) {
	if kind != conf.Snapshot {
		return "", nil
	}
	return currentSnapshot(s.conn, dom)
}

func nameOf(m *momentlist.Moment) string {
	if m == nil {
		return ""
	}
	return m.Name()
}
