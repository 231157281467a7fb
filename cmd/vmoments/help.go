package main

import (
	"context"

	"github.com/vmoments/vmoments/cmd/vmoments/internal/vsh"
)

// usage is vmoments' global help (vmoments, vmoments -h, vmoments help).
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
		a.printf("    %-30s %s\n", c.Name, c.Summary)
	}
	a.printf(`
  Try it without a daemon, on libvirt's test driver:
    vmoments -c test:///default snapshot-list test --tree

`)
}

// runHelp is virsh's help: the global help, or one command's (also what COMMAND --help runs).
func runHelp(_ context.Context, a *app, c *vsh.Parsed) error {
	name, ok := c.Value("command")
	if !ok || name == "" {
		a.usage()
		return nil
	}
	def := vsh.Lookup(a.defs, name)
	if def == nil {
		return vsh.Errorf("command or command group '%s' doesn't exist", name)
	}
	a.printf("%s", def.Help())
	return nil
}
