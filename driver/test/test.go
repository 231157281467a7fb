// Package test serves moments from libvirt's test driver, the mock hypervisor that runs inside
// the client process: test:///default (one running domain "test") and test:///ABS/PATH.xml (a
// node file that preloads domains and snapshots; see examples/demo.xml and docs/libvirt.md §5).
//
// Importing the package registers it with [driver.Open] for the "test" scheme.
//
// The test driver keeps its whole state in the connection that opened it: a second connection
// to a node file URI sees a fresh copy of the file, and test:///default's state lives while any
// connection of the process to it is open (libvirt shares it process-wide). So this driver opens
// exactly one connection for its whole life, uses it for reads and changes alike (read-write
// unless opened read-only), and never reconnects. Its limits, reported with libvirt's own message plus a
// sentence that says they are the test driver's:
//   - a domain cannot have snapshots and checkpoints at the same time ("cannot create snapshot
//     while checkpoint exists", and the converse; libvirt's QEMU driver has no such interlock);
//   - snapshot create refuses DISK_ONLY, REUSE_EXT and NO_METADATA, snapshot delete refuses
//     METADATA_ONLY ("unsupported flags (0x10) in function testDomainSnapshotCreateXML");
//   - checkpoints, even redefined ones, need a running domain ("cannot create checkpoint for
//     inactive domain").
package test

import (
	"context"
	"strings"

	"libvirt.org/go/libvirt"

	"github.com/vmoments/vmoments/driver"
	"github.com/vmoments/vmoments/driver/internal/virt"
)

func init() {
	driver.Register(Open, "test")
	virt.RegisterProbe()
}

// capabilities are what libvirt 9.0's test driver accepts (src/test/test_driver.c): snapshot
// create without DISK_ONLY, REUSE_EXT and NO_METADATA; snapshot delete without METADATA_ONLY;
// revert without RESET_NVRAM; checkpoint create without REDEFINE_VALIDATE; never snapshots and
// checkpoints on one domain; checkpoints only on a running domain.
var capabilities = driver.Capabilities{
	SnapshotCreate: driver.SnapshotCreateRedefine | driver.SnapshotCreateCurrent | driver.SnapshotCreateHalt |
		driver.SnapshotCreateQuiesce | driver.SnapshotCreateAtomic | driver.SnapshotCreateLive | driver.SnapshotCreateValidate,
	SnapshotDelete:   driver.DeleteChildren | driver.DeleteChildrenOnly,
	SnapshotRevert:   driver.RevertRunning | driver.RevertPaused | driver.RevertForce,
	CheckpointCreate: driver.CheckpointCreateRedefine | driver.CheckpointCreateQuiesce,
	CheckpointDelete: driver.DeleteChildren | driver.DeleteMetadataOnly | driver.DeleteChildrenOnly,
}

// Open opens a test driver URI (test:///default or test:///ABS/PATH.xml).
func Open(ctx context.Context, uri string, mode driver.Mode) (driver.Driver, error) {
	d, err := virt.Open(ctx, uri, mode, virt.Options{Single: true, Hint: hint, Caps: capabilities})
	if err != nil {
		return nil, err
	}
	return d, nil
}

// hint explains the test driver's own limits; it returns "" for any other error.
func hint(op string, le libvirt.Error) string {
	msg := le.Message
	switch {
	case strings.Contains(msg, "cannot create snapshot while checkpoint exists"),
		strings.Contains(msg, "cannot create checkpoint while snapshot exists"):
		return "This is a limit of libvirt's test driver: a domain cannot have snapshots and checkpoints at the same time (libvirt's QEMU driver has no such limit)"
	case strings.Contains(msg, "cannot create checkpoint for inactive domain"):
		return "This is a limit of libvirt's test driver: it creates and redefines checkpoints only on a running domain"
	case strings.Contains(msg, "unsupported flags") && strings.Contains(msg, "testDomainSnapshotCreateXML"):
		return "This is a limit of libvirt's test driver: its snapshot create refuses the flags DISK_ONLY, REUSE_EXT and NO_METADATA"
	case strings.Contains(msg, "unsupported flags") && strings.Contains(msg, "testDomainSnapshotDelete"):
		return "This is a limit of libvirt's test driver: its snapshot delete refuses METADATA_ONLY"
	case strings.Contains(msg, "unsupported flags") && strings.Contains(msg, "function test"):
		return "This is a limit of libvirt's test driver"
	}
	return ""
}
