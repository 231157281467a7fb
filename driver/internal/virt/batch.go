package virt

import (
	"context"
	"sync"

	"github.com/vmoments/vmoments/conf"
	"github.com/vmoments/vmoments/driver"
	"github.com/vmoments/vmoments/momentlist"
)

// A batch (driver.Batch) holds the kind's lock from its start to its end and works on a copy
// of the list of its own (batch.go): each change of the kind goes through change (change.go)
// as outside a batch, but change sees the batch in its context (batchKey) and then neither
// takes the lock nor refreshes, and applies the change to the batch's copy in place instead of
// to a new clone. That is the only difference, so a change in a batch reaches libvirt exactly
// as one outside it. The batch's reads answer from its copy; its end publishes it.

// batch is one running batch of one domain and kind.
type batch struct {
	d     *Domain
	kind  conf.Kind
	flags driver.BatchFlags
	st    *kindState
	// mu serializes the calls made through the batch's Domain; open is false once fn returned.
	mu   sync.Mutex
	open bool
}

type batchKey struct{}

// batchOf returns the batch that runs ctx's call, if it is one of d's of kind.
func batchOf(ctx context.Context, d *Domain, kind conf.Kind) *batch {
	b, _ := ctx.Value(batchKey{}).(*batch)
	if b == nil || b.d != d || b.kind != kind {
		return nil
	}
	return b
}

// Batch implements driver.Batcher: see driver.Batch.
func (d *Domain) Batch(ctx context.Context, kind conf.Kind, flags driver.BatchFlags, fn func(b driver.Domain) error) error {
	return d.batch(ctx, d, kind, flags, fn)
}

// batch runs fn in a batch of kind whose calls of the other kind go to next (the domain, or
// the batch of the other kind that this one runs inside).
func (d *Domain) batch(ctx context.Context, next driver.Domain, kind conf.Kind, flags driver.BatchFlags, fn func(b driver.Domain) error) error {
	st, err := d.state(kind)
	if err != nil {
		return err
	}
	if d.drv.readOnly {
		return d.drv.wrap(d.name, kind, "", "batch", driver.ErrReadOnly)
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	// Exact, as before a read: the batch's reads (an import's comparison of the definitions
	// already there) answer from its list.
	if err := d.refresh(ctx, kind, st, refreshRead); err != nil {
		return err
	}
	// The published list may be in use by readers: the batch changes a copy of its own, which
	// nobody else sees until it is published, since the lock is held till then.
	before := st.list
	st.list = st.list.Clone()
	b := &batch{d: d, kind: kind, flags: flags, st: st, open: true}
	ferr := fn(&batchDomain{Domain: d, next: next, b: b})
	b.mu.Lock()
	b.open = false
	b.mu.Unlock()
	// Publish (the copy is st.list already) and check what a single change checks after each
	// change: libvirt's current snapshot against the list's.
	if st.list != nil {
		d.drv.changed(st, kind, before, st.list) // the change log, once for the whole batch
	}
	var cerr error
	if st.list != nil && kind == conf.Snapshot {
		cerr = d.checkCurrentSnapshot(ctx, st, "batch")
	}
	if ferr != nil {
		return ferr
	}
	return cerr
}

// checkCurrentSnapshot asks libvirt for its current snapshot and loads the list afresh if the
// list's differs (someone else changed it). The caller holds st.mu.
func (d *Domain) checkCurrentSnapshot(ctx context.Context, st *kindState, op string) error {
	s, dom, err := d.handle(true)
	if err != nil {
		return d.drv.wrap(d.name, conf.Snapshot, "", op, err)
	}
	defer dom.Free() // the call's own reference (domainHandle)
	cur, err := currentSnapshot(s.conn, dom)
	if err != nil {
		return d.drv.wrap(d.name, conf.Snapshot, "", op, err)
	}
	if c := st.list.Current(); (c == nil) != (cur == "") || c != nil && c.Name() != cur {
		return d.refresh(context.WithoutCancel(ctx), conf.Snapshot, st, refreshFull)
	}
	return nil
}

// batchDomain is the driver.Domain a batch hands to its function: the changes and reads of the
// batch's kind go to the batch, those of the other kind to next (the domain, or the batch of
// that kind this one runs inside, so that a batch of each kind can be open at once). Name,
// UUID, Driver and XML are the domain's (XML asks libvirt and takes no lock).
type batchDomain struct {
	*Domain
	next driver.Domain
	b    *batch
}

// enter locks the batch for one call and returns the context its changes run with; the caller
// calls leave. A closed batch gives ErrClosed.
func (bd *batchDomain) enter(ctx context.Context) (context.Context, error) {
	bd.b.mu.Lock()
	if !bd.b.open {
		bd.b.mu.Unlock()
		return nil, bd.drv.wrap(bd.name, bd.b.kind, "", "batch", errClosed)
	}
	return context.WithValue(ctx, batchKey{}, bd.b), nil
}

func (bd *batchDomain) leave() { bd.b.mu.Unlock() }

// list returns the batch's copy of the list, loading it if a failed change dropped it.
func (bd *batchDomain) list(ctx context.Context, full bool) (*momentlist.List, error) {
	st := bd.b.st
	if st.list == nil || full {
		if err := bd.refresh(ctx, bd.b.kind, st, refreshFull); err != nil {
			return nil, err
		}
	}
	return st.list, nil
}

// Batch of the batch's kind runs fn in this batch; of the other kind, in a batch of its own
// inside this one.
func (bd *batchDomain) Batch(ctx context.Context, kind conf.Kind, flags driver.BatchFlags, fn func(b driver.Domain) error) error {
	if kind == bd.b.kind {
		return fn(bd)
	}
	if _, inner := bd.next.(*batchDomain); inner {
		return fn(bd) // both kinds are batched already
	}
	return bd.Domain.batch(ctx, bd, kind, flags, fn)
}

func (bd *batchDomain) List(ctx context.Context, kind conf.Kind, from string, f momentlist.Filter) ([]*momentlist.Moment, error) {
	if kind != bd.b.kind {
		return bd.next.List(ctx, kind, from, f)
	}
	bctx, err := bd.enter(ctx)
	if err != nil {
		return nil, err
	}
	defer bd.leave()
	l, err := bd.list(bctx, false)
	if err != nil {
		return nil, err
	}
	var fm *momentlist.Moment
	if from != "" {
		if fm = l.Find(from); fm == nil {
			return nil, bd.notFound(kind, from)
		}
	}
	out, err := l.Select(fm, f)
	if err != nil {
		return nil, &driver.Error{URI: bd.drv.uri, Domain: bd.name, Kind: kind, Moment: from, Msg: err.Error(), Err: err}
	}
	return out, nil
}

func (bd *batchDomain) Moments(ctx context.Context, kind conf.Kind) (*momentlist.List, error) {
	if kind != bd.b.kind {
		return bd.next.Moments(ctx, kind)
	}
	bctx, err := bd.enter(ctx)
	if err != nil {
		return nil, err
	}
	defer bd.leave()
	l, err := bd.list(bctx, false)
	if err != nil {
		return nil, err
	}
	return l.Clone(), nil
}

func (bd *batchDomain) Current(ctx context.Context, kind conf.Kind) (*momentlist.Moment, momentlist.CurrentRule, error) {
	if kind != bd.b.kind {
		return bd.next.Current(ctx, kind)
	}
	bctx, err := bd.enter(ctx)
	if err != nil {
		return nil, 0, err
	}
	defer bd.leave()
	l, err := bd.list(bctx, false)
	if err != nil {
		return nil, 0, err
	}
	return l.Current(), l.CurrentRule(), nil
}

func (bd *batchDomain) Def(ctx context.Context, kind conf.Kind, name string) (*conf.Def, error) {
	if kind != bd.b.kind {
		return bd.next.Def(ctx, kind, name)
	}
	bctx, err := bd.enter(ctx)
	if err != nil {
		return nil, err
	}
	defer bd.leave()
	l, err := bd.list(bctx, false)
	if err != nil {
		return nil, err
	}
	m := l.Find(name)
	if m == nil {
		return nil, bd.notFound(kind, name)
	}
	return m.Def(), nil
}

func (bd *batchDomain) Reload(ctx context.Context, kind conf.Kind) error {
	if kind != bd.b.kind {
		return bd.next.Reload(ctx, kind)
	}
	bctx, err := bd.enter(ctx)
	if err != nil {
		return err
	}
	defer bd.leave()
	_, err = bd.list(bctx, true)
	return err
}

func (bd *batchDomain) CreateSnapshot(ctx context.Context, xml string, flags driver.SnapshotCreateFlags) (string, error) {
	if bd.b.kind != conf.Snapshot {
		return bd.next.CreateSnapshot(ctx, xml, flags)
	}
	bctx, err := bd.enter(ctx)
	if err != nil {
		return "", err
	}
	defer bd.leave()
	return bd.Domain.CreateSnapshot(bctx, xml, flags)
}

func (bd *batchDomain) CreateCheckpoint(ctx context.Context, xml string, flags driver.CheckpointCreateFlags) (string, error) {
	if bd.b.kind != conf.Checkpoint {
		return bd.next.CreateCheckpoint(ctx, xml, flags)
	}
	bctx, err := bd.enter(ctx)
	if err != nil {
		return "", err
	}
	defer bd.leave()
	return bd.Domain.CreateCheckpoint(bctx, xml, flags)
}

func (bd *batchDomain) Delete(ctx context.Context, kind conf.Kind, name string, flags driver.DeleteFlags) error {
	if kind != bd.b.kind {
		return bd.next.Delete(ctx, kind, name, flags)
	}
	bctx, err := bd.enter(ctx)
	if err != nil {
		return err
	}
	defer bd.leave()
	return bd.Domain.Delete(bctx, kind, name, flags)
}

func (bd *batchDomain) Revert(ctx context.Context, name string, flags driver.RevertFlags) error {
	if bd.b.kind != conf.Snapshot {
		return bd.next.Revert(ctx, name, flags)
	}
	bctx, err := bd.enter(ctx)
	if err != nil {
		return err
	}
	defer bd.leave()
	return bd.Domain.Revert(bctx, name, flags)
}

func (bd *batchDomain) SetCurrent(ctx context.Context, name string) error {
	if bd.b.kind != conf.Snapshot {
		return bd.next.SetCurrent(ctx, name)
	}
	bctx, err := bd.enter(ctx)
	if err != nil {
		return err
	}
	defer bd.leave()
	return bd.Domain.SetCurrent(bctx, name)
}
