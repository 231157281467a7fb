package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/mattn/go-isatty"

	"github.com/vmoments/vmoments/cmd/vmoments/internal/vsh"
	"github.com/vmoments/vmoments/cmd/vmoments/internal/vshfmt"
	"github.com/vmoments/vmoments/driver"
)

// app is one run of vmoments: its output streams, environment and connection.
type app struct {
	stdout, stderr io.Writer
	// stdin is where the shell reads commands when none is given (main: os.Stdin; newApp: an
	// empty input). stdinTTY and stdoutTTY say whether they are terminals (the shell then
	// edits lines and keeps a history).
	stdin               io.Reader
	stdinTTY, stdoutTTY bool
	env                 func(string) (string, bool)
	loc                 *time.Location
	locale              vshfmt.Locale
	g                   vsh.Globals
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

	// debug is the level of the debug messages printed (virsh's -d, $VIRSH_DEBUG) and log
	// the file of -l or $VIRSH_LOG_FILE (globals.go).
	debug int
	log   *os.File
	// imode is virsh's interactive mode: no command was given, so the shell reads them
	// (shell.go); quit and exit end it.
	imode bool
	// running is the name of the command that runs (for the debug messages).
	running string
	// history is the shell's history (shell.go), nil when none is kept.
	history *history
}

func newApp(stdout, stderr io.Writer, env func(string) (string, bool)) *app {
	a := &app{stdout: stdout, stderr: stderr, stdin: strings.NewReader(""), env: env, loc: time.Local,
		ctx: context.Background(), open: driver.Open, probe: driver.Probe, root: os.Geteuid() == 0,
		debug: vsh.DebugError}
	a.locale = vshfmt.LocaleFromEnv(env)
	a.stderrTTY = isTerminal(stderr)
	a.stdoutTTY = isTerminal(stdout)
	a.cmds = commands()
	for _, c := range a.cmds {
		a.defs = append(a.defs, &c.Cmd)
	}
	return a
}

// isTerminal reports whether f is an *os.File on a terminal.
func isTerminal(f any) bool {
	file, ok := f.(*os.File)
	return ok && (isatty.IsTerminal(file.Fd()) || isatty.IsCygwinTerminal(file.Fd()))
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

// main runs vmoments with the arguments after the program name and returns the exit status,
// by virsh's rule: with commands on the command line, 0 when the last command succeeded, 1
// when it failed (or the line does not parse); without, when the shell read the commands, 0
// (virsh's interactive mode ends well whatever its commands did). A signal N that interrupted
// the run makes it 128+N (130 for SIGINT, 143 for SIGTERM, 129 for SIGHUP).
func (a *app) main(args []string) int {
	defer a.closeLog()
	// virsh reads $VIRSH_DEBUG and $VIRSH_LOG_FILE before its options and again after them
	// (vshInit, then vshInitReload), so a bad value is reported twice.
	if err := a.initDebug(); err != nil {
		a.report(err)
		return 1
	}
	g, i, err := vsh.ParseGlobals(args, a)
	a.g = g
	if err != nil {
		a.report(err)
		return 1
	}
	if g.Debug >= 0 {
		a.debug = g.Debug
	}
	if g.Help {
		a.usage()
		return 0
	}
	if g.Version {
		a.printf("%s\n", a.versionLine())
		return 0
	}
	rest := args[i:]
	a.imode = len(rest) == 0
	var parsed []*vsh.Parsed
	if !a.imode {
		if len(rest) == 1 {
			a.debugf(vsh.DebugInfo, "commands: \"%s\"\n", rest[0])
		}
		if parsed, err = vsh.ParseArgsTraced(a.defs, rest, a.traceParse); err != nil {
			a.report(err)
			return 1
		}
	}
	if err := a.initDebug(); err != nil {
		a.report(err)
		return 1
	}
	defer func() {
		if a.drv != nil {
			a.drv.Close()
		}
	}()
	if a.imode {
		return a.shell()
	}
	// virsh connects at start-up when -c names a URI (a failure ends it before any command),
	// and otherwise when the first command needs the connection. vmoments does not connect
	// for a command line that needs no connection (help, validate, echo).
	needConn := slices.ContainsFunc(parsed, func(p *vsh.Parsed) bool { return !p.Cmd.NoConnect })
	if a.g.URIGiven && needConn {
		if status, ok := a.connectAtStart(); !ok {
			return status
		}
	}
	status, _ := a.runAll(parsed)
	return status
}

// connectAtStart connects as virsh does when -c gives a URI. When it fails, it reports why and
// returns the exit status and false.
func (a *app) connectAtStart() (int, bool) {
	if err := a.connect(a.ctx); err != nil {
		if status := a.interruption(err); status != 0 {
			return status, false
		}
		a.report(err)
		return 1, false
	}
	return 0, true
}

// runAll runs the parsed commands in turn, as virsh's vshCommandRun, and returns the exit status
// of the last one (0 or 1; 128+N when signal N interrupted the run) and whether quit or exit
// ended them. Each command's error is printed once, after it ran, and virsh's blank line follows
// every command (not with -q), or with -t the time it took. A failed command does not stop the
// next; quit, exit and a signal do.
func (a *app) runAll(parsed []*vsh.Parsed) (status int, quit bool) {
	for _, p := range parsed {
		start := time.Now()
		err := a.run(p)
		elapsed := time.Since(start)
		if s := a.interruption(err); s != 0 {
			a.printExtra("\n")
			return s, false
		}
		status = 0
		if err != nil {
			a.report(err)
			status = 1
		}
		if p.Cmd.Name == "quit" || p.Cmd.Name == "exit" {
			return status, true
		}
		if a.g.Timing {
			a.printf("\n(Time: %.3f ms)\n\n", float64(elapsed.Microseconds())/1000)
		} else {
			a.printExtra("\n")
		}
	}
	return status, false
}

// run runs one command, connecting first if it needs the connection and none is open.
func (a *app) run(p *vsh.Parsed) error {
	a.running = p.Cmd.Name
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
