// Package systemd_test checks the example unit: systemd accepts it, its sandbox stays tight, and
// (with -tags integration) its ExecStart serves the local libvirtd's metrics.
package systemd_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

const unit = "vmoments-exporter.service"

// buildVmoments builds the vmoments command into dir.
func buildVmoments(t *testing.T, dir string) string {
	t.Helper()
	bin := filepath.Join(dir, "vmoments")
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Fatal("the go command is needed on $PATH: ", err)
	}
	if out, err := exec.Command(gobin, "build", "-o", bin, "../../cmd/vmoments").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// installed writes the unit with ExecStart's program replaced by bin, under its own name.
func installed(t *testing.T, dir, bin string) string {
	t.Helper()
	b, err := os.ReadFile(unit)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, unit)
	if err := os.WriteFile(path, []byte(strings.ReplaceAll(string(b), "/usr/local/bin/vmoments", bin)), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func systemdAnalyze(t *testing.T, args ...string) string {
	t.Helper()
	path, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Fatal("systemd-analyze is needed (Debian's systemd package): ", err)
	}
	out, err := exec.Command(path, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("systemd-analyze %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

func TestUnit(t *testing.T) {
	dir := t.TempDir()
	path := installed(t, dir, buildVmoments(t, dir))
	systemdAnalyze(t, "verify", path)
	// systemd's own score of the sandbox: 0 is the tightest, 10 none at all; "OK" is below 4.
	out := systemdAnalyze(t, "security", "--offline=true", path)
	m := regexp.MustCompile(`Overall exposure level for \S+: ([0-9.]+)`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no exposure level in:\n%s", out)
	}
	if level, _ := strconv.ParseFloat(m[1], 64); level > 3 {
		t.Errorf("exposure level %s, want 3 or less:\n%s", m[1], out)
	}
	// Read-only and no new privileges, as the unit promises.
	b, _ := os.ReadFile(unit)
	for _, want := range []string{"NoNewPrivileges=yes", "ProtectSystem=strict", "ReadOnlyPaths=/", "ProtectHome=read-only"} {
		if !strings.Contains(string(b), "\n"+want+"\n") {
			t.Errorf("the unit lacks %s", want)
		}
	}
}
