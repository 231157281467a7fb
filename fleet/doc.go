// Package fleet reads the moments of every domain on many libvirt connections at once and sums
// each domain up: what `vmoments report` prints and what `vmoments exporter` turns into
// Prometheus series ([github.com/vmoments/vmoments/exporter]).
//
// # What it reads
//
// A [Fleet] holds one read-only driver per connection URI (opened on the first refresh and kept)
// and one driver handle per domain (kept between refreshes, so a refresh asks libvirt for the
// names again and fetches only moments it has not seen: see [driver.Reader]; where libvirtd's
// metadata files are read, the refresh is exact; elsewhere a moment redefined in place by
// someone else shows at the next whole load, every [Options.ExactEvery]). Domains are
// selected by name with patterns: a glob (path.Match: `web-*`, `db[0-9]`) or a regular
// expression between slashes (`/^web-\d+$/`); no pattern selects every domain.
//
// Hosts are refreshed concurrently, at most [Options.Parallel] at once (8 by default), and the
// domains of one host at most [Options.DomainParallel] at once (4 by default: each domain's
// calls go one after another on the host's one read-only connection, and libvirtd serves at most
// 5 requests of one client at a time, max_client_requests).
//
// # Failures
//
// A host that cannot be read (libvirtd unreachable, refusing, or gone during the refresh) is a
// [Host] with its Err and no domains; it never stops the others. A connection failure is tried
// again for up to [Options.Retry] with a pause doubling from 250 ms to 4 s (the driver itself
// already waits up to 10 s for a daemon that restarts); other failures are not. A domain that
// disappears during the refresh (undefined meanwhile) is left out. A domain whose own reads fail
// otherwise is a [Domain] with its Err and what could be read.
//
// # The summary of a domain
//
// See [Domain]: its state; for snapshots and checkpoints the count, the oldest and the newest
// (by creation time) and the depth of the tree; libvirt's current snapshot; the current
// checkpoint and the rule that made it current (libvirt never tells its current checkpoint:
// the driver derives it with libvirt's rules, [momentlist.CurrentRule]); the external
// snapshots; the disk space the snapshots hold ([Bytes]); and per disk of the domain's current
// definition that a checkpoint can cover, its current checkpoint by libvirt's pointer
// ([momentlist.List.CurrentFor]), its newest checkpoint ([momentlist.List.NewestFor]: the usual
// base of its next incremental backup, and its age says when the disk was last backed up) or
// that no checkpoint covers it.
//
// # Disk space held by snapshots
//
// Three parts, each known or unknown, never guessed ([Bytes]):
//
//   - Overlays: the image files external snapshots created (each external snapshot disk's
//     <source>), as long as they exist. The figure is the host bytes each file occupies, from
//     libvirt's block statistics with backing chains where libvirt lists the file (works
//     remotely; libvirt lists a running domain's whole chain but a shut-off domain's active
//     image only), else from the file itself when the connection is local (qemu:///system,
//     qemu:///session, qemu+unix:///...) and the file is readable. An overlay on a block device
//     or a network disk is unknown: libvirt's figures for those do not say what the overlay uses.
//   - Memory files: the external memory files of snapshots (<memory snapshot='external'
//     file=...>), read locally only.
//   - Internal VM state: the VM state that internal snapshots keep inside the qcow2 images of
//     the domain's disks, as `qemu-img info -U --backing-chain --output=json` reports it
//     (vm-state-size of each image snapshot whose tag is the name of an internal snapshot of
//     the domain), locally only. qcow2 shares clusters between an image and its internal
//     snapshots and does not say which clusters one snapshot alone holds, so the disk clusters
//     an internal snapshot keeps alive are not part of any figure.
//
// Bytes.Total is the sum when all three parts are known. A domain without snapshots holds
// nothing: every part is known and 0.
//
// # Concurrency
//
// A Fleet is safe for concurrent use. Refreshes of different hosts run in parallel (bounded as
// above); a refresh of a host that is already being refreshed waits for the running one to end
// and then runs.
package fleet
