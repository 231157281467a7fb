//go:build integration

package integration

import (
	"bytes"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"

	"github.com/vmoments/vmoments/driver/qemu/qemutest"
	"github.com/vmoments/vmoments/transfer"
)

// TestCopyInterrupted: copy --remove-source-metadata of 300 snapshots from qemu:///system to
// the test's own libvirtd (the same domain defined there), interrupted with SIGINT while the
// destination imports and while the source's metadata is removed, and with SIGTERM once the
// removal has begun: both sides end as they were (the source's files byte for byte, the
// destination without a snapshot), the exit status is 128+N, no journal is left. Killed
// (SIGKILL) during the removal, both journals stay, and import --rollback on each side puts
// both back.
func TestCopyInterrupted(t *testing.T) {
	conn := qemutest.Connect(t, systemURI)
	g := conn.NewGuest(t, group, "copysig")
	redefine(g, genTree(true, treeShape{N: 300, Roots: 1, Branch: 0.1, Offline: 1, Seed: 3003}))
	f := &signalFixture{t: t, g: g}
	before := f.captureFiles()
	d := qemutest.StartDaemon(t)
	g2 := d.Connect(t).DefineCopy(t, g)
	bin := vmomentsCommand(t)
	srcJournal := transfer.JournalPath("/var/lib/vmoments", systemURI, g.UUID)
	dstJournal := transfer.JournalPath("/var/lib/vmoments", d.URI, g.UUID)
	removeAtEnd(t, srcJournal, dstJournal)
	check := func(what string) {
		t.Helper()
		if diff := before.diff(f.captureFiles()); diff != "" {
			t.Errorf("%s: the source is not as before: %s", what, diff)
		}
		if n := len(g2.SnapshotTree().Parent); n != 0 {
			t.Errorf("%s: the destination keeps %d snapshots", what, n)
		}
		for _, j := range []string{srcJournal, dstJournal} {
			if exists(j) {
				t.Errorf("%s: journal %s left", what, j)
			}
		}
	}
	copyRun := func(act func(p *os.Process, stop <-chan struct{})) (int, string) {
		cmd := exec.Command(bin, "-c", systemURI, "copy", g.Name, "--to", d.URI, "--remove-source-metadata")
		var errb bytes.Buffer
		cmd.Stderr = &errb
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		stop := make(chan struct{})
		done := make(chan struct{})
		go func() { defer close(done); act(cmd.Process, stop) }()
		err := cmd.Wait()
		close(stop)
		<-done
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		}
		return code, errb.String()
	}
	at := func(journal string, n int, sig syscall.Signal) func(p *os.Process, stop <-chan struct{}) {
		return func(p *os.Process, stop <-chan struct{}) {
			if watch(journal, stop, func(pr progress) bool { return pr.done >= n }) {
				p.Signal(sig)
			}
		}
	}
	for _, tc := range []struct {
		name    string
		journal string
		n       int
		sig     syscall.Signal
	}{
		{"SIGINT during the destination's import", dstJournal, 120, syscall.SIGINT},
		{"SIGINT during the removal", srcJournal, 150, syscall.SIGINT},
		{"SIGTERM at the removal's start", srcJournal, 1, syscall.SIGTERM},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, stderr := copyRun(at(tc.journal, tc.n, tc.sig))
			t.Logf("exit %d: %s", code, strings.TrimSpace(stderr))
			if code != 128+int(tc.sig) || !strings.Contains(stderr, "rolled back") {
				t.Errorf("exit %d, stderr %q", code, stderr)
			}
			check(tc.name)
		})
	}
	t.Run("SIGKILL during the removal", func(t *testing.T) {
		code, _ := copyRun(at(srcJournal, 100, syscall.SIGKILL))
		if code != -1 || !exists(srcJournal) || !exists(dstJournal) {
			t.Fatalf("exit %d; journals: source %v, destination %v", code, exists(srcJournal), exists(dstJournal))
		}
		// Another copy is refused while the source's removal is unfinished.
		if out, err := exec.Command(bin, "-c", systemURI, "copy", g.Name, "--to", d.URI, "--remove-source-metadata").CombinedOutput(); err == nil ||
			!strings.Contains(string(out), "unfinished removal of copied metadata") {
			t.Errorf("a copy with the removal unfinished: %v\n%s", err, out)
		}
		for _, uri := range []string{systemURI, d.URI} {
			out, err := exec.Command(bin, "-c", uri, "import", g.Name, "--rollback").CombinedOutput()
			if err != nil {
				t.Fatalf("import --rollback on %s: %v\n%s", uri, err, out)
			}
			t.Logf("%s: %s", uri, strings.TrimSpace(string(out)))
		}
		check("after both rollbacks")
	})
}
