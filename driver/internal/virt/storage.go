package virt

import (
	"context"
	"fmt"

	"libvirt.org/go/libvirt"
	"libvirt.org/go/libvirtxml"

	"github.com/vmoments/vmoments/conf"
	"github.com/vmoments/vmoments/driver"
	"github.com/vmoments/vmoments/driver/internal/load"
)

// Storage returns the disks of the domain's current definition and libvirt's block statistics
// of their backing chains (driver.StorageReader).
func (d *Domain) Storage(ctx context.Context) (*driver.Storage, error) {
	if err := d.drv.ctxErr(ctx, d.name); err != nil {
		return nil, err
	}
	st, err := d.storageOnce(ctx)
	if err != nil && load.ClassOf(err) == load.ConnLost && !d.drv.opts.Single && ctx.Err() == nil {
		var s *slot
		if s, err = d.drv.conn(false); err == nil {
			if _, rerr := d.drv.reconnect(ctx, s, ReconnectWait); rerr == nil {
				st, err = d.storageOnce(ctx)
			} else {
				err = &load.Classified{Class: load.ConnLost, Err: fmt.Errorf("%w. %s", err, reconnectHint(rerr))}
			}
		}
	}
	if err != nil {
		return nil, d.drv.wrap(d.name, conf.NoKind, "", "storage", err)
	}
	return st, nil
}

func (d *Domain) storageOnce(ctx context.Context) (*driver.Storage, error) {
	s, dom, err := d.handle(false)
	if err != nil {
		return nil, err
	}
	defer dom.Free()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	raw, err := dom.GetXMLDesc(0)
	if err != nil {
		return nil, classify(s.conn, err)
	}
	var def libvirtxml.Domain
	if err := def.Unmarshal(raw); err != nil {
		return nil, fmt.Errorf("read the domain's XML: %w", err)
	}
	out := &driver.Storage{}
	byTarget := map[string]int{}
	if def.Devices != nil {
		for _, dd := range def.Devices.Disks {
			disk := diskOf(&dd)
			if disk.Target != "" {
				byTarget[disk.Target] = len(out.Disks)
			}
			out.Disks = append(out.Disks, disk)
		}
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	stats, err := s.conn.GetAllDomainStats([]*libvirt.Domain{dom},
		libvirt.DOMAIN_STATS_STATE|libvirt.DOMAIN_STATS_BLOCK, libvirt.CONNECT_GET_ALL_DOMAINS_STATS_BACKING)
	if err != nil {
		return nil, classify(s.conn, err)
	}
	if len(stats) != 1 {
		return nil, fmt.Errorf("libvirt returned %d statistics records for one domain", len(stats))
	}
	rec := stats[0]
	if rec.State != nil && rec.State.StateSet {
		out.State = driver.DomainState(rec.State.State)
	}
	out.Stats = len(rec.Block) > 0
	for _, b := range rec.Block {
		i, ok := byTarget[b.Name]
		if !b.NameSet || !ok {
			continue // a device the definition no longer has (changed between the two calls)
		}
		img := driver.Image{
			Path: b.Path, BackingIndex: int(b.BackingIndex),
			Allocation: b.Allocation, HasAllocation: b.AllocationSet,
			Capacity: b.Capacity, HasCapacity: b.CapacitySet,
			Physical: b.Physical, HasPhysical: b.PhysicalSet,
		}
		if !b.PathSet && !img.HasAllocation && !img.HasCapacity && !img.HasPhysical {
			continue // an empty drive: libvirt names it and says nothing else
		}
		out.Disks[i].Images = append(out.Disks[i].Images, img)
	}
	return out, nil
}

// diskOf reads one <disk> of a domain definition.
func diskOf(dd *libvirtxml.DomainDisk) driver.Disk {
	disk := driver.Disk{Device: dd.Device, ReadOnly: dd.ReadOnly != nil}
	if disk.Device == "" {
		disk.Device = "disk"
	}
	if dd.Target != nil {
		disk.Target = dd.Target.Dev
	}
	if dd.Driver != nil {
		disk.Format = dd.Driver.Type
	}
	src := dd.Source
	disk.Type = "file"
	switch {
	case src == nil:
		disk.Empty = true
	case src.File != nil:
		disk.Source = src.File.File
	case src.Block != nil:
		disk.Type, disk.Source = "block", src.Block.Dev
	case src.Dir != nil:
		disk.Type, disk.Source = "dir", src.Dir.Dir
	case src.Network != nil:
		disk.Type, disk.Source = "network", src.Network.Name
	case src.Volume != nil:
		disk.Type, disk.Source = "volume", src.Volume.Pool+"/"+src.Volume.Volume
	case src.NVME != nil:
		disk.Type = "nvme"
	case src.VHostUser != nil:
		disk.Type = "vhostuser"
	case src.VHostVDPA != nil:
		disk.Type = "vhostvdpa"
	default:
		disk.Empty = true
	}
	if !disk.Empty && disk.Source == "" && (disk.Type == "file" || disk.Type == "block" || disk.Type == "dir") {
		disk.Empty = true // a local source without a path
	}
	return disk
}

var _ driver.StorageReader = (*Domain)(nil)
