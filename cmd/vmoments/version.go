package main

import (
	"runtime/debug"

	"github.com/vmoments/vmoments/driver"
)

// buildVersion is vmoments' version, set when it is built:
//
//	go build -ldflags "-X main.buildVersion=$(git describe --tags --always --dirty)" ./cmd/vmoments
//
// When it is empty, version falls back on what Go recorded in the binary (versionOf).
var buildVersion string

// version is the version vmoments prints (--version) and records in exports.
func version() string {
	if buildVersion != "" {
		return buildVersion
	}
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "(devel)"
	}
	return versionOf(bi)
}

// versionOf is the version in a binary's build information: the module version when it was
// built as a module ("v0.3.0" from go install ...@v0.3.0, or the pseudo-version go build
// stamps in a git checkout, "v0.0.0-20261201092512-69123d09b5a1+dirty"), else the git revision
// ("69123d09b5a1", "-dirty" with uncommitted changes), else "(devel)": a build with none of
// them (go run, -buildvcs=false).
func versionOf(bi *debug.BuildInfo) string {
	if v := bi.Main.Version; v != "" && v != "(devel)" {
		return v
	}
	rev, modified := "", false
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			modified = s.Value == "true"
		}
	}
	if rev == "" {
		return "(devel)"
	}
	if len(rev) > 12 {
		rev = rev[:12]
	}
	if modified {
		rev += "-dirty"
	}
	return rev
}

// versionLine is what --version prints: "vmoments VERSION (libvirt LIBRARY)", the libvirt
// library this process runs with (asked of libvirt's in-process test driver, which needs no
// daemon; left out if that fails).
func (a *app) versionLine() string {
	line := "vmoments " + version()
	drv, err := a.open(a.ctx, "test:///default", driver.ReadOnly)
	if err != nil {
		return line
	}
	defer drv.Close()
	if v, err := drv.Versions(a.ctx); err == nil && v.Library != "" {
		line += " (libvirt " + v.Library + ")"
	}
	return line
}
