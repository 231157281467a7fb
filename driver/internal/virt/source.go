package virt

import (
	"context"
	"sync"

	"libvirt.org/go/libvirt"

	"github.com/vmoments/vmoments/conf"
)

// source is the load.Source of one domain and kind on one connection.
//
// A source that keeps handles (for a load, which fetches every listed moment) lists with
// ListAll and keeps the handles it returns, so that fetching a listed moment's XML is a single
// call, no lookup. A names-only source (for a refresh, which fetches only the moments it did
// not know, usually none) lists names without a handle per moment (see snapshotNames) and looks
// up the handle of a moment it fetches. close frees the handles kept.
type source struct {
	kind    conf.Kind
	conn    *libvirt.Connect
	dom     *libvirt.Domain
	handles bool // list with ListAll and keep the handles

	mu    sync.Mutex
	snaps map[string]*libvirt.DomainSnapshot
	cps   map[string]*libvirt.DomainCheckpoint
}

func newSource(kind conf.Kind, conn *libvirt.Connect, dom *libvirt.Domain, handles bool) *source {
	return &source{kind: kind, conn: conn, dom: dom, handles: handles,
		snaps: map[string]*libvirt.DomainSnapshot{}, cps: map[string]*libvirt.DomainCheckpoint{}}
}

func (s *source) Kind() conf.Kind { return s.kind }

func (s *source) List(ctx context.Context, from string, flags uint32) ([]string, error) {
	if !s.handles {
		var (
			names []string
			err   error
		)
		if s.kind == conf.Snapshot {
			names, err = snapshotNames(s.dom, from, flags)
		} else {
			names, err = checkpointNames(s.dom, from, flags)
		}
		if err != nil {
			return nil, classify(s.conn, err)
		}
		return names, nil
	}
	if s.kind == conf.Snapshot {
		var (
			got []libvirt.DomainSnapshot
			err error
		)
		if from == "" {
			got, err = s.dom.ListAllSnapshots(libvirt.DomainSnapshotListFlags(flags))
		} else {
			var parent *libvirt.DomainSnapshot
			if parent, err = s.snapshot(from); err == nil {
				got, err = parent.ListAllChildren(libvirt.DomainSnapshotListFlags(flags))
			}
		}
		if err != nil {
			return nil, classify(s.conn, err)
		}
		names, err := keepListed(got, s.keepSnapshot)
		if err != nil {
			return nil, classify(s.conn, err)
		}
		return names, nil
	}
	var (
		got []libvirt.DomainCheckpoint
		err error
	)
	if from == "" {
		got, err = s.dom.ListAllCheckpoints(libvirt.DomainCheckpointListFlags(flags))
	} else {
		var parent *libvirt.DomainCheckpoint
		if parent, err = s.checkpoint(from); err == nil {
			got, err = parent.ListAllChildren(libvirt.DomainCheckpointListFlags(flags))
		}
	}
	if err != nil {
		return nil, classify(s.conn, err)
	}
	names, err := keepListed(got, s.keepCheckpoint)
	if err != nil {
		return nil, classify(s.conn, err)
	}
	return names, nil
}

// keepListed names the handles a ListAll call returned and keeps each with keep (for close to
// free). If a name cannot be read, it frees that handle and the ones after it, which nobody
// kept, and returns the error.
func keepListed[H any, P interface {
	*H
	GetName() (string, error)
	Free() error
}](got []H, keep func(name string, h P) P) ([]string, error) {
	names := make([]string, 0, len(got))
	for i := range got {
		name, err := P(&got[i]).GetName()
		if err != nil {
			for j := i; j < len(got); j++ {
				P(&got[j]).Free()
			}
			return nil, err
		}
		names = append(names, name)
		keep(name, &got[i])
	}
	return names, nil
}

func (s *source) XML(ctx context.Context, worker int, name string) ([]byte, error) {
	var (
		xml string
		err error
	)
	if s.kind == conf.Snapshot {
		var h *libvirt.DomainSnapshot
		if h, err = s.snapshot(name); err == nil {
			xml, err = h.GetXMLDesc(0)
		}
	} else {
		var h *libvirt.DomainCheckpoint
		if h, err = s.checkpoint(name); err == nil {
			xml, err = h.GetXMLDesc(0)
		}
	}
	if err != nil {
		return nil, classify(s.conn, err)
	}
	return []byte(xml), nil
}

// snapshot returns the kept handle of a snapshot, or looks it up.
func (s *source) snapshot(name string) (*libvirt.DomainSnapshot, error) {
	s.mu.Lock()
	h := s.snaps[name]
	s.mu.Unlock()
	if h != nil {
		return h, nil
	}
	h, err := s.dom.SnapshotLookupByName(name, 0)
	if err != nil {
		return nil, err
	}
	return s.keepSnapshot(name, h), nil
}

func (s *source) checkpoint(name string) (*libvirt.DomainCheckpoint, error) {
	s.mu.Lock()
	h := s.cps[name]
	s.mu.Unlock()
	if h != nil {
		return h, nil
	}
	h, err := s.dom.CheckpointLookupByName(name, 0)
	if err != nil {
		return nil, err
	}
	return s.keepCheckpoint(name, h), nil
}

func (s *source) keepSnapshot(name string, h *libvirt.DomainSnapshot) *libvirt.DomainSnapshot {
	s.mu.Lock()
	defer s.mu.Unlock()
	if old := s.snaps[name]; old != nil {
		h.Free()
		return old
	}
	s.snaps[name] = h
	return h
}

func (s *source) keepCheckpoint(name string, h *libvirt.DomainCheckpoint) *libvirt.DomainCheckpoint {
	s.mu.Lock()
	defer s.mu.Unlock()
	if old := s.cps[name]; old != nil {
		h.Free()
		return old
	}
	s.cps[name] = h
	return h
}

// close frees every kept handle.
func (s *source) close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, h := range s.snaps {
		h.Free()
	}
	for _, h := range s.cps {
		h.Free()
	}
	s.snaps, s.cps = map[string]*libvirt.DomainSnapshot{}, map[string]*libvirt.DomainCheckpoint{}
}
