// Package transfer moves the moment metadata of a libvirt domain — its snapshots and
// checkpoints — between hosts: Export writes it to a directory or a .tar file, Import redefines
// it on a domain with the same UUID, Copy does both between two connections.
//
// libvirt keeps moment metadata per host. It refuses to migrate a domain that has snapshot
// metadata ("cannot migrate domain with N snapshots"), and checkpoint metadata stays behind when
// a guest moves. Putting it back by hand goes wrong in three ways this package avoids:
//
//   - Order. libvirt redefines a moment only when its parent exists ("parent s9 for moment s10 not
//     found"), so name order fails as soon as "backup.10" sorts before "backup.9". The manifest
//     lists moments parents first, and Import derives the order from the parents again rather
//     than trusting the file.
//   - Current. The current snapshot is redefined last, once more, with
//     VIR_DOMAIN_SNAPSHOT_CREATE_CURRENT. libvirt's current checkpoint is internal (no API sets
//     it): redefinitions move it by libvirt's rule (a redefined checkpoint becomes current iff its
//     parent is current or none is), so Import redefines the chain down to the exported current
//     first and, when that is not enough (the current has children, or there was none), moves
//     libvirt's pointer with a temporary, metadata-only checkpoint (see Plan.CheckpointNote).
//   - All or nothing. Every file's SHA-256 and definition is verified, and the redefinitions are
//     simulated on a copy of the destination's lists with libvirt's rules (package momentlist),
//     before the first change. If libvirt then refuses a step, everything the import did is
//     undone, newest first: moments it added are deleted again (metadata only: disks and bitmaps
//     are never touched), replaced ones get their old definition back, and the previous current
//     snapshot and checkpoint are restored. The *StepError names the moment and libvirt's reason.
//
// # The export
//
//	manifest.json          domain name and UUID, libvirt and vmoments versions, the kinds
//	                       exported, the current snapshot, the current checkpoint and its rule,
//	                       and per moment: kind, name, parent, file, SHA-256 — parents first
//	snapshots/NAME.xml     libvirt's XML of each snapshot (virDomainSnapshotGetXMLDesc)
//	checkpoints/NAME.xml   libvirt's XML of each checkpoint, with its <domain>
//
// File names come from moment names (FileName): letters, digits, '_', '-' and inner '.' are
// kept, every other byte becomes %XX, long names are cut and get a hash, so any name — "..",
// "a/b", ".hidden", unicode, 1,000 bytes — stays inside the export and maps back through the
// manifest. Import accepts only file names of that form, and reads directories through os.Root
// and tar files into memory, so a crafted export cannot make it read or write elsewhere.
//
// # Worked example
//
// Move a guest's moments to a new host before `virsh migrate`:
//
//	src, _ := driver.Open(ctx, "qemu:///system", driver.ReadWrite)
//	dst, _ := driver.Open(ctx, "qemu+ssh://new-host/system", driver.ReadWrite)
//	from, _ := src.Domain(ctx, "guest1")
//	to, _ := dst.Domain(ctx, from.UUID()) // defined there with the same UUID
//	res, err := transfer.Copy(ctx, from, to, transfer.CopyOptions{RemoveSource: true})
//	if err != nil {
//		return err // both hosts are complete: the import was rolled back, or the source restored
//	}
//	fmt.Println(res.Import.Redefined, "moments now on new-host; current:", res.Import.CurrentSnapshot)
//
// Or in two steps through a file, with a look at the plan first:
//
//	m, err := transfer.Export(ctx, dom, "/backup/guest1.tar", transfer.ExportOptions{})
//	...
//	src, err := transfer.OpenSource("/backup/guest1.tar")
//	plan, err := transfer.MakePlan(ctx, newDom, src, transfer.ImportOptions{}) // changes nothing
//	res, err := transfer.ImportFrom(ctx, newDom, src, transfer.ImportOptions{})
//
// # Drivers
//
// Everything goes through package driver, so the test driver (test:///...) and QEMU behave
// alike, with two differences libvirt imposes: the test driver's snapshot delete refuses
// METADATA_ONLY (and has no disks to keep), so removals there are plain deletes; and QEMU
// refuses snapshot changes on a domain with checkpoints when it lacks incremental backup (an
// inactive domain), so snapshots are imported before checkpoints.
package transfer
