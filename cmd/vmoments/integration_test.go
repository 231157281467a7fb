//go:build integration

package main

import (
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// The qemu half of the golden comparison: a throw-away QEMU guest on qemu:///system with a
// redefined snapshot tree (names with a space, quotes, unicode and a leading dash; a current
// snapshot that is not a leaf; internal and external ones) and, once it runs, a chain of real
// checkpoints; then virsh and vmoments run the same command lines against it and must print the
// same bytes. It fails, never skips, when no libvirtd answers (make test starts one).

const qemuURI = "qemu:///system"

func virshOK(t *testing.T, args ...string) string {
	t.Helper()
	out, err := exec.Command("virsh", append([]string{"-c", qemuURI}, args...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("virsh %q: %v\n%s", args, err, out)
	}
	return string(out)
}

// cliGuest defines vmoments-test-cli-NNNN with two qcow2 disks and removes it, with its
// snapshot and checkpoint metadata, when the test ends.
func cliGuest(t *testing.T) (name, dir string) {
	t.Helper()
	requireVirsh(t)
	name = fmt.Sprintf("vmoments-test-cli-%06d", rand.IntN(1000000))
	dir = t.TempDir()
	var disks strings.Builder
	for _, d := range []string{"vda", "vdb"} {
		img := filepath.Join(dir, d+".qcow2")
		if out, err := exec.Command("qemu-img", "create", "-q", "-f", "qcow2", img, "16M").CombinedOutput(); err != nil {
			t.Fatalf("qemu-img: %v\n%s", err, out)
		}
		fmt.Fprintf(&disks, "<disk type='file' device='disk'><driver name='qemu' type='qcow2'/><source file='%s'/><target dev='%s' bus='virtio'/></disk>", img, d)
	}
	xml := fmt.Sprintf("<domain type='qemu'><name>%s</name><memory unit='MiB'>64</memory><vcpu>1</vcpu>"+
		"<os><type arch='x86_64'>hvm</type></os><on_poweroff>destroy</on_poweroff><devices>%s</devices></domain>", name, disks.String())
	file := filepath.Join(dir, "domain.xml")
	if err := os.WriteFile(file, []byte(xml), 0o644); err != nil {
		t.Fatal(err)
	}
	virshOK(t, "define", file)
	t.Cleanup(func() {
		exec.Command("virsh", "-c", qemuURI, "destroy", name).Run()
		out, err := exec.Command("virsh", "-c", qemuURI, "undefine", name, "--snapshots-metadata", "--checkpoints-metadata").CombinedOutput()
		if err != nil {
			t.Errorf("clean-up of %s: %v\n%s", name, err, out)
		}
	})
	return name, dir
}

// redefine redefines one snapshot from a minimal document (QEMU wants the <domain> in it).
func redefine(t *testing.T, dom, domXML, dir, name, parent, state string, created int, disks string, current bool) {
	t.Helper()
	x := "<domainsnapshot><name>" + xmlEscape(name) + "</name><state>" + state + "</state><creationTime>" +
		fmt.Sprint(created) + "</creationTime>"
	if parent != "" {
		x += "<parent><name>" + xmlEscape(parent) + "</name></parent>"
	}
	if state == "disk-snapshot" {
		x += "<memory snapshot='no'/>"
	}
	x += disks + domXML + "</domainsnapshot>"
	file := filepath.Join(dir, fmt.Sprintf("snap-%d.xml", created))
	if err := os.WriteFile(file, []byte(x), 0o644); err != nil {
		t.Fatal(err)
	}
	args := []string{"snapshot-create", dom, file, "--redefine"}
	if current {
		args = append(args, "--current")
	}
	virshOK(t, args...)
}

func xmlEscape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", "'", "&apos;", `"`, "&quot;").Replace(s)
}

func TestGoldenQemu(t *testing.T) {
	dom, dir := cliGuest(t)
	ext := func(disk string) string {
		return "<disks><disk name='" + disk + "' snapshot='external'><source file='" + filepath.Join(dir, disk+"-ext.qcow2") + "'/></disk></disks>"
	}
	snaps := []struct {
		name, parent, state string
		disks               string
		current             bool
	}{
		{"base", "", "shutoff", "", false},
		{"mid", "base", "running", "", false},
		{"with space", "mid", "paused", "", true},
		{"tip", "with space", "disk-snapshot", ext("vda"), false},
		{"Side", "base", "running", "", false},
		{"quo'te\"s", "Side", "shutoff", "", false},
		{"ünïcødé-快照", "mid", "running", "", false},
		{"--dash", "", "disk-snapshot", ext("vdb"), false},
	}
	domXML := virshOK(t, "dumpxml", "--inactive", dom)
	for i, s := range snaps {
		redefine(t, dom, domXML, dir, s.name, s.parent, s.state, 1600000000+1000*i, s.disks, s.current)
	}
	virshOK(t, "start", dom)
	virshOK(t, "checkpoint-create-as", dom, "c1")
	virshOK(t, "checkpoint-create-as", dom, "c2", "--diskspec", "vdb,checkpoint=no")
	virshOK(t, "checkpoint-create-as", dom, "C3.final")

	env := testEnv(nil)
	n := 0
	for _, tg := range []struct {
		cmd  string
		opts []string
		from []string
	}{
		{"snapshot-list", snapshotListOptions, []string{"base", "--dash", "ünïcødé-快照", "nosuch"}},
		{"checkpoint-list", checkpointListOptions, []string{"c1", "C3.final", "nosuch"}},
	} {
		for _, set := range combos(tg.opts) {
			if len(set) > 2 && n%3 != 0 {
				n++ // a third of the three-option lines keeps the run short on a live daemon
				continue
			}
			for _, line := range expand(tg.cmd, dom, set, tg.from) {
				compare(t, env, append([]string{"-c", qemuURI}, line...))
				n++
			}
		}
	}
	for _, args := range [][]string{
		{"snapshot-current", dom}, {"snapshot-current", dom, "--name"}, {"snapshot-current", dom, "--security-info"},
		{"snapshot-info", dom, "--current"}, {"snapshot-info", dom, "tip"}, {"snapshot-info", dom, "quo'te\"s"},
		{"snapshot-info", dom, "nosuch"}, {"snapshot-dumpxml", dom, "base"}, {"snapshot-dumpxml", dom, "--dash"}, {"snapshot-dumpxml", dom, "mid", "--security-info"},
		{"checkpoint-dumpxml", dom, "c1", "--security-info"}, {"-r", "snapshot-dumpxml", dom, "mid", "--security-info"},
		{"checkpoint-info", dom, "c1"}, {"checkpoint-info", dom, "C3.final"}, {"checkpoint-info", dom, "nosuch"},
		{"checkpoint-dumpxml", dom, "c2"}, {"checkpoint-dumpxml", dom, "c2", "--no-domain"},
		{"checkpoint-dumpxml", dom, "c1", "--size"}, {"checkpoint-dumpxml", dom, "nosuch"},
		{"snapshot-list", "vmoments-test-cli-nosuch"},
	} {
		compare(t, env, append([]string{"-c", qemuURI}, args...))
		n++
	}
	// the rule vmoments derives for the current checkpoint: the last one created
	got := runVmoments(t, env, []string{"-q", "-c", qemuURI, "checkpoint-current", dom, "--name"})
	if got.stdout != "C3.final" || got.rc != 0 {
		t.Errorf("checkpoint-current --name: %s", got)
	}
	got = runVmoments(t, env, []string{"-q", "-c", qemuURI, "checkpoint-current", dom, "--per-disk", "--name"})
	if got.stdout != "C3.final\n" || got.rc != 0 {
		t.Errorf("checkpoint-current --per-disk --name: %s", got)
	}
	t.Logf("%d command lines compared with virsh on %s", n, qemuURI)
}
