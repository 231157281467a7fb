package drivertest

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/vmoments/vmoments/conf"
	"github.com/vmoments/vmoments/driver"
	"github.com/vmoments/vmoments/momentlist"
)

// CheckState checks that dom's loaded list of kind equals libvirt's state and a fresh load:
// the same names with the same parents, in dom, in a new handle from drv (a fresh load on the
// same connection), and in libvirt (ListAll and each moment's XML). Current: snapshots must
// agree with libvirt's current snapshot in both handles; for checkpoints dom must have
// checkpointCurrent (what libvirt's internal pointer is, see [Tracker]) and the fresh handle
// libvirt's fresh-load rule. It returns the number of cases checked.
func CheckState(t testing.TB, drv driver.Driver, dom driver.Domain, kind conf.Kind, checkpointCurrent string) int {
	t.Helper()
	return checkState(t, drv, dom, sourceOf(t, dom), kind, checkpointCurrent)
}

// checkState is CheckState with libvirt's state read from src (see checkLists).
func checkState(t testing.TB, drv driver.Driver, dom driver.Domain, src source, kind conf.Kind, checkpointCurrent string) int {
	t.Helper()
	ctx := context.Background()
	tr := mustTruth(t, ctx, src, kind)
	fresh, err := drv.Domain(ctx, dom.UUID())
	if err != nil {
		t.Fatalf("a fresh handle for %q: %v", dom.Name(), err)
	}
	n := 0
	for _, h := range []struct {
		what    string
		dom     driver.Domain
		current string
	}{
		{"the driver's list", dom, map[bool]string{true: tr.current, false: checkpointCurrent}[kind == conf.Snapshot]},
		{"a fresh load", fresh, tr.current},
	} {
		l, err := h.dom.Moments(ctx, kind)
		if err != nil {
			t.Fatalf("%s: Moments(%s): %v", h.what, kind, err)
		}
		n++
		if diff := diffTree(tr, l); diff != "" {
			t.Errorf("%s %ss of %q differ from libvirt's: %s", h.what, kind, dom.Name(), diff)
		}
		cur, rule, err := h.dom.Current(ctx, kind)
		if err != nil {
			t.Fatalf("%s: Current(%s): %v", h.what, kind, err)
		}
		n++
		if l.CurrentRule() != rule || nameOf(l.Current()) != nameOf(cur) {
			t.Errorf("%s: Moments' copy has current %q (%v), Current says %q (%v)", h.what, nameOf(l.Current()), l.CurrentRule(), nameOf(cur), rule)
		}
		n++
		if nameOf(cur) != h.current {
			t.Errorf("%s: current %s of %q is %q (%v), want %q", h.what, kind, dom.Name(), nameOf(cur), rule, h.current)
		}
	}
	if src.dom != dom {
		n += compareDefs(t, dom, src, tr.names, kind)
	}
	cases.Add(int64(n))
	return n
}

// compareDefs compares, in a reference run, what the XML of each moment says on dom with what
// libvirt's says on the reference: description, parent, state, memory, every disk (mode,
// bitmap, source, types) and whether a domain is embedded. The creation times of moments
// created during the scenario differ by the clock, and the embedded domain by the driver, so
// neither is compared.
func compareDefs(t testing.TB, dom driver.Domain, src source, names []string, kind conf.Kind) int {
	t.Helper()
	ctx := context.Background()
	n := 0
	parse := func(d driver.Domain, name string) *conf.Def {
		x, err := d.XML(ctx, kind, name, 0)
		if err != nil {
			t.Fatalf("XML of %s %q: %v", kind, name, err)
		}
		def, err := conf.Parse([]byte(x), conf.ParseRedefine)
		if err != nil {
			t.Fatalf("%s %q: the XML does not parse: %v\n%s", kind, name, err, x)
		}
		return def
	}
	for _, name := range names {
		got, want := parse(dom, name), parse(src.dom, name)
		n++
		if got.Name != want.Name || got.Description != want.Description || got.Parent != want.Parent || got.State != want.State ||
			got.Memory != want.Memory || !slices.Equal(got.Disks, want.Disks) || got.HasDomain != want.HasDomain {
			t.Errorf("%s %q: the driver's XML says %s\nlibvirt's says          %s", kind, name, describe(got), describe(want))
		}
	}
	return n
}

// describe says what compareDefs compares of a definition.
func describe(d *conf.Def) string {
	return fmt.Sprintf("parent %q, state %q, memory %+v, disks %+v, description %q, embeds a domain: %v",
		d.Parent, d.State, d.Memory, d.Disks, d.Description, d.HasDomain)
}

// diffTree says how l differs from libvirt's names and parents ("" if it does not).
func diffTree(tr *truth, l *momentlist.List) string {
	if l.Len() != len(tr.names) {
		return fmt.Sprintf("%d moments, libvirt has %d", l.Len(), len(tr.names))
	}
	for _, n := range tr.names {
		m := l.Find(n)
		if m == nil {
			return fmt.Sprintf("%q missing", n)
		}
		p := ""
		if m.Parent() != nil {
			p = m.Parent().Name()
		}
		if p != tr.parent[n] {
			return fmt.Sprintf("%q has parent %q, libvirt says %q", n, p, tr.parent[n])
		}
		if m.Def().Parent != tr.parent[n] {
			return fmt.Sprintf("%q's definition names parent %q, libvirt says %q", n, m.Def().Parent, tr.parent[n])
		}
		if m.NumChildren() != len(tr.children(n)) {
			return fmt.Sprintf("%q has %d children, libvirt %d", n, m.NumChildren(), len(tr.children(n)))
		}
	}
	return ""
}

// Tracker follows libvirt's internal current checkpoint through changes (docs/libvirt.md §3), computed
// here from libvirt's answers, independently of momentlist. Tell it every change, in order; the
// delete rule needs the tree as it was, so call Delete before deleting.
type Tracker struct {
	// Current is the current checkpoint, "" for none.
	Current string
}

// Created records a checkpoint created (not redefined): it becomes current.
func (tr *Tracker) Created(name string) { tr.Current = name }

// Redefined records a redefined checkpoint with its parent: it becomes current when its parent
// is current or there is no current.
func (tr *Tracker) Redefined(name, parent string) {
	if tr.Current == "" || parent == tr.Current {
		tr.Current = name
	}
}

// Delete records the delete of name with flags, reading the tree from libvirt first: with
// children or children-only, a current among the descendants moves to name; then, unless
// children-only, a current name moves to its parent (none for a root).
func (tr *Tracker) Delete(t testing.TB, dom driver.Domain, name string, flags driver.DeleteFlags) {
	t.Helper()
	tr.delete(t, sourceOf(t, dom), name, flags)
}

// delete is Delete reading the tree from src.
func (tr *Tracker) delete(t testing.TB, src source, name string, flags driver.DeleteFlags) {
	t.Helper()
	state, err := readTruth(context.Background(), src, conf.Checkpoint)
	if err != nil {
		t.Fatalf("Tracker: reading checkpoints: %v", err)
	}
	if flags&(driver.DeleteChildren|driver.DeleteChildrenOnly) != 0 {
		for a := state.parent[tr.Current]; tr.Current != "" && a != ""; a = state.parent[a] {
			if a == name {
				tr.Current = name
				break
			}
		}
	}
	if flags&driver.DeleteChildrenOnly == 0 && tr.Current == name {
		tr.Current = state.parent[name]
	}
}
