package main

import (
	"fmt"
	"strings"
	"sync"
	"time"

	"libvirt.org/go/libvirt"

	"github.com/vmoments/vmoments/conf"
)

// floorWorkers is the number of GetXMLDesc calls kept in flight: libvirtd's default
// max_client_requests, the same number the driver uses.
const floorWorkers = 5

// floor times one list of every name plus every XML (unparsed) on a new read-only connection;
// the connect and the domain lookup are not timed. It returns the time and the moment count.
//
// When libvirtd refuses one list of everything (more than its 16,384 names per RPC), the names
// are listed as leaves and non-leaves, the first split the driver's loader makes too.
func floor(uri, domain string, kind conf.Kind) (time.Duration, int, error) {
	conn, err := libvirt.NewConnectReadOnly(uri)
	if err != nil {
		return 0, 0, fmt.Errorf("connect %s: %w", uri, err)
	}
	defer conn.Close()
	dom, err := conn.LookupDomainByName(domain)
	if err != nil {
		return 0, 0, fmt.Errorf("domain %s: %w", domain, err)
	}
	defer dom.Free()

	start := time.Now()
	var fetch []func() error
	var free []func()
	list := func(flags uint32) error {
		if kind == conf.Snapshot {
			got, err := dom.ListAllSnapshots(libvirt.DomainSnapshotListFlags(flags))
			for i := range got {
				h := &got[i]
				fetch = append(fetch, func() error { _, err := h.GetXMLDesc(0); return err })
				free = append(free, func() { h.Free() })
			}
			return err
		}
		got, err := dom.ListAllCheckpoints(libvirt.DomainCheckpointListFlags(flags))
		for i := range got {
			h := &got[i]
			fetch = append(fetch, func() error { _, err := h.GetXMLDesc(0); return err })
			free = append(free, func() { h.Free() })
		}
		return err
	}
	defer func() {
		for _, f := range free {
			f()
		}
	}()
	if err := list(0); err != nil {
		if !tooMany(err) {
			return 0, 0, fmt.Errorf("domain %s: list %ss: %w", domain, kind, err)
		}
		// LEAVES and NO_LEAVES have the same numbers for both kinds.
		for _, flags := range []uint32{uint32(libvirt.DOMAIN_SNAPSHOT_LIST_LEAVES), uint32(libvirt.DOMAIN_SNAPSHOT_LIST_NO_LEAVES)} {
			if err := list(flags); err != nil {
				return 0, 0, fmt.Errorf("domain %s: list %ss with flags 0x%x: %w", domain, kind, flags, err)
			}
		}
	}
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		firstErr error
	)
	next := make(chan func() error)
	for range floorWorkers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for f := range next {
				if err := f(); err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = err
					}
					mu.Unlock()
				}
			}
		}()
	}
	for _, f := range fetch {
		next <- f
	}
	close(next)
	wg.Wait()
	if firstErr != nil {
		return 0, 0, fmt.Errorf("domain %s: get %s XML: %w", domain, kind, firstErr)
	}
	return time.Since(start), len(fetch), nil
}

// tooMany reports libvirtd's refusal of a list that exceeds its RPC limit ("Too many
// domain_snapshots '20000' for limit '16384'").
func tooMany(err error) bool {
	le, ok := err.(libvirt.Error)
	return ok && strings.Contains(strings.ToLower(le.Message), "too many")
}
