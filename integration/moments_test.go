//go:build integration

package integration

import (
	"encoding/xml"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/vmoments/vmoments/momentlist"
	"libvirt.org/go/libvirt"
)

// diskMode is one <disk> of a snapshot or checkpoint request: the disk's target and its
// snapshot mode (internal, external, no) or checkpoint mode (bitmap, no).
type diskMode struct{ Disk, Mode string }

// escape returns s escaped for XML text and attribute values.
func escape(s string) string {
	var b strings.Builder
	xml.EscapeText(&b, []byte(s))
	return b.String()
}

// snapshotRequest is the XML handed to CreateSnapshotXML for a new snapshot. Disks, when given,
// list every disk of the guest: libvirt's default for an unlisted disk is not the same in every
// case, and the tests say exactly what they mean.
func snapshotRequest(name string, disks []diskMode) string {
	var b strings.Builder
	fmt.Fprintf(&b, "<domainsnapshot><name>%s</name>", escape(name))
	writeDisks(&b, "snapshot", disks)
	b.WriteString("</domainsnapshot>")
	return b.String()
}

// checkpointRequest is the XML handed to CreateCheckpointXML for a new checkpoint.
func checkpointRequest(name string, disks []diskMode) string {
	var b strings.Builder
	fmt.Fprintf(&b, "<domaincheckpoint><name>%s</name>", escape(name))
	writeDisks(&b, "checkpoint", disks)
	b.WriteString("</domaincheckpoint>")
	return b.String()
}

func writeDisks(b *strings.Builder, attr string, disks []diskMode) {
	if len(disks) == 0 {
		return
	}
	b.WriteString("<disks>")
	for _, d := range disks {
		fmt.Fprintf(b, "<disk name='%s' %s='%s'/>", escape(d.Disk), attr, d.Mode)
	}
	b.WriteString("</disks>")
}

// Snapshot creates a snapshot through libvirt (not through vmoments) and returns its name.
func (g *guest) Snapshot(name string, flags libvirt.DomainSnapshotCreateFlags, disks ...diskMode) string {
	g.t.Helper()
	s, err := g.Dom.CreateSnapshotXML(snapshotRequest(name, disks), flags)
	if err != nil {
		g.t.Fatalf("create snapshot %s of %s (flags %#x, disks %v): %v", name, g.Name, uint32(flags), disks, err)
	}
	s.Free()
	return name
}

// Checkpoint creates a checkpoint of the running guest through libvirt.
func (g *guest) Checkpoint(name string, disks ...diskMode) string {
	g.t.Helper()
	c, err := g.Dom.CreateCheckpointXML(checkpointRequest(name, disks), 0)
	if err != nil {
		g.t.Fatalf("create checkpoint %s of %s (disks %v): %v", name, g.Name, disks, err)
	}
	c.Free()
	return name
}

// snapshot looks a snapshot up by name.
func (g *guest) snapshot(name string) *libvirt.DomainSnapshot {
	g.t.Helper()
	s, err := g.Dom.SnapshotLookupByName(name, 0)
	if err != nil {
		g.t.Fatalf("snapshot %s of %s: %v", name, g.Name, err)
	}
	return s
}

// checkpoint looks a checkpoint up by name.
func (g *guest) checkpoint(name string) *libvirt.DomainCheckpoint {
	g.t.Helper()
	c, err := g.Dom.CheckpointLookupByName(name, 0)
	if err != nil {
		g.t.Fatalf("checkpoint %s of %s: %v", name, g.Name, err)
	}
	return c
}

// DeleteSnapshot deletes a snapshot with libvirt's delete flags (children, children-only,
// metadata-only).
func (g *guest) DeleteSnapshot(name string, flags libvirt.DomainSnapshotDeleteFlags) {
	g.t.Helper()
	s := g.snapshot(name)
	defer s.Free()
	if err := s.Delete(flags); err != nil {
		g.t.Fatalf("delete snapshot %s of %s (flags %#x): %v", name, g.Name, uint32(flags), err)
	}
}

// DeleteCheckpoint deletes a checkpoint with libvirt's delete flags.
func (g *guest) DeleteCheckpoint(name string, flags libvirt.DomainCheckpointDeleteFlags) {
	g.t.Helper()
	c := g.checkpoint(name)
	defer c.Free()
	if err := c.Delete(flags); err != nil {
		g.t.Fatalf("delete checkpoint %s of %s (flags %#x): %v", name, g.Name, uint32(flags), err)
	}
}

// Revert reverts the guest to a snapshot, which becomes current.
func (g *guest) Revert(name string, flags libvirt.DomainSnapshotRevertFlags) {
	g.t.Helper()
	s := g.snapshot(name)
	defer s.Free()
	if err := s.RevertToSnapshot(flags); err != nil {
		g.t.Fatalf("revert %s to snapshot %s (flags %#x): %v", g.Name, name, uint32(flags), err)
	}
}

// relations is what libvirt itself says about a domain's moments of one kind: each name's
// parent ("" for a root), and the current snapshot ("" for none; always "" for checkpoints, whose
// current libvirt keeps to itself).
type relations struct {
	Parent  map[string]string
	Current string
}

// Names returns the moment names, sorted.
func (r relations) Names() []string {
	names := make([]string, 0, len(r.Parent))
	for n := range r.Parent {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// equal says whether both have the same moments, parents and current.
func (r relations) equal(o relations) bool {
	return r.Current == o.Current && maps.Equal(r.Parent, o.Parent)
}

// diff describes how r (got) differs from want: the first few differences, small enough to
// read even for trees of thousands.
func (r relations) diff(want relations) string {
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
	total := len(lines)
	if total > 10 {
		lines = append(lines[:10], fmt.Sprintf("... %d differences in all", total))
	}
	return fmt.Sprintf("%d moments (want %d): %s", len(r.Parent), len(want.Parent), strings.Join(lines, "; "))
}

// listRelations reads the tree and current of a loaded vmoments list.
func listRelations(l *momentlist.List) relations {
	r := relations{Parent: make(map[string]string, l.Len())}
	for _, m := range l.All() {
		r.Parent[m.Name()] = ""
		if p := m.Parent(); p != nil {
			r.Parent[m.Name()] = p.Name()
		}
	}
	if c := l.Current(); c != nil {
		r.Current = c.Name()
	}
	return r
}

// String prints the relations as "name<-parent" pairs in name order, for failure messages.
func (r relations) String() string {
	var b strings.Builder
	for _, n := range r.Names() {
		fmt.Fprintf(&b, "%s<-%s ", n, r.Parent[n])
	}
	fmt.Fprintf(&b, "current=%q", r.Current)
	return b.String()
}

// SnapshotRelations asks libvirt for every snapshot and its parent (GetParent) and the current
// snapshot. It needs the domain to have fewer snapshots than libvirt's RPC list limit.
func (g *guest) SnapshotRelations() relations {
	g.t.Helper()
	snaps, err := g.Dom.ListAllSnapshots(0)
	if err != nil {
		g.t.Fatalf("list snapshots of %s: %v", g.Name, err)
	}
	r := relations{Parent: map[string]string{}}
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
	if cur, err := g.Dom.SnapshotCurrent(0); err == nil {
		r.Current, _ = cur.GetName()
		cur.Free()
	} else if !isCode(err, libvirt.ERR_NO_DOMAIN_SNAPSHOT) {
		g.t.Fatalf("current snapshot of %s: %v", g.Name, err)
	}
	return r
}

// CheckpointRelations asks libvirt for every checkpoint and its parent.
func (g *guest) CheckpointRelations() relations {
	g.t.Helper()
	cps, err := g.Dom.ListAllCheckpoints(0)
	if err != nil {
		g.t.Fatalf("list checkpoints of %s: %v", g.Name, err)
	}
	r := relations{Parent: map[string]string{}}
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

// WantSnapshots fails the test unless libvirt reports exactly these parents and current:
// the scenarios check that libvirt did what they asked before vmoments is compared to it.
func (g *guest) WantSnapshots(parent map[string]string, current string) {
	g.t.Helper()
	got := g.SnapshotRelations()
	if want := (relations{Parent: parent, Current: current}); !got.equal(want) {
		g.t.Fatalf("snapshots of %s as libvirt reports them: %s", g.Name, got.diff(want))
	}
}

// WantCheckpoints is WantSnapshots for checkpoints (no current: libvirt does not tell it).
func (g *guest) WantCheckpoints(parent map[string]string) {
	g.t.Helper()
	got := g.CheckpointRelations()
	if want := (relations{Parent: parent}); !got.equal(want) {
		g.t.Fatalf("checkpoints of %s as libvirt reports them: %s", g.Name, got.diff(want))
	}
}
