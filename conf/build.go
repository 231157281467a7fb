package conf

import (
	"fmt"
	"strings"
	"time"
)

// optional is an attribute value and whether the attribute was there at all: libvirt treats an
// empty attribute differently from a missing one (snapshot=” is an error, no snapshot
// attribute is the default).
type optional struct {
	v  string
	ok bool
}

// rawDisk is one <disk> of <disks> as written, before libvirt's checks and defaults.
type rawDisk struct {
	name, mode, bitmap, typ optional
	source, driver          string
}

// rawDoc is what a parser extracted from a document, before libvirt's checks and defaults.
// Text values follow libvirt's XPath string() reading: the first element of that name, all of
// its text, and "" for both an empty and a missing element (libvirt treats them alike).
// Both parsers (the full one and ParseFast) fill a rawDoc; [build] then applies the same rules,
// which is what makes their results equal.
type rawDoc struct {
	name, description, state, created, active, parent string
	hasMemory                                         bool
	memMode, memFile                                  optional
	disks                                             []rawDisk
	hasDomain                                         bool
	hasParent                                         bool // a <parent><name> was met (fixes which one counts)
}

// snapshotStates are libvirt's virDomainSnapshotState words; "nostate" (0) is refused by
// libvirt's parser (state <= 0) like an unknown word.
var snapshotStates = map[string]bool{
	"running": true, "blocked": true, "paused": true, "shutdown": true, "shutoff": true,
	"crashed": true, "pmsuspended": true, "disk-snapshot": true,
}

// snapshotLocations are the values of a snapshot's memory/@snapshot and disk/@snapshot.
var snapshotLocations = map[string]bool{"no": true, "internal": true, "external": true, "manual": true}

// storageFormats are the disk formats libvirt 9.0 accepts in a snapshot disk's <driver type>
// (virStorageFileFormat without "none"; observed: luks and luks2 are refused).
var storageFormats = map[string]bool{
	"raw": true, "dir": true, "bochs": true, "cloop": true, "dmg": true, "iso": true, "vpc": true,
	"vdi": true, "fat": true, "vhd": true, "ploop": true, "cow": true, "qcow": true, "qcow2": true,
	"qed": true, "vmdk": true,
}

// build applies libvirt's parse rules (snapshot_conf.c virDomainSnapshotDefParse,
// checkpoint_conf.c virDomainCheckpointDefParse, in their order) to what a parser extracted.
func build(kind Kind, mode ParseMode, r *rawDoc) (*Def, error) {
	fail := func(elem, val, format string, args ...any) error {
		return &ParseError{Kind: kind, Element: elem, Value: val, Msg: fmt.Sprintf(format, args...)}
	}
	redefine := mode == ParseRedefine
	d := &Def{Kind: kind, Name: r.name, Description: r.description, Parent: r.parent, HasDomain: r.hasDomain}

	if r.name == "" {
		if redefine {
			return nil, fail("name", "", "a redefined %s must have a name", kind)
		}
	} else if kind == Checkpoint || !redefine {
		if err := ValidateName(kind, r.name); err != nil {
			return nil, err
		}
	}

	if r.created == "" {
		if redefine {
			return nil, fail("creationTime", "", "missing creationTime from existing %s", kind)
		}
	} else {
		n, ok := parseCLong(r.created)
		switch {
		case !ok:
			return nil, fail("creationTime", r.created,
				"invalid creationTime '%s' in %s XML: not a whole number of seconds", r.created, kind)
		case n < 0:
			return nil, fail("creationTime", r.created,
				"invalid creationTime '%s' in %s XML: it is before 1970", r.created, kind)
		}
		d.Created, d.HasCreated = time.Unix(n, 0).UTC(), true
	}

	if kind == Snapshot {
		if err := buildSnapshot(d, redefine, r, fail); err != nil {
			return nil, err
		}
	} else if err := buildCheckpointDisks(d, r, fail); err != nil {
		return nil, err
	}
	return d, nil
}

type failFunc func(elem, val, format string, args ...any) error

func buildSnapshot(d *Def, redefine bool, r *rawDoc, fail failFunc) error {
	if r.state == "" {
		if redefine {
			return fail("state", "", "missing state from existing snapshot")
		}
	} else if !snapshotStates[r.state] {
		return fail("state", r.state, "Invalid state '%s' in domain snapshot XML", r.state)
	}
	d.State = r.state
	offline := redefine && (r.state == "shutoff" || r.state == "disk-snapshot")

	// Memory: libvirt's checks and its default for redefinitions (docs/libvirt.md §2).
	var mem MemorySpec
	if r.hasMemory && r.memMode.ok {
		if !snapshotLocations[r.memMode.v] {
			return fail("memory/@snapshot", r.memMode.v,
				"Invalid value for attribute 'snapshot' in element 'memory': '%s'.", r.memMode.v)
		}
		if r.memMode.v == "manual" {
			return fail("memory/@snapshot", "manual", "'manual' memory snapshot mode not supported")
		}
		mem.Mode = r.memMode.v
	}
	hasFile := r.hasMemory && r.memFile.ok
	mem.File = r.memFile.v
	if mem.Mode == "" {
		switch {
		case hasFile:
			mem.Mode = "external"
		case redefine && offline:
			mem.Mode = "no"
		case redefine:
			mem.Mode = "internal"
		}
	}
	switch {
	case hasFile && mem.Mode != "external":
		return fail("memory/@file", mem.File, "memory filename '%s' requires external snapshot", mem.File)
	case !hasFile && mem.Mode == "external":
		return fail("memory/@file", "", "external memory snapshots require a filename")
	case offline && mem.Mode != "" && mem.Mode != "no":
		return fail("memory/@snapshot", mem.Mode, "memory state cannot be saved with offline or disk-only snapshot")
	case hasFile && !strings.HasPrefix(mem.File, "/"):
		return fail("memory/@file", mem.File, "memory snapshot file path (%s) must be absolute", mem.File)
	}
	d.Memory = mem

	if len(r.disks) > 0 {
		d.Disks = make([]DiskSpec, 0, len(r.disks))
	}
	for i := range r.disks {
		spec, err := snapshotDisk(&r.disks[i], fail)
		if err != nil {
			return err
		}
		if err := addDisk(d, spec, fail); err != nil {
			return err
		}
	}

	if r.active != "" {
		n, ok := parseCLong(r.active)
		if !ok {
			return fail("active", r.active, "invalid active '%s' in snapshot XML: want 0 or 1", r.active)
		}
		b := n != 0
		d.Active = &b
	}
	return nil
}

// snapshotDisk checks one snapshot disk as libvirt's virDomainSnapshotDiskDefParseXML does, in
// its order, and applies its default: a disk with a source or a driver and no snapshot
// attribute is external.
func snapshotDisk(rd *rawDisk, fail failFunc) (DiskSpec, error) {
	if !rd.name.ok {
		return DiskSpec{}, fail("disk/@name", "", "missing name from disk snapshot element")
	}
	if rd.name.v == "" {
		return DiskSpec{}, fail("disk/@name", "", "disk snapshot element has an empty name")
	}
	spec := DiskSpec{Name: rd.name.v, Source: rd.source, DriverType: rd.driver}
	if rd.mode.ok {
		if !snapshotLocations[rd.mode.v] {
			return spec, fail("disk/@snapshot", rd.mode.v,
				"Invalid value for attribute 'snapshot' in element 'disk': '%s'.", rd.mode.v)
		}
		spec.Mode = rd.mode.v
	}
	if rd.typ.ok {
		switch rd.typ.v {
		case "file":
		case "block", "network":
			spec.SourceType = rd.typ.v
		case "dir", "volume", "nvme", "vhostuser", "vhostvdpa":
			return spec, fail("disk/@type", rd.typ.v, "unsupported disk snapshot type '%s'", rd.typ.v)
		default:
			return spec, fail("disk/@type", rd.typ.v,
				"Invalid value for attribute 'type' in element 'disk': '%s'.", rd.typ.v)
		}
	}
	if rd.driver != "" && !storageFormats[rd.driver] {
		return spec, fail("disk/driver/@type", rd.driver, "unknown disk snapshot driver '%s'", rd.driver)
	}
	if spec.SourceType != "network" && rd.source != "" && !strings.HasPrefix(rd.source, "/") {
		return spec, fail("disk/source", rd.source, "disk snapshot image path '%s' must be absolute", rd.source)
	}
	if spec.Mode == "" && (rd.source != "" || rd.driver != "") {
		spec.Mode = "external"
	}
	return spec, nil
}

func buildCheckpointDisks(d *Def, r *rawDoc, fail failFunc) error {
	if len(r.disks) > 0 {
		d.Disks = make([]DiskSpec, 0, len(r.disks))
	}
	for i := range r.disks {
		spec, err := checkpointDisk(&r.disks[i], fail)
		if err != nil {
			return err
		}
		if err := addDisk(d, spec, fail); err != nil {
			return err
		}
	}
	return nil
}

// addDisk appends a disk, refusing a second disk of the same name (libvirt refuses it when it
// aligns the disks with the domain: "disk '%s' specified twice"). Domains have a handful of
// disks, so a scan beats a map.
func addDisk(d *Def, spec DiskSpec, fail failFunc) error {
	for i := range d.Disks {
		if d.Disks[i].Name == spec.Name {
			return fail("disk/@name", spec.Name, "disk '%s' specified twice", spec.Name)
		}
	}
	d.Disks = append(d.Disks, spec)
	return nil
}

// checkpointDisk checks one checkpoint disk. libvirt leaves these checks to its schema
// (domaincheckpoint.rng), which it always applies; a disk without a checkpoint attribute is a
// bitmap disk, as libvirt's parser reads it.
func checkpointDisk(rd *rawDisk, fail failFunc) (DiskSpec, error) {
	if rd.name.v == "" {
		return DiskSpec{}, fail("disk/@name", "", "missing name from disk checkpoint element")
	}
	spec := DiskSpec{Name: rd.name.v, Mode: "bitmap", Bitmap: rd.bitmap.v}
	if rd.mode.ok {
		if rd.mode.v != "no" && rd.mode.v != "bitmap" {
			return spec, fail("disk/@checkpoint", rd.mode.v,
				"Invalid value for attribute 'checkpoint' in element 'disk': '%s'.", rd.mode.v)
		}
		spec.Mode = rd.mode.v
	}
	if spec.Mode == "no" && rd.bitmap.ok {
		return spec, fail("disk/@bitmap", rd.bitmap.v,
			"disk '%s' has checkpoint='no' and bitmap '%s': libvirt allows a bitmap only with checkpoint='bitmap'",
			spec.Name, rd.bitmap.v)
	}
	return spec, nil
}

// parseCLong reads a number as libvirt's virStrToLong_ll (C strtoll, base 10, the whole string):
// leading C white space and a sign are allowed, trailing characters and overflow are not.
func parseCLong(s string) (int64, bool) {
	i := 0
	for i < len(s) && (s[i] == ' ' || s[i] >= '\t' && s[i] <= '\r') {
		i++
	}
	neg := false
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		neg = s[i] == '-'
		i++
	}
	if i == len(s) {
		return 0, false
	}
	var n uint64
	for ; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		if n > (1<<63)/10 {
			return 0, false
		}
		n = n*10 + uint64(c-'0')
		if n > 1<<63 {
			return 0, false
		}
	}
	if neg {
		return -int64(n), true // -(1<<63) wraps to itself, the minimum int64
	}
	if n > 1<<63-1 {
		return 0, false
	}
	return int64(n), true
}
