// Package load is the loader both drivers share: it asks libvirt for the names of a domain's
// moments, in pieces when libvirtd refuses a list that exceeds its RPC limit, fetches the XML
// of each moment concurrently and parses it with conf's fast path.
//
// load speaks to libvirt only through [Source], so every strategy here is tested without a
// daemon (a fake Source enforces libvirtd's limit); the drivers' Source is built on
// libvirt.org/go/libvirt.
package load

import (
	"context"

	"github.com/vmoments/vmoments/conf"
	"github.com/vmoments/vmoments/momentlist"
)

// Source is the libvirt calls a load makes, for one domain and one kind of moment.
type Source interface {
	// Kind is the kind of moment the source lists.
	Kind() conf.Kind
	// List returns the names libvirt lists with flags, libvirt's VIR_DOMAIN_SNAPSHOT_LIST_* or
	// VIR_DOMAIN_CHECKPOINT_LIST_* numbers: at domain level (virDomainListAllSnapshots /
	// virDomainListAllCheckpoints) when from is "", else below the moment from
	// (virDomainSnapshotListAllChildren / virDomainCheckpointListAllChildren).
	// Errors should be [*Classified] where the class is known.
	List(ctx context.Context, from string, flags uint32) ([]string, error)
	// XML returns the XML of one moment (flags 0). worker is the number of the calling fetch
	// worker, in [0, workers): a Source with several connections spreads workers over them.
	XML(ctx context.Context, worker int, name string) ([]byte, error)
}

// libvirt's list flag numbers, from momentlist's table (the same for snapshots and checkpoints
// where both have them).
var (
	flagRoots       = momentlist.Roots.Libvirt(conf.Snapshot) // == DESCENDANTS below a moment
	flagLeaves      = momentlist.Leaves.Libvirt(conf.Snapshot)
	flagNoLeaves    = momentlist.NoLeaves.Libvirt(conf.Snapshot)
	snapInactive    = momentlist.Inactive.Libvirt(conf.Snapshot)
	snapActive      = momentlist.Active.Libvirt(conf.Snapshot)
	snapDiskOnly    = momentlist.DiskOnly.Libvirt(conf.Snapshot)
	snapInternal    = momentlist.Internal.Libvirt(conf.Snapshot)
	snapExternal    = momentlist.External.Libvirt(conf.Snapshot)
	snapStatusMask  = snapInactive | snapActive | snapDiskOnly
	snapLocationMsk = snapInternal | snapExternal
)
