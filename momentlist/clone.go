package momentlist

// Clone returns an independent copy of the list: the same tree with the same child order,
// the same insertion order, the same current moment and [CurrentRule]. Definitions are copied
// too (their disks and <active> included; the raw XML, which nobody writes, is shared), so
// operations on the copy — a delete rewrites Def().Parent — never reach the original.
//
// Clone only reads l: it may run concurrently with other readers. It costs O(n).
func (l *List) Clone() *List {
	c := &List{kind: l.kind, byName: make(map[string]*Moment, len(l.byName)), seq: l.seq, rule: l.rule}
	twin := make(map[*Moment]*Moment, len(l.byName)+1)
	twin[&l.metaroot] = &c.metaroot
	for m := l.first; m != nil; m = m.next {
		n := &Moment{def: m.def.Clone(), class: m.class, nchildren: m.nchildren, list: c, seq: m.seq, prev: c.last}
		if c.last != nil {
			c.last.next = n
		} else {
			c.first = n
		}
		c.last = n
		c.byName[n.def.Name] = n
		twin[m] = n
	}
	// twin[nil] is nil: unlinked moments and list ends map to nil.
	c.metaroot.firstChild, c.metaroot.nchildren = twin[l.metaroot.firstChild], l.metaroot.nchildren
	for m := l.first; m != nil; m = m.next {
		n := twin[m]
		n.parent, n.firstChild, n.sibling = twin[m.parent], twin[m.firstChild], twin[m.sibling]
	}
	c.current = twin[l.current]
	return c
}
