package virt

import (
	"slices"

	"github.com/vmoments/vmoments/conf"
	"github.com/vmoments/vmoments/momentlist"
)

// cloneList returns a copy of l with copied definitions, the same tree, the same child order
// (libvirt's LinkParent prepends, so each parent's children are linked last to first) and the
// same current moment. Its CurrentRule is CurrentSet (or CurrentNone): momentlist lets a
// current moment be set but not its rule, so callers keep the rule themselves.
func cloneList(l *momentlist.List) *momentlist.List {
	c := momentlist.New(l.Kind())
	var level func(parent *momentlist.Moment)
	level = func(parent *momentlist.Moment) {
		var kids []*momentlist.Moment
		l.ForEachChild(parent, func(m *momentlist.Moment) { kids = append(kids, m) })
		for i := len(kids) - 1; i >= 0; i-- {
			m, err := c.Add(copyDef(kids[i].Def()))
			if err != nil {
				panic("virt: cloning a list with a duplicate name: " + err.Error())
			}
			c.LinkParent(m)
		}
		for _, k := range kids {
			level(k)
		}
	}
	level(nil)
	if cur := l.Current(); cur != nil {
		c.SetCurrent(c.Find(cur.Name()))
	}
	return c
}

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
