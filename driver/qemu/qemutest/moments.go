package qemutest

import (
	"encoding/xml"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"

	"libvirt.org/go/libvirt"

	"github.com/vmoments/vmoments/conf"
	"github.com/vmoments/vmoments/driver"
)

// A Disk is one <disk> of a snapshot or checkpoint request: the disk's target and its snapshot
// mode (internal, external, no) or checkpoint mode (bitmap, no).
type Disk struct{ Name, Mode string }

// SnapshotRequest is the <domainsnapshot> that asks for a new snapshot name. Disks, when given,
// should list every disk of the guest: libvirt's default for an unlisted disk is not the same
// in every case, and a test says exactly what it means.
func SnapshotRequest(name string, disks ...Disk) string {
	return request("domainsnapshot", "snapshot", name, disks)
}

// CheckpointRequest is the <domaincheckpoint> that asks for a new checkpoint name. Disks, when
// given, should list every disk: a checkpoint request that names one disk leaves the other out
// (checkpoint='no').
func CheckpointRequest(name string, disks ...Disk) string {
	return request("domaincheckpoint", "checkpoint", name, disks)
}

func request(root, attr, name string, disks []Disk) string {
	var b strings.Builder
	fmt.Fprintf(&b, "<%s><name>%s</name>", root, escape(name))
	if len(disks) > 0 {
		b.WriteString("<disks>")
		for _, d := range disks {
			fmt.Fprintf(&b, "<disk name='%s' %s='%s'/>", escape(d.Name), attr, escape(d.Mode))
		}
		b.WriteString("</disks>")
	}
	fmt.Fprintf(&b, "</%s>", root)
	return b.String()
}

// escape returns s escaped for XML text and attribute values.
func escape(s string) string {
	var b strings.Builder
	xml.EscapeText(&b, []byte(s))
	return b.String()
}

// Snapshot creates the snapshot SnapshotRequest(name, disks...) through libvirt
// (virDomainSnapshotCreateXML with flags) and returns its name.
func (g *Guest) Snapshot(name string, flags driver.SnapshotCreateFlags, disks ...Disk) string {
	g.t.Helper()
	if err := g.TrySnapshot(SnapshotRequest(name, disks...), flags); err != nil {
		g.t.Fatalf("create snapshot %s of %s (flags %#x, disks %v): %v", name, g.Name, uint32(flags), disks, err)
	}
	return name
}

// TrySnapshot asks libvirt for a snapshot from xml with flags and returns libvirt's error, for
// a test that expects a refusal or compares it.
func (g *Guest) TrySnapshot(xml string, flags driver.SnapshotCreateFlags) error {
	s, err := g.dom.CreateSnapshotXML(xml, libvirt.DomainSnapshotCreateFlags(flags))
	if err != nil {
		return err
	}
	return s.Free()
}

// Checkpoint creates the checkpoint CheckpointRequest(name, disks...) of the running guest
// through libvirt and returns its name.
func (g *Guest) Checkpoint(name string, disks ...Disk) string {
	g.t.Helper()
	if err := g.TryCheckpoint(CheckpointRequest(name, disks...), 0); err != nil {
		g.t.Fatalf("create checkpoint %s of %s (disks %v): %v", name, g.Name, disks, err)
	}
	return name
}

// TryCheckpoint asks libvirt for a checkpoint from xml with flags and returns libvirt's error.
func (g *Guest) TryCheckpoint(xml string, flags driver.CheckpointCreateFlags) error {
	c, err := g.dom.CreateCheckpointXML(xml, libvirt.DomainCheckpointCreateFlags(flags))
	if err != nil {
		return err
	}
	return c.Free()
}

// DeleteSnapshot deletes a snapshot through libvirt with libvirt's delete flags. DeleteChildren
// and DeleteChildrenOnly are refused on every connection but a private daemon's (see the
// package doc).
func (g *Guest) DeleteSnapshot(name string, flags driver.DeleteFlags) {
	g.t.Helper()
	if err := g.TryDeleteSnapshot(name, flags); err != nil {
		g.t.Fatal(err)
	}
}

// TryDeleteSnapshot is DeleteSnapshot returning the error instead of failing the test; it may
// be called from any goroutine. A delete with children that the guest's connection must not
// carry is refused before libvirt sees it.
func (g *Guest) TryDeleteSnapshot(name string, flags driver.DeleteFlags) error {
	if flags&(driver.DeleteChildren|driver.DeleteChildrenOnly) != 0 && !g.conn.private {
		return fmt.Errorf("delete snapshot %s of %s (flags %#x) on %s: not sent: libvirt 9.0's libvirtd crashes on "+
			"snapshot deletes with children of a branched subtree (docs/libvirt-bugs.md, B1), so they go only to "+
			"a private daemon (StartDaemon); delete the descendants one by one, leaves first", name, g.Name, uint32(flags), g.URI)
	}
	s, err := g.dom.SnapshotLookupByName(name, 0)
	if err != nil {
		return fmt.Errorf("snapshot %s of %s: %w", name, g.Name, err)
	}
	defer s.Free()
	if err := s.Delete(libvirt.DomainSnapshotDeleteFlags(flags)); err != nil {
		return fmt.Errorf("delete snapshot %s of %s (flags %#x): %w", name, g.Name, uint32(flags), err)
	}
	return nil
}

// DeleteCheckpoint deletes a checkpoint through libvirt with libvirt's delete flags.
func (g *Guest) DeleteCheckpoint(name string, flags driver.DeleteFlags) {
	g.t.Helper()
	c, err := g.dom.CheckpointLookupByName(name, 0)
	if err != nil {
		g.t.Fatalf("checkpoint %s of %s: %v", name, g.Name, err)
	}
	defer c.Free()
	if err := c.Delete(libvirt.DomainCheckpointDeleteFlags(flags)); err != nil {
		g.t.Fatalf("delete checkpoint %s of %s (flags %#x): %v", name, g.Name, uint32(flags), err)
	}
}

// Revert reverts the guest to a snapshot through libvirt; the snapshot becomes current.
func (g *Guest) Revert(name string, flags driver.RevertFlags) {
	g.t.Helper()
	s := g.snapshot(name)
	defer s.Free()
	if err := s.RevertToSnapshot(libvirt.DomainSnapshotRevertFlags(flags)); err != nil {
		g.t.Fatalf("revert %s to snapshot %s (flags %#x): %v", g.Name, name, uint32(flags), err)
	}
}

// snapshot looks a snapshot up by name.
func (g *Guest) snapshot(name string) *libvirt.DomainSnapshot {
	g.t.Helper()
	s, err := g.dom.SnapshotLookupByName(name, 0)
	if err != nil {
		g.t.Fatalf("snapshot %s of %s: %v", name, g.Name, err)
	}
	return s
}

// DumpXML returns a moment's XML as libvirt gives it with its SECURE flag (virsh dumpxml
// --security-info), through the guest's read-write connection.
func (g *Guest) DumpXML(kind conf.Kind, name string) string {
	g.t.Helper()
	var x string
	var err error
	switch kind {
	case conf.Snapshot:
		s := g.snapshot(name)
		defer s.Free()
		x, err = s.GetXMLDesc(libvirt.DOMAIN_SNAPSHOT_XML_SECURE)
	case conf.Checkpoint:
		var c *libvirt.DomainCheckpoint
		if c, err = g.dom.CheckpointLookupByName(name, 0); err == nil {
			defer c.Free()
			x, err = c.GetXMLDesc(libvirt.DOMAIN_CHECKPOINT_XML_SECURE)
		}
	default:
		g.t.Fatalf("dumpxml %q of %s: no moment kind %v", name, g.Name, kind)
	}
	if err != nil {
		g.t.Fatalf("dumpxml %s %q of %s: %v", kind, name, g.Name, err)
	}
	return x
}

// DropMetadata deletes the metadata of every checkpoint and snapshot of the guest, one at a
// time (METADATA_ONLY), leaving disks and bitmaps alone; the guest stays defined.
func (g *Guest) DropMetadata() {
	g.t.Helper()
	if err := dropMetadata(g.dom); err != nil {
		g.t.Fatalf("drop the moment metadata of %s: %v", g.Name, err)
	}
}

// ListSnapshots is libvirt's list of the guest's snapshots in one call
// (virDomainListAllSnapshots, no flags): the names, or libvirt's refusal (past libvirtd's
// limit of 16,384 names per call).
func (g *Guest) ListSnapshots() ([]string, error) {
	snaps, err := g.dom.ListAllSnapshots(0)
	if err != nil {
		return nil, err
	}
	names := make([]string, 0, len(snaps))
	var errs error
	for _, s := range snaps {
		name, err := s.GetName()
		s.Free()
		if err != nil && errs == nil {
			errs = err
		}
		names = append(names, name)
	}
	return names, errs
}

// CurrentSnapshot is libvirt's current snapshot of the guest (virDomainSnapshotCurrent), ""
// for none.
func (g *Guest) CurrentSnapshot() string {
	g.t.Helper()
	cur, err := g.dom.SnapshotCurrent(0)
	if isCode(err, libvirt.ERR_NO_DOMAIN_SNAPSHOT) {
		return ""
	} else if err != nil {
		g.t.Fatalf("current snapshot of %s: %v", g.Name, err)
	}
	defer cur.Free()
	name, err := cur.GetName()
	if err != nil {
		g.t.Fatalf("current snapshot of %s: %v", g.Name, err)
	}
	return name
}

// SnapshotDescendants is libvirt's list of a snapshot's descendants
// (virDomainSnapshotListAllChildren with DESCENDANTS), sorted.
func (g *Guest) SnapshotDescendants(name string) []string {
	g.t.Helper()
	s := g.snapshot(name)
	defer s.Free()
	kids, err := s.ListAllChildren(libvirt.DOMAIN_SNAPSHOT_LIST_DESCENDANTS)
	if err != nil {
		g.t.Fatalf("descendants of snapshot %s of %s: %v", name, g.Name, err)
	}
	names := make([]string, 0, len(kids))
	for _, k := range kids {
		n, err := k.GetName()
		k.Free()
		if err != nil {
			g.t.Fatalf("descendants of snapshot %s of %s: %v", name, g.Name, err)
		}
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// A Tree is a domain's moments of one kind: each name's parent ("" for a root) and the current
// snapshot ("" for none; for checkpoints, whose current libvirt keeps to itself, what the test
// says).
type Tree struct {
	Parent  map[string]string
	Current string
}

// Names returns the moment names, sorted.
func (r Tree) Names() []string { return slices.Sorted(maps.Keys(r.Parent)) }

// Equal says whether both have the same moments, parents and current.
func (r Tree) Equal(o Tree) bool {
	return r.Current == o.Current && maps.Equal(r.Parent, o.Parent)
}

// Diff describes how r (got) differs from want: the first ten differences, small enough to
// read even for trees of thousands.
func (r Tree) Diff(want Tree) string {
	var lines []string
	if r.Current != want.Current {
		lines = append(lines, fmt.Sprintf("current %q, want %q", r.Current, want.Current))
	}
	for _, n := range want.Names() {
		p, ok := r.Parent[n]
		switch {
		case !ok:
			lines = append(lines, fmt.Sprintf("%q missing (parent %q)", n, want.Parent[n]))
		case p != want.Parent[n]:
			lines = append(lines, fmt.Sprintf("%q has parent %q, want %q", n, p, want.Parent[n]))
		}
	}
	for _, n := range r.Names() {
		if _, ok := want.Parent[n]; !ok {
			lines = append(lines, fmt.Sprintf("%q unexpected (parent %q)", n, r.Parent[n]))
		}
	}
	if total := len(lines); total > 10 {
		lines = append(lines[:10], fmt.Sprintf("... %d differences in all", total))
	}
	return fmt.Sprintf("%d moments (want %d): %s", len(r.Parent), len(want.Parent), strings.Join(lines, "; "))
}

// String prints the tree as "name<-parent" pairs in name order, then the current.
func (r Tree) String() string {
	var b strings.Builder
	for _, n := range r.Names() {
		fmt.Fprintf(&b, "%s<-%s ", n, r.Parent[n])
	}
	fmt.Fprintf(&b, "current=%q", r.Current)
	return b.String()
}

// SnapshotTree asks libvirt for every snapshot, its parent (virDomainSnapshotGetParent) and the
// current snapshot. The guest must have fewer snapshots than libvirtd's list limit (16,384).
func (g *Guest) SnapshotTree() Tree {
	g.t.Helper()
	snaps, err := g.dom.ListAllSnapshots(0)
	if err != nil {
		g.t.Fatalf("list snapshots of %s: %v", g.Name, err)
	}
	r := Tree{Parent: make(map[string]string, len(snaps))}
	for _, s := range snaps {
		name, err := s.GetName()
		if err != nil {
			g.t.Fatalf("snapshot name on %s: %v", g.Name, err)
		}
		r.Parent[name] = ""
		if p, err := s.GetParent(0); err == nil {
			r.Parent[name], _ = p.GetName()
			p.Free()
		} else if !isCode(err, libvirt.ERR_NO_DOMAIN_SNAPSHOT) {
			g.t.Fatalf("parent of snapshot %s of %s: %v", name, g.Name, err)
		}
		s.Free()
	}
	r.Current = g.CurrentSnapshot()
	return r
}

// CheckpointTree asks libvirt for every checkpoint and its parent; Current stays "" (libvirt
// does not tell its current checkpoint).
func (g *Guest) CheckpointTree() Tree {
	g.t.Helper()
	cps, err := g.dom.ListAllCheckpoints(0)
	if err != nil {
		g.t.Fatalf("list checkpoints of %s: %v", g.Name, err)
	}
	r := Tree{Parent: make(map[string]string, len(cps))}
	for _, c := range cps {
		name, err := c.GetName()
		if err != nil {
			g.t.Fatalf("checkpoint name on %s: %v", g.Name, err)
		}
		r.Parent[name] = ""
		if p, err := c.GetParent(0); err == nil {
			r.Parent[name], _ = p.GetName()
			p.Free()
		} else if !isCode(err, libvirt.ERR_NO_DOMAIN_CHECKPOINT) {
			g.t.Fatalf("parent of checkpoint %s of %s: %v", name, g.Name, err)
		}
		c.Free()
	}
	return r
}

// WantSnapshots fails the test unless libvirt reports exactly these parents and current: a test
// checks that libvirt did what it asked before it compares vmoments with libvirt.
func (g *Guest) WantSnapshots(parent map[string]string, current string) {
	g.t.Helper()
	if got, want := g.SnapshotTree(), (Tree{Parent: parent, Current: current}); !got.Equal(want) {
		g.t.Fatalf("snapshots of %s as libvirt reports them: %s", g.Name, got.Diff(want))
	}
}

// WantCheckpoints is WantSnapshots for checkpoints (no current: libvirt does not tell it).
func (g *Guest) WantCheckpoints(parent map[string]string) {
	g.t.Helper()
	if got, want := g.CheckpointTree(), (Tree{Parent: parent}); !got.Equal(want) {
		g.t.Fatalf("checkpoints of %s as libvirt reports them: %s", g.Name, got.Diff(want))
	}
}

// A Moment is one moment of a tree for Redefine.
type Moment struct {
	// Name is the moment's name, Parent its parent's ("" for a root), as in XML.
	Name, Parent string
	// XML is the <domainsnapshot> or <domaincheckpoint> libvirt redefines it from.
	XML string
	// Current redefines a snapshot with VIR_DOMAIN_SNAPSHOT_CREATE_CURRENT (snapshots only).
	Current bool
}

// Redefine redefines the moments of kind on the guest through libvirt (REDEFINE, and CURRENT
// where asked) over conns parallel connections of their own: the way tools that migrate a
// domain restore its moments, and the only way to make thousands in seconds. Parents must
// come before their children; each moment waits only for its parent, so independent branches
// go side by side.
func (g *Guest) Redefine(kind conf.Kind, moments []Moment, conns int) {
	g.t.Helper()
	if kind != conf.Snapshot && kind != conf.Checkpoint {
		g.t.Fatalf("redefine on %s: no moment kind %v", g.Name, kind)
	}
	done := make(map[string]chan struct{}, len(moments))
	for i, m := range moments {
		if _, ok := done[m.Parent]; m.Parent != "" && !ok {
			g.t.Fatalf("redefine on %s: moment %d %q comes before its parent %q", g.Name, i, m.Name, m.Parent)
		}
		done[m.Name] = make(chan struct{})
	}
	// Connections first, so a failure to connect leaves no worker behind.
	doms := make([]*libvirt.Domain, 0, conns)
	for range max(1, conns) {
		conn, err := libvirt.NewConnect(g.URI)
		if err == nil {
			var dom *libvirt.Domain
			if dom, err = conn.LookupDomainByUUIDString(g.UUID); err == nil {
				doms = append(doms, dom)
				defer conn.Close()
				defer dom.Free()
				continue
			}
			conn.Close()
		}
		g.t.Fatalf("redefine on %s: a connection to %s for it: %v", g.Name, g.URI, err)
	}
	next := make(chan Moment)
	errs := make(chan error, len(doms))
	var wg sync.WaitGroup
	for _, dom := range doms {
		wg.Go(func() {
			failed := false
			for m := range next {
				// After a failure keep draining (and marking moments done) so that neither the
				// feeder nor a worker waiting for a parent blocks.
				if !failed {
					if m.Parent != "" {
						<-done[m.Parent]
					}
					if err := redefineOne(dom, kind, m); err != nil {
						errs <- fmt.Errorf("redefine %s %q on %s: %w", kind, m.Name, g.Name, err)
						failed = true
					}
				}
				close(done[m.Name])
			}
		})
	}
	for _, m := range moments {
		next <- m
	}
	close(next)
	wg.Wait()
	close(errs)
	failed := false
	for err := range errs {
		g.t.Error(err)
		failed = true
	}
	if failed {
		g.t.FailNow()
	}
}

func redefineOne(dom *libvirt.Domain, kind conf.Kind, m Moment) error {
	if kind == conf.Checkpoint {
		c, err := dom.CreateCheckpointXML(m.XML, libvirt.DOMAIN_CHECKPOINT_CREATE_REDEFINE)
		if err != nil {
			return err
		}
		return c.Free()
	}
	flags := libvirt.DOMAIN_SNAPSHOT_CREATE_REDEFINE
	if m.Current {
		flags |= libvirt.DOMAIN_SNAPSHOT_CREATE_CURRENT
	}
	s, err := dom.CreateSnapshotXML(m.XML, flags)
	if err != nil {
		return err
	}
	return s.Free()
}
