package main

import (
	"context"
	"fmt"
	"strings"

	"github.com/vmoments/vmoments/cmd/vmoments/internal/vsh"
	"github.com/vmoments/vmoments/conf"
	"github.com/vmoments/vmoments/driver"
)

// Completion, as virsh's (vshReadlineParse and the completers of tools/virsh-completer*.c):
// the line up to the cursor is parsed as a command being typed (vsh.ParsePartial); then
//
//   - no command yet (or the word being typed is the command's whole name): the command names;
//   - the word is an option name, or a flag: the options not given yet (an argv one always);
//   - the word is the value of an option that has a completer: its values, asked of the
//     connection: domain names, snapshot names, checkpoint names, command names;
//   - else nothing (virsh's shell then completes file names, and so do vmoments' shell and
//     completion scripts).
//
// The values are escaped as virsh escapes them (a backslash before each space) unless the word
// being typed opened a quote, and only those that begin with the word are kept.
//
// The completers follow virsh's by option name, so that a command added to the table completes
// as virsh's without more code: <domain> lists the domains with snapshots for snapshot-*
// commands (every domain for snapshot-create and snapshot-create-as), with checkpoints for
// checkpoint-* (running ones for checkpoint-create and checkpoint-create-as, running ones with
// checkpoints for checkpoint-delete), every domain elsewhere; snapshotname, and snapshot-list's
// from, list the domain's snapshots; checkpointname, and checkpoint-list's from, its checkpoints;
// help's command the commands; completion's shell bash and zsh.

// completer lists the values an option may take, for the command being typed.
type completer func(ctx context.Context, a *app, p *vsh.Partial) ([]string, error)

// domainFilter is which domains a <domain> completer lists (virsh's VIR_CONNECT_LIST_DOMAINS_*
// completer flags).
type domainFilter struct {
	snapshots, checkpoints, active bool
}

// completerFor returns the completer of option opt of command c, or nil.
func completerFor(c *vsh.Cmd, opt *vsh.Opt) completer {
	isSnap := strings.HasPrefix(c.Name, "snapshot-")
	isCheck := strings.HasPrefix(c.Name, "checkpoint-")
	switch {
	case opt.Name == "domain" && opt.Kind == vsh.Data:
		var f domainFilter
		switch {
		case c.Name == "snapshot-create" || c.Name == "snapshot-create-as":
		case isSnap:
			f.snapshots = true
		case c.Name == "checkpoint-create" || c.Name == "checkpoint-create-as":
			f.active = true
		case c.Name == "checkpoint-delete":
			f.checkpoints, f.active = true, true
		case isCheck:
			f.checkpoints = true
		}
		return func(ctx context.Context, a *app, _ *vsh.Partial) ([]string, error) { return a.domainNames(ctx, f) }
	case opt.Name == "snapshotname" || (opt.Name == "from" && c.Name == "snapshot-list"):
		return momentNames(conf.Snapshot)
	case opt.Name == "checkpointname" || (opt.Name == "from" && c.Name == "checkpoint-list"):
		return momentNames(conf.Checkpoint)
	case opt.Name == "command" && c.Name == "help":
		return func(_ context.Context, a *app, _ *vsh.Partial) ([]string, error) { return a.commandNames(), nil }
	case opt.Name == "shell" && c.Name == "completion":
		return func(context.Context, *app, *vsh.Partial) ([]string, error) { return []string{"bash", "zsh"}, nil }
	}
	return nil
}

// commandNames are the commands completion offers: all but the hidden ones, in the help's order.
func (a *app) commandNames() []string {
	var names []string
	for _, g := range a.helpGroups() {
		for _, c := range g.cmds {
			names = append(names, c.Name)
		}
	}
	return names
}

// domainNames lists the connection's domains that f keeps.
func (a *app) domainNames(ctx context.Context, f domainFilter) ([]string, error) {
	if err := a.needDriver(ctx); err != nil {
		return nil, err
	}
	doms, err := a.drv.Domains(ctx)
	if err != nil {
		return nil, err
	}
	var names []string
	for _, d := range doms {
		if f.active && d.ID < 0 {
			continue
		}
		if f.snapshots || f.checkpoints {
			// by UUID: a name may read as another domain's ID
			dom, err := a.drv.Domain(ctx, d.UUID)
			if err != nil {
				continue // gone since the list
			}
			if (f.snapshots && !hasMoments(ctx, dom, conf.Snapshot)) || (f.checkpoints && !hasMoments(ctx, dom, conf.Checkpoint)) {
				continue
			}
		}
		names = append(names, d.Name)
	}
	return names, nil
}

func hasMoments(ctx context.Context, dom driver.Domain, kind conf.Kind) bool {
	ms, err := dom.List(ctx, kind, "", 0)
	return err == nil && len(ms) > 0
}

// momentNames is virsh's snapshot and checkpoint name completer: the moments of kind of the
// command's <domain>, none when no domain was given yet or it does not exist.
func momentNames(kind conf.Kind) completer {
	return func(ctx context.Context, a *app, p *vsh.Partial) ([]string, error) {
		ref, ok := p.Value("domain")
		if !ok || ref == "" {
			return nil, nil
		}
		if err := a.needDriver(ctx); err != nil {
			return nil, err
		}
		dom, err := a.drv.Domain(ctx, ref)
		if err != nil {
			return nil, nil
		}
		ms, err := dom.List(ctx, kind, "", 0)
		if err != nil {
			return nil, err
		}
		names := make([]string, len(ms))
		for i, m := range ms {
			names[i] = m.Name()
		}
		return names, nil
	}
}

// complete returns what completion offers for line, the text before the cursor, whose last
// word is text (quoted: the word opened a quote, which text no longer holds). It returns nil
// when there is nothing to offer. virsh's messages for a word that does not read (an unclosed
// double quote) are printed on stderr, as virsh prints them.
func (a *app) complete(ctx context.Context, line, text string, quoted bool) []string {
	p := vsh.ParsePartial(a.defs, line)
	var cmd *vsh.Cmd
	var this *vsh.Opt
	if p != nil {
		for _, e := range p.Errors {
			fmt.Fprintf(a.stderr, "error: %s\n", e)
		}
		cmd, this = p.Cmd, p.This
	}
	if cmd != nil && cmd.Name == text {
		cmd = nil // "dump" of dump and dumpxml: complete the command's name
	}
	var list []string
	switch {
	case cmd == nil:
		list = a.commandNames()
	case this == nil || this.Kind == vsh.Bool:
		for i := range cmd.Opts {
			o := &cmd.Opts[i]
			if o.Kind == vsh.Alias || (o.Kind != vsh.Argv && p.Given(o.Name)) {
				continue
			}
			list = append(list, "--"+o.Name)
		}
	default:
		if f := completerFor(cmd, this); f != nil {
			var err error
			if list, err = f(ctx, a, p); err != nil {
				return nil
			}
		}
	}
	var out []string
	for _, s := range list {
		if !quoted {
			s = strings.ReplaceAll(s, " ", `\ `)
		}
		if strings.HasPrefix(s, text) {
			out = append(out, s)
		}
	}
	return out
}

// needDriver connects if no connection is open (for a completer that asks the connection).
func (a *app) needDriver(ctx context.Context) error {
	if a.drv != nil {
		return nil
	}
	return a.connect(ctx)
}

// runComplete is virsh's hidden complete command, what virsh's bash completion runs: the words
// are the command line after the program and its options, the last one the word being typed
// (empty after a space); it prints what may replace that word, one per line, and fails when
// nothing may. virsh's connects first, and completes nothing when it cannot connect; vmoments'
// connects when a completer asks the connection for names (commands and options need none).
// Standard input is not read, so that nothing can wait on it.
func runComplete(ctx context.Context, a *app, c *vsh.Parsed) error {
	words := c.Argv()
	if len(words) == 0 {
		return errShown // virsh: no string, nothing to complete, silently false
	}
	a.stdin = strings.NewReader("")
	matches := a.complete(ctx, strings.Join(words, " "), words[len(words)-1], false)
	if len(matches) == 0 {
		return errShown
	}
	for _, m := range matches {
		a.printf("%s\n", m)
	}
	return nil
}

// runSelfTest is virsh's hidden self-test: the command table's definitions are checked as
// virsh checks its own (vsh.Check), and with --completers-missing the value options without a
// completer are listed per command.
func runSelfTest(_ context.Context, a *app, c *vsh.Parsed) error {
	if err := vsh.Check(a.defs); err != nil {
		return err
	}
	if !c.Has("completers-missing") {
		return nil
	}
	for _, def := range a.defs {
		var missing []string
		for i := range def.Opts {
			o := &def.Opts[i]
			if (o.Kind == vsh.String || o.Kind == vsh.Data) && completerFor(def, o) == nil {
				missing = append(missing, o.Name)
			}
		}
		if len(missing) > 0 {
			a.printExtra("%s: %s\n", def.Name, strings.Join(missing, ", "))
		}
	}
	return nil
}
