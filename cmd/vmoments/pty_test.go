package main

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// A pseudo-terminal for the tests that need one: vmoments' interactive shell, and bash and zsh
// completing vmoments' command lines. The program runs on the terminal's slave side as its
// controlling terminal; the test types on the master side and reads what the program draws.

// ptySession is one program running on a pseudo-terminal.
type ptySession struct {
	t      *testing.T
	master *os.File
	cmd    *exec.Cmd
	mu     sync.Mutex
	out    bytes.Buffer // everything the program wrote
	mark   int          // expect looks at the plain text of out from here
	exited chan struct{}
	err    error
}

// openPty opens a pseudo-terminal pair (posix_openpt, unlockpt, ptsname).
func openPty() (master, slave *os.File, err error) {
	m, err := os.OpenFile("/dev/ptmx", os.O_RDWR|syscall.O_NOCTTY|syscall.O_CLOEXEC, 0)
	if err != nil {
		return nil, nil, err
	}
	n, err := unix.IoctlGetInt(int(m.Fd()), unix.TIOCGPTN)
	if err != nil {
		m.Close()
		return nil, nil, err
	}
	var unlock int32
	if _, _, e := unix.Syscall(unix.SYS_IOCTL, m.Fd(), unix.TIOCSPTLCK, uintptr(unsafe.Pointer(&unlock))); e != 0 {
		m.Close()
		return nil, nil, e
	}
	s, err := os.OpenFile("/dev/pts/"+strconv.Itoa(n), os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		m.Close()
		return nil, nil, err
	}
	return m, s, nil
}

// startPty starts cmd on a new 120x40 terminal.
func startPty(t *testing.T, cmd *exec.Cmd) *ptySession {
	t.Helper()
	m, s, err := openPty()
	if err != nil {
		t.Fatalf("no pseudo-terminal: %v", err)
	}
	if err := unix.IoctlSetWinsize(int(s.Fd()), unix.TIOCSWINSZ, &unix.Winsize{Row: 40, Col: 120}); err != nil {
		t.Fatal(err)
	}
	cmd.Stdin, cmd.Stdout, cmd.Stderr = s, s, s
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	s.Close()
	p := &ptySession{t: t, master: m, cmd: cmd, exited: make(chan struct{})}
	go func() {
		buf := make([]byte, 4096)
		for {
			n, err := m.Read(buf)
			p.mu.Lock()
			p.out.Write(buf[:n])
			p.mu.Unlock()
			if err != nil {
				return
			}
		}
	}()
	go func() {
		p.err = cmd.Wait()
		close(p.exited)
	}()
	t.Cleanup(func() {
		select {
		case <-p.exited:
		default:
			cmd.Process.Kill()
			<-p.exited
		}
		m.Close()
	})
	return p
}

// send types keys.
func (p *ptySession) send(keys string) {
	p.t.Helper()
	if _, err := p.master.Write([]byte(keys)); err != nil {
		p.t.Fatalf("typing %q: %v", keys, err)
	}
}

// expect waits until what the program drew since the last expect matches re (terminal escape
// sequences removed), and returns that text; the next expect looks after the match.
func (p *ptySession) expect(re string) string {
	p.t.Helper()
	rx := regexp.MustCompile(re)
	deadline := time.Now().Add(20 * time.Second)
	for {
		p.mu.Lock()
		text := plainText(p.out.Bytes())
		if p.mark > len(text) {
			p.mark = len(text)
		}
		text = text[p.mark:]
		if loc := rx.FindStringIndex(text); loc != nil {
			p.mark += loc[1]
			p.mu.Unlock()
			return text[:loc[1]]
		}
		p.mu.Unlock()
		if time.Now().After(deadline) {
			p.t.Fatalf("no %q on the terminal; it shows:\n%q", re, text)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// all is everything the program drew, escape sequences removed.
func (p *ptySession) all() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return plainText(p.out.Bytes())
}

// wait waits for the program to end and returns how: its exit status, or -N for signal N.
func (p *ptySession) wait() int {
	p.t.Helper()
	select {
	case <-p.exited:
	case <-time.After(20 * time.Second):
		p.t.Fatalf("the program did not end; the terminal shows:\n%q", p.all())
	}
	var ee *exec.ExitError
	if errors.As(p.err, &ee) {
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return -int(ws.Signal())
		}
		return ee.ExitCode()
	}
	if p.err != nil {
		p.t.Fatal(p.err)
	}
	return 0
}

// escapes are a terminal's control sequences (CSI, OSC, charset and keypad modes).
var escapes = regexp.MustCompile(`\x1b(\[[0-9;?]*[ -/]*[@-~]|\][^\x07]*\x07|[()][0-9A-Za-z]|[=>])`)

// plainText is raw with the escape sequences, carriage returns and bells removed.
func plainText(raw []byte) string {
	return strings.NewReplacer("\r", "", "\a", "").Replace(string(escapes.ReplaceAll(raw, nil)))
}
