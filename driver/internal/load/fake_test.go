package load

import (
	"context"
	"fmt"
	"sync"

	"github.com/vmoments/vmoments/conf"
)

// fakeMoment is one moment of a fakeSource.
type fakeMoment struct {
	name, parent, state string
	external            bool
}

// fakeSource serves a moment tree with libvirt's list semantics (docs/libvirt.md §1 GetNames, §2 filters)
// and refuses, like libvirtd, any list answer longer than limit.
type fakeSource struct {
	kind    conf.Kind
	limit   int
	moments []fakeMoment

	mu      sync.Mutex
	calls   int
	gone    map[string]bool // XML fetch answers Gone
	failOn  string          // XML fetch of this name fails with failErr
	failErr error
	fetched map[string]int
}

func (f *fakeSource) Kind() conf.Kind { return f.kind }

func (f *fakeSource) children(name string) []string {
	var out []string
	for _, m := range f.moments {
		if m.parent == name {
			out = append(out, m.name)
		}
	}
	return out
}

func (f *fakeSource) byName(name string) *fakeMoment {
	for i := range f.moments {
		if f.moments[i].name == name {
			return &f.moments[i]
		}
	}
	return nil
}

func (f *fakeSource) descendants(name string) []string {
	var out []string
	for _, c := range f.children(name) {
		out = append(out, c)
		out = append(out, f.descendants(c)...)
	}
	return out
}

// match applies libvirt's per-moment filters: leaves, then status and location groups.
func (f *fakeSource) match(m *fakeMoment, flags uint32) bool {
	leaf := len(f.children(m.name)) == 0
	if flags&flagLeaves != 0 && !leaf || flags&flagNoLeaves != 0 && leaf {
		return false
	}
	if f.kind != conf.Snapshot {
		return true
	}
	if st := flags & snapStatusMask; st != 0 && st != snapStatusMask {
		bit := uint32(snapActive)
		switch m.state {
		case "shutoff":
			bit = snapInactive
		case "disk-snapshot":
			bit = snapDiskOnly
		}
		if st&bit == 0 {
			return false
		}
	}
	if loc := flags & snapLocationMsk; loc != 0 && loc != snapLocationMsk {
		if m.external && loc&snapExternal == 0 || !m.external && loc&snapInternal == 0 {
			return false
		}
	}
	return true
}

func (f *fakeSource) List(ctx context.Context, from string, flags uint32) ([]string, error) {
	f.mu.Lock()
	f.calls++
	f.mu.Unlock()
	var cand []string
	switch {
	case from == "" && flags&flagRoots != 0:
		cand = f.children("")
	case from == "":
		for _, m := range f.moments {
			cand = append(cand, m.name)
		}
	case f.byName(from) == nil:
		return nil, &Classified{Class: Gone, Err: fmt.Errorf("no domain snapshot with matching name '%s'", from)}
	case flags&flagRoots != 0:
		cand = f.descendants(from)
	default:
		cand = f.children(from)
	}
	var out []string
	for _, n := range cand {
		if f.match(f.byName(n), flags) {
			out = append(out, n)
		}
	}
	if len(out) > f.limit {
		return nil, &Classified{Class: TooMany, Err: fmt.Errorf("Too many domain_snapshots '%d' for limit '%d'", len(out), f.limit)}
	}
	return out, nil
}

func (f *fakeSource) XML(ctx context.Context, worker int, name string) ([]byte, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fetched == nil {
		f.fetched = map[string]int{}
	}
	f.fetched[name]++
	if f.gone[name] {
		return nil, &Classified{Class: Gone, Err: fmt.Errorf("no domain snapshot with matching name '%s'", name)}
	}
	if name == f.failOn {
		return nil, f.failErr
	}
	m := f.byName(name)
	if m == nil {
		return nil, fmt.Errorf("fake: unknown moment %q", name)
	}
	parent := ""
	if m.parent != "" {
		parent = "<parent><name>" + m.parent + "</name></parent>"
	}
	if f.kind == conf.Checkpoint {
		return []byte("<domaincheckpoint><name>" + name + "</name>" + parent +
			"<creationTime>1600000000</creationTime></domaincheckpoint>"), nil
	}
	disks := ""
	if m.external {
		disks = "<disks><disk name='vda' snapshot='external'><source file='/x/" + name + "'/></disk></disks>"
	}
	return []byte("<domainsnapshot><name>" + name + "</name><state>" + m.state + "</state>" + parent +
		"<creationTime>1600000000</creationTime>" + disks + "</domainsnapshot>"), nil
}
