package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/mattn/go-isatty"

	"github.com/vmoments/vmoments/cmd/vmoments/internal/vshfmt"
	"github.com/vmoments/vmoments/driver"
)

// app is one run of vmoments: its output streams, environment and connection.
type app struct {
	stdout, stderr io.Writer
	env            func(string) (string, bool)
	loc            *time.Location
	locale         vshfmt.Locale
	g              globalOpts
	ctx            context.Context
	// open opens a driver (driver.Open; tests may replace it).
	open func(ctx context.Context, uri string, mode driver.Mode) (driver.Driver, error)
	// probe opens and closes a libvirt connection as virsh does (driver.Probe; tests may replace it).
	probe func(ctx context.Context, uri string, mode driver.Mode) (string, error)
	// root says whether vmoments runs as root (see needProbe; tests may replace it).
	root bool
	drv  driver.Driver
	// stderrTTY says whether stderr is a terminal (progress lines are shown only then).
	stderrTTY bool
	cmds      []*cmdDef
}

func newApp(stdout, stderr io.Writer, env func(string) (string, bool)) *app {
	a := &app{stdout: stdout, stderr: stderr, env: env, loc: time.Local, ctx: context.Background(),
		open: driver.Open, probe: driver.Probe, root: os.Geteuid() == 0}
	a.locale = vshfmt.LocaleFromEnv(env)
	if f, ok := stderr.(*os.File); ok {
		a.stderrTTY = isatty.IsTerminal(f.Fd()) || isatty.IsCygwinTerminal(f.Fd())
	}
	a.cmds = commands()
	return a
}

// errorf prints one virsh-style error line: "error: MESSAGE".
func (a *app) errorf(format string, args ...any) {
	fmt.Fprintf(a.stderr, "error: "+format+"\n", args...)
}

// printf writes to stdout (virsh's vshPrint).
func (a *app) printf(format string, args ...any) {
	fmt.Fprintf(a.stdout, format, args...)
}

// printExtra writes to stdout unless -q was given (virsh's vshPrintExtra).
func (a *app) printExtra(format string, args ...any) {
	if !a.g.quiet {
		fmt.Fprintf(a.stdout, format, args...)
	}
}

// main runs vmoments with the arguments after the program name and returns the exit status:
// 0 when every command succeeded, 1 otherwise (as virsh).
func (a *app) main(args []string) int {
	g, i, msg := parseGlobals(args)
	if msg != "" {
		a.errorf("%s", msg)
		return 1
	}
	a.g = g
	if g.help {
		a.usage()
		return 0
	}
	if g.version {
		a.printf("%s\n", version)
		return 0
	}
	rest := args[i:]
	if len(rest) == 0 {
		a.usage()
		return 0
	}
	var tk tokenizer = &argvTokens{words: rest}
	if len(rest) == 1 {
		tk = &stringTokens{s: rest[0]}
	}
	cmds, msg := parseCommands(a.cmds, tk)
	if msg != "" {
		a.errorf("%s", msg)
		return 1
	}
	defer func() {
		if a.drv != nil {
			a.drv.Close()
		}
	}()
	needConn := false
	for _, c := range cmds {
		needConn = needConn || !c.def.noConnect
	}
	// virsh connects at start-up when -c names a URI (a failure ends it before any command),
	// and otherwise when the first command needs the connection.
	if g.uriGiven && needConn && !a.connect() {
		return 1
	}
	ok := true
	for _, c := range cmds {
		if c.def.noConnect || a.drv != nil || a.connect() {
			ok = c.def.run(a, c) && ok
		} else {
			ok = false
		}
		a.printExtra("\n")
	}
	if !ok {
		return 1
	}
	return 0
}

const version = "vmoments (virsh 9.0 compatible list commands)"

// connect opens the driver for the URI virsh would use. Failures print virsh's two lines.
func (a *app) connect() bool {
	uri := a.g.uri
	if !a.g.uriGiven {
		if v, ok := a.env("VIRSH_DEFAULT_CONNECT_URI"); ok && v != "" {
			uri = v
		} else if v, ok := a.env("LIBVIRT_DEFAULT_URI"); ok && v != "" {
			uri = v
		}
	}
	probed := false
	if a.needProbe(uri) {
		// Ask libvirt itself: it resolves its default URI (uri_default in libvirt.conf, root or
		// session), and a failure gives exactly the message virsh prints.
		resolved, err := a.probe(a.ctx, uri, a.mode())
		if err != nil {
			a.errorf("failed to connect to the hypervisor")
			a.errorf("%s", libvirtMessage(err))
			return false
		}
		uri, probed = resolved, true
	}
	drv, err := a.open(a.ctx, uri, a.mode())
	if err != nil {
		if !probed && !isTestURI(uri) {
			// The driver's message may not be virsh's (an unknown scheme, a read-only
			// connection that failed): libvirt's own connection says what virsh says.
			if _, perr := a.probe(a.ctx, uri, a.mode()); perr != nil {
				err = perr
			}
		}
		a.errorf("failed to connect to the hypervisor")
		a.errorf("%s", libvirtMessage(err))
		return false
	}
	a.drv = drv
	return true
}

// needProbe reports whether connect must open a libvirt connection of its own before the
// driver's, which costs a connection (~10 ms). It must when the URI is libvirt's default (""),
// which only libvirt resolves. With an explicit URI the driver's first connection (read-only,
// opened first) fails the way virsh's does, except where a read-write connection can be refused
// while a read-only one is accepted (a user other than root; a remote host, where the login
// may be anyone): there virsh's read-write connection is probed as before, so vmoments fails
// as virsh does. The test driver is never probed: its state lives in the driver's connection.
func (a *app) needProbe(uri string) bool {
	switch {
	case uri == "":
		return true
	case isTestURI(uri):
		return false
	case a.g.readonly:
		return false // the driver's connection is the same read-only one
	}
	u, err := url.Parse(uri)
	return err != nil || u.Host != "" || !a.root
}

// isTestURI reports whether uri is libvirt's test driver.
func isTestURI(uri string) bool {
	return strings.HasPrefix(strings.ToLower(uri), "test:")
}

// mode is the driver mode of -r.
func (a *app) mode() driver.Mode {
	if a.g.readonly {
		return driver.ReadOnly
	}
	return driver.ReadWrite
}

// libvirtMessage returns libvirt's own message for err (what virsh prints), else err's text.
func libvirtMessage(err error) string {
	var derr *driver.Error
	if errors.As(err, &derr) {
		return derr.Message()
	}
	return err.Error()
}
