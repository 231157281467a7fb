package momentlist

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"github.com/vmoments/vmoments/conf"
)

// Filter selects moments in [List.Select]. Bits of one group OR together
// (Inactive|Active keeps both kinds); groups AND together. The libvirt bits keep libvirt's
// exact semantics (docs/libvirt.md §1 GetNames, §2 snapshot filter); Current, NoCurrent and PerDisk are
// vmoments' own (docs/design.md §1, §2).
type Filter uint32

const (
	// Roots, with from == nil, keeps only the roots; without it every moment is listed.
	// With a from moment the same bit means Descendants: all moments below from instead of
	// its direct children (libvirt's ROOTS and DESCENDANTS share this bit, docs/libvirt.md §1 step 2).
	Roots Filter = 1 << iota
	// Topological lists every parent before its children: pre-order, siblings in child-list
	// order (newest-linked first).
	Topological
	// Leaves keeps moments without children.
	Leaves
	// NoLeaves keeps moments with children. Leaves|NoLeaves matches nothing, as in libvirt.
	NoLeaves
	// Metadata keeps moments with libvirt metadata: every moment in a list has it, so it
	// never filters anything out (snapshots only).
	Metadata
	// NoMetadata alone matches nothing; with Metadata it filters nothing (snapshots only).
	NoMetadata
	// Inactive keeps snapshots whose state is shutoff ([conf.Def.Status]).
	Inactive
	// Active keeps snapshots whose state is neither shutoff nor disk-snapshot.
	Active
	// DiskOnly keeps snapshots whose state is disk-snapshot.
	DiskOnly
	// Internal keeps internal snapshots ([conf.Def.IsExternal] false).
	Internal
	// External keeps external snapshots: external memory or any external disk.
	External
	// Current keeps only the current moment (with PerDisk: the current set). vmoments' own.
	Current
	// NoCurrent drops the current moment (with PerDisk: the current set). Current|NoCurrent
	// matches nothing, like Leaves|NoLeaves.
	NoCurrent
	// PerDisk makes Current and NoCurrent act on the current set ([List.CurrentSet]) instead
	// of the current moment; alone it changes nothing.
	PerDisk

	filterEnd
)

// Descendants is Roots under its meaning with a from moment: list every descendant of from
// instead of its direct children.
const Descendants = Roots

const (
	allFilters        = filterEnd - 1
	statusFilters     = Inactive | Active | DiskOnly
	locationFilters   = Internal | External
	metadataFilters   = Metadata | NoMetadata
	snapshotFilters   = allFilters
	checkpointFilters = Roots | Topological | Leaves | NoLeaves | Current | NoCurrent | PerDisk
)

var filterNames = [...]string{"roots", "topological", "leaves", "no-leaves", "metadata",
	"no-metadata", "inactive", "active", "disk-only", "internal", "external", "current",
	"no-current", "per-disk"}

// String returns the filter's bits by name, joined by '|' ("leaves|current"), "0" for none;
// unknown bits are shown in hex.
func (f Filter) String() string {
	if f == 0 {
		return "0"
	}
	var parts []string
	for i, name := range filterNames {
		if f&(1<<i) != 0 {
			parts = append(parts, name)
		}
	}
	if rest := f &^ allFilters; rest != 0 {
		parts = append(parts, fmt.Sprintf("0x%x", uint32(rest)))
	}
	return strings.Join(parts, "|")
}

// kindFilter is libvirt's per-kind filter callback (virDomainSnapshotFilter for snapshots; the
// checkpoint one accepts no bits): it reports whether m passes the kind's own filter bits.
type kindFilter func(m *Moment, f Filter) bool

// classify returns a definition's classes for the kind's filters: for a snapshot its status
// bit (Inactive, Active or DiskOnly, from <state> alone: [conf.Def.Status]) and its location
// bit (External when [conf.Def.IsExternal], else Internal), exactly as libvirt's
// virDomainSnapshotFilter decides them (docs/libvirt.md §2); none for a checkpoint. The List computes it
// when a definition enters the list, so that filters touch only the moment itself.
func classify(d *conf.Def) Filter {
	if d.Kind != conf.Snapshot {
		return 0
	}
	var c Filter
	switch d.Status() {
	case conf.Inactive:
		c = Inactive
	case conf.DiskOnly:
		c = DiskOnly
	default:
		c = Active
	}
	if d.IsExternal() {
		return c | External
	}
	return c | Internal
}

// snapshotFilter is virDomainSnapshotFilter (docs/libvirt.md §2): a status group with some but not all
// bits keeps the snapshots of the chosen classes; likewise the location group.
func snapshotFilter(m *Moment, f Filter) bool {
	if s := f & statusFilters; s != 0 && s&m.class == 0 {
		return false
	}
	if loc := f & locationFilters; loc != 0 && loc&m.class == 0 {
		return false
	}
	return true
}

// checkFilter validates f for the list's kind, with libvirt's "unsupported flags" wording.
func (l *List) checkFilter(f Filter) error {
	allowed := snapshotFilters
	if l.kind == conf.Checkpoint {
		allowed = checkpointFilters
	}
	if bad := f &^ allowed; bad != 0 {
		if bad&^allFilters == 0 {
			return errorf(ErrUnsupportedFlags, "unsupported flags (0x%x) in function momentlist.List.Select: %s has no %s filter",
				uint32(bad), l.kind, bad)
		}
		return errorf(ErrUnsupportedFlags, "unsupported flags (0x%x) in function momentlist.List.Select", uint32(bad))
	}
	return nil
}

// matcher is one Select call's per-moment test, set up once.
type matcher struct {
	leaves, noLeaves bool
	kindBits         Filter
	kind             kindFilter
	current          *Moment   // Current / NoCurrent on the current moment
	set              []*Moment // ... or on the current set (PerDisk)
	perDisk          bool
	keepCurrent      int8 // 0: no current filter; 1: keep only current; -1: drop it
}

func (mt *matcher) match(m *Moment) bool {
	if mt.leaves && m.nchildren != 0 || mt.noLeaves && m.nchildren == 0 {
		return false
	}
	if mt.keepCurrent != 0 {
		in := m == mt.current
		if mt.perDisk {
			in = false
			for _, s := range mt.set {
				if s == m {
					in = true
					break
				}
			}
		}
		if in != (mt.keepCurrent > 0) {
			return false
		}
	}
	return mt.kind == nil || mt.kind(m, mt.kindBits)
}

// Select returns the moments below from (the whole list when from is nil) that pass f,
// following libvirt's virDomainMomentObjListGetNames (docs/libvirt.md §1 steps 1–7):
//   - from == nil: every moment, or with [Roots] only the roots. from != nil: its direct
//     children, or with [Descendants] every moment below it. from itself is never listed.
//   - [NoMetadata] alone matches nothing; [Leaves]|[NoLeaves] matches nothing;
//     [Current]|[NoCurrent] matches nothing.
//   - The snapshot groups (status, location) filter only when some but not all of their bits
//     are set.
//   - Order: [Topological] gives pre-order; otherwise see the package documentation, "Orders".
//
// The result is nil when nothing matches. The only errors are bits the list's kind does not
// have (checkpoints have no metadata, status or location filters; [ErrUnsupportedFlags]) and a
// from moment that is not in the list ([ErrInvalidArg]). It runs in O(n) for the n moments
// visited, plus O(depth × disks) with PerDisk.
func (l *List) Select(from *Moment, f Filter) ([]*Moment, error) {
	p, err := l.plan(from, f)
	if err != nil || p.empty {
		return nil, err
	}
	var out []*Moment
	switch {
	case p.exact >= 0:
		out = make([]*Moment, 0, p.exact)
	case p.unfiltered && p.walk == walkSubtree:
		// Sizing the result first (a walk costs a few ns per moment) beats growing it.
		n := len(l.byName)
		if p.start.def != nil {
			n = p.start.NumDescendants()
		}
		out = make([]*Moment, 0, n)
	}
	l.run(&p, func(m *Moment) { out = append(out, m) })
	if len(out) == 0 {
		return nil, nil
	}
	return out, nil
}

// count returns how many moments [List.Select] would return (libvirt's Num functions; the
// Topological bit is accepted and changes nothing). Without per-moment filters it is O(1)
// at domain level and for direct children, as libvirt's.
func (l *List) count(from *Moment, f Filter) (int, error) {
	p, err := l.plan(from, f)
	if err != nil || p.empty {
		return 0, err
	}
	if p.exact >= 0 {
		return p.exact, nil
	}
	n := 0
	l.run(&p, func(*Moment) { n++ })
	return n, nil
}

// plan is one Select or Count call, set up once: where to walk, how, and the per-moment test.
type plan struct {
	start *Moment
	walk  walkMode
	mt    matcher
	empty bool // the filter matches nothing
	exact int  // the number of matches when known without walking, else -1
	// unfiltered: every moment the walk visits matches.
	unfiltered bool
}

type walkMode int

const (
	walkChildren  walkMode = iota // direct children of start, child-list order
	walkInsertion                 // every moment, insertion order
	walkSubtree                   // the subtree below start, pre-order
)

func (l *List) plan(from *Moment, f Filter) (plan, error) {
	p := plan{start: from, exact: -1}
	if err := l.checkFilter(f); err != nil {
		return p, err
	}
	if from == nil {
		// docs/libvirt.md §1 step 2: at domain level the bit means "roots only", so flip it.
		f ^= Roots
		p.start = &l.metaroot
	} else if err := l.checkOwned(from); err != nil {
		return p, err
	}
	// step 3: metadata group; step 5: both leaf bits; vmoments: both current bits.
	if f&metadataFilters == NoMetadata || f&(Leaves|NoLeaves) == Leaves|NoLeaves ||
		f&(Current|NoCurrent) == Current|NoCurrent {
		p.empty = true
		return p, nil
	}
	mt := &p.mt
	mt.leaves, mt.noLeaves = f&Leaves != 0, f&NoLeaves != 0
	if l.kind == conf.Snapshot {
		// A group with all bits set filters nothing (virDomainSnapshotObjListGetNames).
		kb := f & (statusFilters | locationFilters)
		if kb&statusFilters == statusFilters {
			kb &^= statusFilters
		}
		if kb&locationFilters == locationFilters {
			kb &^= locationFilters
		}
		if kb != 0 {
			mt.kind, mt.kindBits = snapshotFilter, kb
		}
	}
	switch f & (Current | NoCurrent) {
	case Current:
		mt.keepCurrent = 1
	case NoCurrent:
		mt.keepCurrent = -1
	}
	if mt.keepCurrent != 0 {
		mt.current = l.current
		if f&PerDisk != 0 {
			mt.perDisk = true
			mt.set = l.CurrentSet()
		}
		if mt.keepCurrent > 0 && (mt.perDisk && len(mt.set) == 0 || !mt.perDisk && mt.current == nil) {
			p.empty = true
			return p, nil
		}
	}
	// step 4: the walk.
	switch {
	case f&Descendants == 0:
		p.walk = walkChildren
	case from == nil && f&Topological == 0:
		p.walk = walkInsertion
	default:
		p.walk = walkSubtree
	}
	p.unfiltered = !mt.leaves && !mt.noLeaves && mt.kind == nil && mt.keepCurrent == 0
	if p.unfiltered {
		switch p.walk {
		case walkChildren:
			p.exact = p.start.nchildren
		case walkInsertion:
			p.exact = len(l.byName)
		}
	}
	return p, nil
}

func (l *List) run(p *plan, emit func(*Moment)) {
	mt := &p.mt
	switch p.walk {
	case walkChildren:
		for c := p.start.firstChild; c != nil; c = c.sibling {
			if mt.match(c) {
				emit(c)
			}
		}
	case walkInsertion:
		for m := l.first; m != nil; m = m.next {
			if mt.match(m) {
				emit(m)
			}
		}
	default:
		walkPreOrder(p.start, func(m *Moment) {
			if mt.match(m) {
				emit(m)
			}
		})
	}
}

// Libvirt's list flag numbers (docs/libvirt.md §2, §3).
const (
	snapRoots       = 1
	snapMetadata    = 2
	snapLeaves      = 4
	snapNoLeaves    = 8
	snapNoMetadata  = 16
	snapInactive    = 32
	snapActive      = 64
	snapDiskOnly    = 128
	snapInternal    = 256
	snapExternal    = 512
	snapTopological = 1024

	ckptRoots       = 1
	ckptTopological = 2
	ckptLeaves      = 4
	ckptNoLeaves    = 8
)

// flagMap pairs libvirt's list flag numbers with the Filter bits they mean; one table per
// moment kind converts both ways.
type flagMap []struct {
	lv uint32
	f  Filter
}

var snapshotMap = flagMap{
	{snapRoots, Roots}, {snapMetadata, Metadata}, {snapLeaves, Leaves}, {snapNoLeaves, NoLeaves},
	{snapNoMetadata, NoMetadata}, {snapInactive, Inactive}, {snapActive, Active},
	{snapDiskOnly, DiskOnly}, {snapInternal, Internal}, {snapExternal, External},
	{snapTopological, Topological},
}

var checkpointMap = flagMap{
	{ckptRoots, Roots}, {ckptTopological, Topological}, {ckptLeaves, Leaves}, {ckptNoLeaves, NoLeaves},
}

// filter converts libvirt's bits to a Filter. Bits the table lacks fail with libvirt's
// "unsupported flags (0x%x) in function %s", naming fn.
func (t flagMap) filter(libvirtListFlags uint32, fn string) (Filter, error) {
	var f Filter
	rest := libvirtListFlags
	for _, e := range t {
		if libvirtListFlags&e.lv != 0 {
			f |= e.f
			rest &^= e.lv
		}
	}
	if rest != 0 {
		return 0, errorf(ErrUnsupportedFlags, "unsupported flags (0x%x) in function %s", rest, fn)
	}
	return f, nil
}

// libvirt returns the libvirt bits of f's bits that the table has; the others are dropped.
func (t flagMap) libvirt(f Filter) uint32 {
	var v uint32
	for _, e := range t {
		if f&e.f != 0 {
			v |= e.lv
		}
	}
	return v
}

// FromLibvirt converts libvirt's list flags of kind (VIR_DOMAIN_SNAPSHOT_LIST_* for snapshots,
// VIR_DOMAIN_CHECKPOINT_LIST_* for checkpoints) to a Filter. Bits the kind's list lacks fail
// with libvirt's "unsupported flags (0x%x) in function %s".
func FromLibvirt(kind conf.Kind, libvirtListFlags uint32) (Filter, error) {
	switch kind {
	case conf.Snapshot:
		return snapshotMap.filter(libvirtListFlags, "momentlist.FromLibvirt")
	case conf.Checkpoint:
		return checkpointMap.filter(libvirtListFlags, "momentlist.FromLibvirt")
	}
	return 0, errorf(ErrInvalidArg, "no list flags for moment kind %v", kind)
}

// Libvirt returns f's bits that libvirt's list of kind has, as libvirt's numbers; every other
// bit (Current, NoCurrent, PerDisk, and for checkpoints the snapshot-only filters) is dropped.
func (f Filter) Libvirt(kind conf.Kind) uint32 {
	switch kind {
	case conf.Snapshot:
		return snapshotMap.libvirt(f)
	case conf.Checkpoint:
		return checkpointMap.libvirt(f)
	}
	return 0
}

// LibvirtBits returns the Filter bits that libvirt's list of kind has, in the order of libvirt's
// numbers (lowest first): the flags to enumerate every libvirt list of a kind.
func LibvirtBits(kind conf.Kind) []Filter {
	t := snapshotMap
	if kind == conf.Checkpoint {
		t = checkpointMap
	} else if kind != conf.Snapshot {
		return nil
	}
	out := make([]Filter, 0, len(t))
	for _, e := range t {
		out = append(out, e.f)
	}
	slices.SortFunc(out, func(a, b Filter) int { return cmp.Compare(a.Libvirt(kind), b.Libvirt(kind)) })
	return out
}
