package virt

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/vmoments/vmoments/conf"
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
	drv, err := Open(ctx, "test:///default", false, Options{Single: true, wrapSource: func(s load.Source) load.Source {
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
