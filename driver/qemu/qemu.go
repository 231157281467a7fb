// Package qemu serves moments from a live libvirtd running QEMU: qemu:///system,
// qemu:///session and the remote forms qemu+ssh://, qemu+tcp://, qemu+tls://, qemu+unix://
// (and qemu+libssh2://, qemu+ext://), all through libvirt's own client.
//
// Importing the package registers it with [driver.Open] for those schemes.
//
// Reads go through a read-only connection; the first change opens a read-write one. When
// libvirtd restarts in the middle of a load, the load is retried once on a new connection.
//
// # libvirt 9.0 quirks
//
// libvirt 9.0's QEMU driver crashes (libvirtd dies with SIGSEGV in
// virDomainMomentForEachChild, taking every client's connection with it) when a shut-off
// guest's snapshot is deleted with VIR_DOMAIN_SNAPSHOT_DELETE_CHILDREN_ONLY while its subtree
// branches: in w5 -> {w6 -> w7, w8 -> w9 -> w10 -> w11} with w9 current, deleting w5's
// children is enough, and so is r -> a -> {b -> c, d -> e} with the current snapshot outside
// (deleting a's children; libvirt had removed them when it died). The smallest shape found is
// a -> {c, b -> b2} with b made after c, deleting a with children, wherever current is: a
// snapshot the delete walks has a later sibling and children of its own
// (integration/libvirtbugs_test.go shows it on a private daemon). So this driver never passes
// CHILDREN or CHILDREN_ONLY to libvirt (except for the deletes libvirt refuses up front,
// below). [driver.Domain.Delete] with DeleteChildren or DeleteChildrenOnly deletes the descendants one at a time, leaves first (every snapshot after all of its own
// descendants), each with a plain delete that carries DeleteMetadataOnly through if given, and
// then, for DeleteChildren, the snapshot itself. The end state is libvirt's: a plain delete of
// a leaf re-parents nothing, and when the deleted leaf is current, current moves to its parent,
// so a current snapshot inside the subtree walks up to the snapshot whose children go (and
// after DeleteChildren to that snapshot's parent), as libvirt's own delete leaves it.
//
// It costs one call per snapshot instead of one in all. A failure midway stops there: the
// error names the snapshot that failed and says how many before it were deleted (they stay
// deleted), and the loaded list is loaded afresh so that it matches libvirt. Deletes that
// libvirt 9.0 refuses before it changes anything still go to libvirt as one call, so the
// caller gets libvirt's own refusal: an external descendant without DeleteMetadataOnly
// ("deletion of external children disk snapshots not supported"), and DeleteChildren of an
// external snapshot ("deletion of external disk snapshots with children not supported").
// Checkpoint deletes go to libvirt unchanged.
package qemu

import (
	"context"

	"github.com/vmoments/vmoments/driver"
	"github.com/vmoments/vmoments/driver/internal/virt"
)

func init() {
	driver.Register(Open, "qemu", "qemu+ssh", "qemu+tcp", "qemu+tls", "qemu+unix", "qemu+libssh2", "qemu+libssh", "qemu+ext")
	virt.RegisterProbe()
}

// capabilities: libvirt's QEMU driver accepts every flag and keeps snapshots and checkpoints
// side by side (where QEMU refuses a combination, libvirt says so at the call).
var capabilities = driver.Capabilities{
	SnapshotCreate:      ^driver.SnapshotCreateFlags(0),
	SnapshotDelete:      ^driver.DeleteFlags(0),
	SnapshotRevert:      ^driver.RevertFlags(0),
	CheckpointCreate:    ^driver.CheckpointCreateFlags(0),
	CheckpointDelete:    ^driver.DeleteFlags(0),
	MixedKinds:          true,
	InactiveCheckpoints: true,
	DiskImages:          true,
}

// Open opens a QEMU URI.
func Open(ctx context.Context, uri string, mode driver.Mode) (driver.Driver, error) {
	d, err := virt.Open(ctx, uri, mode, virt.Options{DeleteOneByOne: true, Caps: capabilities})
	if err != nil {
		return nil, err
	}
	return d, nil
}
