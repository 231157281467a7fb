package virt

import (
	"slices"

	"github.com/vmoments/vmoments/conf"
	"github.com/vmoments/vmoments/momentlist"
)

// cloneList returns an independent copy of l (momentlist's Clone): the same tree, child order,
// current moment and current rule, with copied definitions.
func cloneList(l *momentlist.List) *momentlist.List { return l.Clone() }

// copyDef copies a definition so that changes to the copy's fields (a delete rewrites
// children's Parent) never reach the original. The raw XML is shared: nobody writes it.
func copyDef(d *conf.Def) *conf.Def {
	c := *d
	c.Disks = slices.Clone(d.Disks)
	if d.Active != nil {
		a := *d.Active
		c.Active = &a
	}
	return &c
}
