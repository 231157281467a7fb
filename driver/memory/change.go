package memory

import (
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/vmoments/vmoments/conf"
	"github.com/vmoments/vmoments/driver"
	"github.com/vmoments/vmoments/momentlist"
)

// change runs one change of the moments of kind, as the libvirt-backed drivers do: it brings
// the handle's list up to date, makes the change on the server (libvirt's side) with do, and
// applies what do returns to a copy of the handle's list, which is then published. A snapshot
// change finally checks the server's current snapshot against the list's and reloads if they
// differ.
func (d *domain) change(ctx context.Context, kind conf.Kind, moment string,
	do func(s *Server, v *vm) (apply func(l *momentlist.List) error, err error)) error {
	st, err := d.state(kind)
	if err != nil {
		return err
	}
	if d.drv.readOnly {
		return d.wrap(kind, moment, &driver.Error{URI: d.drv.uri, Class: driver.ErrReadOnly})
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	if err := d.refresh(ctx, kind, st, false); err != nil {
		return nameMoment(err, moment)
	}
	srv := d.drv.srv
	srv.mu.Lock()
	var apply func(*momentlist.List) error
	if v := srv.byUUID(d.uuid); v == nil {
		err = domainGone()
	} else {
		apply, err = do(srv, v)
	}
	srv.mu.Unlock()
	if err != nil {
		return d.wrap(kind, moment, err)
	}
	if apply == nil {
		return nil
	}
	l := st.list.Clone()
	if err := apply(l); err != nil {
		// The list was out of step with the server: load it afresh.
		return d.refresh(ctx, kind, st, true)
	}
	st.list = l
	if kind == conf.Snapshot {
		_, cur, err := srv.names(d.uuid, kind)
		if err != nil {
			return d.wrap(kind, "", err)
		}
		if c := l.Current(); (c == nil) != (cur == "") || c != nil && c.Name() != cur {
			return d.refresh(ctx, kind, st, true)
		}
	}
	return nil
}

// nameMoment makes the error of the refresh before a change name the moment of the change.
func nameMoment(err error, moment string) error {
	if e, ok := err.(*driver.Error); ok && e.Moment == "" && !e.Unnamed {
		setMoment(e, moment)
	}
	return err
}

// newMoment stands for the name of a moment whose create request has none.
const newMoment = "\x00new"

// requestName returns the name of the moment a create request's XML defines, for errors (see
// the libvirt-backed drivers' requestName): conf's parse, else the top-level <name> alone, else
// newMoment.
func requestName(kind conf.Kind, x string, mode conf.ParseMode) string {
	if d, err := conf.Parse([]byte(x), mode); err == nil && d.Kind == kind {
		if d.Name == "" {
			return newMoment
		}
		return d.Name
	}
	var doc struct {
		Name string `xml:"name"`
	}
	if err := xml.Unmarshal([]byte(x), &doc); err == nil && strings.TrimSpace(doc.Name) != "" {
		return strings.TrimSpace(doc.Name)
	}
	return newMoment
}

// The handle side of a change: the definition as a load would read it back, applied as the
// libvirt-backed drivers apply a change to their loaded lists.

// readBack returns a definition as a handle's load reads it: the server's XML, parsed with
// conf's fast path.
func readBack(def *conf.Def) (*conf.Def, error) {
	x, err := format(def, false)
	if err != nil {
		return nil, err
	}
	return conf.ParseFast(def.Kind, []byte(x))
}

// applyCreate applies a created moment. The server made its parent out of its current
// pointer: if the list thought otherwise (someone else moved it), the list's current is first
// put where the server's was.
func applyCreate(def *conf.Def) func(l *momentlist.List) error {
	return func(l *momentlist.List) error {
		cur := ""
		if c := l.Current(); c != nil {
			cur = c.Name()
		}
		if def.Parent != cur {
			p := l.Find(def.Parent)
			if p == nil && def.Parent != "" {
				return fmt.Errorf("created %s %q has parent %q, which the list lacks", def.Kind, def.Name, def.Parent)
			}
			l.SetCurrent(p)
		}
		_, err := l.Create(def)
		return err
	}
}

func applyRedefine(def *conf.Def, opt momentlist.RedefineOption) func(l *momentlist.List) error {
	return func(l *momentlist.List) error {
		_, err := l.Redefine(def, opt)
		return err
	}
}

// CreateSnapshot creates (or redefines) a snapshot from XML with libvirt's flags.
func (d *domain) CreateSnapshot(ctx context.Context, x string, flags driver.SnapshotCreateFlags) (string, error) {
	mode := conf.ParseNew
	if flags&driver.SnapshotCreateRedefine != 0 {
		mode = conf.ParseRedefine
	}
	var name string
	err := d.change(ctx, conf.Snapshot, requestName(conf.Snapshot, x, mode), func(s *Server, v *vm) (func(*momentlist.List) error, error) {
		n, apply, err := s.createSnapshot(v, x, flags)
		name = n
		return apply, err
	})
	return name, err
}

// CreateCheckpoint creates (or redefines) a checkpoint from XML with libvirt's flags.
func (d *domain) CreateCheckpoint(ctx context.Context, x string, flags driver.CheckpointCreateFlags) (string, error) {
	mode := conf.ParseNew
	if flags&driver.CheckpointCreateRedefine != 0 {
		mode = conf.ParseRedefine
	}
	var name string
	err := d.change(ctx, conf.Checkpoint, requestName(conf.Checkpoint, x, mode), func(s *Server, v *vm) (func(*momentlist.List) error, error) {
		n, apply, err := s.createCheckpoint(v, x, flags)
		name = n
		return apply, err
	})
	return name, err
}

// Delete deletes a moment with libvirt's delete flags.
func (d *domain) Delete(ctx context.Context, kind conf.Kind, name string, flags driver.DeleteFlags) error {
	mode := momentlist.DeletePlain
	switch {
	case flags&driver.DeleteChildren != 0:
		mode = momentlist.DeleteChildren
	case flags&driver.DeleteChildrenOnly != 0:
		mode = momentlist.DeleteChildrenOnly
	}
	return d.change(ctx, kind, name, func(s *Server, v *vm) (func(*momentlist.List) error, error) {
		if err := s.delete(v, kind, name, flags, mode); err != nil {
			return nil, err
		}
		return func(l *momentlist.List) error {
			m := l.Find(name)
			if m == nil {
				return fmt.Errorf("deleted %s %q is not in the list", kind, name)
			}
			return l.Delete(m, mode)
		}, nil
	})
}

// Revert reverts the domain to a snapshot, which becomes current.
func (d *domain) Revert(ctx context.Context, name string, flags driver.RevertFlags) error {
	return d.change(ctx, conf.Snapshot, name, func(s *Server, v *vm) (func(*momentlist.List) error, error) {
		if err := s.revert(v, name, flags); err != nil {
			return nil, err
		}
		return func(l *momentlist.List) error {
			m := l.Find(name)
			if m == nil {
				return fmt.Errorf("reverted-to snapshot %q is not in the list", name)
			}
			l.Revert(m)
			return nil
		}, nil
	})
}

// SetCurrent makes a snapshot current without reverting: as `virsh snapshot-current NAME`, it
// redefines the snapshot from its own XML with SnapshotCreateRedefine|SnapshotCreateCurrent.
func (d *domain) SetCurrent(ctx context.Context, name string) error {
	return d.change(ctx, conf.Snapshot, name, func(s *Server, v *vm) (func(*momentlist.List) error, error) {
		m := v.lists[conf.Snapshot].Find(name)
		if m == nil {
			return nil, noMoment(conf.Snapshot, name)
		}
		x, err := format(m.Def(), false)
		if err != nil {
			return nil, err
		}
		_, apply, err := s.createSnapshot(v, x, driver.SnapshotCreateRedefine|driver.SnapshotCreateCurrent)
		return apply, err
	})
}

// The server side: libvirt's checks, in libvirt's order, and its changes to its own lists.

// Bits of libvirt's flags that the driver knows.
const (
	snapshotCreateKnown   = driver.SnapshotCreateValidate<<1 - 1
	checkpointCreateKnown = driver.CheckpointCreateRedefineValidate<<1 - 1
	deleteKnown           = driver.DeleteChildrenOnly<<1 - 1
	revertKnown           = driver.RevertResetNVRAM<<1 - 1
)

// now is the clock of creation times (whole seconds, as libvirt's).
var now = func() time.Time { return time.Now() }

// createSnapshot is virDomainSnapshotCreateXML; s.mu is held.
func (s *Server) createSnapshot(v *vm, x string, flags driver.SnapshotCreateFlags) (string, func(*momentlist.List) error, error) {
	redefine := flags&driver.SnapshotCreateRedefine != 0
	switch { // libvirt's public API
	case flags&driver.SnapshotCreateCurrent != 0 && !redefine:
		return "", nil, errorf(nil, "Flag 'VIR_DOMAIN_SNAPSHOT_CREATE_REDEFINE' is required by flag 'VIR_DOMAIN_SNAPSHOT_CREATE_CURRENT'")
	case redefine && flags&driver.SnapshotCreateNoMetadata != 0:
		return "", nil, errorf(nil, "Flags 'VIR_DOMAIN_SNAPSHOT_CREATE_REDEFINE' and 'VIR_DOMAIN_SNAPSHOT_CREATE_NO_METADATA' are mutually exclusive")
	case redefine && flags&driver.SnapshotCreateHalt != 0:
		return "", nil, errorf(nil, "Flags 'VIR_DOMAIN_SNAPSHOT_CREATE_REDEFINE' and 'VIR_DOMAIN_SNAPSHOT_CREATE_HALT' are mutually exclusive")
	}
	if bad := flags &^ (s.caps.SnapshotCreate & snapshotCreateKnown); bad != 0 {
		return "", nil, unsupported(uint32(bad), "DomainSnapshotCreateXML")
	}
	if !s.caps.MixedKinds && v.lists[conf.Checkpoint].Len() > 0 {
		return "", nil, errorf(nil, "Operation not supported: cannot create snapshot while checkpoint exists")
	}
	mode := conf.ParseNew
	if redefine {
		mode = conf.ParseRedefine
	}
	def, err := conf.ParseSnapshot([]byte(x), mode)
	if err != nil {
		return "", nil, parseError(err)
	}
	def.Active = nil
	if redefine {
		return s.redefineSnapshot(v, def, flags)
	}
	return s.newSnapshot(v, def, flags)
}

// redefineSnapshot is virDomainSnapshotRedefinePrep and the redefine that follows.
func (s *Server) redefineSnapshot(v *vm, def *conf.Def, flags driver.SnapshotCreateFlags) (string, func(*momentlist.List) error, error) {
	l := v.lists[conf.Snapshot]
	if err := checkCycles(l, def); err != nil {
		return "", nil, err
	}
	if flags&driver.SnapshotCreateDiskOnly != 0 && def.State != "disk-snapshot" {
		return "", nil, errorf(nil, "invalid argument: disk-only flag for snapshot %s requires disk-snapshot state", def.Name)
	}
	if u := embeddedUUID(def); u != "" && !strings.EqualFold(u, v.uuid) {
		return "", nil, errorf(nil, "invalid argument: definition for snapshot %s must use uuid %s", def.Name, v.uuid)
	}
	other := l.Find(def.Name)
	if other != nil {
		online := func(state string) bool { return state == "running" || state == "paused" }
		od := other.Def()
		if online(od.State) != online(def.State) {
			return "", nil, errorf(nil, "invalid argument: cannot change between online and offline snapshot state in snapshot %s", def.Name)
		}
		if (od.State == "disk-snapshot") != (def.State == "disk-snapshot") {
			return "", nil, errorf(nil, "invalid argument: cannot change between disk only and full system in snapshot %s", def.Name)
		}
		if !def.HasDomain && od.HasDomain {
			// libvirt keeps the domain of the definition it replaces.
			var err error
			if def, err = withDomain(def, domainOf(od)); err != nil {
				return "", nil, err
			}
		}
	}
	if !def.HasDomain {
		return "", nil, errorf(nil, "internal error: missing domain in snapshot")
	}
	def, err := alignSnapshotDisks(def, embeddedDisks(def), flags&driver.SnapshotCreateDiskOnly != 0)
	if err != nil {
		return "", nil, err
	}
	opt := momentlist.KeepCurrent
	if flags&driver.SnapshotCreateCurrent != 0 {
		opt = momentlist.AsCurrent
	}
	if _, err := l.Redefine(def, opt); err != nil {
		return "", nil, errorf(nil, "%s", err.Error())
	}
	back, err := readBack(def)
	if err != nil {
		return "", nil, err
	}
	return def.Name, applyRedefine(back, opt), nil
}

// newSnapshot creates a snapshot: current under the previous current one, with the domain's
// state and disks.
func (s *Server) newSnapshot(v *vm, req *conf.Def, flags driver.SnapshotCreateFlags) (string, func(*momentlist.List) error, error) {
	l := v.lists[conf.Snapshot]
	t := now()
	name := req.Name
	if name == "" {
		name = strconv.FormatInt(t.Unix(), 10)
	}
	if l.Find(name) != nil {
		return "", nil, errorf(nil, "operation failed: domain moment %s already exists", name)
	}
	diskOnly := flags&driver.SnapshotCreateDiskOnly != 0
	def := &conf.Def{Kind: conf.Snapshot, Name: name, Description: req.Description, Created: time.Unix(t.Unix(), 0).UTC(), HasCreated: true,
		State: stateWord(v.state), Memory: req.Memory, Disks: req.Disks}
	if diskOnly {
		def.State = "disk-snapshot"
	}
	if def.Memory.Mode == "" {
		def.Memory.Mode = "internal"
		if diskOnly || v.id < 0 {
			def.Memory.Mode = "no"
		}
	}
	if c := l.Current(); c != nil {
		def.Parent = c.Name()
	}
	def, err := alignSnapshotDisks(def, v.disks, diskOnly)
	if err != nil {
		return "", nil, err
	}
	if def, err = withDomain(def, v.def); err != nil {
		return "", nil, err
	}
	if flags&driver.SnapshotCreateNoMetadata != 0 {
		return name, nil, nil // libvirt keeps no metadata: the list does not change
	}
	if _, err := l.Create(def); err != nil {
		return "", nil, errorf(nil, "%s", err.Error())
	}
	if flags&driver.SnapshotCreateHalt != 0 {
		v.state, v.id = driver.DomainShutoff, -1
	}
	back, err := readBack(def)
	if err != nil {
		return "", nil, err
	}
	return name, applyCreate(back), nil
}

// createCheckpoint is virDomainCheckpointCreateXML; s.mu is held.
func (s *Server) createCheckpoint(v *vm, x string, flags driver.CheckpointCreateFlags) (string, func(*momentlist.List) error, error) {
	redefine := flags&driver.CheckpointCreateRedefine != 0
	switch { // libvirt's public API
	case flags&driver.CheckpointCreateRedefineValidate != 0 && !redefine:
		return "", nil, errorf(nil, "Flag 'VIR_DOMAIN_CHECKPOINT_CREATE_REDEFINE' is required by flag 'VIR_DOMAIN_CHECKPOINT_CREATE_REDEFINE_VALIDATE'")
	case redefine && flags&driver.CheckpointCreateQuiesce != 0:
		return "", nil, errorf(nil, "Flags 'VIR_DOMAIN_CHECKPOINT_CREATE_REDEFINE' and 'VIR_DOMAIN_CHECKPOINT_CREATE_QUIESCE' are mutually exclusive")
	}
	if bad := flags &^ (s.caps.CheckpointCreate & checkpointCreateKnown); bad != 0 {
		return "", nil, unsupported(uint32(bad), "DomainCheckpointCreateXML")
	}
	if !s.caps.MixedKinds && v.lists[conf.Snapshot].Len() > 0 {
		return "", nil, errorf(nil, "Operation not supported: cannot create checkpoint while snapshot exists")
	}
	if v.id < 0 && (!redefine || !s.caps.InactiveCheckpoints) {
		return "", nil, errorf(nil, "Operation not supported: cannot create checkpoint for inactive domain")
	}
	mode := conf.ParseNew
	if redefine {
		mode = conf.ParseRedefine
	}
	def, err := conf.ParseCheckpoint([]byte(x), mode)
	if err != nil {
		return "", nil, parseError(err)
	}
	l := v.lists[conf.Checkpoint]
	if redefine {
		if err := checkCycles(l, def); err != nil {
			return "", nil, err
		}
		if u := embeddedUUID(def); u != "" && !strings.EqualFold(u, v.uuid) {
			return "", nil, errorf(nil, "invalid argument: definition for checkpoint %s must use uuid %s", def.Name, v.uuid)
		}
		if def.HasDomain {
			if def, err = alignCheckpointDisks(def, embeddedDisks(def)); err != nil {
				return "", nil, err
			}
		}
		if _, err := l.Redefine(def, momentlist.KeepCurrent); err != nil {
			return "", nil, errorf(nil, "%s", err.Error())
		}
		back, err := readBack(def)
		if err != nil {
			return "", nil, err
		}
		return def.Name, applyRedefine(back, momentlist.KeepCurrent), nil
	}
	t := now()
	name := def.Name
	if name == "" {
		name = strconv.FormatInt(t.Unix(), 10)
	}
	if l.Find(name) != nil {
		return "", nil, errorf(nil, "operation failed: domain moment %s already exists", name)
	}
	nd := &conf.Def{Kind: conf.Checkpoint, Name: name, Description: def.Description, Created: time.Unix(t.Unix(), 0).UTC(), HasCreated: true, Disks: def.Disks}
	if c := l.Current(); c != nil {
		nd.Parent = c.Name()
	}
	if nd, err = alignCheckpointDisks(nd, v.disks); err != nil {
		return "", nil, err
	}
	if nd, err = withDomain(nd, v.def); err != nil {
		return "", nil, err
	}
	if _, err := l.Create(nd); err != nil {
		return "", nil, errorf(nil, "%s", err.Error())
	}
	back, err := readBack(nd)
	if err != nil {
		return "", nil, err
	}
	return name, applyCreate(back), nil
}

// delete is virDomainSnapshotDelete / virDomainCheckpointDelete; s.mu is held.
func (s *Server) delete(v *vm, kind conf.Kind, name string, flags driver.DeleteFlags, mode momentlist.DeleteMode) error {
	l := v.lists[kind]
	m := l.Find(name)
	if m == nil {
		return noMoment(kind, name)
	}
	word, have, fn := "SNAPSHOT", s.caps.SnapshotDelete, "DomainSnapshotDelete"
	if kind == conf.Checkpoint {
		word, have, fn = "CHECKPOINT", s.caps.CheckpointDelete, "DomainCheckpointDelete"
	}
	if flags&driver.DeleteChildren != 0 && flags&driver.DeleteChildrenOnly != 0 {
		return errorf(nil, "Flags 'VIR_DOMAIN_%s_DELETE_CHILDREN' and 'VIR_DOMAIN_%s_DELETE_CHILDREN_ONLY' are mutually exclusive", word, word)
	}
	if bad := flags &^ (have & deleteKnown); bad != 0 {
		return unsupported(uint32(bad), fn)
	}
	if kind == conf.Checkpoint && flags&driver.DeleteMetadataOnly == 0 && v.id < 0 {
		return errorf(nil, "Operation not supported: cannot delete checkpoint for inactive domain")
	}
	if err := l.Delete(m, mode); err != nil {
		return errorf(nil, "%s", err.Error())
	}
	return nil
}

// revert is virDomainRevertToSnapshot; s.mu is held. The domain takes the snapshot's
// definition and run state (RevertRunning and RevertPaused override the latter).
func (s *Server) revert(v *vm, name string, flags driver.RevertFlags) error {
	l := v.lists[conf.Snapshot]
	m := l.Find(name)
	if m == nil {
		return noMoment(conf.Snapshot, name)
	}
	if flags&driver.RevertRunning != 0 && flags&driver.RevertPaused != 0 {
		return errorf(nil, "Flags 'VIR_DOMAIN_SNAPSHOT_REVERT_RUNNING' and 'VIR_DOMAIN_SNAPSHOT_REVERT_PAUSED' are mutually exclusive")
	}
	if bad := flags &^ (s.caps.SnapshotRevert & revertKnown); bad != 0 {
		return unsupported(uint32(bad), "DomainRevertToSnapshot")
	}
	def := m.Def()
	if !def.HasDomain && flags&driver.RevertForce == 0 {
		return errorf(nil, "revert requires force: snapshot '%s' lacks domain '%s' rollback info", name, v.name)
	}
	if def.HasDomain {
		if dx := domainOf(def); dx != "" {
			if info, err := parseDomainXML(dx); err == nil {
				v.def, v.disks = dx, info.disks
			}
		}
	}
	state := driver.DomainShutoff
	switch {
	case flags&driver.RevertRunning != 0:
		state = driver.DomainRunning
	case flags&driver.RevertPaused != 0:
		state = driver.DomainPaused
	case def.State == "running":
		state = driver.DomainRunning
	case def.State == "paused":
		state = driver.DomainPaused
	}
	switch {
	case state == driver.DomainShutoff:
		v.id = -1
	case v.id < 0:
		v.id = s.nextID
		s.nextID++
	}
	v.state = state
	l.Revert(m)
	return nil
}

// checkCycles is libvirt's virDomainMomentCheckCycles (as momentlist's redefine runs it),
// checked before the redefinition's other checks, in libvirt's order.
func checkCycles(l *momentlist.List, d *conf.Def) error {
	if d.Parent == "" {
		return nil
	}
	if d.Parent == d.Name {
		return errorf(nil, "invalid argument: cannot set moment %s as its own parent", d.Name)
	}
	other := l.Find(d.Parent)
	if other == nil {
		return errorf(nil, "invalid argument: parent %s for moment %s not found", d.Parent, d.Name)
	}
	for steps := 0; other.Def().Parent != "" && steps <= l.Len(); steps++ {
		if other.Def().Parent == d.Name {
			return errorf(nil, "invalid argument: parent %s would create cycle to %s", other.Name(), d.Name)
		}
		if other = l.Find(other.Def().Parent); other == nil {
			break
		}
	}
	return nil
}

// parseError gives a conf parse error libvirt's prefix for the error code libvirt reports.
func parseError(err error) error {
	prefix := "XML error: "
	var pe *conf.ParseError
	if errors.As(err, &pe) {
		switch {
		case pe.Element == "creationTime":
			prefix = "internal error: "
		case pe.Element == "state" && pe.Value != "":
			prefix = "unsupported configuration: "
		}
	}
	return errorf(nil, "%s%s", prefix, err.Error())
}

// stateWord is a snapshot's <state> for a domain's run state.
func stateWord(s driver.DomainState) string {
	switch s {
	case driver.DomainRunning:
		return "running"
	case driver.DomainBlocked:
		return "blocked"
	case driver.DomainPaused:
		return "paused"
	case driver.DomainShutdown:
		return "shutdown"
	case driver.DomainShutoff:
		return "shutoff"
	case driver.DomainCrashed:
		return "crashed"
	case driver.DomainPMSuspended:
		return "pmsuspended"
	}
	return "nostate"
}

// alignSnapshotDisks is libvirt's virDomainSnapshotAlignDisks: every disk of the domain, in the
// domain's order, those the XML does not name with the default location (external for a
// disk-only or external snapshot, else internal; an external disk without a file gets libvirt's
// name, the disk's file with the snapshot's name for its extension).
func alignSnapshotDisks(def *conf.Def, disks []disk, diskOnly bool) (*conf.Def, error) {
	mode := "internal"
	if diskOnly || def.State == "disk-snapshot" || def.Memory.Mode == "external" {
		mode = "external"
	}
	given := map[string]conf.DiskSpec{}
	for _, d := range def.Disks {
		if !slicesContainsDisk(disks, d.Name) {
			return nil, errorf(nil, "unsupported configuration: no disk named '%s'", d.Name)
		}
		given[d.Name] = d
	}
	out := make([]conf.DiskSpec, 0, len(disks))
	for _, dk := range disks {
		spec, ok := given[dk.target]
		if !ok {
			spec = conf.DiskSpec{Name: dk.target}
		}
		if spec.Mode == "" {
			spec.Mode = mode
		}
		if spec.Mode == "external" && spec.Source == "" && dk.source != "" {
			base := dk.source
			if i := strings.LastIndexByte(base, '.'); i > strings.LastIndexByte(base, '/') {
				base = base[:i]
			}
			spec.Source = base + "." + def.Name
		}
		out = append(out, spec)
	}
	nd := def.Clone()
	nd.Disks = out
	return reparse(nd)
}

// alignCheckpointDisks is libvirt's virDomainCheckpointAlignDisks: every disk of the domain,
// in the domain's order; those the XML does not name get a bitmap, and a bitmap disk without
// a bitmap name the checkpoint's name.
func alignCheckpointDisks(def *conf.Def, disks []disk) (*conf.Def, error) {
	given := map[string]conf.DiskSpec{}
	for _, d := range def.Disks {
		if !slicesContainsDisk(disks, d.Name) {
			return nil, errorf(nil, "unsupported configuration: no disk named '%s'", d.Name)
		}
		given[d.Name] = d
	}
	out := make([]conf.DiskSpec, 0, len(disks))
	for _, dk := range disks {
		spec, ok := given[dk.target]
		if !ok {
			spec = conf.DiskSpec{Name: dk.target}
		}
		if spec.Mode == "" {
			spec.Mode = "bitmap"
		}
		if spec.Mode == "bitmap" && spec.Bitmap == "" {
			spec.Bitmap = def.Name
		}
		out = append(out, spec)
	}
	nd := def.Clone()
	nd.Disks = out
	return reparse(nd)
}

func slicesContainsDisk(disks []disk, target string) bool {
	for _, d := range disks {
		if d.target == target {
			return true
		}
	}
	return false
}

// reparse formats def and parses it back, so that its raw XML says what its fields say.
func reparse(def *conf.Def) (*conf.Def, error) {
	b, err := def.Format()
	if err != nil {
		return nil, errorf(nil, "XML error: %v", err)
	}
	nd, err := conf.Parse(b, conf.ParseRedefine)
	if err != nil {
		return nil, errorf(nil, "XML error: %v", err)
	}
	return nd, nil
}

// withDomain returns def with the domain definition dx embedded (after its disks, as libvirt
// writes it).
func withDomain(def *conf.Def, dx string) (*conf.Def, error) {
	nd := def.Clone()
	nd.HasDomain = false
	b, err := nd.Format()
	if err != nil {
		return nil, errorf(nil, "XML error: %v", err)
	}
	x := string(b)
	end := "</domainsnapshot>"
	if def.Kind == conf.Checkpoint {
		end = "</domaincheckpoint>"
	}
	i := strings.LastIndex(x, end)
	if i < 0 {
		return nil, fmt.Errorf("memory: formatted %s %q has no %s", def.Kind, def.Name, end)
	}
	var dom strings.Builder
	for _, line := range strings.Split(strings.TrimSpace(dx), "\n") {
		dom.WriteString("  ")
		dom.WriteString(line)
		dom.WriteString("\n")
	}
	out, err := conf.Parse([]byte(x[:i]+dom.String()+x[i:]), conf.ParseRedefine)
	if err != nil {
		return nil, errorf(nil, "XML error: %v", err)
	}
	return out, nil
}

// domainOf returns the domain definition a moment embeds, as its XML writes it ("" if none).
func domainOf(def *conf.Def) string {
	if !def.HasDomain {
		return ""
	}
	b, err := def.Format()
	if err != nil {
		return ""
	}
	x := string(b)
	i := strings.Index(x, "<domain ")
	if i < 0 {
		i = strings.Index(x, "<domain>")
	}
	if i < 0 {
		return ""
	}
	j := strings.Index(x[i:], "</domain>")
	if j < 0 {
		return ""
	}
	lines := strings.Split(x[i:i+j+len("</domain>")], "\n")
	for k := 1; k < len(lines); k++ {
		lines[k] = strings.TrimPrefix(lines[k], "  ")
	}
	return strings.Join(lines, "\n")
}

// embeddedUUID returns the UUID of the domain a moment embeds ("" if none).
func embeddedUUID(def *conf.Def) string {
	dx := domainOf(def)
	if dx == "" {
		return ""
	}
	info, err := parseDomainXML(dx)
	if err != nil {
		return ""
	}
	return info.uuid
}

// embeddedDisks returns the disks of the domain a moment embeds.
func embeddedDisks(def *conf.Def) []disk {
	info, err := parseDomainXML(domainOf(def))
	if err != nil {
		return nil
	}
	return info.disks
}
