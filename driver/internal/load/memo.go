package load

import "context"

// Memo remembers, from one listing of a domain's moments to the next, which domain-level list
// calls libvirtd refused as too big, so that a refresh asks for their pieces directly instead
// of repeating a call that would be refused again. That refused call is not cheap: libvirtd
// collects every name before it refuses (at 20,000 snapshots a quarter of a refresh).
//
// Only domain-level pieces (no from moment) are remembered: a piece below a moment names the
// moment, which may be gone by the next listing. The result of [Memo.Names] is always the
// same as that of [Names]; the memo only saves calls. When a listing finds fewer names than
// there were when a refusal was remembered (moments were deleted), the memo forgets its
// refusals, so a list that shrank below the limit is asked for in one call again.
//
// The zero Memo is ready to use. A Memo is not safe for concurrent use; keep one per domain
// and kind, under the lock that guards that list.
type Memo struct {
	refused map[uint32]bool // domain-level filters libvirtd refused
	total   int             // names listed by the listing that last added a refusal
}

// Names is [Names] with the memo: it skips the domain-level calls the memo says libvirtd
// refused (counted in NameStats.Skipped) and remembers new refusals.
func (m *Memo) Names(ctx context.Context, src Source) ([]string, NameStats, error) {
	e := enumerator{src: src, seen: map[string]bool{}, memo: m}
	err := e.piece(ctx, "", 0)
	if err != nil {
		return e.out, e.stats, err
	}
	switch {
	case e.learned:
		m.total = len(e.out)
	case len(e.out) < m.total:
		m.refused, m.total = nil, 0
	}
	return e.out, e.stats, nil
}

// skip reports whether the memo says libvirtd refuses the domain-level list with filter.
func (m *Memo) skip(from string, filter uint32) bool {
	return m != nil && from == "" && m.refused[filter]
}

// remember records a refused domain-level list; it reports whether the memo learned it.
func (m *Memo) remember(from string, filter uint32) bool {
	if m == nil || from != "" {
		return false
	}
	if m.refused == nil {
		m.refused = map[uint32]bool{}
	}
	m.refused[filter] = true
	return true
}
