package main

import (
	"fmt"
	"strings"
)

// domainOpt is virsh's VIRSH_COMMON_OPT_DOMAIN_FULL.
var domainOpt = optDef{name: "domain", typ: optData, help: "domain name, id or uuid"}

// The vmoments options shared by both list commands, after virsh's own.
func listExtensions(kind string) []optDef {
	return []optDef{
		{name: "only-current", typ: optBool, extension: true,
			help: "keep only the current " + kind + " (with --per-disk: the current " + kind + " of each disk)"},
		{name: "no-current", typ: optBool, extension: true,
			help: "drop the current " + kind + " (with --per-disk: every disk's current " + kind + ")"},
		{name: "per-disk", typ: optBool, extension: true,
			help: "--only-current/--no-current act on the per-disk current set; --forest and --dot mark it"},
		{name: "json", typ: optBool, extension: true, help: "print a JSON array of the listed " + kind + "s (see JSON.md)"},
		{name: "dot", typ: optBool, extension: true, help: "print a Graphviz digraph of the listed " + kind + "s, current highlighted"},
		{name: "forest", typ: optBool, extension: true,
			help: "like --tree, with every filter: each listed " + kind + " under its nearest listed ancestor, current marked"},
	}
}

func commands() []*cmdDef {
	snapList := &cmdDef{
		name: "snapshot-list", summary: "List snapshots for a domain",
		desc: "Lists a domain's snapshots exactly as virsh 9.0 does (same options, same output, same errors).\n" +
			"    --from X and --current list the children of X (with --descendants: everything below X);\n" +
			"    X itself is not listed, except as the root of --tree. Filters of one group OR together\n" +
			"    (--active --inactive), groups AND together. Names sort case-insensitively unless --topological.\n" +
			"    The current snapshot is the one libvirt reports; a disk's current snapshot is the nearest one\n" +
			"    at or above it that captured the disk (--per-disk).",
		opts: append([]optDef{domainOpt,
			{name: "parent", typ: optBool, help: "add a column showing parent snapshot"},
			{name: "roots", typ: optBool, help: "list only snapshots without parents"},
			{name: "leaves", typ: optBool, help: "list only snapshots without children"},
			{name: "no-leaves", typ: optBool, help: "list only snapshots that are not leaves (with children)"},
			{name: "metadata", typ: optBool, help: "list only snapshots that have metadata that would prevent undefine"},
			{name: "no-metadata", typ: optBool, help: "list only snapshots that have no metadata managed by libvirt"},
			{name: "inactive", typ: optBool, help: "filter by snapshots taken while inactive"},
			{name: "active", typ: optBool, help: "filter by snapshots taken while active (full system snapshots)"},
			{name: "disk-only", typ: optBool, help: "filter by disk-only snapshots"},
			{name: "internal", typ: optBool, help: "filter by internal snapshots"},
			{name: "external", typ: optBool, help: "filter by external snapshots"},
			{name: "tree", typ: optBool, help: "list snapshots in a tree"},
			{name: "from", typ: optString, help: "limit list to children of given snapshot"},
			{name: "current", typ: optBool, help: "limit list to children of current snapshot"},
			{name: "descendants", typ: optBool, help: "with --from, list all descendants"},
			{name: "name", typ: optBool, help: "list snapshot names only"},
			{name: "topological", typ: optBool, help: "sort list topologically rather than by name"},
		}, listExtensions("snapshot")...),
		examples: [][2]string{
			{"vmoments -c test:///default snapshot-list test", "the table virsh prints: name, creation time, state"},
			{"vmoments snapshot-list guest --tree", "the snapshot tree, drawn as virsh draws it"},
			{"vmoments snapshot-list guest --from base --descendants --leaves", "the leaves below snapshot 'base'"},
			{"vmoments snapshot-list guest --only-current --name", "the name of the current snapshot, or nothing"},
			{"vmoments snapshot-list guest --only-current --per-disk", "for each disk, the snapshot it was last captured in on the way up from current"},
			{"vmoments snapshot-list guest --no-current --external --forest", "external snapshots other than the current one, as a tree"},
			{"vmoments snapshot-list guest --json | jq '.[] | select(.current)'", "machine-readable output (JSON.md)"},
			{"vmoments snapshot-list guest --dot | dot -Tsvg > tree.svg", "a picture of the tree"},
		},
		run: runSnapshotList,
	}
	chkList := &cmdDef{
		name: "checkpoint-list", summary: "List checkpoints for a domain",
		desc: "Lists a domain's checkpoints exactly as virsh 9.0 does. --from X lists X's children (with\n" +
			"    --descendants: everything below X). The current checkpoint is the one libvirt tracks internally\n" +
			"    (see checkpoint-current); a disk's current checkpoint, where its next incremental backup\n" +
			"    starts, is the nearest one at or above it with a bitmap for that disk (--per-disk).",
		opts: append([]optDef{domainOpt,
			{name: "parent", typ: optBool, help: "add a column showing parent checkpoint"},
			{name: "roots", typ: optBool, help: "list only checkpoints without parents"},
			{name: "leaves", typ: optBool, help: "list only checkpoints without children"},
			{name: "no-leaves", typ: optBool, help: "list only checkpoints that are not leaves (with children)"},
			{name: "tree", typ: optBool, help: "list checkpoints in a tree"},
			{name: "from", typ: optString, help: "limit list to children of given checkpoint"},
			{name: "descendants", typ: optBool, help: "with --from, list all descendants"},
			{name: "name", typ: optBool, help: "list checkpoint names only"},
			{name: "topological", typ: optBool, help: "sort list topologically rather than by name"},
		}, listExtensions("checkpoint")...),
		examples: [][2]string{
			{"vmoments checkpoint-list guest --parent", "the table virsh prints, with a parent column"},
			{"vmoments checkpoint-list guest --tree", "the checkpoint tree"},
			{"vmoments checkpoint-list guest --only-current --per-disk --name", "the checkpoints incremental backups of the disks start from"},
			{"vmoments checkpoint-list guest --json", "machine-readable output (JSON.md)"},
		},
		run: runCheckpointList,
	}
	snapCurrent := &cmdDef{
		name: "snapshot-current", summary: "Get the current snapshot", desc: "Show the current snapshot (vmoments never sets it: use virsh snapshot-current DOMAIN NAME)",
		opts: []optDef{domainOpt,
			{name: "name", typ: optBool, help: "list the name, rather than the full xml"},
			{name: "security-info", typ: optBool, help: "include security sensitive information in XML dump"},
			{name: "snapshotname", typ: optString, help: "name of existing snapshot to make current (refused: vmoments reads only)"},
			{name: "per-disk", typ: optBool, extension: true, help: "show the current snapshot of each disk instead"},
			{name: "json", typ: optBool, extension: true, help: "print the current snapshot (with --per-disk: the current set) as JSON"},
		},
		examples: [][2]string{
			{"vmoments snapshot-current guest --name", "the current snapshot's name"},
			{"vmoments snapshot-current guest --per-disk", "each disk and the snapshot that last captured it"},
		},
		run: runSnapshotCurrent,
	}
	chkCurrent := &cmdDef{
		name: "checkpoint-current", summary: "Get the current checkpoint and why it is current",
		desc: "libvirt tracks a current checkpoint internally but never shows it. vmoments follows\n" +
			"    libvirt's rules: a created checkpoint becomes current; a redefined one when its parent is\n" +
			"    current or there is none; after a (re)load, the leaf of a single unbranched chain, else none.",
		opts: []optDef{domainOpt,
			{name: "name", typ: optBool, help: "print only the name"},
			{name: "per-disk", typ: optBool, extension: true, help: "for each disk, the checkpoint its next incremental backup starts from"},
			{name: "json", typ: optBool, extension: true, help: "print JSON (JSON.md)"},
		},
		examples: [][2]string{
			{"vmoments checkpoint-current guest", "the current checkpoint and the rule that chose it"},
			{"vmoments checkpoint-current guest --per-disk", "per disk: the checkpoint (and bitmap) to start an incremental backup from"},
		},
		run: runCheckpointCurrent,
	}
	snapInfo := &cmdDef{
		name: "snapshot-info", summary: "snapshot information", desc: "Returns basic information about a snapshot.",
		opts: []optDef{domainOpt,
			{name: "snapshotname", typ: optString, help: "snapshot name"},
			{name: "current", typ: optBool, help: "info on current snapshot"},
			{name: "json", typ: optBool, extension: true, help: "print JSON (JSON.md)"},
		},
		examples: [][2]string{{"vmoments snapshot-info guest base", "name, state, location, parent, children of 'base'"},
			{"vmoments snapshot-info guest --current", "the same for the current snapshot"}},
		run: runSnapshotInfo,
	}
	chkInfo := &cmdDef{
		name: "checkpoint-info", summary: "checkpoint information", desc: "Returns basic information about a checkpoint.",
		opts: []optDef{domainOpt,
			{name: "checkpointname", typ: optString, help: "checkpoint name"},
			{name: "json", typ: optBool, extension: true, help: "print JSON (JSON.md)"},
		},
		examples: [][2]string{{"vmoments checkpoint-info guest c1", "name, parent, children of checkpoint 'c1'"}},
		run:      runCheckpointInfo,
	}
	snapXML := &cmdDef{
		name: "snapshot-dumpxml", summary: "Dump XML for a domain snapshot", desc: "Snapshot Dump XML",
		opts: []optDef{domainOpt,
			{name: "snapshotname", typ: optData, help: "snapshot name"},
			{name: "security-info", typ: optBool, help: "include security sensitive information in XML dump"},
			{name: "xpath", typ: optString, optionOnly: true, help: "xpath expression to filter the XML document (not supported: use xmllint --xpath)"},
			{name: "wrap", typ: optBool, help: "wrap xpath results in an common root element"},
		},
		examples: [][2]string{{"vmoments snapshot-dumpxml guest base > base.xml", "save a snapshot's XML (for `validate`, or to redefine elsewhere)"}},
		run:      runSnapshotDumpXML,
	}
	chkXML := &cmdDef{
		name: "checkpoint-dumpxml", summary: "Dump XML for a domain checkpoint", desc: "Checkpoint Dump XML",
		opts: []optDef{domainOpt,
			{name: "checkpointname", typ: optString, help: "checkpoint name"},
			{name: "security-info", typ: optBool, help: "include security sensitive information in XML dump"},
			{name: "no-domain", typ: optBool, help: "exclude <domain> from XML"},
			{name: "size", typ: optBool, help: "include backup size estimate in XML dump"},
			{name: "xpath", typ: optString, optionOnly: true, help: "xpath expression to filter the XML document (not supported: use xmllint --xpath)"},
			{name: "wrap", typ: optBool, help: "wrap xpath results in an common root element"},
		},
		examples: [][2]string{{"vmoments checkpoint-dumpxml guest c1 --no-domain", "a checkpoint's XML without the embedded domain"}},
		run:      runCheckpointDumpXML,
	}
	validate := &cmdDef{
		name: "validate", summary: "Check snapshot and checkpoint XML files",
		desc: "Checks each file as libvirt would parse it for redefinition, and at least as strictly as\n" +
			"    virt-xml-validate FILE domainsnapshot|domaincheckpoint. Prints FILE: ok (KIND NAME) or\n" +
			"    FILE: the error; exits 1 if any file fails. Needs no connection.",
		opts: []optDef{
			{name: "file", typ: optString, arg: "argv", help: "snapshot or checkpoint XML files"},
		},
		examples:  [][2]string{{"vmoments validate base.xml c1.xml", "check files before `virsh snapshot-create --redefine`"}},
		noConnect: true,
		run:       runValidate,
	}
	help := &cmdDef{
		name: "help", summary: "print help", desc: "Prints global help or command specific help.",
		opts:      []optDef{{name: "command", typ: optString, help: "Prints global help or command specific help"}},
		noConnect: true,
		run:       runHelp,
	}
	return append(append([]*cmdDef{snapList, chkList, snapCurrent, chkCurrent, snapInfo, chkInfo, snapXML, chkXML, validate}, transferCommands()...), help)
}

func (a *app) usage() {
	a.printf(`vmoments: libvirt snapshots and checkpoints, as virsh lists them and beyond

  Usage: vmoments [OPTIONS] COMMAND [ARGS]...
         vmoments [OPTIONS] 'COMMAND [ARGS]; COMMAND [ARGS]...'

  Options:
    -c | --connect=URI      hypervisor connection URI (else $LIBVIRT_DEFAULT_URI, else libvirt's default)
    -r | --readonly         connect read-only
    -q | --quiet            quiet mode: no table header, no trailing blank line
    -h | --help             this help
    -v | --version          program version

  Commands (vmoments help COMMAND explains one, with examples):
`)
	for _, c := range a.cmds {
		a.printf("    %-30s %s\n", c.name, c.summary)
	}
	a.printf(`
  Try it without a daemon, on libvirt's test driver:
    vmoments -c test:///default snapshot-list test --tree

`)
}

func runHelp(a *app, c *parsedCmd) bool {
	name, ok := c.str("command")
	if !ok || name == "" {
		a.usage()
		return true
	}
	def := findCmd(a.cmds, name)
	if def == nil {
		a.errorf("command or command group '%s' doesn't exist", name)
		return false
	}
	a.printf("%s", commandHelp(def))
	return true
}

// commandHelp is virsh's per-command help (vshCmddefHelp) plus an EXAMPLES section and a mark
// on the options vmoments adds.
func commandHelp(def *cmdDef) string {
	var b strings.Builder
	fmt.Fprintf(&b, "  NAME\n    %s - %s\n\n  SYNOPSIS\n    %s", def.name, def.summary, def.name)
	for _, o := range def.opts {
		switch {
		case o.typ == optBool:
			fmt.Fprintf(&b, " [--%s]", o.name)
		case o.arg == "argv":
			fmt.Fprintf(&b, " <%s>...", o.name)
		case o.typ == optString:
			fmt.Fprintf(&b, " [--%s <string>]", o.name)
		default:
			fmt.Fprintf(&b, " <%s>", o.name)
		}
	}
	b.WriteString("\n")
	if def.desc != "" {
		fmt.Fprintf(&b, "\n  DESCRIPTION\n    %s\n", def.desc)
	}
	if len(def.opts) > 0 {
		b.WriteString("\n  OPTIONS\n")
		for _, o := range def.opts {
			var s string
			switch {
			case o.typ == optBool:
				s = "--" + o.name
			case o.arg == "argv":
				s = "<" + o.name + ">"
			case o.typ == optString:
				s = "--" + o.name + " <string>"
			default:
				s = "[--" + o.name + "] <string>"
			}
			help := o.help
			if o.extension {
				help += " [vmoments]"
			}
			fmt.Fprintf(&b, "    %-15s  %s\n", s, help)
		}
	}
	if len(def.examples) > 0 {
		b.WriteString("\n  EXAMPLES\n")
		for _, ex := range def.examples {
			fmt.Fprintf(&b, "    %s\n        %s\n", ex[0], ex[1])
		}
	}
	b.WriteString("\n")
	return b.String()
}
