package momentlist

import (
	"errors"
	"fmt"

	"github.com/vmoments/vmoments/conf"
)

// This file holds libvirt's operations on a moment list (docs/libvirt.md §2 and §3): load, create,
// redefine, delete and revert, with libvirt's rules for the current moment.

// Load replaces the list's content with defs, as a fresh load does (libvirtd starting, or
// vmoments connecting): every definition is added, then List.updateRelations links them.
//
// Current: for snapshots, the moment named current ("" for none), set before the relations
// are rebuilt, so that broken relations clear it, as libvirt does. For checkpoints libvirt
// persists no current; current is the leaf of a single unbranched chain (List.findLeaf),
// else none, and the current argument is ignored.
//
// A duplicate name or a relations problem does not stop the load: the duplicate is skipped,
// the affected moments become roots, and the errors are returned joined (a [*RelationsError]
// among them), the list being complete and consistent all the same. A current name that is
// not in defs is an error too (and there is no current).
func (l *List) Load(defs []*conf.Def, current string) error {
	l.removeAll()
	var errs []error
	for _, d := range defs {
		if _, err := l.add(d); err != nil {
			errs = append(errs, err)
		}
	}
	if l.kind == conf.Snapshot && current != "" {
		if m := l.byName[current]; m != nil {
			l.setCurrent(m, CurrentLoaded)
		} else {
			errs = append(errs, errorf(ErrInvalidArg, "current %s %s not found", l.kind, current))
		}
	}
	if err := l.updateRelations(); err != nil {
		errs = append(errs, err)
	} else if l.kind == conf.Checkpoint {
		if leaf := l.findLeaf(); leaf != nil {
			l.setCurrent(leaf, CurrentLoadedLeaf)
		} else if l.Len() > 0 {
			l.setCurrent(nil, CurrentLoadBranched)
		}
	}
	return errors.Join(errs...)
}

// Create adds a newly created moment, as libvirt's create (not redefine) does for both kinds:
// its parent becomes the current moment (d.Parent is overwritten with the current moment's
// name, "" when there is none) and it becomes current ([CurrentCreated]). The parent is the
// previous current moment, not necessarily a leaf.
func (l *List) Create(d *conf.Def) (*Moment, error) {
	if d == nil {
		return nil, errorf(ErrInvalidArg, "moment definition is nil")
	}
	if d.Name == "" {
		return nil, errorf(ErrInvalidArg, "a created %s must have a name", l.kind)
	}
	if _, ok := l.byName[d.Name]; ok {
		return nil, errExists(d.Name)
	}
	d.Parent = ""
	if l.current != nil {
		d.Parent = l.current.def.Name
	}
	m, err := l.add(d)
	if err != nil {
		return nil, err
	}
	l.linkParent(m)
	l.setCurrent(m, CurrentCreated)
	return m, nil
}

// Redefine defines a moment from an existing definition (libvirt's REDEFINE): it runs
// List.checkCycles (so parents must be defined before their children), then replaces the
// definition of the moment of the same name — keeping its children and its place in
// insertion order — or adds a new one, and links it under its parent, first in the parent's
// child list.
//
// Current, snapshots: the moment becomes current only with [AsCurrent] (libvirt's
// VIR_DOMAIN_SNAPSHOT_CREATE_CURRENT). Checkpoints: libvirt's internal rule decides and the
// option is ignored: the moment becomes current when its parent is the current checkpoint, or
// when there is no current checkpoint (docs/libvirt.md §3).
func (l *List) Redefine(d *conf.Def, opt RedefineOption) (*Moment, error) {
	if d == nil {
		return nil, errorf(ErrInvalidArg, "moment definition is nil")
	}
	if d.Name == "" {
		return nil, errorf(ErrInvalidArg, "a redefined %s must have a name", l.kind)
	}
	if err := l.checkCycles(d); err != nil {
		return nil, err
	}
	update := opt == AsCurrent
	if l.kind == conf.Checkpoint {
		update = l.current == nil || (d.Parent != "" && d.Parent == l.current.def.Name)
	}
	m := l.byName[d.Name]
	if m != nil {
		if m.parent != nil {
			dropParent(m)
		}
		m.def, m.class = d, classify(d)
	} else {
		var err error
		if m, err = l.add(d); err != nil {
			return nil, err
		}
	}
	l.linkParent(m)
	if update {
		l.setCurrent(m, CurrentRedefined)
	}
	return m, nil
}

// RedefineOption says whether [List.Redefine] makes a snapshot current.
type RedefineOption int

const (
	// KeepCurrent leaves a redefined snapshot's current as it is (libvirt's redefine without
	// CREATE_CURRENT); checkpoints follow libvirt's rule either way.
	KeepCurrent RedefineOption = iota
	// AsCurrent makes the redefined snapshot current (VIR_DOMAIN_SNAPSHOT_CREATE_CURRENT).
	AsCurrent
)

// DeleteMode selects what [List.Delete] removes (libvirt's delete flags CHILDREN and
// CHILDREN_ONLY; METADATA_ONLY has the same effect on the list as the mode it goes with).
type DeleteMode int

const (
	// DeletePlain deletes the moment alone; its children move up to its parent (or become
	// roots) and their Def().Parent is rewritten to match.
	DeletePlain DeleteMode = iota
	// DeleteChildren deletes the moment and all its descendants (VIR_..._DELETE_CHILDREN).
	DeleteChildren
	// DeleteChildrenOnly deletes all descendants and keeps the moment
	// (VIR_..._DELETE_CHILDREN_ONLY).
	DeleteChildrenOnly
)

// String returns "plain", "children" or "children-only".
func (d DeleteMode) String() string {
	switch d {
	case DeletePlain:
		return "plain"
	case DeleteChildren:
		return "children"
	case DeleteChildrenOnly:
		return "children-only"
	}
	return fmt.Sprintf("DeleteMode(%d)", int(d))
}

// Delete deletes m as libvirt's test driver does (docs/libvirt.md §2 "Delete"; qemu reaches the same
// list):
//   - DeleteChildren, DeleteChildrenOnly: every descendant is removed; if the current moment
//     was among them, m becomes current. DeleteChildren then removes m as below.
//   - DeletePlain: m's children get m's parent (their Def().Parent is rewritten; they become
//     roots when m was one) and go first in its child list, keeping their order.
//   - Removing m: if it was current, its parent becomes current (none for a root)
//     ([CurrentAfterDelete]); like libvirt, the parent is looked up by m.Def().Parent.
func (l *List) Delete(m *Moment, mode DeleteMode) error {
	if err := l.checkOwned(m); err != nil {
		return err
	}
	switch mode {
	case DeletePlain, DeleteChildren, DeleteChildrenOnly:
	default:
		return errorf(ErrUnsupportedFlags, "unsupported delete mode %v for %s %s", mode, l.kind, m.def.Name)
	}
	if mode != DeletePlain {
		l.removeDescendants(m)
		if mode == DeleteChildrenOnly {
			return nil
		}
	}
	parent := m.parent
	if parent == nil { // not linked: only reachable through Add without LinkParent
		parent = &l.metaroot
	}
	parentName := ""
	if parent.def != nil {
		parentName = parent.def.Name
	}
	for c := m.firstChild; c != nil; c = c.sibling {
		c.def.Parent = parentName
	}
	moveChildren(m, parent)
	// libvirt finds the new current by the deleted moment's parent name, not its parent
	// pointer: the same moment in a consistent tree, but a root that lost its parent to a
	// broken cycle (UpdateRelations) still names one.
	var next *Moment
	if l.current == m && m.def.Parent != "" {
		if next = l.byName[m.def.Parent]; next == m {
			next = nil
		}
	}
	l.remove(m)
	if next != nil {
		l.setCurrent(next, CurrentAfterDelete)
	}
	return nil
}

// removeDescendants removes every moment below m; current moves to m if it was among them.
func (l *List) removeDescendants(m *Moment) {
	if m.firstChild == nil {
		return
	}
	var doomed []*Moment
	walkPreOrder(m, func(d *Moment) { doomed = append(doomed, d) })
	currentGone := false
	for _, d := range doomed {
		if d == l.current {
			currentGone = true
		}
		// Children first: unlink the subtree wholesale, then drop each from the index.
		d.parent, d.firstChild, d.sibling, d.nchildren = nil, nil, nil, 0
		l.remove(d)
	}
	m.firstChild, m.nchildren = nil, 0
	if currentGone {
		l.setCurrent(m, CurrentAfterDelete)
	}
}

// Revert makes m current, as reverting the domain to the snapshot m does ([CurrentReverted]).
// m must be in the list.
func (l *List) Revert(m *Moment) {
	l.owns(m, "Revert")
	l.setCurrent(m, CurrentReverted)
}
