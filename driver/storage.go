package driver

import "context"

// StorageReader is an optional read of a [Reader]: the disks of the domain's current definition
// and libvirt's block statistics of their backing chains. The domains of driver/qemu and
// driver/test implement it; a caller asserts it:
//
//	if sr, ok := dom.(driver.StorageReader); ok {
//		st, err := sr.Storage(ctx)
//		...
//	}
//
// It reads only (a read-only connection serves it) and asks libvirt two things: the domain's
// XML (virDomainGetXMLDesc, no flags: the live definition of a running domain, else the
// persistent one) and its block statistics with backing chains (virDomainListGetStats with
// VIR_DOMAIN_STATS_STATE|VIR_DOMAIN_STATS_BLOCK and VIR_CONNECT_GET_ALL_DOMAINS_STATS_BACKING,
// what `virsh domstats --state --block --backing` shows).
type StorageReader interface {
	// Storage returns the domain's disks and libvirt's figures for their images. A domain
	// that is gone matches [ErrDomainNotFound].
	Storage(ctx context.Context) (*Storage, error)
}

// Storage is what libvirt says about a domain's disks at one moment.
type Storage struct {
	// State is the domain's state when libvirt measured (the stats' state.state).
	State DomainState
	// Stats says whether libvirt gave block statistics at all. libvirt's test driver gives
	// none; the QEMU driver gives them for every domain, running or not.
	Stats bool
	// Disks are the <disk> devices of the current definition, in the definition's order.
	Disks []Disk
}

// Active says whether the domain ran (or was paused) when libvirt measured: the figures of
// [Image] then come from QEMU, else from libvirt's own look at the files.
func (s *Storage) Active() bool {
	switch s.State {
	case DomainRunning, DomainBlocked, DomainPaused, DomainShutdown, DomainPMSuspended:
		return true
	}
	return false
}

// Disk is one <disk> of a domain definition and its images.
type Disk struct {
	// Target is the disk's target device (vda), the name moments use for it.
	Target string
	// Device is the device attribute: disk, cdrom, floppy or lun.
	Device string
	// Type is the type attribute: file, block, network, volume, dir, nvme, vhostuser.
	Type string
	// Source is the file or block device the disk reads (the active image of its chain; for a
	// network disk its name, for a volume pool/volume), "" when the disk has none.
	Source string
	// Format is the <driver type=...> (qcow2, raw), "" when not given.
	Format string
	// ReadOnly is <readonly/>.
	ReadOnly bool
	// Empty says the disk has no medium (libvirt's virStorageSourceIsEmpty: no source, or a
	// local source without a path, as an empty cdrom drive).
	Empty bool
	// Images are libvirt's block statistics of the disk's backing chain, the active image
	// first, then its backing file, and so on. libvirt lists the whole chain of a running
	// domain; of a shut-off domain only the active image (libvirt does not open the chain of
	// a domain that does not run). Empty when libvirt gave no statistics for the disk.
	Images []Image
}

// Checkpointable says whether libvirt can make a checkpoint of the disk: not an empty or
// read-only one (libvirt's virDomainCheckpointAlignDisks refuses those with "disk '%s' is
// empty or readonly" and gives them checkpoint='no' by default).
func (d *Disk) Checkpointable() bool { return !d.Empty && !d.ReadOnly }

// Image is libvirt's block statistics of one image of a backing chain, as libvirt reports the
// fields block.N.path, block.N.backingIndex, block.N.allocation, block.N.capacity and
// block.N.physical. Their meaning is libvirt's and depends on whether the domain runs:
//
//   - running: Allocation is QEMU's highest written offset (wr_highest_offset, 0 for an image
//     QEMU has not written since it started), Physical the host bytes the image occupies
//     (QEMU's actual-size: for a file its allocated blocks);
//   - shut off: Allocation is the host bytes the file occupies (its allocated blocks, st_blocks
//     × 512), Physical the file's size (st_size).
//
// Capacity is the guest-visible size in both cases. A field libvirt left out has its Has flag
// false.
type Image struct {
	Path string
	// BackingIndex is libvirt's index of the image in the chain (the index="N" of
	// <backingStore>), 0 when libvirt gave none.
	BackingIndex                            int
	Allocation, Capacity, Physical          uint64
	HasAllocation, HasCapacity, HasPhysical bool
}
