// Package momentlist is libvirt's list of a domain's moments (virDomainMomentObjList) in Go:
// a tree of snapshots or checkpoints with one current moment, libvirt's list filters with their
// exact semantics, and what libvirt never shipped: a filter on the current moment and a current
// moment per disk.
//
// The reference for every behaviour is libvirt 9.0 (shared/spec/libvirt-moments.md §1–§3);
// where libvirt has none (Current, NoCurrent, PerDisk), DESIGN.md is.
//
// momentlist never imports libvirt's C bindings. A List is not safe for concurrent use; the
// drivers guard theirs.
package momentlist

import (
	"github.com/vmoments/vmoments/conf"
)

// Moment is one snapshot or checkpoint in a List.
type Moment struct {
	def        *conf.Def
	parent     *Moment // the list's metaroot for a root
	firstChild *Moment
	sibling    *Moment
	nchildren  int
	// (implementation fields may be added)
}

// List is the moments of one domain and one kind.
type List struct {
	kind     conf.Kind
	metaroot Moment
	byName   map[string]*Moment
	current  *Moment
	// (implementation fields may be added)
}
