package momentlist

import (
	"fmt"

	"github.com/vmoments/vmoments/conf"
)

// This file mirrors libvirt's primitives of src/conf/virdomainmomentobjlist.c (docs/libvirt.md §1).
// Unlike libvirt's, every primitive leaves the List consistent on its own: no dangling
// parent, child or current pointer is ever observable.

// add adds a moment for d, not linked to any parent yet (libvirt's virDomainMomentAssignDef):
// call List.linkParent or List.updateRelations next. Until then, as in libvirt (whose hash
// walk sees it), the moment is listed only by the domain-level walk in insertion order, not
// by the tree walks. An empty name fails ([ErrInvalidArg]: "" is a root's parent name); a
// name already in the list fails with libvirt's message
// "operation failed: domain moment %s already exists" ([ErrExists]).
//
// [List.Create], [List.Redefine] and [List.Load] add and link in one step; use them unless
// you are mirroring libvirt's primitives one by one.
func (l *List) add(d *conf.Def) (*Moment, error) {
	if d == nil {
		return nil, errorf(ErrInvalidArg, "moment definition is nil")
	}
	if d.Name == "" { // "" is the parent name of a root: no moment may have it
		return nil, errorf(ErrInvalidArg, "%s definition has no name", l.kind)
	}
	if _, ok := l.byName[d.Name]; ok {
		return nil, errExists(d.Name)
	}
	l.seq++
	m := &Moment{def: d, class: classify(d), list: l, seq: l.seq, prev: l.last}
	if l.last != nil {
		l.last.next = m
	} else {
		l.first = m
	}
	l.last = m
	l.byName[d.Name] = m
	return m, nil
}

// linkParent links m under the moment named by m.Def().Parent, or makes it a root when there
// is no such moment (libvirt's virDomainMomentLinkParent, which only warns "moment %s lacks
// parent %s"). m becomes the first of its new parent's children. A moment already linked is
// unlinked first. A parent that would close a cycle (m itself or one of m's descendants) is
// treated like a missing one: m becomes a root.
//
// It reports whether the named parent was found and used ("" counts as found).
func (l *List) linkParent(m *Moment) bool {
	l.owns(m, "LinkParent")
	if m.parent != nil {
		dropParent(m)
	}
	parent, ok := l.parentFor(m)
	setParent(m, parent)
	return ok
}

// parentFor resolves m's parent name: the moment, or the metaroot when the name is empty,
// unknown, or would make a cycle. ok is false only for the last two cases.
func (l *List) parentFor(m *Moment) (parent *Moment, ok bool) {
	if m.def.Parent == "" {
		return &l.metaroot, true
	}
	p := l.byName[m.def.Parent]
	if p == nil || p == m {
		return &l.metaroot, false
	}
	if m.nchildren > 0 { // only a moment with children can be an ancestor of p
		for a := p; a != nil && a.def != nil; a = a.parent {
			if a == m {
				return &l.metaroot, false
			}
		}
	}
	return p, true
}

// setParent is libvirt's virDomainMomentSetParent: it prepends m to parent's child list.
func setParent(m, parent *Moment) {
	m.parent = parent
	m.sibling = parent.firstChild
	parent.firstChild = m
	parent.nchildren++
}

// dropParent is libvirt's virDomainMomentDropParent: it unlinks m from its parent's list.
func dropParent(m *Moment) {
	p := m.parent
	if p == nil {
		return
	}
	if p.firstChild == m {
		p.firstChild = m.sibling
	} else {
		for c := p.firstChild; c != nil; c = c.sibling {
			if c.sibling == m {
				c.sibling = m.sibling
				break
			}
		}
	}
	p.nchildren--
	m.parent, m.sibling = nil, nil
}

// moveChildren is libvirt's virDomainMomentMoveChildren: every child of from gets parent to,
// and from's whole child list is prepended to to's, keeping its relative order. It does not
// rewrite the children's Def().Parent; callers do.
func moveChildren(from, to *Moment) {
	if from.firstChild == nil {
		return
	}
	var last *Moment
	for c := from.firstChild; c != nil; c = c.sibling {
		c.parent = to
		last = c
	}
	last.sibling = to.firstChild
	to.firstChild = from.firstChild
	to.nchildren += from.nchildren
	from.firstChild, from.nchildren = nil, 0
}

// remove removes m from the list (libvirt's virDomainMomentObjListRemove) and reports whether
// it was the current moment (current is then cleared). Where libvirt leaves the relations to
// its callers, Remove also unlinks m from its parent and makes m's children roots, the state
// libvirt's UpdateRelations gives to moments whose parent is missing; their Def().Parent still
// names m. Use [List.Delete] for libvirt's delete, which re-parents children.
func (l *List) remove(m *Moment) (wasCurrent bool) {
	l.owns(m, "Remove")
	if m.parent != nil {
		dropParent(m)
	}
	if m.firstChild != nil {
		moveChildren(m, &l.metaroot)
	}
	delete(l.byName, m.def.Name)
	if m.prev != nil {
		m.prev.next = m.next
	} else {
		l.first = m.next
	}
	if m.next != nil {
		m.next.prev = m.prev
	} else {
		l.last = m.prev
	}
	m.prev, m.next, m.list = nil, nil, nil
	if l.current == m {
		l.setCurrent(nil, CurrentNone)
		return true
	}
	return false
}

// removeAll empties the list (libvirt's virDomainMomentObjListRemoveAll).
//
// libvirt's does not reset current: its callers clear current before (or never look at it
// again), so the pointer it leaves dangling is never used. Here a current pointer to a removed
// moment must never be observable, so RemoveAll clears current too; the end state libvirt's
// callers see is the same.
func (l *List) removeAll() {
	for m := l.first; m != nil; {
		next := m.next
		*m = Moment{def: m.def}
		m = next
	}
	l.first, l.last = nil, nil
	l.metaroot = Moment{}
	clear(l.byName)
	l.setCurrent(nil, CurrentNone)
}

// updateRelations rebuilds every parent/child link from the definitions' parent names
// (libvirt's virDomainMomentUpdateRelations, used after loading). A moment whose parent is
// missing becomes a root (libvirt warns "moment %s lacks parent %s"); in each cycle of parent
// names, the moment processed last becomes a root (libvirt warns "moment %s in circular
// chain"). In both cases current is cleared, as libvirt does, and the returned error lists
// every such moment with libvirt's wording.
//
// libvirt processes moments in hash order; here they are processed in insertion order, so a
// cycle is broken at the moment added last, and siblings end up newest-added first. It runs in
// O(n): cycles are found by one colouring pass instead of libvirt's walk up from every moment.
func (l *List) updateRelations() error {
	l.metaroot = Moment{}
	// 1: resolve parent names; missing ones make roots.
	missing := 0
	for m := l.first; m != nil; m = m.next {
		m.firstChild, m.sibling, m.nchildren, m.mark = nil, nil, 0, 0
		m.parent = nil
		if m.def.Parent != "" {
			if p := l.byName[m.def.Parent]; p != nil {
				m.parent = p
			} else {
				missing++
			}
		}
	}
	// 2: every cycle of parent pointers is broken at its latest-added member.
	// mark: 0 unvisited; otherwise the id of the walk that visited it.
	var walk uint64
	var circular map[*Moment]bool
	for u := l.first; u != nil; u = u.next {
		if u.mark != 0 {
			continue
		}
		walk++
		v := u
		for v != nil && v.mark == 0 {
			v.mark = walk
			v = v.parent
		}
		if v == nil || v.mark != walk {
			continue // reached a root or a moment settled by an earlier walk
		}
		// v is on a cycle that this walk closed.
		latest := v
		for c := v.parent; c != v; c = c.parent {
			if c.seq > latest.seq {
				latest = c
			}
		}
		latest.parent = nil
		if circular == nil {
			circular = make(map[*Moment]bool)
		}
		circular[latest] = true
	}
	// 3: link in insertion order (prepending, as libvirt's SetParent).
	var problems []error
	for m := l.first; m != nil; m = m.next {
		p := m.parent
		if p == nil {
			p = &l.metaroot
			switch {
			case circular[m]:
				problems = append(problems, fmt.Errorf("moment %s in circular chain", m.def.Name))
			case m.def.Parent != "":
				problems = append(problems, fmt.Errorf("moment %s lacks parent %s", m.def.Name, m.def.Parent))
			}
		}
		m.mark = 0
		setParent(m, p)
	}
	if len(problems) == 0 {
		return nil
	}
	l.setCurrent(nil, CurrentRelationsBroken)
	return &RelationsError{Kind: l.kind, Problems: problems}
}

// RelationsError is returned by List.updateRelations and [List.Load] when some moments had
// to become roots. The tree is still complete and consistent; only those moments lost their
// recorded parent.
type RelationsError struct {
	Kind conf.Kind
	// Problems are libvirt's warnings, one per moment: "moment %s lacks parent %s" or
	// "moment %s in circular chain", in insertion order.
	Problems []error
}

func (e *RelationsError) Error() string {
	s := fmt.Sprintf("%ss have inconsistent relations", e.Kind)
	for i, p := range e.Problems {
		if i == 0 {
			s += ": "
		} else {
			s += "; "
		}
		s += p.Error()
	}
	return s
}

// Is reports whether target is [ErrInconsistent].
func (e *RelationsError) Is(target error) bool { return target == ErrInconsistent }

// Unwrap returns the individual problems.
func (e *RelationsError) Unwrap() []error { return e.Problems }

// checkCycles checks that d can be (re)defined with its parent (libvirt's
// virDomainMomentCheckCycles, used by redefine), with libvirt's messages:
//   - "cannot set moment %s as its own parent";
//   - "parent %s for moment %s not found" (a redefine must be topological: parents first);
//   - "parent %s would create cycle to %s", naming the ancestor A whose parent is d itself
//     (the moment just below d on the chain, not necessarily d's requested parent), then d.
//
// Ancestors are walked by their parent names, as libvirt does; a missing ancestor ends the
// walk (libvirt only warns "moments are inconsistent"), and so does a walk longer than the
// list (parent names that already loop, which would hang libvirt).
func (l *List) checkCycles(d *conf.Def) error {
	if d.Parent == "" {
		return nil
	}
	if d.Parent == d.Name {
		return errorf(ErrInvalidArg, "invalid argument: cannot set moment %s as its own parent", d.Name)
	}
	other := l.byName[d.Parent]
	if other == nil {
		return errorf(ErrInvalidArg, "invalid argument: parent %s for moment %s not found", d.Parent, d.Name)
	}
	for steps := 0; other.def.Parent != "" && steps <= len(l.byName); steps++ {
		if other.def.Parent == d.Name {
			return errorf(ErrInvalidArg, "invalid argument: parent %s would create cycle to %s", other.def.Name, d.Name)
		}
		other = l.byName[other.def.Parent]
		if other == nil {
			break
		}
	}
	return nil
}

// forEachChild calls fn for each direct child of m in child-list order (the roots when m is
// nil) and returns how many it visited (libvirt's virDomainMomentForEachChild). As in libvirt,
// the next child is looked up before fn runs, so fn may delete or move the child it is given;
// it must not change the other children.
func (l *List) forEachChild(m *Moment, fn func(*Moment)) int {
	if m == nil {
		m = &l.metaroot
	} else {
		l.owns(m, "ForEachChild")
	}
	n := 0
	for c := m.firstChild; c != nil; {
		next := c.sibling
		fn(c)
		n++
		c = next
	}
	return n
}

// forEachDescendant calls fn for every moment below m (every linked moment when m is nil) in
// pre-order: each moment before its subtree, siblings in child-list order (libvirt's
// virDomainMomentForEachDescendant). m itself is not visited. It returns the number visited.
// fn must not change the list (libvirt's lets it delete the visited moment, because its
// removal leaves the links in place; here removal re-links, so collect first, then change).
func (l *List) forEachDescendant(m *Moment, fn func(*Moment)) int {
	if m == nil {
		m = &l.metaroot
	} else {
		l.owns(m, "ForEachDescendant")
	}
	n := 0
	walkPreOrder(m, func(d *Moment) { n++; fn(d) })
	return n
}

// walkPreOrder visits the subtree below top (top excluded) in pre-order, without recursion or
// allocation: down to the first child, else across to the sibling, else up until a sibling.
func walkPreOrder(top *Moment, fn func(*Moment)) {
	m := top.firstChild
	for m != nil {
		fn(m)
		if m.firstChild != nil {
			m = m.firstChild
			continue
		}
		for m != top && m.sibling == nil {
			m = m.parent
		}
		if m == top {
			return
		}
		m = m.sibling
	}
}

// findLeaf returns the leaf of the tree when the tree is one unbranched chain (exactly one
// root, every moment at most one child), else nil (libvirt's virDomainMomentFindLeaf; the
// checkpoint load rule).
func (l *List) findLeaf() *Moment {
	if l.metaroot.nchildren != 1 {
		return nil
	}
	m := l.metaroot.firstChild
	for m.nchildren == 1 {
		m = m.firstChild
	}
	if m.nchildren != 0 {
		return nil
	}
	return m
}
