package policy

import (
	"fmt"

	"github.com/vmoments/vmoments/conf"
	"github.com/vmoments/vmoments/momentlist"
)

// Deletion is how a plan's deletes will be made: plain deletes (libvirt re-links the children
// of a deleted moment to its parent), with or without METADATA_ONLY, one moment at a time. What
// libvirt refuses depends on it. The zero Deletion is a QEMU domain that is not running, deleted
// with its disk data.
//
// The refusals the plan foresees are libvirt 9.0's, in its words (docs/libvirt.md §2.7 and
// §3.4, docs/libvirt-bugs.md B8, B11), each checked on the tree as it will be at the step of
// the delete:
//
//   - A checkpoint of a domain that is not running, without MetadataOnly: "cannot delete
//     checkpoint for inactive domain" (qemuCheckpointDelete: QEMU removes bitmaps only from a
//     running domain's images).
//   - An external snapshot without MetadataOnly, when for one of its external disks the
//     nearest snapshot above it that lists that disk (with a mode other than "no") is an
//     internal one: "deleting external snapshot that has internal snapshot as parent not
//     supported" (qemuSnapshotDeleteExternalPrepareData, which looks for the parent of each disk
//     as qemuSnapshotFindParentSnapForDisk does; observed with a partial external snapshot whose
//     own parent is external but does not list the disk).
//   - An internal snapshot of a running domain without MetadataOnly, when a disk's image in the
//     snapshot's embedded <domain> is not the image the domain uses now (after an external
//     snapshot moved the disk to an overlay): "disk image 'vda' for internal snapshot 's1' is
//     not the same as disk image currently used by VM" (qemuSnapshotDeleteValidate). Judged
//     only when Sources says which images the domain uses.
//   - On libvirt's test driver, a snapshot delete with MetadataOnly: "unsupported flags (0x2) in
//     function testDomainSnapshotDelete". The test driver keeps no disk data, so none of the
//     rules above applies to it.
//
// libvirt refuses other deletes that no metadata can foretell, such as a checkpoint whose
// bitmap is missing from the images ("bitmap 'c3' not found in backing chain of 'vda'"); a
// prune meets those when it tries, and stops there.
type Deletion struct {
	// MetadataOnly: the deletes carry METADATA_ONLY (libvirt forgets the moments, leaves disks
	// and bitmaps alone).
	MetadataOnly bool
	// Active: the domain has a QEMU process (running, paused, in shutdown, suspended to memory).
	Active bool
	// Sources are the images the domain's disks use now, by target (the active image of each
	// disk's chain: "vda" -> "/var/lib/libvirt/images/guest/vda.qcow2"); nil when not known.
	Sources map[string]string
	// Embedded are, by snapshot name, the images each disk used when the snapshot was taken
	// (the disks of the snapshot's embedded <domain>), for snapshots whose definitions keep no
	// XML (read from libvirtd's metadata files, which never hand out the embedded domain): the
	// caller asks libvirt for them (EmbeddedSources). A snapshot missing here is judged from
	// its definition's own XML.
	Embedded map[string]map[string]string
	// NoDiskWork: the driver keeps metadata only and does no disk work on a delete (libvirt's
	// test driver, driver/memory: driver.Capabilities.DiskImages false), so none of QEMU's
	// refusals below apply.
	NoDiskWork bool
}

// refusal returns libvirt's message if it would refuse to delete m from l now, else "".
func (how Deletion) refusal(l *momentlist.List, m *momentlist.Moment) string {
	d := m.Def()
	if how.NoDiskWork || how.MetadataOnly {
		return ""
	}
	if l.Kind() == conf.Checkpoint {
		if !how.Active {
			return "cannot delete checkpoint for inactive domain"
		}
		return ""
	}
	if d.IsExternal() {
		for _, disk := range d.Disks {
			if disk.Mode != "external" {
				continue
			}
			if p := parentForDisk(m, disk.Name); p != nil && !p.Def().IsExternal() {
				return "deleting external snapshot that has internal snapshot as parent not supported"
			}
		}
		return ""
	}
	if how.Active && how.Sources != nil {
		if disk := movedDisk(d, how.Sources, how.Embedded[m.Name()]); disk != "" {
			return fmt.Sprintf("disk image '%s' for internal snapshot '%s' is not the same as disk image currently used by VM", disk, m.Name())
		}
	}
	return ""
}

// parentForDisk is the nearest snapshot above m whose <disks> list disk with a mode other than
// "no" (libvirt's qemuSnapshotFindParentSnapForDisk), nil when none does.
func parentForDisk(m *momentlist.Moment, disk string) *momentlist.Moment {
	for p := m.Parent(); p != nil; p = p.Parent() {
		for _, pd := range p.Def().Disks {
			if pd.Name == disk && pd.Mode != "no" {
				return p
			}
		}
	}
	return nil
}

// movedDisk returns the first disk of the snapshot whose image in the snapshot's embedded
// <domain> is not the one sources gives, "" when every disk it can compare is the same. Disks
// the embedded domain or sources do not name are not compared (libvirt's own check would fail
// otherwise, for reasons the plan cannot word).
func movedDisk(d *conf.Def, sources, then map[string]string) string {
	if then == nil {
		then = EmbeddedSources(d)
	}
	for _, disk := range d.Disks {
		was, ok1 := then[disk.Name]
		now, ok2 := sources[disk.Name]
		if ok1 && ok2 && was != now {
			return disk.Name
		}
	}
	return ""
}

// simulate follows the deletes of doomed on a copy of list, leaves first, and returns the
// names in the order they can be deleted and, for the moments libvirt would refuse at every
// try, libvirt's message. A refused moment is tried again after each pass that deleted
// something, as its refusal may depend on moments deleted after it.
func (how Deletion) simulate(list *momentlist.List, doomed []*momentlist.Moment) ([]string, map[*momentlist.Moment]string) {
	if len(doomed) == 0 {
		return nil, nil
	}
	set := make(map[*momentlist.Moment]bool, len(doomed))
	for _, m := range doomed {
		set[m] = true
	}
	var pending []*momentlist.Moment
	for _, m := range postOrder(list) {
		if set[m] {
			pending = append(pending, m)
		}
	}
	sim := list.Clone()
	var order []string
	refused := map[*momentlist.Moment]string{}
	for len(pending) > 0 {
		var again []*momentlist.Moment
		for _, m := range pending {
			sm := sim.Find(m.Name())
			if why := how.refusal(sim, sm); why != "" {
				refused[m] = why
				again = append(again, m)
				continue
			}
			if err := sim.Delete(sm, momentlist.DeletePlain); err != nil {
				panic("policy: the copy of the list refused a delete: " + err.Error())
			}
			delete(refused, m)
			order = append(order, m.Name())
		}
		if len(again) == len(pending) {
			break
		}
		pending = again
	}
	return order, refused
}

// postOrder returns every moment of list with each one after all of its descendants: the roots
// in child-list order, each subtree in post-order.
func postOrder(list *momentlist.List) []*momentlist.Moment {
	out := make([]*momentlist.Moment, 0, list.Len())
	type frame struct {
		m    *momentlist.Moment
		kids []*momentlist.Moment
	}
	var stack []frame // an explicit stack: a chain of thousands of moments is a deep tree
	for _, root := range list.All() {
		if root.Parent() != nil {
			continue
		}
		stack = append(stack[:0], frame{root, root.Children()})
		for len(stack) > 0 {
			top := &stack[len(stack)-1]
			if len(top.kids) == 0 {
				out = append(out, top.m)
				stack = stack[:len(stack)-1]
				continue
			}
			c := top.kids[0]
			top.kids = top.kids[1:]
			stack = append(stack, frame{c, c.Children()})
		}
	}
	return out
}

// EmbeddedSources returns the images of the file and block disks of a snapshot's embedded
// <domain>, by target, from the definition's XML; nil when it keeps none (a definition read from
// libvirtd's metadata files: parse the XML libvirt's API gives for it instead).
func EmbeddedSources(d *conf.Def) map[string]string {
	full, err := d.FullSnapshot()
	if err != nil || full.Domain == nil || full.Domain.Devices == nil {
		return nil
	}
	then := map[string]string{}
	for _, dd := range full.Domain.Devices.Disks {
		if dd.Target == nil || dd.Source == nil {
			continue
		}
		switch {
		case dd.Source.File != nil:
			then[dd.Target.Dev] = dd.Source.File.File
		case dd.Source.Block != nil:
			then[dd.Target.Dev] = dd.Source.Block.Dev
		}
	}
	return then
}
