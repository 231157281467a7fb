// Package qemu serves moments from a live libvirtd running QEMU: qemu:///system,
// qemu:///session and the remote forms qemu+ssh://, qemu+tcp://, qemu+tls://, qemu+unix://
// (and qemu+libssh2://, qemu+ext://), all through libvirt's own client.
//
// Importing the package registers it with [driver.Open] for those schemes.
//
// Reads go through a read-only connection; the first change opens a read-write one. When
// libvirtd restarts in the middle of a load, the load is retried once on a new connection.
//
// # libvirtd's metadata files
//
// On qemu:///system and qemu:///session, where the process can read them, the definitions are
// read from the files libvirtd keeps every moment in, instead of one GetXMLDesc call per moment:
//
//	qemu:///system   /var/lib/libvirt/qemu/snapshot/DOMAIN/NAME.xml, .../checkpoint/DOMAIN/NAME.xml
//	qemu:///session  $XDG_CONFIG_HOME/libvirt/qemu/snapshot/DOMAIN/NAME.xml (~/.config/...), .../checkpoint/...
//
// Every load and refresh is checked through libvirt's API (the names, the current snapshot,
// and a sample of definitions where the files changed), and a refresh re-reads exactly the files
// whose identity changed: the package doc of driver, "Loading and refreshing", says what is
// guaranteed and when the API is used instead. [SourceOf] tells a program which source a
// domain's list came from and why; VMOMENTS_DEBUG=local prints the same to standard error as it
// happens; [driver.NoLocalFiles] or VMOMENTS_LOCAL=off turn the files off. The files are read
// only (never written, locked or renamed), only for libvirtd 9.0.0, whose format vmoments was
// tested with, and never shown: they hold what the API hides, so dumps, exports and
// [driver.Reader.XML] come from the API.
//
// The files are what libvirtd wrote; libvirtd reads them only when it starts. A file edited by
// hand (libvirtd ignores the edit until it restarts, and its API keeps the old definition) is
// caught when it is the newest file of a load or of a refresh that finds changes, which the
// sample check compares with the API; an edit the sample misses is served until the file
// changes again or the names disagree. File times come from a coarse clock: a file or a
// directory younger than two seconds at a scan is looked at again on the next one.
//
// Other URIs, including qemu+unix:// and qemu:///system?socket=... (the daemon behind a socket
// need not be the one whose files this host has), always use the API.
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
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/vmoments/vmoments/conf"
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
	d, err := virt.Open(ctx, uri, mode, virt.Options{DeleteOneByOne: true, Caps: capabilities,
		LocalDirs: localDirs, LocalVersions: testedVersions})
	if err != nil {
		return nil, err
	}
	return d, nil
}

// testedVersions are the libvirtd versions whose metadata files vmoments was tested with:
// the QEMU driver reads the files of no other (libvirt's numbers: 9.0.0 = 9,000,000).
var testedVersions = []uint32{9_000_000}

// localDirs returns libvirtd's snapshot and checkpoint metadata directories for a local URI
// (qemu_conf.c, virQEMUDriverConfigNew: LOCALSTATEDIR/lib/libvirt/qemu/{snapshot,checkpoint}
// for the privileged daemon, virGetUserConfigDirectory()/qemu/{snapshot,checkpoint} for a
// session daemon), or why the URI has none.
func localDirs(uri string) (snapshots, checkpoints, why string) {
	u, err := url.Parse(uri)
	if err != nil {
		return "", "", fmt.Sprintf("the URI %q does not parse: %v", uri, err)
	}
	switch {
	case strings.EqualFold(u.Scheme, "qemu+unix"):
		return "", "", fmt.Sprintf("%s reaches a daemon by its socket, which need not be the daemon whose files this host keeps for %s", uri, "qemu://"+u.Path)
	case !strings.EqualFold(u.Scheme, "qemu") || u.Host != "" || u.User != nil:
		return "", "", fmt.Sprintf("%s is a remote URI: libvirtd's metadata files are on the daemon's host", uri)
	case u.RawQuery != "" || u.Fragment != "":
		return "", "", fmt.Sprintf("%s has parameters: the daemon it reaches need not be the one whose files this host keeps", uri)
	}
	switch u.Path {
	case "/system":
		return "/var/lib/libvirt/qemu/snapshot", "/var/lib/libvirt/qemu/checkpoint", ""
	case "/session":
		base, err := os.UserConfigDir()
		if err != nil {
			return "", "", fmt.Sprintf("the session daemon's configuration directory is unknown: %v", err)
		}
		base = filepath.Join(base, "libvirt", "qemu")
		return filepath.Join(base, "snapshot"), filepath.Join(base, "checkpoint"), ""
	}
	return "", "", fmt.Sprintf("%s is neither qemu:///system nor qemu:///session", uri)
}

// Source says where a QEMU domain handle read its moments of one kind at its last load or
// refresh.
type Source struct {
	// Files says the definitions came from libvirtd's metadata files, verified through the API;
	// false means through libvirt's API, one XML call per moment.
	Files bool
	// Dir is the metadata directory read or tried ("" for a URI that has none).
	Dir string
	// Fallback says why the API was used instead of the files ("" when Files): the URI is not
	// local, the files cannot be read, they disagree with the API, ...
	Fallback string
	// FilesRead is the number of files the last load or refresh read, APIFetches the number of
	// XML documents it fetched through the API (a refresh that finds nothing changed reads and
	// fetches none on qemu:///system as root).
	FilesRead, APIFetches int
}

// SourceOf returns the Source of the moments of kind of a domain handle of this module's
// libvirt drivers (for libvirt's test driver: always the API, no directory, no fallback); ok is
// false when r is not one, or has not loaded kind yet.
func SourceOf(r driver.Reader, kind conf.Kind) (s Source, ok bool) {
	d, ok := r.(*virt.Domain)
	if !ok {
		return Source{}, false
	}
	info := d.LoadInfo(kind)
	if !info.Loaded {
		return Source{}, false
	}
	return Source{Files: info.Files, Dir: info.Dir, Fallback: info.Reason, FilesRead: info.FilesRead, APIFetches: info.Fetched}, true
}
