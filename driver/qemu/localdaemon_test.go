//go:build integration

package qemu_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"libvirt.org/go/libvirt"

	"github.com/vmoments/vmoments/conf"
	"github.com/vmoments/vmoments/driver"
	"github.com/vmoments/vmoments/driver/drivertest"
	"github.com/vmoments/vmoments/driver/qemu"
)

// ltDaemon is a second libvirtd that a test starts in a mount namespace of its own, where
// /run/libvirt, /var/lib/libvirt, /var/cache/libvirt, /var/log/libvirt and /etc/libvirt are
// fresh directories under Dir, so it sees none of the system daemon's state and disturbs
// nothing of it (the recipe of integration/daemon_test.go, reduced to what these tests need).
// It listens on 127.0.0.1 without TLS or authentication (qemu+tcp://), and on unix sockets in
// Dir/sock without authentication, so that a process of another user can read through its
// read-only socket.
type ltDaemon struct {
	TCP, Unix string // URIs
	Dir       string
	cmd       *exec.Cmd
	exited    chan struct{}
}

var ltDaemonDirs = [][2]string{
	{"run", "/run/libvirt"}, {"lib", "/var/lib/libvirt"}, {"cache", "/var/cache/libvirt"},
	{"log", "/var/log/libvirt"}, {"etc", "/etc/libvirt"},
}

const ltDaemonScript = `set -eu
R="$1"; shift
while [ $# -gt 0 ]; do
  mount --bind "$R/$1" "$2"
  mountpoint -q "$2" || { echo "vmoments: $2 is not shadowed" >&2; exit 3; }
  shift 2
done
if [ -e /run/libvirt/libvirt-sock ]; then echo "vmoments: the system daemon's socket is still visible" >&2; exit 3; fi
exec libvirtd -f "$R/etc/libvirtd.conf" --listen --pid-file "$R/libvirtd.pid" --timeout 600
`

func ltStartDaemon(t *testing.T) *ltDaemon {
	t.Helper()
	if os.Getuid() != 0 {
		t.Fatalf("a private libvirtd in a mount namespace of its own needs root (uid %d)", os.Getuid())
	}
	dir, err := os.MkdirTemp("", "vmoments-lt-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	for _, d := range []string{"sock", "cache/qemu/capabilities", "run", "lib", "log", "etc"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	copyRegular := func(src, dst string) {
		entries, _ := os.ReadDir(src)
		for _, e := range entries {
			if !e.Type().IsRegular() {
				continue // subdirectories hold the system daemon's domains: never copied
			}
			b, err := os.ReadFile(filepath.Join(src, e.Name()))
			if err == nil {
				err = os.WriteFile(filepath.Join(dst, e.Name()), b, 0o644)
			}
			if err != nil {
				t.Fatal(err)
			}
		}
	}
	copyRegular("/etc/libvirt", filepath.Join(dir, "etc"))
	copyRegular("/var/cache/libvirt/qemu/capabilities", filepath.Join(dir, "cache/qemu/capabilities"))
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	cfg := fmt.Sprintf(`listen_tls = 0
listen_tcp = 1
listen_addr = "127.0.0.1"
tcp_port = "%d"
auth_tcp = "none"
auth_unix_ro = "none"
auth_unix_rw = "none"
unix_sock_ro_perms = "0777"
unix_sock_dir = "%s"
log_outputs = "3:file:%s"
`, port, filepath.Join(dir, "sock"), filepath.Join(dir, "libvirtd.log"))
	if err := os.WriteFile(filepath.Join(dir, "etc", "libvirtd.conf"), []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	d := &ltDaemon{TCP: fmt.Sprintf("qemu+tcp://127.0.0.1:%d/system", port),
		Unix: "qemu+unix:///system?socket=" + filepath.Join(dir, "sock", "libvirt-sock"), Dir: dir}
	args := []string{"-m", "--propagation", "private", "sh", "-c", ltDaemonScript, "sh", dir}
	for _, p := range ltDaemonDirs {
		args = append(args, p[0], p[1])
	}
	out, err := os.Create(filepath.Join(dir, "out"))
	if err != nil {
		t.Fatal(err)
	}
	d.cmd = exec.Command("unshare", args...)
	d.cmd.Stdout, d.cmd.Stderr = out, out
	d.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
	if err := d.cmd.Start(); err != nil {
		t.Fatalf("start libvirtd in a private mount namespace: %v", err)
	}
	d.exited = make(chan struct{})
	go func() { d.cmd.Wait(); out.Close(); close(d.exited) }()
	t.Cleanup(func() {
		select {
		case <-d.exited:
		default:
			d.cmd.Process.Signal(syscall.SIGTERM)
			select {
			case <-d.exited:
			case <-time.After(30 * time.Second):
				d.cmd.Process.Kill()
				<-d.exited
			}
		}
		if c, err := libvirt.NewConnect(systemURI); err != nil {
			t.Errorf("the system daemon no longer answers after the private one: %v", err)
		} else {
			c.Close()
		}
	})
	deadline := time.Now().Add(90 * time.Second)
	for {
		c, err := libvirt.NewConnect(d.TCP)
		if err == nil {
			c.Close()
			return d
		}
		select {
		case <-d.exited:
			b, _ := os.ReadFile(filepath.Join(dir, "out"))
			t.Fatalf("the private libvirtd exited before it answered: %s", b)
		case <-time.After(200 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("the private libvirtd did not answer on %s within 90 s: %v", d.TCP, err)
		}
	}
}

// TestLocalPrivateDaemon exercises the API path where the files cannot help: a remote URI
// (qemu+tcp://) and a reader that is not root (qemu:///system through the read-only socket, in a
// mount namespace where the private daemon is the system's, its files unreadable to the
// reader). Both refresh exactly: an edit made elsewhere is seen by the next read. And root in
// that namespace reads the private daemon's files.
func TestLocalPrivateDaemon(t *testing.T) {
	d := ltStartDaemon(t)
	snapDom, domXML := ltDomain(t, d.Unix, "remote-s", false)
	cpDom, _ := ltDomain(t, d.Unix, "remote-c", false)
	_, sw := ltOpen(t, d.TCP, snapDom, driver.ReadWrite)
	_, cw := ltOpen(t, d.TCP, cpDom, driver.ReadWrite)
	parent := ""
	for i := range 8 {
		n := fmt.Sprintf("m%02d", i)
		if _, err := sw.CreateSnapshot(ctx, ltSnapshotXML(n, parent, "", 1700000000+int64(i), domXML), driver.SnapshotCreateRedefine|driver.SnapshotCreateCurrent); err != nil {
			t.Fatal(err)
		}
		if _, err := cw.CreateCheckpoint(ctx, ltCheckpointXML(n, parent, "", 1700000000+int64(i), true), driver.CheckpointCreateRedefine); err != nil {
			t.Fatal(err)
		}
		parent = n
	}
	// editElsewhere moves m05 below m01 with a description, through virsh on uri.
	edits := 0
	editElsewhere := func(t *testing.T, uri string) string {
		t.Helper()
		edits++
		desc := fmt.Sprintf("edit %d elsewhere", edits)
		x, err := sw.XML(ctx, conf.Snapshot, "m05", 0)
		if err != nil {
			t.Fatal(err)
		}
		def, err := conf.ParseSnapshot([]byte(x), conf.ParseRedefine)
		if err != nil {
			t.Fatal(err)
		}
		def.Parent = []string{"m00", "m01"}[edits%2]
		def.Description = desc
		out, err := def.Format()
		if err != nil {
			t.Fatal(err)
		}
		ltMustVirsh(t, uri, "snapshot-create", snapDom, ltWriteFile(t, t.TempDir(), "m05.xml", string(out)), "--redefine")
		return desc
	}

	t.Run("qemu+tcp", func(t *testing.T) {
		apiDrv, dom := ltOpen(t, d.TCP, snapDom, driver.ReadOnly)
		_, names := ltOpen(t, d.TCP, snapDom, driver.ReadOnly|driver.NamesOnlyRefresh)
		for _, h := range []driver.Domain{dom, names} {
			if _, err := h.List(ctx, conf.Snapshot, "", 0); err != nil {
				t.Fatal(err)
			}
		}
		src := ltSource(t, dom, conf.Snapshot)
		if src.Files || !strings.Contains(src.Fallback, "is a remote URI") || src.APIFetches != 8 {
			t.Errorf("qemu+tcp source: %+v, want the API (a remote URI), 8 fetched", src)
		}
		desc := editElsewhere(t, d.TCP)
		if def, err := dom.Def(ctx, conf.Snapshot, "m05"); err != nil || def.Description != desc {
			t.Errorf("qemu+tcp: after an edit elsewhere the kept handle serves %q (%v), want %q", def.Description, err, desc)
		}
		if src := ltSource(t, dom, conf.Snapshot); src.APIFetches != 8 {
			t.Errorf("qemu+tcp exact refresh fetched %d, want all 8", src.APIFetches)
		}
		if def, _ := names.Def(ctx, conf.Snapshot, "m05"); def.Description == desc {
			t.Errorf("qemu+tcp with NamesOnlyRefresh saw the edit; it should not (documented blind spot)")
		}
		if src := ltSource(t, names, conf.Snapshot); src.APIFetches != 0 {
			t.Errorf("qemu+tcp names-only refresh fetched %d, want 0", src.APIFetches)
		}
		ltSame(t, "qemu+tcp after an edit elsewhere", dom, apiDrv, conf.Snapshot)
		// The driver suite, with changes through the driver.
		wd, w := ltOpen(t, d.TCP, snapDom, driver.ReadWrite)
		n := 0
		for _, step := range []func() error{
			func() error {
				_, err := w.CreateSnapshot(ctx, ltSnapshotXML("t1", "m03", "", 1700000100, domXML), driver.SnapshotCreateRedefine)
				return err
			},
			func() error { return w.SetCurrent(ctx, "t1") },
			func() error { return w.Delete(ctx, conf.Snapshot, "m02", driver.DeleteMetadataOnly) },
			func() error {
				return w.Delete(ctx, conf.Snapshot, "m06", driver.DeleteChildren|driver.DeleteMetadataOnly)
			},
		} {
			if err := step(); err != nil {
				t.Fatal(err)
			}
			n += drivertest.CheckState(t, wd, w, conf.Snapshot, "")
			n += drivertest.CheckLists(t, w, conf.Snapshot, drivertest.Options{MaxFroms: 2, ListEvery: 64})
		}
		cur := "m07" // the leaf of the single chain, libvirt's fresh-load rule
		_, c := ltOpen(t, d.TCP, cpDom, driver.ReadOnly)
		n += drivertest.CheckLists(t, c, conf.Checkpoint, drivertest.Options{CheckpointCurrent: &cur})
		t.Logf("conformance cases over qemu+tcp: %d", n)
	})

	// The child test binary, runnable by nobody.
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	bin, err := os.MkdirTemp("", "vmoments-lt-bin-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(bin) })
	os.Chmod(bin, 0o755)
	b, err := os.ReadFile(exe)
	if err != nil {
		t.Fatal(err)
	}
	child := filepath.Join(bin, "qemu.test")
	if err := os.WriteFile(child, b, 0o755); err != nil {
		t.Fatal(err)
	}
	home := filepath.Join(bin, "home")
	os.Mkdir(home, 0o777)
	os.Chmod(home, 0o777)

	for _, c := range []struct {
		name  string
		user  []string // setpriv arguments, none for root
		files bool
	}{
		{"non-root reader", []string{"setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups"}, false},
		{"root in the daemon's namespace", nil, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			// In a mount namespace of its own, the private daemon's sockets and files are the
			// system's: qemu:///system reaches it and its files are where libvirtd keeps them.
			script := fmt.Sprintf(`set -eu
mount --bind %q /run/libvirt
mount --bind %q /var/lib/libvirt
exec "$@"`, filepath.Join(d.Dir, "sock"), filepath.Join(d.Dir, "lib"))
			args := append([]string{"-m", "--propagation", "private", "sh", "-c", script, "sh"}, c.user...)
			args = append(args, child, "-test.run=^TestLocalChild$", "-test.count=1")
			cmd := exec.Command("unshare", args...)
			cmd.Env = append(os.Environ(), "VMOMENTS_LOCAL_CHILD="+snapDom+","+cpDom, "HOME="+home, "VMOMENTS_DEBUG=local")
			var stderr strings.Builder
			cmd.Stderr = &stderr
			in, err := cmd.StdinPipe()
			if err != nil {
				t.Fatal(err)
			}
			outPipe, err := cmd.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			defer func() {
				in.Close()
				cmd.Wait()
				t.Logf("the child's standard error:\n%s", stderr.String())
			}()
			lines := bufio.NewScanner(outPipe)
			lines.Buffer(make([]byte, 1<<20), 1<<20)
			ask := func() ltChildReport {
				t.Helper()
				if _, err := io.WriteString(in, "list\n"); err != nil {
					t.Fatalf("child: %v; its standard error: %s", err, stderr.String())
				}
				for lines.Scan() {
					line := lines.Text()
					if !strings.HasPrefix(line, "REPORT ") {
						continue // go test's own output
					}
					var r ltChildReport
					if err := json.Unmarshal([]byte(strings.TrimPrefix(line, "REPORT ")), &r); err != nil {
						t.Fatal(err)
					}
					if r.Error != "" {
						t.Fatalf("child: %s", r.Error)
					}
					return r
				}
				t.Fatalf("the child ended without a report: %v; its standard error: %s", lines.Err(), stderr.String())
				return ltChildReport{}
			}
			check := func(r ltChildReport, what string) {
				t.Helper()
				wantUID := 0
				if c.user != nil {
					wantUID = 65534
				}
				if r.UID != wantUID {
					t.Fatalf("the child ran as uid %d, want %d", r.UID, wantUID)
				}
				for _, kind := range conf.Kinds {
					k := r.Kinds[kind.String()]
					if k.Source.Files != c.files {
						t.Errorf("%s: %s source %+v, want files %v", what, kind, k.Source, c.files)
					}
					if !c.files && !strings.Contains(k.Source.Fallback, "cannot be read by this process: permission denied") {
						t.Errorf("%s: %s fallback %q, want the permission refusal", what, kind, k.Source.Fallback)
					}
					if c.files && !strings.HasPrefix(k.Source.Dir, "/var/lib/libvirt/qemu/") {
						t.Errorf("%s: %s dir %q", what, kind, k.Source.Dir)
					}
					dom := sw
					if kind == conf.Checkpoint {
						dom = cw
					}
					want := ltReportOf(t, dom, kind)
					if fmt.Sprint(k.Moments) != fmt.Sprint(want.Moments) || k.Current != want.Current {
						t.Errorf("%s: the child's %ss:\n%v (current %q)\nlibvirt's:\n%v (current %q)", what, kind, k.Moments, k.Current, want.Moments, want.Current)
					}
				}
			}
			check(ask(), "load")
			desc := editElsewhere(t, d.Unix)
			r := ask()
			check(r, "after an edit elsewhere")
			found := false
			for _, m := range r.Kinds["snapshot"].Moments {
				found = found || m.Name == "m05" && m.Description == desc
			}
			if !found {
				t.Errorf("the child's kept handle does not serve the edit made elsewhere: %v", r.Kinds["snapshot"].Moments)
			}
		})
	}
}

// ltChildReport is what TestLocalChild reports of each list.
type ltChildReport struct {
	UID   int
	Error string
	Kinds map[string]ltKindReport
}

type ltKindReport struct {
	Source  qemu.Source
	Moments []ltMomentReport
	Current string
}

type ltMomentReport struct{ Name, Parent, Description string }

// ltReportOf reports dom's list of kind as a child does (sorted by name).
func ltReportOf(t testing.TB, dom driver.Reader, kind conf.Kind) ltKindReport {
	l, err := dom.Moments(ctx, kind)
	if err != nil {
		t.Fatal(err)
	}
	var r ltKindReport
	for _, n := range ltSorted(l.All()) {
		def := l.Find(n).Def()
		r.Moments = append(r.Moments, ltMomentReport{n, def.Parent, def.Description})
	}
	r.Current = ltName(l.Current())
	r.Source, _ = qemu.SourceOf(dom, kind)
	return r
}

// TestLocalChild is the reading process of TestLocalPrivateDaemon, started by it (possibly as
// another user) with VMOMENTS_LOCAL_CHILD=SNAPSHOTDOMAIN,CHECKPOINTDOMAIN: it keeps one handle
// per domain on qemu:///system and, for every line "list" on its standard input, prints
// "REPORT {json}" of both lists. Run by itself it has nothing to do and says so.
func TestLocalChild(t *testing.T) {
	doms := os.Getenv("VMOMENTS_LOCAL_CHILD")
	if doms == "" {
		t.Skip("the reading process of TestLocalPrivateDaemon, which starts it")
	}
	names := strings.Split(doms, ",")
	report := func(r ltChildReport) {
		b, _ := json.Marshal(r)
		fmt.Printf("REPORT %s\n", b)
	}
	drv, err := driver.Open(ctx, systemURI, driver.ReadOnly)
	if err != nil {
		report(ltChildReport{Error: err.Error()})
		return
	}
	defer drv.Close()
	handles := map[conf.Kind]driver.Domain{}
	for i, kind := range conf.Kinds {
		if handles[kind], err = drv.Domain(ctx, names[i]); err != nil {
			report(ltChildReport{Error: err.Error()})
			return
		}
	}
	in := bufio.NewScanner(os.Stdin)
	for in.Scan() {
		if in.Text() != "list" {
			continue
		}
		r := ltChildReport{UID: os.Getuid(), Kinds: map[string]ltKindReport{}}
		for _, kind := range conf.Kinds {
			r.Kinds[kind.String()] = ltReportOf(t, handles[kind], kind)
		}
		report(r)
	}
}
