// Package driver is the contract between vmoments and the places where moments live: a live
// libvirtd running QEMU ([github.com/vmoments/vmoments/driver/qemu]) and libvirt's in-process
// test driver ([github.com/vmoments/vmoments/driver/test]), and, for the tests of programs
// built on vmoments, a pure-Go in-memory driver that needs neither libvirt nor cgo
// ([github.com/vmoments/vmoments/driver/memory], URI scheme memory). Management tools and the
// vmoments command program against the two interfaces below; every driver serves them
// identically, which the shared conformance suite ([github.com/vmoments/vmoments/driver/drivertest])
// proves.
//
// # Terms
//
//   - A moment is a snapshot or a checkpoint of one libvirt domain ([conf.Kind] says which). Its
//     definition ([conf.Def]) is the XML libvirt keeps for it: name, parent, creation time, the
//     domain state (snapshots) and how each disk was captured.
//   - The moment list of a domain and kind is libvirt's tree of moments with one current moment
//     ([momentlist.List]). Roots have no parent; leaves have no children.
//   - The current snapshot is the one libvirt reports (virDomainSnapshotCurrent). The current
//     checkpoint is libvirt's internal pointer, which libvirt never exposes; the driver follows
//     libvirt's rules for it (DESIGN.md point 3): after a fresh load it is the leaf of a single
//     unbranched chain, or none; a checkpoint created through the driver becomes current; a
//     redefined one becomes current when its parent is current or there is no current (and the
//     parent libvirt gives a created checkpoint tells where its pointer was, should someone else
//     have moved it). The [momentlist.CurrentRule] returned with it says which rule decided.
//   - Loading is one list call to libvirt for the names and one XML fetch per moment, several in
//     flight at once (past libvirtd's limit of 16,384 names per call, the names are listed in
//     pieces). A moment deleted between the two is skipped. A loaded list is refreshed on every
//     later read: libvirt is asked for the names again (and for the current snapshot), only names
//     not seen before are fetched, and names that are gone are dropped. [Domain.Reload] fetches
//     everything again. When a refresh finds checkpoints added or removed by someone else, the
//     current checkpoint follows the fresh-load rule again: libvirt's pointer moved in ways the
//     driver cannot see.
//   - A change (create, redefine, delete, revert, set current) is passed through libvirt with
//     libvirt's own flags and then applied to the loaded list the way libvirt applies it, so the list
//     stays equal to what a fresh load would give.
//
// # Connections
//
// [Open] picks the driver by the URI's scheme: test:///default and test:///ABS/PATH.xml go to the
// test driver, qemu:///system, qemu:///session and the remote forms (qemu+ssh://, qemu+tcp://,
// qemu+tls://, qemu+unix://) to the QEMU driver. The drivers register themselves when their package
// is imported, as database/sql drivers do:
//
//	import (
//		_ "github.com/vmoments/vmoments/driver/qemu"
//		_ "github.com/vmoments/vmoments/driver/test"
//	)
//
// A driver opened [ReadOnly] reads through read-only libvirt connections and refuses changes
// with [ErrReadOnly]. Opened [ReadWrite], reads still go through a read-only connection and the
// first change (or the first [Reader.XML] with [XMLSecure]) opens a read-write one (the QEMU
// driver; [ConnectWrite] opens it at once); the test driver keeps exactly one connection for its
// whole life, because the test driver's state lives in that connection. A QEMU driver whose
// connection breaks during a call (libvirtd restarted) retries the call once on a new
// connection (a load, a refresh, Domains, Domain, XML, Storage). The new connection waits for a
// daemon that is away, as during a restart or a package upgrade: it dials again with a pause
// growing from 50 ms to 1 s, for up to 10 s, or until the call's context ends; a refusal that
// is not the daemon being away (authentication, say) ends it at once. The empty URI is libvirt's default, resolved by libvirt ([Probe]).
//
// [Driver.Domains] lists the connection's domains; [Driver.Domain] looks one up by numeric ID,
// UUID or name (as virsh does) and returns a new handle on every call, with lists of its own:
// keep the handle to refresh incrementally; a new handle loads afresh (that is how a test
// compares with a fresh load). A program that only reads can take the [Reader] half of a
// [Domain]. The domains of both drivers also serve the optional [StorageReader]: the disks of
// the domain's current definition and libvirt's block statistics of their backing chains.
//
// # Worked example
//
// List the current checkpoint of each disk of a running guest, then the leaves of its snapshot
// tree below the snapshot "base":
//
//	drv, err := driver.Open(ctx, "qemu:///system", driver.ReadOnly)
//	if err != nil {
//		return err
//	}
//	defer drv.Close()
//	dom, err := drv.Domain(ctx, "guest1") // a name, a UUID or a running domain's ID
//	if err != nil {
//		return err
//	}
//	// PerDisk|Current keeps, for each disk, the nearest checkpoint at or above the current one
//	// that captured that disk.
//	perDisk, err := dom.List(ctx, conf.Checkpoint, "", momentlist.PerDisk|momentlist.Current)
//	if err != nil {
//		return err
//	}
//	for _, m := range perDisk {
//		fmt.Println(m.Name(), m.Def().CoveredDisks())
//	}
//	leaves, err := dom.List(ctx, conf.Snapshot, "base", momentlist.Descendants|momentlist.Leaves)
//
// # Errors
//
// Every error is an [*Error]: libvirt's message verbatim for libvirt's failures, prefixed with
// the URI, the domain and the moment it was about:
//
//	qemu:///system: domain "guest1": snapshot "s1": Requested operation is not valid: ...
//
// The failures a caller must tell apart match a class with errors.Is, whatever call returned
// them: [ErrDomainNotFound] and [ErrMomentNotFound] (both [ErrNotFound]), [ErrReadOnly],
// [ErrClosed], [ErrUnsupportedURI], [ErrConnection], and the context's own error for a canceled
// or expired ctx. The libvirt error itself (libvirt.org/go/libvirt.Error) stays reachable with
// errors.As for callers that want its Code; nothing else needs libvirt's bindings. Where the
// failure is a limit of the driver rather than of libvirt (the test driver refuses some flags,
// and snapshots next to checkpoints), a sentence saying so follows libvirt's message, and
// [Driver.Capabilities] says so up front. A moment the loaded list lacks gives libvirt's wording
// too ("no domain snapshot with matching name 's1'").
//
// # Concurrency
//
// Drivers and domains are safe for concurrent use by several goroutines: each domain guards its
// lists with its own mutex. Moments returned by [Reader.List] and [Reader.Current] belong to an
// immutable copy of the list that the driver never changes again (a change or a refresh builds a
// new copy), so they can be read at leisure; callers must not modify their definitions, which
// are shared with other callers. [Reader.Moments] returns a private copy the caller owns.
package driver

import (
	"context"

	"github.com/vmoments/vmoments/conf"
	"github.com/vmoments/vmoments/momentlist"
)

// Driver is an open connection to one libvirt URI.
type Driver interface {
	// URI is the URI the driver was opened with (for the default URI "", the one libvirt
	// resolved it to).
	URI() string
	// Domains lists the connection's domains, active and inactive (virConnectListAllDomains),
	// sorted by name.
	Domains(ctx context.Context) ([]DomainInfo, error)
	// Domain looks a domain up as virsh does: a running domain's numeric ID, then a UUID, then
	// a name. Every call returns a new handle with its own loaded lists (a handle that is kept
	// refreshes incrementally; a new handle loads afresh). An unknown domain is an error that
	// matches [ErrDomainNotFound] (and [ErrNotFound]).
	Domain(ctx context.Context, ref string) (Domain, error)
	// Versions returns the libvirt versions on both ends of the connection.
	Versions(ctx context.Context) (Versions, error)
	// Capabilities says which of libvirt's flags and combinations the driver accepts.
	Capabilities() Capabilities
	// Close closes the driver's libvirt connections. Domains obtained from it stop working:
	// their calls then fail with [ErrClosed].
	Close() error
}

// DomainInfo is one domain of a connection, as [Driver.Domains] lists it.
type DomainInfo struct {
	Name string
	UUID string
	// ID is the running domain's numeric ID, -1 when it is not running.
	ID    int
	State DomainState
}

// DomainState is libvirt's virDomainState, same numbers.
type DomainState int

// libvirt's domain states.
const (
	DomainNoState DomainState = iota
	DomainRunning
	DomainBlocked
	DomainPaused
	DomainShutdown
	DomainShutoff
	DomainCrashed
	DomainPMSuspended
)

// String returns the state in virsh's words (virsh domstate): "running", "shut off", ...
func (s DomainState) String() string {
	switch s {
	case DomainNoState:
		return "no state"
	case DomainRunning:
		return "running"
	case DomainBlocked:
		return "idle"
	case DomainPaused:
		return "paused"
	case DomainShutdown:
		return "in shutdown"
	case DomainShutoff:
		return "shut off"
	case DomainCrashed:
		return "crashed"
	case DomainPMSuspended:
		return "pmsuspended"
	}
	return "unknown"
}

// Versions are the libvirt versions of a connection, as "9.0.0".
type Versions struct {
	// Library is the libvirt client library this process runs with.
	Library string
	// Daemon is the libvirt of the daemon behind the URI ("" if it cannot be asked); for
	// libvirt's test driver, which runs in this process, the library's.
	Daemon string
}

// CanDelete reports whether the driver accepts every flag of a delete of kind.
func (c Capabilities) CanDelete(kind conf.Kind, flags DeleteFlags) bool {
	have := c.SnapshotDelete
	if kind == conf.Checkpoint {
		have = c.CheckpointDelete
	}
	return flags&^have == 0
}

// Capabilities say which of libvirt's flags and combinations a driver accepts. libvirt's QEMU
// driver accepts every flag; libvirt's test driver fewer (driver/test says which). Callers that
// must work with every driver ask before they choose a flag; the conformance suite skips what a
// driver declares it cannot do.
type Capabilities struct {
	// SnapshotCreate, SnapshotDelete, SnapshotRevert, CheckpointCreate and CheckpointDelete
	// are the flags the driver accepts for those calls.
	SnapshotCreate   SnapshotCreateFlags
	SnapshotDelete   DeleteFlags
	SnapshotRevert   RevertFlags
	CheckpointCreate CheckpointCreateFlags
	CheckpointDelete DeleteFlags
	// MixedKinds says a domain may have snapshots and checkpoints at the same time.
	MixedKinds bool
	// InactiveCheckpoints says checkpoints can be redefined on a domain that is not running.
	InactiveCheckpoints bool
	// DiskImages says the driver's moments live in disk images it works on (libvirt's QEMU
	// driver): a delete or a revert does disk work, and QEMU's refusals of that work apply
	// (docs/libvirt.md §2, §3: an external snapshot with an internal parent, a checkpoint of a
	// shut-off guest, ...). libvirt's test driver and driver/memory keep metadata only.
	DiskImages bool
}

// Reader is the reading half of a domain: its moments as libvirt has them, loaded once and
// refreshed on every later call.
//
// Every kind-taking method accepts conf.Snapshot and conf.Checkpoint. Moment names are the names
// libvirt knows; from == "" means the domain level (libvirt's "no from"). A moment the domain
// lacks is an error that matches [ErrMomentNotFound] (and [ErrNotFound]).
type Reader interface {
	// Name is the domain's name; UUID its UUID in the usual 36-character form.
	Name() string
	UUID() string
	// Driver is the driver the domain was looked up on (its URI, versions, capabilities).
	Driver() Driver

	// List loads the moments of kind (or refreshes them: libvirt is asked for the names again,
	// unseen ones are fetched, gone ones dropped) and returns those f selects below from, with
	// libvirt's exact filter semantics plus Current, NoCurrent and PerDisk (see momentlist).
	List(ctx context.Context, kind conf.Kind, from string, f momentlist.Filter) ([]*momentlist.Moment, error)
	// Moments refreshes like List and returns a private copy of the whole list, with the same
	// tree, child order, current moment and current rule; the caller may change it freely.
	Moments(ctx context.Context, kind conf.Kind) (*momentlist.List, error)
	// Current refreshes like List and returns the current moment (nil if none) and the rule that
	// made it current.
	Current(ctx context.Context, kind conf.Kind) (*momentlist.Moment, momentlist.CurrentRule, error)
	// Def refreshes like List and returns the definition of one moment, as loaded (the fast parse;
	// Def.FullSnapshot / FullCheckpoint parse the kept raw XML in full).
	Def(ctx context.Context, kind conf.Kind, name string) (*conf.Def, error)
	// XML asks libvirt for one moment's XML now (virDomainSnapshotGetXMLDesc /
	// virDomainCheckpointGetXMLDesc) with libvirt's XML flags. libvirt gives XMLSecure's
	// security-sensitive parts only on a read-write connection: a driver opened read-write asks
	// through its read-write connection for it (as virsh does unless -r); on a read-only one the
	// refusal ("operation forbidden: ... with secure flag") matches [ErrReadOnly].
	XML(ctx context.Context, kind conf.Kind, name string, flags XMLFlags) (string, error)
	// Reload drops the loaded list of kind and loads it again in full. For checkpoints the
	// current one then follows the fresh-load rule, as after a libvirtd restart.
	Reload(ctx context.Context, kind conf.Kind) error
}

// Domain serves the moments of one libvirt domain: the [Reader] and the changes. Every change
// on a driver opened [ReadOnly] fails with an error that matches [ErrReadOnly].
type Domain interface {
	Reader

	// CreateSnapshot creates a snapshot from XML with libvirt's flags (virDomainSnapshotCreateXML),
	// including redefinition (SnapshotCreateRedefine, with SnapshotCreateCurrent to make it
	// current), and returns its name.
	CreateSnapshot(ctx context.Context, xml string, flags SnapshotCreateFlags) (string, error)
	// CreateCheckpoint creates or redefines a checkpoint (virDomainCheckpointCreateXML) and returns
	// its name. The loaded list's current checkpoint moves as libvirt's internal pointer does.
	CreateCheckpoint(ctx context.Context, xml string, flags CheckpointCreateFlags) (string, error)
	// Delete deletes a moment: plainly (its children move up to its parent), with DeleteChildren,
	// with DeleteChildrenOnly, or DeleteMetadataOnly (libvirt forgets it, disks untouched). The
	// QEMU driver deletes the descendants of a snapshot one at a time, leaves first, because
	// libvirt 9.0 crashes on some deletes with children (see driver/qemu); the end state is
	// libvirt's, and a failure midway names the snapshot that failed and those already deleted.
	Delete(ctx context.Context, kind conf.Kind, name string, flags DeleteFlags) error
	// Revert reverts the domain to a snapshot (virDomainRevertToSnapshot); it becomes current.
	Revert(ctx context.Context, name string, flags RevertFlags) error
	// SetCurrent makes a snapshot the current one without reverting, as `virsh snapshot-current
	// NAME` does: it redefines the snapshot from its own XML with SnapshotCreateRedefine|Current.
	SetCurrent(ctx context.Context, name string) error
}

// SnapshotCreateFlags are libvirt's VIR_DOMAIN_SNAPSHOT_CREATE_* flags, same numbers.
type SnapshotCreateFlags uint32

// libvirt's snapshot create flags.
const (
	SnapshotCreateRedefine   SnapshotCreateFlags = 1 << iota // redefine metadata of a snapshot
	SnapshotCreateCurrent                                    // with Redefine: make it current
	SnapshotCreateNoMetadata                                 // create without keeping metadata (qemu only)
	SnapshotCreateHalt                                       // stop the domain afterwards
	SnapshotCreateDiskOnly                                   // disks only, no memory (external)
	SnapshotCreateReuseExt                                   // reuse existing external files
	SnapshotCreateQuiesce                                    // freeze guest filesystems (agent)
	SnapshotCreateAtomic                                     // all disks or none
	SnapshotCreateLive                                       // keep the domain running while saving memory
	SnapshotCreateValidate                                   // validate the XML against the schema
)

// CheckpointCreateFlags are libvirt's VIR_DOMAIN_CHECKPOINT_CREATE_* flags, same numbers.
type CheckpointCreateFlags uint32

// libvirt's checkpoint create flags.
const (
	CheckpointCreateRedefine         CheckpointCreateFlags = 1 << iota // redefine metadata
	CheckpointCreateQuiesce                                            // freeze guest filesystems
	CheckpointCreateRedefineValidate                                   // with Redefine: check the bitmaps exist
)

// DeleteFlags are libvirt's VIR_DOMAIN_SNAPSHOT_DELETE_* and VIR_DOMAIN_CHECKPOINT_DELETE_*
// flags, which have the same numbers for both kinds.
type DeleteFlags uint32

// libvirt's delete flags.
const (
	DeleteChildren     DeleteFlags = 1 << iota // delete the moment and all its descendants
	DeleteMetadataOnly                         // forget the metadata, leave disks (and bitmaps) alone
	DeleteChildrenOnly                         // delete the descendants, keep the moment
)

// RevertFlags are libvirt's VIR_DOMAIN_SNAPSHOT_REVERT_* flags, same numbers.
type RevertFlags uint32

// libvirt's revert flags.
const (
	RevertRunning    RevertFlags = 1 << iota // run the domain after reverting
	RevertPaused                             // leave it paused after reverting
	RevertForce                              // allow risky reverts
	RevertResetNVRAM                         // re-initialize the NVRAM from its template
)

// XMLFlags are libvirt's VIR_DOMAIN_SNAPSHOT_XML_* / VIR_DOMAIN_CHECKPOINT_XML_* flags.
type XMLFlags uint32

// libvirt's XML flags. XMLSecure applies to both kinds, the others to checkpoints only.
const (
	XMLSecure             XMLFlags = 1 << iota // include security-sensitive data
	CheckpointXMLNoDomain                      // omit the embedded <domain>
	CheckpointXMLSize                          // include the bitmap sizes (running domain)
)
