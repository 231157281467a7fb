package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"slices"
	"time"

	"github.com/mattn/go-isatty"

	"github.com/vmoments/vmoments/cmd/vmoments/internal/vsh"
	"github.com/vmoments/vmoments/cmd/vmoments/internal/vshfmt"
	"github.com/vmoments/vmoments/driver"
)

// app is one run of vmoments: its output streams, environment and connection.
type app struct {
	stdout, stderr io.Writer
	env            func(string) (string, bool)
	loc            *time.Location
	locale         vshfmt.Locale
	g              vsh.Globals
	// ctx is the run's context, handed to every command: main's is canceled by SIGINT,
	// SIGTERM and SIGHUP (signal.go); sigs is main's signal handling (nil in tests).
	ctx  context.Context
	sigs *signals
	// open opens a driver (driver.Open; tests may replace it).
	open func(ctx context.Context, uri string, mode driver.Mode) (driver.Driver, error)
	// probe opens and closes a libvirt connection as virsh does (driver.Probe; tests may replace it).
	probe func(ctx context.Context, uri string, mode driver.Mode) (string, error)
	// root says whether vmoments runs as root (see needProbe; tests may replace it).
	root bool
	drv  driver.Driver
	// stderrTTY says whether stderr is a terminal (progress lines are shown only then).
	stderrTTY bool
	// cmds is the command table (commands.go) and defs its definitions, for the parser.
	cmds []*command
	defs []*vsh.Cmd
}

func newApp(stdout, stderr io.Writer, env func(string) (string, bool)) *app {
	a := &app{stdout: stdout, stderr: stderr, env: env, loc: time.Local, ctx: context.Background(),
		open: driver.Open, probe: driver.Probe, root: os.Geteuid() == 0}
	a.locale = vshfmt.LocaleFromEnv(env)
	if f, ok := stderr.(*os.File); ok {
		a.stderrTTY = isatty.IsTerminal(f.Fd()) || isatty.IsCygwinTerminal(f.Fd())
	}
	a.cmds = commands()
	for _, c := range a.cmds {
		a.defs = append(a.defs, &c.Cmd)
	}
	return a
}

// printf writes to stdout (virsh's vshPrint).
func (a *app) printf(format string, args ...any) {
	fmt.Fprintf(a.stdout, format, args...)
}

// printExtra writes to stdout unless -q was given (virsh's vshPrintExtra).
func (a *app) printExtra(format string, args ...any) {
	if !a.g.Quiet {
		fmt.Fprintf(a.stdout, format, args...)
	}
}

// main runs vmoments with the arguments after the program name and returns the exit status:
// 0 when every command succeeded, 1 otherwise (as virsh), 128+N when signal N interrupted the
// run (130 for SIGINT, 143 for SIGTERM, 129 for SIGHUP).
func (a *app) main(args []string) int {
	g, i, err := vsh.ParseGlobals(args)
	if err != nil {
		a.report(err)
		return 1
	}
	a.g = g
	if g.Help {
		a.usage()
		return 0
	}
	if g.Version {
		a.printf("%s\n", a.versionLine())
		return 0
	}
	rest := args[i:]
	if len(rest) == 0 {
		a.usage()
		return 0
	}
	parsed, err := vsh.ParseArgs(a.defs, rest)
	if err != nil {
		a.report(err)
		return 1
	}
	defer func() {
		if a.drv != nil {
			a.drv.Close()
		}
	}()
	return a.dispatch(parsed)
}

// dispatch runs the parsed commands in turn, as virsh's vshCommandRun: each one's error is
// printed once, after it ran, and virsh's blank line follows every command (not with -q). A
// failed command does not stop the next; a signal does (see interruption).
func (a *app) dispatch(parsed []*vsh.Parsed) int {
	needConn := slices.ContainsFunc(parsed, func(p *vsh.Parsed) bool { return !p.Cmd.NoConnect })
	// virsh connects at start-up when -c names a URI (a failure ends it before any command),
	// and otherwise when the first command needs the connection.
	if a.g.URIGiven && needConn {
		if err := a.connect(a.ctx); err != nil {
			if status := a.interruption(err); status != 0 {
				return status
			}
			a.report(err)
			return 1
		}
	}
	status := 0
	for _, p := range parsed {
		err := a.run(p)
		if s := a.interruption(err); s != 0 {
			a.printExtra("\n")
			return s
		}
		if err != nil {
			a.report(err)
			status = 1
		}
		a.printExtra("\n")
	}
	return status
}

// run runs one command, connecting first if it needs the connection and none is open.
func (a *app) run(p *vsh.Parsed) error {
	if !p.Cmd.NoConnect && a.drv == nil {
		if err := a.connect(a.ctx); err != nil {
			return err
		}
	}
	for _, c := range a.cmds {
		if &c.Cmd == p.Cmd {
			return c.run(a.ctx, a, p)
		}
	}
	return fmt.Errorf("command '%s' has no implementation", p.Cmd.Name) // not in the table: cannot happen
}
