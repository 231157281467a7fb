// Package momentlist is libvirt's list of a domain's moments (virDomainMomentObjList) in Go:
// a tree of snapshots or checkpoints with one current moment, libvirt's list filters with their
// exact semantics, and what libvirt never shipped: a filter on the current moment and a current
// moment per disk.
//
// The reference for every behaviour is libvirt 9.0 (docs/libvirt.md §1–§3);
// where libvirt has none (Current, NoCurrent, PerDisk), docs/design.md is.
//
// # The tree
//
// A [List] holds the moments of one domain and one kind (snapshots or checkpoints). Like
// libvirt's, it has a hidden metaroot that is the parent of every root, and each [Moment] has a
// parent, a first child and a next sibling. Linking a moment under a parent prepends it to the
// parent's child list, so siblings come newest-linked first: that is the order of
// [Moment.Children], List.forEachChild and of every topological walk.
//
// # Orders
//
// libvirt leaves the order of a non-topological list unspecified (it walks a hash table).
// momentlist makes it deterministic and O(n), with no sorting:
//   - at domain level (from == nil) with all moments: the order in which the moments were
//     added to the list (insertion order; redefining an existing moment keeps its place);
//   - at domain level with [Roots]: the roots in child-list order (newest-linked first);
//   - below a moment: its children in child-list order, or with [Descendants] its subtree in
//     pre-order (parent before its subtree, siblings in child-list order), as libvirt does.
//
// With [Topological] the order is always the pre-order walk, which puts every parent before
// its children. libvirt's own example (docs/libvirt.md §1 step 7: create s1, s3, s2, revert s3, create s6,
// s5, revert s6, create s4, revert s1, create s7, s8) lists as s1 s7 s8 s3 s6 s4 s5 s2.
//
// # Current
//
// A List has at most one current moment. Which moment is current follows libvirt's rules
// ([List.Create], [List.Redefine], [List.Load], [List.Revert], [List.Delete]);
// [List.CurrentRule] says which rule decided it. The per-disk current ([List.CurrentFor]) and
// the current set ([List.CurrentSet]) are vmoments' answer to "current is ambiguous for
// partial snapshots" (docs/design.md §2).
//
// # Definitions
//
// A moment's definition ([conf.Def]) is shared with the caller, not copied. The List rewrites
// Def.Parent where libvirt rewrites parent_name (Create, plain Delete), and reads a definition's
// state, memory and disks when it enters the list, to classify it for the status and location
// filters; to change a moment afterwards, redefine it ([List.Redefine]).
//
// # Errors
//
// Messages keep libvirt's wording ("operation failed: domain moment s1 already exists",
// "invalid argument: parent s3 for moment s2 not found", "unsupported flags (0x10) in function
// ..."), and every error matches one of [ErrExists], [ErrInvalidArg], [ErrUnsupportedFlags]
// or [ErrInconsistent] with errors.Is.
//
// momentlist never imports libvirt's C bindings. A List is not safe for concurrent use; the
// drivers guard theirs. Methods that only read (Select, Count, Find, walks, CurrentFor, ...)
// never modify the List, so a read lock is enough for them.
package momentlist

import (
	"fmt"

	"github.com/vmoments/vmoments/conf"
)

// Moment is one snapshot or checkpoint in a List.
//
// A *Moment stays valid (and keeps its identity) for as long as the moment is in its List,
// including across [List.Redefine], which replaces its definition in place. Once removed it
// must not be handed back to the List.
type Moment struct {
	def        *conf.Def
	parent     *Moment // the list's metaroot for a root; nil while not linked
	firstChild *Moment
	sibling    *Moment
	nchildren  int
	class      Filter // classify(def): the snapshot status and location bits

	list       *List   // nil once removed
	prev, next *Moment // insertion order (the List's non-topological domain-level order)
	seq        uint64  // insertion sequence number
	mark       uint64  // scratch for UpdateRelations
}

// Def returns the moment's definition. The List rewrites Def().Parent when libvirt would
// (plain delete re-parents children; Create sets the parent). A definition must not be
// changed while it is in a list: the List reads its name, parent, state, memory and disks
// when it enters (Create, Redefine, Load); to change a moment, redefine it with a new
// definition. (Its raw XML may be set at any time.)
func (m *Moment) Def() *conf.Def { return m.def }

// Name returns the moment's name.
func (m *Moment) Name() string { return m.def.Name }

// Parent returns the moment's parent, or nil for a root (and for a moment added with
// List.add but not linked yet).
func (m *Moment) Parent() *Moment {
	if m.parent == nil || m.parent.def == nil {
		return nil
	}
	return m.parent
}

// Children returns the moment's direct children in libvirt's child-list order: the
// newest-linked first.
func (m *Moment) Children() []*Moment {
	out := make([]*Moment, 0, m.nchildren)
	for c := m.firstChild; c != nil; c = c.sibling {
		out = append(out, c)
	}
	return out
}

// NumChildren returns the number of direct children.
func (m *Moment) NumChildren() int { return m.nchildren }

// NumDescendants returns the number of moments below m (children, their children, ...).
func (m *Moment) NumDescendants() int {
	n := 0
	walkPreOrder(m, func(*Moment) { n++ })
	return n
}

// String returns the moment's name.
func (m *Moment) String() string { return m.def.Name }

// List is the moments of one domain and one kind: libvirt's virDomainMomentObjList.
//
// The zero List is not usable; call [New].
type List struct {
	kind     conf.Kind
	metaroot Moment // def == nil; parent of every root
	byName   map[string]*Moment
	current  *Moment
	rule     CurrentRule

	first, last *Moment // insertion order
	seq         uint64
}

// New returns an empty list of moments of the given kind.
func New(kind conf.Kind) *List {
	return &List{kind: kind, byName: make(map[string]*Moment)}
}

// Kind returns whether the list holds snapshots or checkpoints.
func (l *List) Kind() conf.Kind { return l.kind }

// Len returns the number of moments (libvirt's virDomainMomentObjListSize).
func (l *List) Len() int { return len(l.byName) }

// Find returns the moment with the given name, or nil.
func (l *List) Find(name string) *Moment { return l.byName[name] }

// All returns every moment in insertion order (see the package documentation, "Orders").
func (l *List) All() []*Moment {
	out := make([]*Moment, 0, len(l.byName))
	for m := l.first; m != nil; m = m.next {
		out = append(out, m)
	}
	return out
}

// owns panics when m does not belong to l: handing a moment of another list, or a removed one,
// is a programming error, like an index out of range.
func (l *List) owns(m *Moment, op string) {
	if m == nil || m.list != l {
		panic(fmt.Sprintf("momentlist: %s: moment %v is not in this list", op, m))
	}
}

// checkOwned is owns as an error, for methods that return errors anyway.
func (l *List) checkOwned(m *Moment) error {
	if m == nil {
		return errorf(ErrInvalidArg, "moment is nil")
	}
	if m.list != l {
		return errorf(ErrInvalidArg, "moment %s is not in this %s list", m.def.Name, l.kind)
	}
	return nil
}
