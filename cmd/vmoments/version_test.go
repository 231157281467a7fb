package main

import (
	"context"
	"debug/buildinfo"
	"os/exec"
	"runtime/debug"
	"strings"
	"testing"

	"github.com/vmoments/vmoments/driver"
	"github.com/vmoments/vmoments/transfer"
)

func TestVersionOf(t *testing.T) {
	rev := "69123d09b5a1f871ffa19cd89812a2f3719b9dc8"
	vcs := func(modified string) []debug.BuildSetting {
		return []debug.BuildSetting{{Key: "vcs", Value: "git"}, {Key: "vcs.revision", Value: rev}, {Key: "vcs.modified", Value: modified}}
	}
	tests := []struct {
		main     string
		settings []debug.BuildSetting
		want     string
	}{
		{"v0.3.0", nil, "v0.3.0"}, // go install ...@v0.3.0
		{"v0.0.0-20261201092512-69123d09b5a1+dirty", vcs("true"), "v0.0.0-20261201092512-69123d09b5a1+dirty"},
		{"(devel)", vcs("false"), "69123d09b5a1"},
		{"", vcs("true"), "69123d09b5a1-dirty"},
		{"(devel)", nil, "(devel)"},
	}
	for _, tt := range tests {
		bi := &debug.BuildInfo{Main: debug.Module{Path: "github.com/vmoments/vmoments", Version: tt.main}, Settings: tt.settings}
		if got := versionOf(bi); got != tt.want {
			t.Errorf("main %q, settings %v: %q, want %q", tt.main, tt.settings, got, tt.want)
		}
	}
}

// libvirtLibrary is the libvirt library version this process runs with.
func libvirtLibrary(t *testing.T) string {
	t.Helper()
	drv, err := driver.Open(context.Background(), "test:///default", driver.ReadOnly)
	if err != nil {
		t.Fatal(err)
	}
	defer drv.Close()
	v, err := drv.Versions(context.Background())
	if err != nil || v.Library == "" {
		t.Fatalf("library version %q: %v", v.Library, err)
	}
	return v.Library
}

// TestVersionPrintedAndExported: --version prints the build's version and libvirt's, and an
// export records the same version.
func TestVersionPrintedAndExported(t *testing.T) {
	old := buildVersion
	buildVersion = "v1.2.3-4-gabcdef0"
	defer func() { buildVersion = old }()
	want := "vmoments v1.2.3-4-gabcdef0 (libvirt " + libvirtLibrary(t) + ")\n"
	for _, arg := range []string{"--version", "-v", "-V"} {
		if got := runVmoments(t, testEnv(nil), []string{arg}); got != (result{want, "", 0}) {
			t.Errorf("%s: %s\nwant %q", arg, got, want)
		}
	}
	uri := demoNode(t, false)
	h := openHosts(t, uri)
	src, err := transfer.OpenSource(exportOf(t, h, uri))
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	if m := readManifest(t, src); m.VmomentsVersion != buildVersion {
		t.Errorf("the export records version %q, want %q", m.VmomentsVersion, buildVersion)
	}
}

// TestVersionBuilt builds vmoments as the Makefile does, with git describe's version in
// main.buildVersion, and checks that --version prints it: a real version (a tag or the
// commit's hash), not a placeholder.
func TestVersionBuilt(t *testing.T) {
	if testing.Short() {
		t.Skip("builds vmoments")
	}
	describe, err := exec.Command("git", "describe", "--tags", "--always", "--dirty").Output()
	if err != nil {
		t.Fatalf("git describe (the test runs in a git checkout): %v", err)
	}
	v := strings.TrimSpace(string(describe))
	if v == "" {
		t.Fatal("git describe printed nothing")
	}
	bin := buildVmoments(t, "-ldflags", "-X main.buildVersion="+v)
	out, err := exec.Command(bin, "--version").Output()
	if err != nil {
		t.Fatal(err)
	}
	if want := "vmoments " + v + " (libvirt " + libvirtLibrary(t) + ")\n"; string(out) != want {
		t.Errorf("--version printed %q, want %q", out, want)
	}
	// Without the flag the version is what Go recorded in the binary (a module version, a git
	// revision, or "(devel)" when Go recorded neither).
	plain := buildVmoments(t)
	bi, err := buildinfo.ReadFile(plain)
	if err != nil {
		t.Fatal(err)
	}
	out, err = exec.Command(plain, "--version").Output()
	if err != nil {
		t.Fatal(err)
	}
	if want := "vmoments " + versionOf(bi) + " (libvirt "; !strings.HasPrefix(string(out), want) {
		t.Errorf("--version without -X printed %q, want %q...", out, want)
	}
}
