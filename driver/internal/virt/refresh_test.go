package virt

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"

	"libvirt.org/go/libvirt"

	"github.com/vmoments/vmoments/conf"
	"github.com/vmoments/vmoments/driver"
	"github.com/vmoments/vmoments/driver/internal/load"
	"github.com/vmoments/vmoments/momentlist"
)

// limitedSource refuses, as libvirtd does past its RPC limit, every list whose answer has more
// than limit names, and counts the calls and the refusals at domain level (from "").
type limitedSource struct {
	load.Source
	limit int

	mu                         *sync.Mutex
	domainCalls, domainRefused *int
}

func (s limitedSource) List(ctx context.Context, from string, flags uint32) ([]string, error) {
	names, err := s.Source.List(ctx, from, flags)
	refused := err == nil && len(names) > s.limit
	s.mu.Lock()
	if from == "" {
		*s.domainCalls++
		if refused {
			*s.domainRefused++
		}
	}
	s.mu.Unlock()
	if refused {
		return nil, &load.Classified{Class: load.TooMany,
			Err: fmt.Errorf("Too many domain_%ss '%d' for limit '%d'", s.Kind(), len(names), s.limit)}
	}
	return names, err
}

// TestRefreshRemembersRefusals lists a domain whose snapshots exceed the (lowered) RPC limit
// twice through one handle: the refresh must not repeat the domain-level list calls libvirtd
// refused during the load (the handle keeps a load.Memo per kind), and must still see a new
// snapshot.
func TestRefreshRemembersRefusals(t *testing.T) {
	ctx := context.Background()
	var (
		mu              sync.Mutex
		calls, refusals int
	)
	drv, err := Open(ctx, "test:///default", driver.ReadWrite, Options{Single: true, wrapSource: func(s load.Source) load.Source {
		return limitedSource{Source: s, limit: 3, mu: &mu, domainCalls: &calls, domainRefused: &refusals}
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer drv.Close()
	dom, err := drv.LookupDomain(ctx, "test")
	if err != nil {
		t.Fatal(err)
	}
	for i := range 6 {
		if _, err := dom.CreateSnapshot(ctx, fmt.Sprintf("<domainsnapshot><name>s%d</name></domainsnapshot>", i), 0); err != nil {
			t.Fatal(err)
		}
	}
	count := func(what string, want int) {
		t.Helper()
		mu.Lock()
		calls, refusals = 0, 0
		mu.Unlock()
		ms, err := dom.List(ctx, conf.Snapshot, "", momentlist.Topological)
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		if len(ms) != want {
			t.Errorf("%s: %d snapshots, want %d", what, len(ms), want)
		}
		mu.Lock()
		c, r := calls, refusals
		mu.Unlock()
		t.Logf("%s: %d domain-level list calls, %d refused", what, c, r)
		if what != "load" && r != 0 {
			t.Errorf("%s: %d domain-level list calls refused again (of %d)", what, r, c)
		}
		if what == "load" && r == 0 {
			t.Errorf("load: no domain-level call refused: the limit does not bite")
		}
	}
	// A fresh handle: its first list is a load with a new memo.
	fresh, err := drv.LookupDomain(ctx, "test")
	if err != nil {
		t.Fatal(err)
	}
	dom = fresh
	count("load", 6)
	count("refresh", 6)
	if _, err := dom.CreateSnapshot(ctx, "<domainsnapshot><name>s6</name></domainsnapshot>", 0); err != nil {
		t.Fatal(err)
	}
	count("refresh after a create", 7)
}

// keptSource records, for each listing, whether the source kept handles and how many it
// held once the listing was done.
type keptSource struct {
	*source
	record func(handles bool, kept int)
}

func (s keptSource) List(ctx context.Context, from string, flags uint32) ([]string, error) {
	names, err := s.source.List(ctx, from, flags)
	s.mu.Lock()
	kept := len(s.snaps) + len(s.cps)
	s.mu.Unlock()
	s.record(s.handles, kept)
	return names, err
}

// TestRefreshListsNamesOnly: a load keeps the handles its list returns (it fetches every
// moment), but a refresh lists names only — no handle per listed moment, the bulk of a warm
// refresh's cost — and looks up only the moments it did not know.
func TestRefreshListsNamesOnly(t *testing.T) {
	ctx := context.Background()
	var (
		mu      sync.Mutex
		handles []bool
		kept    int
	)
	drv, err := Open(ctx, "test:///default", driver.ReadWrite, Options{Single: true, wrapSource: func(s load.Source) load.Source {
		return keptSource{source: s.(*source), record: func(h bool, k int) {
			mu.Lock()
			handles, kept = append(handles, h), max(kept, k)
			mu.Unlock()
		}}
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer drv.Close()
	create := func(dom *Domain, kind conf.Kind, name string) {
		t.Helper()
		var err error
		if kind == conf.Snapshot {
			_, err = dom.CreateSnapshot(ctx, fmt.Sprintf("<domainsnapshot><name>%s</name></domainsnapshot>", name), 0)
		} else {
			_, err = dom.CreateCheckpoint(ctx, fmt.Sprintf("<domaincheckpoint><name>%s</name></domaincheckpoint>", name), 0)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	for _, kind := range []conf.Kind{conf.Snapshot, conf.Checkpoint} {
		// A domain of its own per kind (libvirt refuses checkpoints beside snapshots).
		var lv *libvirt.Domain
		if kind == conf.Snapshot {
			_, lv = namesDomain(t, "refresh-s", 3, 0)
		} else {
			_, lv = namesDomain(t, "refresh-c", 0, 3)
		}
		name, err := lv.GetName()
		if err != nil {
			t.Fatal(err)
		}
		var dom *Domain
		// step lists through the handle; wantKept -1 means as many handles as moments listed.
		step := func(what string, wantHandles bool, wantKept int, want string) {
			t.Helper()
			mu.Lock()
			handles, kept = nil, 0
			mu.Unlock()
			ms, err := dom.List(ctx, kind, "", 0)
			if err != nil {
				t.Fatalf("%s %s: %v", kind, what, err)
			}
			if wantKept < 0 {
				wantKept = len(ms)
			}
			mu.Lock()
			defer mu.Unlock()
			if len(handles) == 0 {
				t.Errorf("%s %s: no listing seen", kind, what)
			}
			for _, h := range handles {
				if h != wantHandles {
					t.Errorf("%s %s: a listing with handles=%v, want %v", kind, what, h, wantHandles)
				}
			}
			if kept != wantKept {
				t.Errorf("%s %s: %d handles kept, want %d", kind, what, kept, wantKept)
			}
			if want != "" && !slices.ContainsFunc(ms, func(m *momentlist.Moment) bool { return m.Name() == want }) {
				t.Errorf("%s %s: %s not listed", kind, what, want)
			}
		}
		if dom, err = drv.LookupDomain(ctx, name); err != nil { // a new handle: its first list is a load
			t.Fatal(err)
		}
		step("load", true, -1, "")
		step("refresh", false, 0, "")
		create(dom, kind, "names-only-new-"+kind.String())
		step("refresh after a create", false, 0, "names-only-new-"+kind.String())
	}
}
