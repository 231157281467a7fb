package virt

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"libvirt.org/go/libvirt"

	"github.com/vmoments/vmoments/conf"
	"github.com/vmoments/vmoments/driver"
	"github.com/vmoments/vmoments/momentlist"
)

// Delete deletes a moment with libvirt's delete flags.
//
// With [Options.DeleteOneByOne], a snapshot delete with DeleteChildren or DeleteChildrenOnly is
// not passed to libvirt as one call: the descendants are deleted one at a time, leaves first,
// each with a plain delete (DeleteMetadataOnly carried through), then, for DeleteChildren, the
// snapshot itself. See [Options.DeleteOneByOne] for why and why the end state is libvirt's.
func (d *Domain) Delete(ctx context.Context, kind conf.Kind, name string, flags driver.DeleteFlags) error {
	mode := momentlist.DeletePlain
	switch {
	case flags&driver.DeleteChildren != 0:
		mode = momentlist.DeleteChildren
	case flags&driver.DeleteChildrenOnly != 0:
		mode = momentlist.DeleteChildrenOnly
	}
	return d.change(ctx, kind, name, "delete "+kind.String(), func(dom *libvirt.Domain) (func(*momentlist.List) error, error) {
		var err error
		if order := d.deleteOrder(kind, name, flags); order != nil {
			err = deleteEach(ctx, kind, name, order, func(n string) error {
				if h := d.drv.opts.beforeDelete; h != nil {
					if err := h(n); err != nil {
						return err
					}
				}
				return deleteSnapshot(dom, n, flags&driver.DeleteMetadataOnly)
			})
		} else if kind == conf.Snapshot {
			err = deleteSnapshot(dom, name, flags)
		} else {
			var h *libvirt.DomainCheckpoint
			if h, err = dom.CheckpointLookupByName(name, 0); err == nil {
				err = h.Delete(libvirt.DomainCheckpointDeleteFlags(flags))
				h.Free()
			}
		}
		if err != nil {
			return nil, err
		}
		return func(l *momentlist.List) error {
			m := l.Find(name)
			if m == nil {
				return fmt.Errorf("deleted %s %q is not in the list", kind, name)
			}
			return l.Delete(m, mode)
		}, nil
	})
}

func deleteSnapshot(dom *libvirt.Domain, name string, flags driver.DeleteFlags) error {
	h, err := dom.SnapshotLookupByName(name, 0)
	if err != nil {
		return err
	}
	defer h.Free()
	return h.Delete(libvirt.DomainSnapshotDeleteFlags(flags))
}

// deleteOrder returns the snapshots to delete one by one, in order, instead of passing a
// delete of name with flags to libvirt as one call; nil means one call. It reads the loaded
// list, which change has just brought up to date under the kind's lock.
//
// One call stays for everything but a snapshot delete with DeleteChildren or
// DeleteChildrenOnly (not both) on a driver with [Options.DeleteOneByOne], and for the deletes libvirt
// 9.0 refuses before it changes anything, so that the caller gets libvirt's own refusal:
// without DeleteMetadataOnly, an external descendant ("deletion of external children disk
// snapshots not supported") or DeleteChildren of an external snapshot ("deletion of external
// disk snapshots with children not supported"). A name the list lacks is passed to libvirt too,
// for its "no domain snapshot with matching name".
func (d *Domain) deleteOrder(kind conf.Kind, name string, flags driver.DeleteFlags) []string {
	children := flags&driver.DeleteChildren != 0
	if !d.drv.opts.DeleteOneByOne || kind != conf.Snapshot || !children && flags&driver.DeleteChildrenOnly == 0 {
		return nil
	}
	if children && flags&driver.DeleteChildrenOnly != 0 {
		// libvirt's client library refuses the pair before any driver sees it ("Flags
		// 'VIR_DOMAIN_SNAPSHOT_DELETE_CHILDREN' and ..._CHILDREN_ONLY' are mutually
		// exclusive"): one call gets that refusal, where one by one would delete.
		return nil
	}
	l := d.kinds[kind].list
	m := l.Find(name)
	if m == nil {
		return nil
	}
	order := leavesFirst(m)
	if flags&driver.DeleteMetadataOnly == 0 {
		if children && m.Def().IsExternal() {
			return nil
		}
		for _, n := range order {
			if l.Find(n).Def().IsExternal() {
				return nil
			}
		}
	}
	if children {
		order = append(order, name)
	}
	return order
}

// leavesFirst returns the names of m's descendants in post-order: every moment after all of
// its own descendants, siblings in child-list order. Deleting them plainly in that order
// deletes only leaves, so no delete re-parents anything, and a current snapshot among them
// walks up one parent per delete until it reaches m, which is where libvirt's own
// CHILDREN / CHILDREN_ONLY delete puts it.
func leavesFirst(m *momentlist.Moment) []string {
	var out []string
	// An explicit stack: a chain of tens of thousands of snapshots is a deep tree.
	type frame struct {
		m    *momentlist.Moment
		kids []*momentlist.Moment
	}
	stack := []frame{{m, m.Children()}}
	for len(stack) > 0 {
		top := &stack[len(stack)-1]
		if len(top.kids) == 0 {
			if top.m != m {
				out = append(out, top.m.Name())
			}
			stack = stack[:len(stack)-1]
			continue
		}
		c := top.kids[0]
		top.kids = top.kids[1:]
		stack = append(stack, frame{c, c.Children()})
	}
	return out
}

// deleteEach deletes the moments in order with del and stops at the first failure (or when
// ctx is done), which it returns as a *deleteStepError naming the moment and those deleted
// before it.
func deleteEach(ctx context.Context, kind conf.Kind, target string, order []string, del func(name string) error) error {
	for i, n := range order {
		err := ctx.Err()
		if err == nil {
			err = del(n)
		}
		if err != nil {
			return &deleteStepError{Kind: kind, Target: target, Failed: n, Deleted: order[:i], Err: err}
		}
	}
	return nil
}

// deleteStepError is the failure of one delete among the one-by-one deletes of
// [Options.DeleteOneByOne]. Its message is the underlying error's; wrap names the failed
// moment and adds hint as the sentence that follows.
type deleteStepError struct {
	Kind    conf.Kind
	Target  string   // the moment the caller asked to delete, or whose children
	Failed  string   // the moment whose delete failed (or was not tried: ctx done)
	Deleted []string // the moments deleted before it, in order
	Err     error
}

func (e *deleteStepError) Error() string { return e.Err.Error() }

func (e *deleteStepError) Unwrap() error { return e.Err }

// hint says what happened to the others: the ones before the failed moment are gone.
func (e *deleteStepError) hint() string {
	var b strings.Builder
	fmt.Fprintf(&b, "vmoments deletes the descendants of %s %q one at a time, leaves first (libvirt 9.0 crashes on some deletes with children): ",
		e.Kind, e.Target)
	switch len(e.Deleted) {
	case 0:
		fmt.Fprintf(&b, "none was deleted before %q", e.Failed)
	default:
		fmt.Fprintf(&b, "%d deleted before %q (", len(e.Deleted), e.Failed)
		const show = 5
		for i, n := range e.Deleted {
			if i == show {
				fmt.Fprintf(&b, ", ... %d more", len(e.Deleted)-show)
				break
			}
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(strconv.Quote(n))
		}
		b.WriteString(") are gone")
	}
	fmt.Fprintf(&b, "; %q and the rest are kept", e.Failed)
	return b.String()
}
