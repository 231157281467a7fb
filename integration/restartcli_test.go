//go:build integration

package integration

import (
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/vmoments/vmoments/driver/qemu/qemutest"
)

// TestCLIListAcrossRestart kills the test's own libvirtd while `vmoments snapshot-list` loads
// 6,000 snapshots cold (as a package upgrade restarts it), and starts it again 3 s later: the
// driver's reconnect waits for the daemon, and the command prints the whole list, the same as
// virsh's afterwards.
func TestCLIListAcrossRestart(t *testing.T) {
	d := qemutest.StartDaemon(t)
	g := d.Connect(t).NewGuest(t, group, "clirestart")
	timed(t, "redefine 6,000 snapshots", func() {
		redefine(g, genTree(true, treeShape{N: 6000, Roots: 3, Branch: 0.1, Offline: 0.8, Seed: 6000}))
	})
	bin := vmomentsCommand(t)
	var cold time.Duration
	timed(t, "vmoments snapshot-list, cold, no restart", func() {
		start := time.Now()
		if out, err := exec.Command(bin, "-c", d.URI, "snapshot-list", g.Name, "--name").CombinedOutput(); err != nil {
			t.Fatalf("%v: %s", err, out)
		}
		cold = time.Since(start)
	})
	cmd := exec.Command(bin, "-c", d.URI, "snapshot-list", g.Name, "--name")
	var out, errb strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(cold / 3)
	d.Kill()
	killed := time.Now()
	time.Sleep(3 * time.Second)
	if err := d.Restart(t); err != nil {
		t.Fatal(err)
	}
	err := cmd.Wait()
	t.Logf("snapshot-list: killed %v into a %v load; done %v after the kill", (cold / 3).Round(time.Millisecond),
		cold.Round(time.Millisecond), time.Since(killed).Round(time.Millisecond))
	if err != nil {
		t.Fatalf("vmoments snapshot-list across a restart: %v\n%s", err, errb.String())
	}
	want, err := exec.Command("virsh", "-c", d.URI, "snapshot-list", g.Name, "--name").Output()
	if err != nil {
		t.Fatal(err)
	}
	if out.String() != string(want) {
		t.Errorf("vmoments printed %d lines, virsh %d", strings.Count(out.String(), "\n"), strings.Count(string(want), "\n"))
	}
}
