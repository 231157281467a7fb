package main

import (
	"context"
	"fmt"
	"os"
	"strings"
	"syscall"
	"time"

	"github.com/vmoments/vmoments/cmd/vmoments/internal/vsh"
	"github.com/vmoments/vmoments/driver"
)

// This file is what virsh's global options do beyond the connection (connect.go) and -q:
// -d's debug messages, -l's log file, -t's timing (app.go's runAll), -e's escape sequence,
// -k and -K's keepalive (checked when vmoments connects).
//
// virsh prints its debug messages (vshDebug) on stdout: at level 1 (info) the command string,
// each option as the parser takes it, the failed keepalive of a test connection and each
// <domain> option; at level 0 (debug) also how virsh looks the domain up. vmoments prints the
// same lines at the same points. The log file gets every error and every debug message of the
// level asked for, as "[YYYY.MM.DD HH:MM:SS vmoments PID] LEVEL message".
//
// -e sets the escape sequence of virsh's console command; vmoments has no console command, so
// it checks the value as virsh does and nothing else uses it, as nothing else uses it in virsh.

// progname is the program's name in log lines (virsh puts its own there).
const progname = "vmoments"

// Keepalive defaults of virsh's connections (virshConnect).
const (
	keepaliveInterval = 5
	keepaliveCount    = 6
)

// initDebug is vshInitDebug: the level of $VIRSH_DEBUG unless -d set one (a bad value is
// reported, and ignored), and the log file of $VIRSH_LOG_FILE unless -l named one. Its error
// is the log file that does not open, which ends the run.
func (a *app) initDebug() error {
	if a.debug == vsh.DebugError {
		if v, ok := a.env("VIRSH_DEBUG"); ok {
			n, valid := vsh.StrToInt(v, 10)
			if !valid || n < vsh.DebugDebug || n > vsh.DebugError {
				a.reportLine("VIRSH_DEBUG not set with a valid numeric value")
			} else {
				a.debug = n
			}
		}
	}
	if a.log == nil && a.g.LogFile == "" {
		if v, _ := a.env("VIRSH_LOG_FILE"); v != "" {
			return a.OpenLog(v)
		}
	}
	return nil
}

// OpenLog opens the log file path, closing the one before (vsh.GlobalEffects: -l).
func (a *app) OpenLog(path string) error {
	a.closeLog()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE|syscall.O_SYNC, 0o644)
	if err != nil {
		return vsh.Errorf("failed to open the log file. check the log file path")
	}
	a.log = f
	return nil
}

// Warn reports a problem with an option that does not end the run (vsh.GlobalEffects: -d).
func (a *app) Warn(msg string) { a.reportLine(msg) }

func (a *app) closeLog() {
	if a.log != nil {
		a.log.Close()
		a.log = nil
	}
}

// logLine writes one message to the log file, if there is one (vshOutputLogFile).
func (a *app) logLine(level int, msg string) {
	if a.log == nil {
		return
	}
	name := [...]string{"DEBUG", "INFO", "INFO", "WARNING", "ERROR"}[level]
	now := time.Now().In(a.loc).Format("2006.01.02 15:04:05")
	msg = strings.TrimSuffix(msg, "\n")
	if _, err := fmt.Fprintf(a.log, "[%s %s %d] %s %s\n", now, progname, os.Getpid(), name, msg); err != nil {
		a.closeLog()
		a.reportLine("failed to write the log file")
	}
}

// debugf is vshDebug: a message of level printed on stdout (and logged) when -d asks for it.
func (a *app) debugf(level int, format string, args ...any) {
	if level < a.debug {
		return
	}
	msg := fmt.Sprintf(format, args...)
	a.logLine(level, msg)
	fmt.Fprint(a.stdout, msg)
}

// traceParse prints the parser's line for an option it took (virsh -d 1).
func (a *app) traceParse(line string) { a.debugf(vsh.DebugInfo, "%s\n", line) }

// traceLookup prints virsh's debug lines for the <domain> option ref of the running command:
// the option (-d 1), then how virsh looks it up (-d 0): as a running domain's ID if it reads as
// a number, then as a UUID if it has a UUID's length, then as a name, each only if the one
// before found nothing. The connection's domains say what virsh's lookups would find.
func (a *app) traceLookup(ctx context.Context, ref string) {
	a.debugf(vsh.DebugInfo, "%s: found option <domain>: %s\n", a.running, ref)
	if a.debug > vsh.DebugDebug {
		return
	}
	doms, err := a.drv.Domains(ctx)
	if err != nil {
		doms = nil
	}
	found := false
	if id, ok := vsh.StrToInt(ref, 10); ok && id >= 0 {
		a.debugf(vsh.DebugDebug, "%s: <domain> looks like ID\n", a.running)
		found = hasDomain(doms, func(d driver.DomainInfo) bool { return d.ID == id })
	}
	if !found && len(ref) == 36 {
		a.debugf(vsh.DebugDebug, "%s: <domain> trying as domain UUID\n", a.running)
		found = hasDomain(doms, func(d driver.DomainInfo) bool { return sameUUID(d.UUID, ref) })
	}
	if !found {
		a.debugf(vsh.DebugDebug, "%s: <domain> trying as domain NAME\n", a.running)
	}
}

func hasDomain(doms []driver.DomainInfo, match func(driver.DomainInfo) bool) bool {
	for _, d := range doms {
		if match(d) {
			return true
		}
	}
	return false
}

// sameUUID compares UUIDs as libvirt parses them: hexadecimal digits, in any case, with any
// dashes between them.
func sameUUID(a, b string) bool {
	norm := func(s string) string { return strings.ToLower(strings.ReplaceAll(s, "-", "")) }
	return norm(a) == norm(b)
}

// keepaliveCheck is virshConnect's keepalive step for a new connection to uri. virsh asks for
// keepalive (every 5 s, 6 missed) on every connection unless -k 0; libvirt's test driver
// refuses it, which virsh reports only at -d 1, or, when -k or -K asked for it, as a failed
// connection. vmoments' connections send no keepalive messages (as virsh -k 0): elsewhere
// -k N or -K asking for keepalive is refused rather than ignored.
func (a *app) keepaliveCheck(uri string) error {
	interval := a.g.KeepaliveInterval
	forced := interval >= 0 || a.g.KeepaliveCount >= 0
	if interval < 0 {
		interval = keepaliveInterval
	}
	if interval == 0 {
		return nil
	}
	if isTestURI(uri) {
		if !forced {
			a.debugf(vsh.DebugInfo, "%s", "Failed to setup keepalive on connection\n")
			return nil
		}
		return &vsh.Error{Lines: []string{
			"Cannot setup keepalive on connection as requested, disconnecting",
			"failed to connect to the hypervisor",
			"this function is not supported by the connection driver: virConnectSetKeepAlive",
		}}
	}
	if !forced {
		return nil
	}
	return vsh.Errorf("keepalive (-k, -K) is not supported: vmoments' connection to %s would send no keepalive messages; -k 0 asks for none", uri)
}

// reportLine prints one error line as virsh's vshError, and logs it.
func (a *app) reportLine(msg string) {
	a.logLine(vsh.DebugError, msg)
	fmt.Fprintf(a.stderr, "error: %s\n", msg)
}
