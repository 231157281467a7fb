package qemutest

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"libvirt.org/go/libvirt"
)

// A Daemon is a private libvirtd, started by a test, that listens on 127.0.0.1 without TLS or
// authentication (URI, qemu+tcp://) and on a unix socket of its own (LocalURI), so remote URIs
// can be tested on one machine, and so can what must never happen to the shared daemon: a
// restart in the middle of a load, a crash.
//
// Two root libvirtds cannot share a machine's state: the second one would delete the first
// one's sockets in /run/libvirt, and its QEMU driver would fight the first for the driver lock
// and the domain state under /run/libvirt/qemu and /var/lib/libvirt/qemu. libvirtd takes those
// paths from its build, not from its configuration (only the socket directory and the pid file
// can be moved). So the daemon runs in a mount namespace of its own (unshare -m) where
// /run/libvirt, /var/lib/libvirt, /var/cache/libvirt, /var/log/libvirt and /etc/libvirt are bind
// mounts of fresh directories under Dir: it sees none of the system daemon's files and the
// system daemon sees none of its. /etc/libvirt starts with a copy of the system's configuration
// files (qemu.conf says user root) but none of its domain definitions, and the cache starts
// with the system daemon's QEMU capabilities, which spares the new daemon a probe of QEMU
// (it answers in about 0.3 s). Its unix sockets are in Dir/sock, outside the namespace's private
// mounts.
//
// The daemon runs in the foreground as a child of the test; it gets SIGTERM when the test ends
// (and if the test process dies: Pdeathsig), and it exits by itself after 300 s without
// clients (--timeout) should both fail. It runs no guests (there is no virtlogd in its
// namespace): offline snapshots and redefines need none. Starting one needs root.
type Daemon struct {
	// URI is qemu+tcp://127.0.0.1:PORT/system; LocalURI reaches the same daemon by its unix
	// socket (qemu+unix:///system?socket=...).
	URI, LocalURI string
	// Dir holds the daemon's state, its configuration (etc/libvirtd.conf), its log
	// (libvirtd.log) and its output (out).
	Dir    string
	cmd    *exec.Cmd
	exited chan struct{}
}

// privateDirs are the daemon's state directories, each shadowed by a directory of Dir.
var privateDirs = []struct{ sub, path string }{
	{"run", "/run/libvirt"},
	{"lib", "/var/lib/libvirt"},
	{"cache", "/var/cache/libvirt"},
	{"log", "/var/log/libvirt"},
	{"etc", "/etc/libvirt"},
}

// startScript runs in the new mount namespace: it shadows the state directories, refuses to go
// on unless every one is shadowed and the system daemon's socket is out of sight, then becomes
// libvirtd.
const startScript = `set -eu
R="$1"; shift
while [ $# -gt 0 ]; do
  mount --bind "$R/$1" "$2"
  mountpoint -q "$2" || { echo "vmoments: $2 is not shadowed" >&2; exit 3; }
  shift 2
done
if [ -e /run/libvirt/libvirt-sock ]; then echo "vmoments: the system daemon's socket is still visible" >&2; exit 3; fi
exec libvirtd -f "$R/etc/libvirtd.conf" --listen --pid-file "$R/libvirtd.pid" --timeout 300
`

// StartDaemon starts a private libvirtd listening on a free port of 127.0.0.1 and waits until
// it answers. When the test ends it stops the daemon and checks that the system daemon still
// answers. The system daemon must answer first (the new one starts from its QEMU capabilities).
func StartDaemon(t testing.TB) *Daemon {
	t.Helper()
	Connect(t, SystemURI)
	if os.Getuid() != 0 {
		t.Fatalf("a private libvirtd runs in a mount namespace of its own, which needs root (uid %d)", os.Getuid())
	}
	// Short: unix socket paths must stay under 108 bytes.
	dir, err := os.MkdirTemp("", "vmoments-tcp-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	subs := []string{"sock", "cache/qemu/capabilities"}
	for _, p := range privateDirs {
		subs = append(subs, p.sub)
	}
	for _, d := range subs {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	copyFiles(t, "/etc/libvirt", filepath.Join(dir, "etc"))
	copyFiles(t, "/var/cache/libvirt/qemu/capabilities", filepath.Join(dir, "cache/qemu/capabilities"))
	port := freePort(t)
	conf := fmt.Sprintf(`listen_tls = 0
listen_tcp = 1
listen_addr = "127.0.0.1"
tcp_port = "%d"
auth_tcp = "none"
unix_sock_dir = "%s"
log_outputs = "3:file:%s"
`, port, filepath.Join(dir, "sock"), filepath.Join(dir, "libvirtd.log"))
	if err := os.WriteFile(filepath.Join(dir, "etc", "libvirtd.conf"), []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}

	d := &Daemon{
		URI:      fmt.Sprintf("qemu+tcp://127.0.0.1:%d/system", port),
		LocalURI: "qemu+unix:///system?socket=" + filepath.Join(dir, "sock", "libvirt-sock"),
		Dir:      dir,
	}
	if err := d.launch(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.stop(t) })
	start := time.Now()
	if err := d.waitReady(); err != nil {
		t.Fatal(err)
	}
	t.Logf("timing: private libvirtd answers on %s: %v", d.URI, time.Since(start).Round(time.Millisecond))
	systemStillAnswers(t)
	return d
}

// Connect opens a read-write connection to the daemon (its TCP URI) and closes it when the test
// ends. Snapshot deletes with children may go through it.
func (d *Daemon) Connect(t testing.TB) *Conn {
	t.Helper()
	c := Connect(t, d.URI)
	c.private = true
	return c
}

// launch starts the daemon process (it is not answering yet: see waitReady).
func (d *Daemon) launch() error {
	args := []string{"-m", "--propagation", "private", "sh", "-c", startScript, "sh", d.Dir}
	for _, p := range privateDirs {
		args = append(args, p.sub, p.path)
	}
	out, err := os.OpenFile(filepath.Join(d.Dir, "out"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	// unshare and sh exec libvirtd in place, so the process is libvirtd itself.
	cmd := exec.Command("unshare", args...)
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
	if err := cmd.Start(); err != nil {
		out.Close()
		return fmt.Errorf("start libvirtd in a private mount namespace: %w", err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); out.Close(); close(exited) }()
	d.cmd, d.exited = cmd, exited
	return nil
}

// Restart stops the daemon (if it still runs) and starts it again on the same port and state,
// as an administrator restarting libvirtd would; the domains and their moments survive. It
// returns when the daemon answers again. It may run outside the test's goroutine (it reports
// with t.Errorf only).
func (d *Daemon) Restart(t testing.TB) error {
	d.stop(t)
	if err := d.launch(); err != nil {
		return err
	}
	return d.waitReady()
}

// Kill ends the daemon with SIGKILL, as a crash would, and waits until it is gone.
// Restart brings it back.
func (d *Daemon) Kill() {
	select {
	case <-d.exited:
	default:
		d.cmd.Process.Kill()
		<-d.exited
	}
}

// Dead says why the daemon is gone ("" while it answers): it exited (with the signal that ended
// it), or a new connection gets no answer.
func (d *Daemon) Dead() string {
	select {
	case <-d.exited:
		return "exited (" + d.cmd.ProcessState.String() + ")"
	case <-time.After(300 * time.Millisecond):
	}
	c, err := libvirt.NewConnect(d.URI)
	if err != nil {
		return "does not answer (" + err.Error() + ")"
	}
	defer c.Close()
	if _, err := c.GetLibVersion(); err != nil {
		return "does not answer (" + err.Error() + ")"
	}
	return ""
}

// Log returns the last lines of the daemon's log, for failure messages.
func (d *Daemon) Log() string { return tail(filepath.Join(d.Dir, "libvirtd.log")) }

// waitReady waits until the daemon answers on its TCP URI.
func (d *Daemon) waitReady() error {
	deadline := time.Now().Add(90 * time.Second)
	for {
		conn, err := libvirt.NewConnect(d.URI)
		if err == nil {
			conn.Close()
			return nil
		}
		select {
		case <-d.exited:
			return fmt.Errorf("the private libvirtd exited before it answered (%v); its output: %s; its log: %s",
				d.cmd.ProcessState, tail(filepath.Join(d.Dir, "out")), d.Log())
		case <-time.After(200 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the private libvirtd did not answer on %s within 90 s: %v; its log: %s", d.URI, err, d.Log())
		}
	}
}

// stop ends the daemon: SIGTERM, then SIGKILL if it lingers; then it checks that the system
// daemon still answers. It reports with t.Errorf only, so it may run outside the test's
// goroutine.
func (d *Daemon) stop(t testing.TB) {
	select {
	case <-d.exited:
	default:
		d.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-d.exited:
		case <-time.After(30 * time.Second):
			t.Errorf("the private libvirtd (pid %d) ignored SIGTERM for 30 s; killing it", d.cmd.Process.Pid)
			d.Kill()
		}
	}
	systemStillAnswers(t)
}

// systemStillAnswers fails the test if the system daemon stopped answering: a private daemon
// must never disturb it.
func systemStillAnswers(t testing.TB) {
	conn, err := libvirt.NewConnect(SystemURI)
	if err == nil {
		_, err = conn.GetLibVersion()
		conn.Close()
	}
	if err != nil {
		t.Errorf("the system daemon no longer answers on %s after the private libvirtd: %v", SystemURI, err)
	}
}

// freePort returns a TCP port of 127.0.0.1 that was free a moment ago.
func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// copyFiles copies the regular files directly in src into dst, keeping their modes; a missing
// src is fine. Subdirectories are left out on purpose: /etc/libvirt/qemu holds the system
// daemon's domain definitions, and a copy would let the private daemon start (autostart) guests
// on the system daemon's disks.
func copyFiles(t testing.TB, src, dst string) {
	t.Helper()
	entries, err := os.ReadDir(src)
	if os.IsNotExist(err) {
		return
	} else if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if !e.Type().IsRegular() {
			continue
		}
		info, err := e.Info()
		if err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(filepath.Join(src, e.Name()))
		if err == nil {
			err = os.WriteFile(filepath.Join(dst, e.Name()), b, info.Mode().Perm())
		}
		if err != nil {
			t.Fatalf("copy %s to %s: %v", e.Name(), dst, err)
		}
	}
}

// tail returns the last lines of a file, for failure messages.
func tail(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	return strings.Join(lines[max(0, len(lines)-8):], "\n")
}
