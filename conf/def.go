// Package conf holds the definitions of libvirt domain moments: snapshots and checkpoints.
//
// A definition ([Def]) is what one snapshot or checkpoint XML document says: its name, its
// parent, when it was made, the state of the domain (snapshots) and, for each disk, whether and
// how the moment captured it. conf parses those documents with libvirt's own rules (the XML
// vocabulary of libvirtxml, the checks of libvirt's snapshot_conf.c and checkpoint_conf.c),
// formats definitions back to XML for redefinition and export, and has a fast path for lists
// that stops reading before the embedded <domain>, which is most of every document.
//
// conf never imports libvirt's C bindings: it builds and tests without cgo.
package conf

import (
	"slices"
	"time"
)

// Kind says whether a moment is a snapshot or a checkpoint. The zero Kind is NoKind: an error
// or a value that concerns no moment says so instead of reading "snapshot".
type Kind int

const (
	// NoKind is no kind of moment (the zero value).
	NoKind Kind = iota
	// Snapshot is a <domainsnapshot>.
	Snapshot
	// Checkpoint is a <domaincheckpoint>.
	Checkpoint
)

// Kinds are the two kinds of moment, snapshots first.
var Kinds = [...]Kind{Snapshot, Checkpoint}

// String returns "snapshot" or "checkpoint", the words libvirt's messages use, and "none" for
// NoKind.
func (k Kind) String() string {
	switch k {
	case NoKind:
		return "none"
	case Snapshot:
		return "snapshot"
	case Checkpoint:
		return "checkpoint"
	}
	return "unknown kind"
}

// Valid reports whether k is Snapshot or Checkpoint.
func (k Kind) Valid() bool { return k == Snapshot || k == Checkpoint }

// ParseMode selects libvirt's parse rules: those for a moment about to be created, or those for
// the redefinition of a moment that already exists (libvirt's VIR_DOMAIN_*_PARSE_REDEFINE).
type ParseMode int

const (
	// ParseNew parses a definition handed to create: name and creationTime are optional.
	ParseNew ParseMode = iota
	// ParseRedefine parses a definition handed to redefine (or read back from libvirt):
	// name, creationTime and, for snapshots, state are required.
	ParseRedefine
)

// Status is a snapshot's status class, libvirt's INACTIVE / ACTIVE / DISK_ONLY list filter
// group (docs/libvirt.md §2). It derives from <state> alone.
type Status int

const (
	// NoStatus is the status of a checkpoint, which has none.
	NoStatus Status = iota
	// Inactive is a snapshot whose state is "shutoff".
	Inactive
	// Active is a snapshot of any other state but "disk-snapshot" (running, paused, ...).
	Active
	// DiskOnly is a snapshot whose state is "disk-snapshot".
	DiskOnly
)

// String returns "inactive", "active", "disk-only" or "" for NoStatus.
func (s Status) String() string {
	switch s {
	case Inactive:
		return "inactive"
	case Active:
		return "active"
	case DiskOnly:
		return "disk-only"
	}
	return ""
}

// MemorySpec is a snapshot's <memory snapshot='...' file='...'/>.
type MemorySpec struct {
	// Mode is "no", "internal", "external", "manual", or "" when the document has no <memory>.
	Mode string
	// File is the external memory file, if any.
	File string
}

// DiskSpec is one <disk> of a snapshot's or checkpoint's <disks>.
type DiskSpec struct {
	// Name is the disk's target (vda) or source path, as libvirt's name attribute.
	Name string
	// Mode is the snapshot attribute ("no", "internal", "external", "manual") for snapshots,
	// the checkpoint attribute ("no", "bitmap") for checkpoints, or "" when absent.
	Mode string
	// Bitmap is a checkpoint disk's bitmap name, if given.
	Bitmap string
	// Source is an external snapshot disk's <source file=...> (or dev=...), if given.
	Source string
	// SourceType is the disk's type attribute when it is not a file: "block" or "network".
	// It is "" for a file, libvirt's default (the parsers read type='file' as "").
	SourceType string
	// DriverType is a snapshot disk's <driver type=...>, if given (qcow2).
	DriverType string
}

// Def is one moment's definition.
//
// Raw, when set, holds the XML document the definition was parsed from; the full libvirtxml
// document (including the embedded <domain>) is parsed from it only on demand ([Def.FullSnapshot],
// [Def.FullCheckpoint]).
type Def struct {
	Kind        Kind
	Name        string
	Description string
	// Parent is the parent moment's name, "" for a root.
	Parent string
	// Created is the creationTime (whole seconds since the epoch, UTC); HasCreated says whether
	// the document had one (new definitions may lack it).
	Created    time.Time
	HasCreated bool
	// State is a snapshot's <state> word (running, shutoff, disk-snapshot, ...); "" for
	// checkpoints and for new snapshots that do not give it.
	State  string
	Memory MemorySpec
	Disks  []DiskSpec
	// Active is the <active> element libvirt writes into its own snapshot files and the test
	// driver's node files (1 = the current snapshot); nil when absent.
	Active *bool
	// HasDomain says whether the document embeds a <domain> (or checkpoint <domain>).
	HasDomain bool

	raw  []byte
	full *fullCache // the libvirtxml document parsed from raw, on first use
}

// Raw returns the XML the definition was parsed from, or nil. The caller must not modify it.
func (d *Def) Raw() []byte { return d.raw }

// SetRaw replaces the kept XML document (used by drivers that fetch XML separately). The fields
// are not changed; the lazily parsed full document is forgotten.
func (d *Def) SetRaw(raw []byte) {
	d.raw = raw
	d.full = nil
	if raw != nil {
		d.full = new(fullCache)
	}
}

// Status returns the snapshot status class: from <state> alone, exactly as libvirt's
// virDomainSnapshotFilter (docs/libvirt.md §2): shutoff is Inactive, disk-snapshot is DiskOnly, every other
// state is Active. Checkpoints have NoStatus.
func (d *Def) Status() Status {
	if d.Kind != Snapshot {
		return NoStatus
	}
	switch d.State {
	case "shutoff":
		return Inactive
	case "disk-snapshot":
		return DiskOnly
	}
	return Active
}

// IsExternal reports whether a snapshot is external: its memory is external or any of its disks
// is external (libvirt's virDomainSnapshotDefIsExternal). Checkpoints are never external.
func (d *Def) IsExternal() bool {
	if d.Kind != Snapshot {
		return false
	}
	if d.Memory.Mode == "external" {
		return true
	}
	for _, disk := range d.Disks {
		if disk.Mode == "external" {
			return true
		}
	}
	return false
}

// Location returns "external" or "internal" (snapshots), "" for checkpoints.
func (d *Def) Location() string {
	if d.Kind != Snapshot {
		return ""
	}
	if d.IsExternal() {
		return "external"
	}
	return "internal"
}

// Covers reports whether the moment captured the disk: a snapshot disk with
// snapshot='internal' or 'external', a checkpoint disk with checkpoint='bitmap'
// (docs/design.md §2).
func (d *Def) Covers(disk string) bool {
	for i := range d.Disks {
		if d.Disks[i].Name == disk {
			return d.Disks[i].covers(d.Kind)
		}
	}
	return false
}

// CoveredDisks returns the names of the disks the moment covers, in document order.
func (d *Def) CoveredDisks() []string {
	var out []string
	for i := range d.Disks {
		if d.Disks[i].covers(d.Kind) {
			out = append(out, d.Disks[i].Name)
		}
	}
	return out
}

func (s *DiskSpec) covers(k Kind) bool {
	if k == Checkpoint {
		return s.Mode == "bitmap"
	}
	return s.Mode == "internal" || s.Mode == "external"
}

// Equal reports whether two definitions say the same thing, ignoring the kept raw XML.
func (d *Def) Equal(o *Def) bool {
	if d == nil || o == nil {
		return d == o
	}
	if (d.Active == nil) != (o.Active == nil) || (d.Active != nil && *d.Active != *o.Active) {
		return false
	}
	return d.Kind == o.Kind && d.Name == o.Name && d.Description == o.Description &&
		d.Parent == o.Parent && d.Created.Equal(o.Created) && d.HasCreated == o.HasCreated &&
		d.State == o.State && d.Memory == o.Memory && slices.Equal(d.Disks, o.Disks) &&
		d.HasDomain == o.HasDomain
}

// Clone returns a copy of d that shares no memory anyone writes: its own Disks and Active. The
// raw XML and the cache of the full document parsed from it are shared (neither is ever written).
func (d *Def) Clone() *Def {
	c := *d
	c.Disks = slices.Clone(d.Disks)
	if d.Active != nil {
		a := *d.Active
		c.Active = &a
	}
	return &c
}
