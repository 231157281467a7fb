package main

import (
	"context"

	"github.com/vmoments/vmoments/cmd/vmoments/internal/vsh"
)

// This file is the command table: every command vmoments has, with its options, help texts and
// the function that runs it (each in the file named after the command). Adding a command is one
// entry here and one file; the parser (internal/vsh) and the dispatcher (app.go) need nothing
// more. Options are in virsh's order, which decides what a positional word fills and the order
// of the help; vmoments' own options come after virsh's and are marked Extension.

// command is one entry of the table: virsh's definition and the function that runs it.
type command struct {
	vsh.Cmd
	// run runs the parsed command with the run's context, which SIGINT, SIGTERM and SIGHUP cancel
	// (signal.go): a command that sees ctx canceled stops and returns an error. An error is
	// printed once, by the dispatcher ("error: MESSAGE"); a command prints only its output.
	run func(ctx context.Context, a *app, c *vsh.Parsed) error
}

// domainOpt is virsh's VIRSH_COMMON_OPT_DOMAIN_FULL.
var domainOpt = vsh.Opt{Name: "domain", Kind: vsh.Data, Help: "domain name, id or uuid"}

// listExtensions are the vmoments options of both list commands, after virsh's own.
func listExtensions(kind string) []vsh.Opt {
	return []vsh.Opt{
		{Name: "only-current", Kind: vsh.Bool, Extension: true,
			Help: "keep only the current " + kind + " (with --per-disk: the current " + kind + " of each disk)"},
		{Name: "no-current", Kind: vsh.Bool, Extension: true,
			Help: "drop the current " + kind + " (with --per-disk: every disk's current " + kind + ")"},
		{Name: "per-disk", Kind: vsh.Bool, Extension: true,
			Help: "--only-current/--no-current act on the per-disk current set; --forest and --dot mark it"},
		{Name: "json", Kind: vsh.Bool, Extension: true, Help: "print a JSON array of the listed " + kind + "s (see JSON.md)"},
		{Name: "dot", Kind: vsh.Bool, Extension: true, Help: "print a Graphviz digraph of the listed " + kind + "s, current highlighted"},
		{Name: "forest", Kind: vsh.Bool, Extension: true,
			Help: "like --tree, with every filter: each listed " + kind + " under its nearest listed ancestor, current marked"},
	}
}

// kindOpts choose the kinds export and copy move.
var kindOpts = []vsh.Opt{
	{Name: "snapshots", Kind: vsh.Bool, Help: "only the snapshots"},
	{Name: "checkpoints", Kind: vsh.Bool, Help: "only the checkpoints"},
}

// opts joins option lists.
func opts(lists ...[]vsh.Opt) []vsh.Opt {
	var out []vsh.Opt
	for _, l := range lists {
		out = append(out, l...)
	}
	return out
}

// commands returns the command table, in the order usage lists it.
func commands() []*command {
	return []*command{
		{Cmd: vsh.Cmd{
			Name: "snapshot-list", Summary: "List snapshots for a domain",
			Desc: "Lists a domain's snapshots exactly as virsh 9.0 does (same options, same output, same errors).\n" +
				"    --from X and --current list the children of X (with --descendants: everything below X);\n" +
				"    X itself is not listed, except as the root of --tree. Filters of one group OR together\n" +
				"    (--active --inactive), groups AND together. Names sort case-insensitively unless --topological.\n" +
				"    The current snapshot is the one libvirt reports; a disk's current snapshot is the nearest one\n" +
				"    at or above it that captured the disk (--per-disk).",
			Opts: opts([]vsh.Opt{domainOpt,
				{Name: "parent", Kind: vsh.Bool, Help: "add a column showing parent snapshot"},
				{Name: "roots", Kind: vsh.Bool, Help: "list only snapshots without parents"},
				{Name: "leaves", Kind: vsh.Bool, Help: "list only snapshots without children"},
				{Name: "no-leaves", Kind: vsh.Bool, Help: "list only snapshots that are not leaves (with children)"},
				{Name: "metadata", Kind: vsh.Bool, Help: "list only snapshots that have metadata that would prevent undefine"},
				{Name: "no-metadata", Kind: vsh.Bool, Help: "list only snapshots that have no metadata managed by libvirt"},
				{Name: "inactive", Kind: vsh.Bool, Help: "filter by snapshots taken while inactive"},
				{Name: "active", Kind: vsh.Bool, Help: "filter by snapshots taken while active (full system snapshots)"},
				{Name: "disk-only", Kind: vsh.Bool, Help: "filter by disk-only snapshots"},
				{Name: "internal", Kind: vsh.Bool, Help: "filter by internal snapshots"},
				{Name: "external", Kind: vsh.Bool, Help: "filter by external snapshots"},
				{Name: "tree", Kind: vsh.Bool, Help: "list snapshots in a tree"},
				{Name: "from", Kind: vsh.String, Help: "limit list to children of given snapshot"},
				{Name: "current", Kind: vsh.Bool, Help: "limit list to children of current snapshot"},
				{Name: "descendants", Kind: vsh.Bool, Help: "with --from, list all descendants"},
				{Name: "name", Kind: vsh.Bool, Help: "list snapshot names only"},
				{Name: "topological", Kind: vsh.Bool, Help: "sort list topologically rather than by name"},
			}, listExtensions("snapshot")),
			Examples: []vsh.Example{
				{Line: "vmoments -c test:///default snapshot-list test", What: "the table virsh prints: name, creation time, state"},
				{Line: "vmoments snapshot-list guest --tree", What: "the snapshot tree, drawn as virsh draws it"},
				{Line: "vmoments snapshot-list guest --from base --descendants --leaves", What: "the leaves below snapshot 'base'"},
				{Line: "vmoments snapshot-list guest --only-current --name", What: "the name of the current snapshot, or nothing"},
				{Line: "vmoments snapshot-list guest --only-current --per-disk", What: "for each disk, the snapshot it was last captured in on the way up from current"},
				{Line: "vmoments snapshot-list guest --no-current --external --forest", What: "external snapshots other than the current one, as a tree"},
				{Line: "vmoments snapshot-list guest --json | jq '.[] | select(.current)'", What: "machine-readable output (JSON.md)"},
				{Line: "vmoments snapshot-list guest --dot | dot -Tsvg > tree.svg", What: "a picture of the tree"},
			},
		}, run: runSnapshotList},

		{Cmd: vsh.Cmd{
			Name: "checkpoint-list", Summary: "List checkpoints for a domain",
			Desc: "Lists a domain's checkpoints exactly as virsh 9.0 does. --from X lists X's children (with\n" +
				"    --descendants: everything below X). The current checkpoint is the one libvirt tracks internally\n" +
				"    (see checkpoint-current); a disk's current checkpoint, where its next incremental backup\n" +
				"    starts, is the nearest one at or above it with a bitmap for that disk (--per-disk).",
			Opts: opts([]vsh.Opt{domainOpt,
				{Name: "parent", Kind: vsh.Bool, Help: "add a column showing parent checkpoint"},
				{Name: "roots", Kind: vsh.Bool, Help: "list only checkpoints without parents"},
				{Name: "leaves", Kind: vsh.Bool, Help: "list only checkpoints without children"},
				{Name: "no-leaves", Kind: vsh.Bool, Help: "list only checkpoints that are not leaves (with children)"},
				{Name: "tree", Kind: vsh.Bool, Help: "list checkpoints in a tree"},
				{Name: "from", Kind: vsh.String, Help: "limit list to children of given checkpoint"},
				{Name: "descendants", Kind: vsh.Bool, Help: "with --from, list all descendants"},
				{Name: "name", Kind: vsh.Bool, Help: "list checkpoint names only"},
				{Name: "topological", Kind: vsh.Bool, Help: "sort list topologically rather than by name"},
			}, listExtensions("checkpoint")),
			Examples: []vsh.Example{
				{Line: "vmoments checkpoint-list guest --parent", What: "the table virsh prints, with a parent column"},
				{Line: "vmoments checkpoint-list guest --tree", What: "the checkpoint tree"},
				{Line: "vmoments checkpoint-list guest --only-current --per-disk --name", What: "the checkpoints incremental backups of the disks start from"},
				{Line: "vmoments checkpoint-list guest --json", What: "machine-readable output (JSON.md)"},
			},
		}, run: runCheckpointList},

		{Cmd: vsh.Cmd{
			Name: "snapshot-current", Summary: "Get the current snapshot",
			Desc: "Show the current snapshot (vmoments never sets it: use virsh snapshot-current DOMAIN NAME)",
			Opts: []vsh.Opt{domainOpt,
				{Name: "name", Kind: vsh.Bool, Help: "list the name, rather than the full xml"},
				{Name: "security-info", Kind: vsh.Bool, Help: "include security sensitive information in XML dump"},
				{Name: "snapshotname", Kind: vsh.String, Help: "name of existing snapshot to make current (refused: vmoments reads only)"},
				{Name: "per-disk", Kind: vsh.Bool, Extension: true, Help: "show the current snapshot of each disk instead"},
				{Name: "json", Kind: vsh.Bool, Extension: true, Help: "print the current snapshot (with --per-disk: the current set) as JSON"},
			},
			Examples: []vsh.Example{
				{Line: "vmoments snapshot-current guest --name", What: "the current snapshot's name"},
				{Line: "vmoments snapshot-current guest --per-disk", What: "each disk and the snapshot that last captured it"},
			},
		}, run: runSnapshotCurrent},

		{Cmd: vsh.Cmd{
			Name: "checkpoint-current", Summary: "Get the current checkpoint and why it is current",
			Desc: "libvirt tracks a current checkpoint internally but never shows it. vmoments follows\n" +
				"    libvirt's rules: a created checkpoint becomes current; a redefined one when its parent is\n" +
				"    current or there is none; after a (re)load, the leaf of a single unbranched chain, else none.",
			Opts: []vsh.Opt{domainOpt,
				{Name: "name", Kind: vsh.Bool, Help: "print only the name"},
				{Name: "per-disk", Kind: vsh.Bool, Extension: true, Help: "for each disk, the checkpoint its next incremental backup starts from"},
				{Name: "json", Kind: vsh.Bool, Extension: true, Help: "print JSON (JSON.md)"},
			},
			Examples: []vsh.Example{
				{Line: "vmoments checkpoint-current guest", What: "the current checkpoint and the rule that chose it"},
				{Line: "vmoments checkpoint-current guest --per-disk", What: "per disk: the checkpoint (and bitmap) to start an incremental backup from"},
			},
		}, run: runCheckpointCurrent},

		{Cmd: vsh.Cmd{
			Name: "snapshot-info", Summary: "snapshot information", Desc: "Returns basic information about a snapshot.",
			Opts: []vsh.Opt{domainOpt,
				{Name: "snapshotname", Kind: vsh.String, Help: "snapshot name"},
				{Name: "current", Kind: vsh.Bool, Help: "info on current snapshot"},
				{Name: "json", Kind: vsh.Bool, Extension: true, Help: "print JSON (JSON.md)"},
			},
			Examples: []vsh.Example{
				{Line: "vmoments snapshot-info guest base", What: "name, state, location, parent, children of 'base'"},
				{Line: "vmoments snapshot-info guest --current", What: "the same for the current snapshot"},
			},
		}, run: runSnapshotInfo},

		{Cmd: vsh.Cmd{
			Name: "checkpoint-info", Summary: "checkpoint information", Desc: "Returns basic information about a checkpoint.",
			Opts: []vsh.Opt{domainOpt,
				{Name: "checkpointname", Kind: vsh.String, Help: "checkpoint name"},
				{Name: "json", Kind: vsh.Bool, Extension: true, Help: "print JSON (JSON.md)"},
			},
			Examples: []vsh.Example{{Line: "vmoments checkpoint-info guest c1", What: "name, parent, children of checkpoint 'c1'"}},
		}, run: runCheckpointInfo},

		{Cmd: vsh.Cmd{
			Name: "snapshot-dumpxml", Summary: "Dump XML for a domain snapshot", Desc: "Snapshot Dump XML",
			Opts: []vsh.Opt{domainOpt,
				{Name: "snapshotname", Kind: vsh.Data, Help: "snapshot name"},
				{Name: "security-info", Kind: vsh.Bool, Help: "include security sensitive information in XML dump"},
				{Name: "xpath", Kind: vsh.String, OptionOnly: true, Help: "xpath expression to filter the XML document (not supported: use xmllint --xpath)"},
				{Name: "wrap", Kind: vsh.Bool, Help: "wrap xpath results in an common root element"},
			},
			Examples: []vsh.Example{{Line: "vmoments snapshot-dumpxml guest base > base.xml", What: "save a snapshot's XML (for `validate`, or to redefine elsewhere)"}},
		}, run: runSnapshotDumpXML},

		{Cmd: vsh.Cmd{
			Name: "checkpoint-dumpxml", Summary: "Dump XML for a domain checkpoint", Desc: "Checkpoint Dump XML",
			Opts: []vsh.Opt{domainOpt,
				{Name: "checkpointname", Kind: vsh.String, Help: "checkpoint name"},
				{Name: "security-info", Kind: vsh.Bool, Help: "include security sensitive information in XML dump"},
				{Name: "no-domain", Kind: vsh.Bool, Help: "exclude <domain> from XML"},
				{Name: "size", Kind: vsh.Bool, Help: "include backup size estimate in XML dump"},
				{Name: "xpath", Kind: vsh.String, OptionOnly: true, Help: "xpath expression to filter the XML document (not supported: use xmllint --xpath)"},
				{Name: "wrap", Kind: vsh.Bool, Help: "wrap xpath results in an common root element"},
			},
			Examples: []vsh.Example{{Line: "vmoments checkpoint-dumpxml guest c1 --no-domain", What: "a checkpoint's XML without the embedded domain"}},
		}, run: runCheckpointDumpXML},

		{Cmd: vsh.Cmd{
			Name: "validate", Summary: "Check snapshot and checkpoint XML files",
			Desc: "Checks each file as libvirt would parse it for redefinition, and at least as strictly as\n" +
				"    virt-xml-validate FILE domainsnapshot|domaincheckpoint. Prints FILE: ok (KIND NAME) or\n" +
				"    FILE: the error; exits 1 if any file fails. Needs no connection.",
			Opts:      []vsh.Opt{{Name: "file", Kind: vsh.Argv, Help: "snapshot or checkpoint XML files"}},
			Examples:  []vsh.Example{{Line: "vmoments validate base.xml c1.xml", What: "check files before `virsh snapshot-create --redefine`"}},
			NoConnect: true,
		}, run: runValidate},

		{Cmd: vsh.Cmd{
			Name: "export", Summary: "Save a domain's snapshot and checkpoint metadata to a directory or a .tar, .tar.gz or .tar.zst file",
			Desc: "Writes one XML file per moment (libvirt's full definition, as redefinition needs it) and\n" +
				"    manifest.json: the domain, versions, the moments parents first with their SHA-256, the\n" +
				"    current snapshot and the current checkpoint. PATH is a new or empty directory, or a new\n" +
				"    file ending in .tar, .tar.gz (.tgz) or .tar.zst. It is written beside PATH and appears there\n" +
				"    only complete and fsynced. Only metadata is written: disk images stay where they are.",
			Opts: opts([]vsh.Opt{domainOpt,
				{Name: "to", Kind: vsh.String, Help: "directory or .tar, .tar.gz or .tar.zst file to write"},
			}, kindOpts, []vsh.Opt{
				{Name: "secure", Kind: vsh.Bool, Help: "include security-sensitive data of the embedded domain (needs a read-write connection)"},
				{Name: "json", Kind: vsh.Bool, Help: "print a JSON summary"},
			}),
			Examples: []vsh.Example{
				{Line: "vmoments export guest --to guest-moments.tar", What: "every snapshot and checkpoint of guest"},
				{Line: "vmoments export guest --to /backup/guest --checkpoints", What: "only the checkpoints, into a directory"},
				{Line: "vmoments export guest --to guest-moments.tar.zst", What: "compressed with zstd"},
			},
		}, run: runExport},

		{Cmd: vsh.Cmd{
			Name: "import", Summary: "Redefine a domain's snapshots and checkpoints from an export",
			Desc: "Verifies the manifest and every file's checksum, then redefines the moments parents first\n" +
				"    (metadata only), the current snapshot last, and makes the exported checkpoint current.\n" +
				"    Moments already there with the same definition are skipped; one with another definition\n" +
				"    stops the import before any change unless --replace. If a step fails, or SIGINT, SIGTERM or\n" +
				"    SIGHUP arrives, everything the import did is undone and the error says so. A journal\n" +
				"    (/var/lib/vmoments for root, else $XDG_STATE_HOME/vmoments) records each change while it runs:\n" +
				"    after a SIGKILL or a crash, --rollback undoes the unfinished import, and the same import run\n" +
				"    again finishes it; any other import into that domain is refused until then.",
			Opts: []vsh.Opt{domainOpt,
				{Name: "from", Kind: vsh.String, Help: "directory or .tar, .tar.gz or .tar.zst file written by export"},
				{Name: "dry-run", Kind: vsh.Bool, Help: "print the plan, change nothing"},
				{Name: "replace", Kind: vsh.Bool, Help: "redefine moments that exist with another definition"},
				{Name: "validate", Kind: vsh.Bool, Help: "redefine checkpoints with REDEFINE_VALIDATE (libvirt checks their bitmaps exist)"},
				{Name: "rollback", Kind: vsh.Bool, Help: "undo the unfinished import its journal records (after a kill or a crash)"},
				{Name: "json", Kind: vsh.Bool, Help: "print a JSON summary"},
			},
			Examples: []vsh.Example{
				{Line: "vmoments import guest --from guest-moments.tar --dry-run", What: "what an import would do"},
				{Line: "vmoments -c qemu+ssh://new-host/system import guest --from guest-moments.tar", What: "put them on another host"},
				{Line: "vmoments import guest --rollback", What: "undo an import that was killed halfway"},
			},
		}, run: runImport},

		{Cmd: vsh.Cmd{
			Name: "copy", Summary: "Copy a domain's snapshot and checkpoint metadata to another connection",
			Desc: "Export and import in one go, from the connection (or --from URI) to --to URI, where a domain\n" +
				"    with the same UUID must be defined. With --remove-source-metadata the source's metadata is\n" +
				"    deleted (metadata only, children first) once the destination has everything, so that\n" +
				"    virsh migrate accepts the domain. A failure or a signal at any point leaves both sides as\n" +
				"    they were; after a SIGKILL, import --rollback on each side (-c URI) puts it back.",
			Opts: opts([]vsh.Opt{domainOpt,
				{Name: "to", Kind: vsh.String, Help: "destination connection URI"},
				{Name: "from", Kind: vsh.String, Help: "source connection URI (default: the connection)"},
				{Name: "remove-source-metadata", Kind: vsh.Bool, Help: "delete the source's metadata after a successful import"},
				{Name: "replace", Kind: vsh.Bool, Help: "redefine moments that exist on the destination with another definition"},
				{Name: "validate", Kind: vsh.Bool, Help: "redefine checkpoints with REDEFINE_VALIDATE"},
			}, kindOpts, []vsh.Opt{
				{Name: "secure", Kind: vsh.Bool, Help: "include security-sensitive data of the embedded domain"},
				{Name: "json", Kind: vsh.Bool, Help: "print a JSON summary"},
			}),
			Examples: []vsh.Example{
				{Line: "vmoments copy guest --to qemu+ssh://new-host/system --remove-source-metadata", What: "before virsh migrate guest qemu+ssh://new-host/system"},
			},
		}, run: runCopy},

		{Cmd: vsh.Cmd{
			Name: "help", Summary: "print help", Desc: "Prints global help or command specific help.",
			Opts:      []vsh.Opt{{Name: "command", Kind: vsh.String, Help: "Prints global help or command specific help"}},
			NoConnect: true,
		}, run: runHelp},
	}
}
