package conf

import (
	"encoding/xml"
	"fmt"
	"sync"

	"libvirt.org/go/libvirtxml"
)

// fullCache holds the libvirtxml document parsed from a definition's raw XML. It is made by
// SetRaw, so copies of a Def share it (they share the raw XML too).
type fullCache struct {
	once sync.Once
	snap *libvirtxml.DomainSnapshot
	cp   *libvirtxml.DomainCheckpoint
	err  error
}

// FullSnapshot returns the whole snapshot document — embedded <domain>, <inactiveDomain>,
// <cookie> included — as libvirtxml reads it. It parses the kept raw XML on the first call and
// returns the same document afterwards; concurrent callers are safe. The document is shared:
// do not modify it (parse d.Raw() yourself for a copy to change).
//
// It describes the raw XML, not later changes to d's fields; [Def.Format] writes those. A
// definition without raw XML gets a fresh document made from Format's output.
func (d *Def) FullSnapshot() (*libvirtxml.DomainSnapshot, error) {
	if d.Kind != Snapshot {
		return nil, fmt.Errorf("FullSnapshot: %s '%s' is not a snapshot", d.Kind, d.Name)
	}
	c, raw, err := d.fullSource()
	if err != nil {
		return nil, err
	}
	c.once.Do(func() {
		var s libvirtxml.DomainSnapshot
		if c.err = xml.Unmarshal(raw, &s); c.err == nil {
			c.snap = &s
		} else {
			c.err = fmt.Errorf("snapshot '%s': full XML: %w", d.Name, c.err)
		}
	})
	return c.snap, c.err
}

// FullCheckpoint is [Def.FullSnapshot] for checkpoints.
func (d *Def) FullCheckpoint() (*libvirtxml.DomainCheckpoint, error) {
	if d.Kind != Checkpoint {
		return nil, fmt.Errorf("FullCheckpoint: %s '%s' is not a checkpoint", d.Kind, d.Name)
	}
	c, raw, err := d.fullSource()
	if err != nil {
		return nil, err
	}
	c.once.Do(func() {
		var cp libvirtxml.DomainCheckpoint
		if c.err = xml.Unmarshal(raw, &cp); c.err == nil {
			c.cp = &cp
		} else {
			c.err = fmt.Errorf("checkpoint '%s': full XML: %w", d.Name, c.err)
		}
	})
	return c.cp, c.err
}

// fullSource returns the cache and the XML to parse: the kept raw XML, or (without one) Format's
// output with a cache of its own.
func (d *Def) fullSource() (*fullCache, []byte, error) {
	if d.raw != nil && d.full != nil {
		return d.full, d.raw, nil
	}
	out, err := d.Format()
	if err != nil {
		return nil, nil, err
	}
	return new(fullCache), out, nil
}
