package main

import (
	"context"
	"slices"
	"strings"

	"github.com/vmoments/vmoments/cmd/vmoments/internal/vsh"
)

// group is a group of commands in the help (virsh's vshCmdGrp): "help KEYWORD" lists it.
type group struct {
	name, keyword string
	// sorted: list the commands by name (virsh's snapshot and checkpoint tables are in name
	// order), else in the command table's order.
	sorted bool
}

// groups are the help's groups, in virsh's order where they are virsh's (Checkpoint, Snapshot,
// and Virsh itself last), vmoments' own between. A command is in the group its Group field
// names, else: snapshot-* in Snapshot, checkpoint-* in Checkpoint, validate, export, import and
// copy in Moment metadata, any other in vmoments. A Group keyword not in this list makes a
// group of its own, named after the keyword, before Virsh itself.
var groups = []group{
	{"Checkpoint", "checkpoint", true},
	{"Snapshot", "snapshot", true},
	{"Moment metadata", "metadata", false},
	{"vmoments", "vmoments", false},
	{"Virsh itself", "virsh", false},
}

// groupOf returns the keyword of the group the command c is in.
func groupOf(c *vsh.Cmd) string {
	switch {
	case c.Group != "":
		return c.Group
	case strings.HasPrefix(c.Name, "snapshot-"):
		return "snapshot"
	case strings.HasPrefix(c.Name, "checkpoint-"):
		return "checkpoint"
	case slices.Contains([]string{"validate", "export", "import", "copy"}, c.Name):
		return "metadata"
	}
	return "vmoments"
}

// helpGroups returns the groups that have commands, each with its commands as the help lists
// them (hidden ones left out).
func (a *app) helpGroups() []helpGroup {
	all := slices.Clone(groups)
	for _, c := range a.defs {
		k := groupOf(c)
		if !slices.ContainsFunc(all, func(g group) bool { return g.keyword == k }) {
			all = slices.Insert(all, len(all)-1, group{name: k, keyword: k})
		}
	}
	var out []helpGroup
	for _, g := range all {
		hg := helpGroup{group: g}
		for _, c := range a.defs {
			if groupOf(c) == g.keyword && !c.Hidden {
				hg.cmds = append(hg.cmds, c)
			}
		}
		if g.sorted {
			slices.SortStableFunc(hg.cmds, func(x, y *vsh.Cmd) int { return strings.Compare(x.Name, y.Name) })
		}
		if len(hg.cmds) > 0 {
			out = append(out, hg)
		}
	}
	return out
}

type helpGroup struct {
	group
	cmds []*vsh.Cmd
}

// lines are the group's commands as virsh lists them, one "    NAME  SUMMARY" line each.
func (g helpGroup) lines() string {
	var b strings.Builder
	for _, c := range g.cmds {
		b.WriteString(pad30(c.Name) + " " + c.Summary + "\n")
	}
	return b.String()
}

// pad30 is virsh's "    %-30s": four spaces and the name padded to 30 bytes.
func pad30(name string) string {
	if len(name) < 30 {
		name += strings.Repeat(" ", 30-len(name))
	}
	return "    " + name
}

// usage is vmoments -h: virsh's usage (virshUsage), with vmoments' options and groups.
func (a *app) usage() {
	a.printf(`vmoments: libvirt snapshots and checkpoints, as virsh lists them and beyond

vmoments [options]... [<command_string>]
vmoments [options]... <command> [args...]

  options:
    -c | --connect=URI      hypervisor connection URI (else $VIRSH_DEFAULT_CONNECT_URI,
                            $LIBVIRT_DEFAULT_URI, libvirt's default)
    -d | --debug=NUM        debug level [0-4]
    -e | --escape <char>    set escape sequence for console (checked; vmoments has no console)
    -h | --help             this help
    -k | --keepalive-interval=NUM
                            keepalive interval in seconds, 0 for disable (vmoments' connections
                            send none: other values are refused, as the test driver refuses them)
    -K | --keepalive-count=NUM
                            number of possible missed keepalive messages (refused as -k)
    -l | --log=FILE         output logging to file
    -q | --quiet            quiet mode
    -r | --readonly         connect readonly
    -t | --timing           print timing information
    -v | -V | --version     vmoments' version and libvirt's
  Without a command, commands are read from standard input: on a terminal with line editing
  and history (the shell), else one line at a time, as virsh reads them.
  commands (non interactive mode):

`)
	for _, g := range a.helpGroups() {
		a.printf(" %s (help keyword '%s')\n%s\n", g.name, g.keyword, g.lines())
	}
	a.printf(`
  (specify help <group> for details about the commands in the group)

  (specify help <command> for details about the command)

  Try it without a daemon, on libvirt's test driver:
    vmoments -c test:///default snapshot-list test --tree

`)
}

// runHelp is virsh's help: every group (no --command, or an empty one), one command's help
// (also what COMMAND --help runs), or one group's commands.
func runHelp(_ context.Context, a *app, c *vsh.Parsed) error {
	name, ok := c.Value("command")
	if !ok || name == "" {
		a.printf("Grouped commands:\n\n")
		for _, g := range a.helpGroups() {
			a.printf(" %s (help keyword '%s'):\n%s\n", g.name, g.keyword, g.lines())
		}
		return nil
	}
	if def := vsh.Lookup(a.defs, name); def != nil {
		a.printf("%s", def.Help())
		return nil
	}
	for _, g := range a.helpGroups() {
		if g.name == name || g.keyword == name {
			a.printf(" %s (help keyword '%s'):\n%s", g.name, g.keyword, g.lines())
			return nil
		}
	}
	return vsh.Errorf("command or command group '%s' doesn't exist", name)
}
