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

// snapshotCreateOpts are the flags snapshot-create and snapshot-create-as share, in virsh's
// order (snapshotCreateFlags maps them to libvirt's).
var snapshotCreateOpts = []vsh.Opt{
	{Name: "no-metadata", Kind: vsh.Bool, Help: "take snapshot but create no metadata"},
	{Name: "halt", Kind: vsh.Bool, Help: "halt domain after snapshot is created"},
	{Name: "disk-only", Kind: vsh.Bool, Help: "capture disk state but not vm state"},
	{Name: "reuse-external", Kind: vsh.Bool, Help: "reuse any existing external files"},
	{Name: "quiesce", Kind: vsh.Bool, Help: "quiesce guest's file systems"},
	{Name: "atomic", Kind: vsh.Bool, Help: "require atomic operation"},
	{Name: "live", Kind: vsh.Bool, Help: "take a live snapshot"},
	{Name: "validate", Kind: vsh.Bool, Help: "validate the XML against the schema"},
}

// jsonChangeOpt is the --json of a command that changes moments: what it prints.
func jsonChangeOpt(what string) vsh.Opt {
	return vsh.Opt{Name: "json", Kind: vsh.Bool, Extension: true, Help: "print " + what + " as JSON instead of virsh's message (JSON.md)"}
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
			Name: "snapshot-current", Summary: "Get or set the current snapshot",
			Desc: "Get or set the current snapshot. Without a current snapshot every form fails with\n" +
				"    virsh's \"domain 'D' has no current snapshot\" (--json: an object that says why).",
			Opts: []vsh.Opt{domainOpt,
				{Name: "name", Kind: vsh.Bool, Help: "list the name, rather than the full xml"},
				{Name: "security-info", Kind: vsh.Bool, Help: "include security sensitive information in XML dump"},
				{Name: "snapshotname", Kind: vsh.String, Help: "name of existing snapshot to make current"},
				{Name: "per-disk", Kind: vsh.Bool, Extension: true, Help: "show the current snapshot of each disk instead"},
				{Name: "json", Kind: vsh.Bool, Extension: true, Help: "print the current snapshot (with --per-disk: the current set; with --snapshotname: the snapshot made current) as JSON"},
			},
			Examples: []vsh.Example{
				{Line: "vmoments snapshot-current guest --name", What: "the current snapshot's name"},
				{Line: "vmoments snapshot-current guest base", What: "make snapshot 'base' current without reverting (virsh's redefine with CURRENT)"},
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

		// The commands that change moments (snapshot_*.go, checkpoint_*.go): virsh 9.0's, with
		// every option, the same checks, output and errors; --json prints the moments changed.
		{Cmd: vsh.Cmd{
			Name: "snapshot-create", Summary: "Create a snapshot from XML", Desc: "Create a snapshot (disk and RAM) from XML",
			Opts: opts([]vsh.Opt{domainOpt,
				{Name: "xmlfile", Kind: vsh.String, Help: "domain snapshot XML"},
				{Name: "redefine", Kind: vsh.Bool, Help: "redefine metadata for existing snapshot"},
				{Name: "current", Kind: vsh.Bool, Help: "with redefine, set current snapshot"},
			}, snapshotCreateOpts, []vsh.Opt{jsonChangeOpt("the snapshot created")}),
			Examples: []vsh.Example{
				{Line: "vmoments snapshot-create guest", What: "a snapshot named after the time, as libvirt names it"},
				{Line: "vmoments snapshot-create guest base.xml --redefine --current", What: "put back a snapshot's metadata (from snapshot-dumpxml) and make it current"},
			},
		}, run: runSnapshotCreate},

		{Cmd: vsh.Cmd{
			Name: "snapshot-create-as", Summary: "Create a snapshot from a set of args", Desc: "Create a snapshot (disk and RAM) from arguments",
			Opts: opts([]vsh.Opt{domainOpt,
				{Name: "name", Kind: vsh.String, Help: "name of snapshot"},
				{Name: "description", Kind: vsh.String, Help: "description of snapshot"},
				{Name: "print-xml", Kind: vsh.Bool, Help: "print XML document rather than create"},
			}, snapshotCreateOpts, []vsh.Opt{
				{Name: "memspec", Kind: vsh.String, OptionOnly: true, Help: "memory attributes: [file=]name[,snapshot=type]"},
				jsonChangeOpt("the snapshot created"),
				{Name: "diskspec", Kind: vsh.Argv, Optional: true, Help: "disk attributes: disk[,snapshot=type][,driver=type][,stype=type][,file=name]"},
			}),
			Examples: []vsh.Example{
				{Line: "vmoments snapshot-create-as guest s1 'before the upgrade'", What: "an internal snapshot s1 with a description"},
				{Line: "vmoments snapshot-create-as guest s2 --disk-only --diskspec vda,file=/var/lib/images/vda.s2 --diskspec vdb,snapshot=no", What: "an external snapshot of vda alone"},
				{Line: "vmoments snapshot-create-as guest s3 --print-xml", What: "the XML virsh would send, without creating anything"},
			},
		}, run: runSnapshotCreateAs},

		{Cmd: vsh.Cmd{
			Name: "snapshot-edit", Summary: "edit XML for a snapshot", Desc: "Edit the domain snapshot XML for a named snapshot",
			Opts: []vsh.Opt{domainOpt,
				{Name: "snapshotname", Kind: vsh.String, Help: "snapshot name"},
				{Name: "current", Kind: vsh.Bool, Help: "also set edited snapshot as current"},
				{Name: "rename", Kind: vsh.Bool, Help: "allow renaming an existing snapshot"},
				{Name: "clone", Kind: vsh.Bool, Help: "allow cloning to new name"},
				jsonChangeOpt("the snapshot as edited"),
			},
			Examples: []vsh.Example{
				{Line: "EDITOR=nano vmoments snapshot-edit guest s1", What: "edit s1's XML ($VISUAL, else $EDITOR, else vi) and redefine it"},
				{Line: "vmoments snapshot-edit guest s1 --rename", What: "change the name in the editor to rename the snapshot"},
			},
		}, run: runSnapshotEdit},

		{Cmd: vsh.Cmd{
			Name: "snapshot-parent", Summary: "Get the name of the parent of a snapshot", Desc: "Extract the snapshot's parent, if any",
			Opts: []vsh.Opt{domainOpt,
				{Name: "snapshotname", Kind: vsh.String, Help: "find parent of snapshot name"},
				{Name: "current", Kind: vsh.Bool, Help: "find parent of current snapshot"},
				{Name: "json", Kind: vsh.Bool, Extension: true, Help: "print the parent as JSON (JSON.md)"},
			},
			Examples: []vsh.Example{{Line: "vmoments snapshot-parent guest --current", What: "the parent of the current snapshot"}},
		}, run: runSnapshotParent},

		{Cmd: vsh.Cmd{
			Name: "snapshot-revert", Summary: "Revert a domain to a snapshot", Desc: "Revert domain to snapshot",
			Opts: []vsh.Opt{domainOpt,
				{Name: "snapshotname", Kind: vsh.String, Help: "snapshot name"},
				{Name: "current", Kind: vsh.Bool, Help: "revert to current snapshot"},
				{Name: "running", Kind: vsh.Bool, Help: "after reverting, change state to running"},
				{Name: "paused", Kind: vsh.Bool, Help: "after reverting, change state to paused"},
				{Name: "force", Kind: vsh.Bool, Help: "try harder on risky reverts"},
				{Name: "reset-nvram", Kind: vsh.Bool, Help: "re-initialize NVRAM from its pristine template"},
				jsonChangeOpt("the snapshot reverted to"),
			},
			Examples: []vsh.Example{{Line: "vmoments snapshot-revert guest base --running", What: "back to 'base', then run the guest"}},
		}, run: runSnapshotRevert},

		{Cmd: vsh.Cmd{
			Name: "snapshot-delete", Summary: "Delete a domain snapshot",
			Desc: "Snapshot Delete. On qemu:// --children and --children-only delete one snapshot at a time,\n" +
				"    leaves first: libvirt 9.0's own delete with children can crash libvirtd; the end state is\n" +
				"    the one libvirt documents.",
			Opts: []vsh.Opt{domainOpt,
				{Name: "snapshotname", Kind: vsh.String, Help: "snapshot name"},
				{Name: "current", Kind: vsh.Bool, Help: "delete current snapshot"},
				{Name: "children", Kind: vsh.Bool, Help: "delete snapshot and all children"},
				{Name: "children-only", Kind: vsh.Bool, Help: "delete children but not snapshot"},
				{Name: "metadata", Kind: vsh.Bool, Help: "delete only libvirt metadata, leaving snapshot contents behind"},
				jsonChangeOpt("the snapshots deleted, as they were"),
			},
			Examples: []vsh.Example{{Line: "vmoments snapshot-delete guest s1 --children", What: "s1 and everything below it"}},
		}, run: runSnapshotDelete},

		{Cmd: vsh.Cmd{
			Name: "checkpoint-create", Summary: "Create a checkpoint from XML",
			Desc: "Create a checkpoint from XML for use in future incremental backups",
			Opts: []vsh.Opt{domainOpt,
				{Name: "xmlfile", Kind: vsh.String, Help: "domain checkpoint XML"},
				{Name: "redefine", Kind: vsh.Bool, Help: "redefine metadata for existing checkpoint"},
				{Name: "redefine-validate", Kind: vsh.Bool, Help: "validate the redefined checkpoint"},
				{Name: "quiesce", Kind: vsh.Bool, Help: "quiesce guest's file systems"},
				jsonChangeOpt("the checkpoint created"),
			},
			Examples: []vsh.Example{{Line: "vmoments checkpoint-create guest c1.xml --redefine", What: "put back a checkpoint's metadata"}},
		}, run: runCheckpointCreate},

		{Cmd: vsh.Cmd{
			Name: "checkpoint-create-as", Summary: "Create a checkpoint from a set of args",
			Desc: "Create a checkpoint from arguments for use in future incremental backups",
			Opts: []vsh.Opt{domainOpt,
				{Name: "name", Kind: vsh.String, Help: "name of checkpoint"},
				{Name: "description", Kind: vsh.String, Help: "description of checkpoint"},
				{Name: "print-xml", Kind: vsh.Bool, Help: "print XML document rather than create"},
				{Name: "quiesce", Kind: vsh.Bool, Help: "quiesce guest's file systems"},
				jsonChangeOpt("the checkpoint created"),
				{Name: "diskspec", Kind: vsh.Argv, Optional: true, Help: "disk attributes: disk[,checkpoint=type][,bitmap=name]"},
			},
			Examples: []vsh.Example{{Line: "vmoments checkpoint-create-as guest c2 --diskspec vda --diskspec vdb,checkpoint=no", What: "a checkpoint of vda only"}},
		}, run: runCheckpointCreateAs},

		{Cmd: vsh.Cmd{
			Name: "checkpoint-edit", Summary: "edit XML for a checkpoint", Desc: "Edit the domain checkpoint XML for a named checkpoint",
			Opts: []vsh.Opt{domainOpt,
				{Name: "checkpointname", Kind: vsh.String, Help: "checkpoint name"},
				jsonChangeOpt("the checkpoint as edited"),
			},
			Examples: []vsh.Example{{Line: "vmoments checkpoint-edit guest c1", What: "edit c1's XML and redefine it"}},
		}, run: runCheckpointEdit},

		{Cmd: vsh.Cmd{
			Name: "checkpoint-parent", Summary: "Get the name of the parent of a checkpoint", Desc: "Extract the checkpoint's parent, if any",
			Opts: []vsh.Opt{domainOpt,
				{Name: "checkpointname", Kind: vsh.String, Help: "find parent of checkpoint name"},
				{Name: "json", Kind: vsh.Bool, Extension: true, Help: "print the parent as JSON (JSON.md)"},
			},
			Examples: []vsh.Example{{Line: "vmoments checkpoint-parent guest c2", What: "the checkpoint c2 was taken after"}},
		}, run: runCheckpointParent},

		{Cmd: vsh.Cmd{
			Name: "checkpoint-delete", Summary: "Delete a domain checkpoint", Desc: "Checkpoint Delete",
			Opts: []vsh.Opt{domainOpt,
				{Name: "checkpointname", Kind: vsh.String, Help: "checkpoint name"},
				{Name: "children", Kind: vsh.Bool, Help: "delete checkpoint and all children"},
				{Name: "children-only", Kind: vsh.Bool, Help: "delete children but not checkpoint"},
				{Name: "metadata", Kind: vsh.Bool, Help: "delete only libvirt metadata, leaving checkpoint contents behind"},
				jsonChangeOpt("the checkpoints deleted, as they were"),
			},
			Examples: []vsh.Example{{Line: "vmoments checkpoint-delete guest c1 --children-only", What: "every checkpoint below c1"}},
		}, run: runCheckpointDelete},

		{Cmd: vsh.Cmd{
			Name: "validate", Summary: "Check snapshot and checkpoint XML files",
			Desc: "Checks each file as libvirt would parse it for a new moment (snapshot-create FILE,\n" +
				"    checkpoint-create FILE) or, with --redefine, for a redefinition, and at least as strictly\n" +
				"    as virt-xml-validate FILE domainsnapshot|domaincheckpoint. Each file is read once (a pipe or\n" +
				"    <(...) works; - is standard input). Prints FILE: ok (KIND NAME, as a new one) or FILE:\n" +
				"    invalid as a new one: the error (as a redefinition, with --redefine); exits 1 if any file\n" +
				"    fails. Needs no connection.",
			Opts: []vsh.Opt{
				{Name: "redefine", Kind: vsh.Bool, Help: "judge the files as snapshot-create --redefine and checkpoint-create --redefine read them"},
				{Name: "file", Kind: vsh.Argv, Help: "snapshot or checkpoint XML files (- for standard input)"},
			},
			Examples: []vsh.Example{
				{Line: "vmoments validate new-snapshot.xml", What: "check a file before `virsh snapshot-create guest new-snapshot.xml`"},
				{Line: "vmoments validate --redefine base.xml c1.xml", What: "check files before `virsh snapshot-create --redefine`"},
				{Line: "vmoments snapshot-dumpxml guest base | vmoments validate --redefine -", What: "check what libvirt gives back"},
			},
			NoConnect: true,
		}, run: runValidate},

		{Cmd: vsh.Cmd{
			Name: "export", Summary: "Save a domain's snapshot and checkpoint metadata to a directory or a .tar or .tar.gz file",
			Desc: "Writes one XML file per moment (libvirt's full definition, as redefinition needs it) and\n" +
				"    manifest.json: the domain, versions, the moments parents first with their SHA-256, the\n" +
				"    current snapshot and the current checkpoint. PATH is a new or empty directory, or a new\n" +
				"    file ending in .tar or .tar.gz (.tgz) (other archive names, .tar.zst among them, are\n" +
				"    refused). It is written beside PATH and appears there only complete and fsynced.\n" +
				"    Only metadata is written: disk images stay where they are.",
			Opts: opts([]vsh.Opt{domainOpt,
				{Name: "to", Kind: vsh.String, Help: "directory or .tar or .tar.gz file to write"},
			}, kindOpts, []vsh.Opt{
				{Name: "secure", Kind: vsh.Bool, Help: "include security-sensitive data of the embedded domain (needs a read-write connection)"},
				{Name: "json", Kind: vsh.Bool, Help: "print a JSON summary"},
			}),
			Examples: []vsh.Example{
				{Line: "vmoments export guest --to guest-moments.tar", What: "every snapshot and checkpoint of guest"},
				{Line: "vmoments export guest --to /backup/guest --checkpoints", What: "only the checkpoints, into a directory"},
				{Line: "vmoments export guest --to guest-moments.tar.gz", What: "compressed with gzip"},
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
				{Name: "from", Kind: vsh.String, Help: "directory or .tar or .tar.gz file written by export"},
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

		{Cmd: reportCmd, run: runReport},
		{Cmd: exporterCmd, run: runExporter},
		{Cmd: pruneCmd, run: runPrune},

		{Cmd: vsh.Cmd{
			Name: "completion", Summary: "Print a shell's completion script for vmoments",
			Desc: "Prints the script that makes bash or zsh complete vmoments' commands, options and the\n" +
				"    names of domains, snapshots and checkpoints (asked of the connection, as virsh's completion\n" +
				"    asks it through its hidden complete command, which vmoments has too).",
			Opts: []vsh.Opt{{Name: "shell", Kind: vsh.Data, Help: "bash or zsh"}},
			Examples: []vsh.Example{
				{Line: "source <(vmoments completion bash)", What: "complete vmoments in this bash"},
				{Line: "vmoments completion bash > /etc/bash_completion.d/vmoments", What: "in every bash"},
				{Line: "vmoments completion zsh > \"${fpath[1]}/_vmoments\"", What: "in zsh (or: source <(vmoments completion zsh))"},
			},
			NoConnect: true,
		}, run: runCompletion},

		// virsh's own commands (virsh's table, "Virsh itself"), in virsh's order.
		{Cmd: vsh.Cmd{
			Name: "cd", Summary: "change the current directory", Desc: "Change the current directory.",
			Opts:      []vsh.Opt{{Name: "dir", Kind: vsh.String, Help: "directory to switch to (default: home or else root)"}},
			NoConnect: true, Group: "virsh",
		}, run: runCd},

		{Cmd: vsh.Cmd{
			Name: "echo", Summary: "echo arguments. Used for internal testing.",
			Desc: "Echo back arguments, possibly with quoting. Used for internal testing.",
			Opts: []vsh.Opt{
				{Name: "shell", Kind: vsh.Bool, Help: "escape for shell use"},
				{Name: "xml", Kind: vsh.Bool, Help: "escape for XML use"},
				{Name: "split", Kind: vsh.Bool, Help: "split each argument on ','; ',,' is an escape sequence"},
				{Name: "err", Kind: vsh.Bool, Help: "output to stderr"},
				{Name: "str", Kind: vsh.Alias, Target: "string"},
				{Name: "hi", Kind: vsh.Alias, Target: "string=hello"},
				{Name: "string", Kind: vsh.Argv, Optional: true, Help: "arguments to echo"},
			},
			NoConnect: true, Group: "virsh",
		}, run: runEcho},

		{Cmd: vsh.Cmd{Name: "exit", Summary: "quit this interactive terminal", NoConnect: true, Group: "virsh"}, run: runQuit},

		{Cmd: vsh.Cmd{
			Name: "help", Summary: "print help",
			Desc: "Prints global help, command specific help, or help for a\n    group of related commands",
			Opts: []vsh.Opt{{Name: "command", Kind: vsh.String,
				Help: "Prints global help, command specific help, or help for a group of related commands"}},
			NoConnect: true, Group: "virsh",
		}, run: runHelp},

		{Cmd: vsh.Cmd{Name: "pwd", Summary: "print the current directory", Desc: "Print the current directory.",
			NoConnect: true, Group: "virsh"}, run: runPwd},

		{Cmd: vsh.Cmd{Name: "quit", Summary: "quit this interactive terminal", NoConnect: true, Group: "virsh"}, run: runQuit},

		{Cmd: vsh.Cmd{
			Name: "self-test", Summary: "internal command for testing virt shells", Desc: "internal use only",
			Opts: []vsh.Opt{{Name: "completers-missing", Kind: vsh.Bool,
				Help: "output the list of options which are missing completers"}},
			NoConnect: true, Hidden: true, Group: "virsh",
		}, run: runSelfTest},

		{Cmd: vsh.Cmd{
			Name: "complete", Summary: "internal command for autocompletion", Desc: "internal use only",
			Opts:      []vsh.Opt{{Name: "string", Kind: vsh.Argv, Optional: true, Help: "partial string to autocomplete"}},
			NoConnect: true, Hidden: true, Group: "virsh",
		}, run: runComplete},

		{Cmd: vsh.Cmd{
			Name: "connect", Summary: "(re)connect to hypervisor",
			Desc: "Connect to local hypervisor. This is built-in command after shell start up.",
			Opts: []vsh.Opt{
				{Name: "name", Kind: vsh.String, Help: "hypervisor connection URI"},
				{Name: "readonly", Kind: vsh.Bool, Help: "read-only connection"},
			},
			NoConnect: true, Group: "virsh",
		}, run: runConnect},
	}
}
