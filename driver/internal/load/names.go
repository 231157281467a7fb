package load

import (
	"context"
	"fmt"
	"regexp"
	"strconv"

	"github.com/vmoments/vmoments/conf"
)

// NameStats says how a name listing went.
type NameStats struct {
	// Calls is the number of list calls made (refused ones included).
	Calls int
	// Refused is the number of list calls libvirtd refused as too big.
	Refused int
	// Skipped is the number of list calls not made because a [Memo] remembered libvirtd
	// refusing them.
	Skipped int
	// Predicted is the number of list calls not made because libvirtd's refusal of the piece
	// above said they could not fit (see [Names], step 3).
	Predicted int
}

// Names returns the names of every moment of src's kind, each once.
//
// It asks for all of them in one call. When libvirtd refuses that call because the answer would
// exceed its RPC limit (a [TooMany] error), Names enumerates disjoint pieces that each fit,
// refining a refused piece one group at a time, in this order:
//
//  1. leaves and non-leaves (LEAVES, NO_LEAVES);
//  2. snapshots only: the status group (INACTIVE, ACTIVE, DISK_ONLY), then the location group
//     (INTERNAL, EXTERNAL) — every snapshot is in exactly one member of each group;
//  3. the tree: the roots that match the piece's filter, then, for each root, its descendants
//     that match (ListAllChildren with DESCENDANTS); a refused subtree is split into the
//     matching direct children of its top plus the subtrees of each direct child, recursively.
//     libvirtd's refusal says how many names the answer had ("Too many domain_snapshots
//     '17000' for limit '16384'"), so when a refused subtree's top has a single child, the
//     child's subtree holds exactly that many less the matching child: while that is still
//     past the limit, its list call is not made, and the split goes on one level down. A long
//     unbranched chain thus costs two small calls per level instead of a refused one that
//     libvirtd answers only after collecting every name below.
//
// The pieces are disjoint and together cover every moment, so their union is the full list.
// A piece that cannot be split further (more than the limit of roots, or of direct children of
// one moment, matching the finest filter) is reported with libvirt's error.
func Names(ctx context.Context, src Source) ([]string, NameStats, error) {
	e := enumerator{src: src, seen: map[string]bool{}}
	err := e.piece(ctx, "", 0)
	return e.out, e.stats, err
}

type enumerator struct {
	src   Source
	limit int // libvirtd's limit, as its last refusal stated it (0: not known)
	seen  map[string]bool
	out   []string
	stats NameStats
	memo  *Memo // nil: remember nothing
	// learned is set when memo learned a refusal during this listing.
	learned bool
}

// list makes one list call; refused reports a TooMany refusal (not an error), with the number
// of names the refused answer had when the refusal says (else 0).
func (e *enumerator) list(ctx context.Context, from string, flags uint32) (names []string, refused bool, count int, err error) {
	if err := ctx.Err(); err != nil {
		return nil, false, 0, err
	}
	e.stats.Calls++
	names, err = e.src.List(ctx, from, flags)
	if err != nil {
		if ClassOf(err) == TooMany {
			e.stats.Refused++
			count, limit := refusalCounts(err)
			if limit > 0 {
				e.limit = limit
			}
			return nil, true, count, nil
		}
		return nil, false, 0, err
	}
	return names, false, 0, nil
}

// refusalCounts reads the answer's size and the limit from a refusal: libvirtd's "Too many
// domain_snapshots '20000' for limit '16384'" or the client's "too many remote strings: 20000
// > 16384". Zeros when the message says neither.
func refusalCounts(err error) (count, limit int) {
	msg := err.Error()
	if m := refusalDaemon.FindStringSubmatch(msg); m != nil {
		count, _ = strconv.Atoi(m[1])
		limit, _ = strconv.Atoi(m[2])
	} else if m := refusalClient.FindStringSubmatch(msg); m != nil {
		count, _ = strconv.Atoi(m[1])
		limit, _ = strconv.Atoi(m[2])
	}
	return count, limit
}

var (
	refusalDaemon = regexp.MustCompile(`'(\d+)' for limit '(\d+)'`)
	refusalClient = regexp.MustCompile(`(\d+) > (\d+)`)
)

// add appends the names not seen yet. The first answer is taken as it is (libvirt lists each
// moment once); the set of names seen is built only when a second piece comes, so the usual
// listing, one call for every name, builds none.
func (e *enumerator) add(names []string) {
	if len(e.out) == 0 && len(e.seen) == 0 {
		e.out = names[:len(names):len(names)] // appends copy: the caller keeps its slice
		return
	}
	if len(e.seen) == 0 {
		for _, n := range e.out {
			e.seen[n] = true
		}
	}
	for _, n := range names {
		if !e.seen[n] {
			e.seen[n] = true
			e.out = append(e.out, n)
		}
	}
}

// groups returns the filter groups that can split a piece, in refinement order.
func (e *enumerator) groups() [][]uint32 {
	g := [][]uint32{{flagLeaves, flagNoLeaves}}
	if e.src.Kind() == conf.Snapshot {
		g = append(g,
			[]uint32{snapInactive, snapActive, snapDiskOnly},
			[]uint32{snapInternal, snapExternal})
	}
	return g
}

// piece lists the moments matching filter in a region: every moment when from is "", else the
// descendants of from.
func (e *enumerator) piece(ctx context.Context, from string, filter uint32) error {
	return e.counted(ctx, from, filter, 0)
}

// counted is piece where predicted is the number of names the region holds, when the refusal
// of the region above tells (else 0).
func (e *enumerator) counted(ctx context.Context, from string, filter uint32, predicted int) error {
	flags := filter
	if from != "" {
		flags |= flagRoots // DESCENDANTS
	}
	count := 0
	switch {
	case e.memo.skip(from, filter):
		e.stats.Skipped++
	case predicted > 0 && e.limit > 0 && predicted > e.limit:
		e.stats.Predicted++
		count = predicted
	default:
		names, refused, n, err := e.list(ctx, from, flags)
		if err != nil {
			return err
		}
		if !refused {
			e.add(names)
			return nil
		}
		if e.memo.remember(from, filter) {
			e.learned = true
		}
		if from != "" {
			// Counts at domain level are not used: a Memo skips those calls, and Names and
			// Memo.Names make the same calls below moments.
			count = n
		}
	}
	for _, group := range e.groups() {
		if filter&maskOf(group) != 0 {
			continue // already split by this group
		}
		for _, bit := range group {
			if err := e.piece(ctx, from, filter|bit); err != nil {
				return err
			}
		}
		return nil
	}
	return e.tree(ctx, from, filter, count)
}

// tree splits a region by the tree: the matching tops (roots, or direct children of from) and
// then the matching descendants of every top. count is the number of names in the region
// (0: not known).
func (e *enumerator) tree(ctx context.Context, from string, filter uint32, count int) error {
	topFlags := filter
	allTops := uint32(0)
	if from == "" {
		topFlags |= flagRoots
		allTops = flagRoots
	}
	matching, refused, _, err := e.list(ctx, from, topFlags)
	if err != nil {
		return err
	}
	if refused {
		return e.tooMany(from, topFlags)
	}
	e.add(matching)
	tops, refused, _, err := e.list(ctx, from, allTops)
	if err != nil {
		return err
	}
	if refused {
		return e.tooMany(from, allTops)
	}
	predicted := 0
	if count > 0 && len(tops) == 1 {
		// The region is the matching top plus what matches below it.
		predicted = count - len(matching)
	}
	for _, top := range tops {
		if err := e.counted(ctx, top, filter, predicted); err != nil {
			return err
		}
	}
	return nil
}

func (e *enumerator) tooMany(from string, flags uint32) error {
	where := "at domain level"
	if from != "" {
		where = fmt.Sprintf("below %s %q", e.src.Kind(), from)
	}
	return &Classified{Class: TooMany, Err: fmt.Errorf(
		"cannot list the %ss in pieces: the piece %s with list flags 0x%x still exceeds libvirt's RPC limit",
		e.src.Kind(), where, flags)}
}

func maskOf(group []uint32) uint32 {
	var m uint32
	for _, b := range group {
		m |= b
	}
	return m
}
