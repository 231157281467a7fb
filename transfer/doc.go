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
//   - Interrupted or killed. A canceled context (Ctrl-C, SIGTERM, SIGHUP in the CLI) stops the
//     import before its next step and rolls it back the same way (errors.Is(err,
//     context.Canceled)). For what no process can catch (SIGKILL, the OOM killer, a power cut)
//     the import keeps a journal (journal.go: DefaultJournalDir, JournalPath), written and
//     fsynced before the first change and appended as each step completes: Rollback undoes what
//     a dead import did, the same import run again finishes it, and any other import into that
//     domain is refused (*UnfinishedError) until one of the two has happened.
//
// The steps of each kind run as one driver batch (driver.Batch): one refresh of the list
// before them instead of one per step, so the cost per moment does not grow with the tree.
//
// # The export
//
//	manifest.json          domain name and UUID, libvirt and vmoments versions, the kinds
//	                       exported, the current snapshot, the current checkpoint and its rule,
//	                       and per moment: kind, name, parent, file, SHA-256 — parents first
//	snapshots/NAME.xml     libvirt's XML of each snapshot (virDomainSnapshotGetXMLDesc)
//	checkpoints/NAME.xml   libvirt's XML of each checkpoint, with its <domain>
//
// An export is a directory, or a .tar or .tar.gz (.tgz) file (read by its content, whatever its
// name; other archive and compression names, .tar.zst among them, are refused); either is
// written beside its path and renamed (linked) into place only when complete and fsynced, so
// that an interrupted export leaves nothing an import accepts.
//
// File names come from moment names (FileName): letters, digits, '_', inner '-' and inner '.' are
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
//	m, err := transfer.Export(ctx, dom, "/backup/guest1.tar.gz", transfer.ExportOptions{})
//	...
//	src, err := transfer.OpenSource("/backup/guest1.tar.gz")
//	plan, err := transfer.MakePlan(ctx, newDom, src, transfer.ImportOptions{}) // changes nothing
//	res, err := transfer.ImportFrom(ctx, newDom, src, transfer.ImportOptions{})
//
// # The journal
//
// The journal of an import: what it changed on the destination, written before each change is
// made and kept until the import has finished or was rolled back, so that an import that was
// killed (SIGKILL, the OOM killer, a power cut) can still be undone (Rollback) or finished (the
// same import again). A signal that can be caught never needs it: the import rolls back itself.
//
// One file per destination URI and domain UUID, in a directory only its owner may read
// (0700; the file 0600: it may hold definitions, and from a --secure export security-sensitive
// parts of the domain): DefaultJournalDir, /var/lib/vmoments for root, else
// $XDG_STATE_HOME/vmoments (default ~/.local/state/vmoments). The file is named
// import-UUID-HASH.journal, HASH the first 16 hex digits of the URI's SHA-256 (JournalPath). It
// lives on the machine vmoments runs on, which for a local URI is the destination.
//
// A text file: the line "vmoments-journal/1", then one record per line,
//
//	CRC32C JSON\n
//
// CRC32C being the 8 lower-case hex digits of the Castagnoli CRC-32 of the JSON bytes, and JSON
// one object (never a raw newline: JSON escapes them) whose "t" says what it records:
//
//   - "begin" (the first record, exactly one): op ("import", or "remove" for copy's removal of
//     the source's metadata), vmoments_version, time, pid, host, uri, domain {name, uuid},
//     export {from, id, created, domain}, secure (the definitions are the SECURE ones), kinds
//     (the kinds the import touches), current_snapshot and current_checkpoint before the first
//     change (libvirt's current snapshot; libvirt's hidden current checkpoint as vmoments
//     tracks it), and steps: every change the import will make, in order, each {k: kind, n:
//     name, p: parent, a: action (redefine, replace, set-current, steer-current, remove), old:
//     for replace and remove the definition before (what undoing it puts back)}. The old
//     definitions are in begin, not in the done record after the change: written after it,
//     they would come too late for a process that died in between.
//   - "done" {i}: step i of the latest begin or resume record is complete.
//   - "resume": the same import run again to finish it: pid, time, current_checkpoint (where
//     libvirt's pointer is now) and the steps still to do, as in begin (done counts from 0 again).
//   - "tmp" {op: put|del|failed, name, parent}: before each change of the temporary checkpoint
//     that moves libvirt's current-checkpoint pointer (steer.go): put redefines it with parent,
//     del deletes it, failed says the change before it did not happen.
//   - "rollback": a rollback begins: pid, time, current_checkpoint, and ops: every undo step in
//     order ({k, n, p, a: delete, restore, redefine, current-checkpoint, current-snapshot,
//     old: for restore and redefine, the definition to put back}).
//   - "undone" {i}: undo step i of the latest rollback record is complete.
//
// begin is written to a temporary file, fsynced, and linked into place before the first change
// (so it appears whole or not at all); resume, rollback and tmp records are fsynced before the
// change that follows them; done and undone records are written (write(2): they survive a
// SIGKILL, the kernel has them) before the next step starts and fsynced by a background
// goroutine while it runs (at most every 50 ms). After a power cut the last few done records
// may therefore be missing: whoever reads the journal checks the steps after the last one
// recorded against the domain (a redefined moment is there, a removed one is gone, a replaced
// one has its new definition) and so knows what happened without trusting that they are there. A finished or
// rolled-back import removes the file (and fsyncs the directory).
//
// Reading: a last line that is cut short or whose checksum is wrong (killed while writing it)
// is ignored: the journal is read up to its last whole record. Any other damage (a bad record
// followed by good ones, an unknown record type, no begin record), another format version, or
// a journal of another domain UUID or URI is refused with an error that says which, and
// nothing is done with it.
//
// # Drivers
//
// Everything goes through package driver, so the test driver (test:///...) and QEMU behave
// alike, with two differences libvirt imposes: the test driver's snapshot delete refuses
// METADATA_ONLY (and has no disks to keep), so removals there are plain deletes; and QEMU
// refuses snapshot changes on a domain with checkpoints when it lacks incremental backup (an
// inactive domain), so snapshots are imported before checkpoints.
package transfer
