package main

import (
	"context"
	"strings"
	"testing"

	"github.com/vmoments/vmoments/driver"
)

// TestConnectProbe: connect opens a libvirt connection of its own (the probe) only where the
// driver's connection could fail differently from virsh's, or not at all; and when the driver
// fails without a probe, the probe's libvirt message is the one printed, as virsh prints it.
func TestConnectProbe(t *testing.T) {
	virshErr := &driver.Error{URI: "x", Class: driver.ErrConnection, Msg: "virsh's own message"}
	driverErr := &driver.Error{URI: "x", Msg: "the driver's message"}
	tests := []struct {
		name       string
		args       []string
		env        map[string]string
		root       bool
		openFails  bool
		probeFails bool
		wantProbes int
		wantErr    string
	}{
		{name: "explicit local URI as root", args: []string{"-c", "qemu:///system"}, root: true},
		{name: "explicit URI read-only, not root", args: []string{"-r", "-c", "qemu:///system"}},
		{name: "URI from LIBVIRT_DEFAULT_URI as root", env: map[string]string{"LIBVIRT_DEFAULT_URI": "qemu:///system"}, root: true},
		{name: "test driver", args: []string{"-c", "test:///default"}},
		{name: "default URI", root: true, wantProbes: 1},
		{name: "explicit URI, not root", args: []string{"-c", "qemu:///system"}, wantProbes: 1},
		{name: "remote host as root", args: []string{"-c", "qemu+ssh://host/system"}, root: true, wantProbes: 1},
		{name: "default URI refused", root: true, probeFails: true, wantProbes: 1, wantErr: virshErr.Msg},
		{name: "driver fails: the probe's message", args: []string{"-c", "bogus:///x"}, root: true,
			openFails: true, probeFails: true, wantProbes: 1, wantErr: virshErr.Msg},
		{name: "driver fails, probe passes: the driver's message", args: []string{"-r", "-c", "qemu:///system"},
			openFails: true, wantProbes: 1, wantErr: driverErr.Msg},
		{name: "test driver fails: never probed", args: []string{"-c", "test:///nosuch"},
			openFails: true, probeFails: true, wantErr: driverErr.Msg},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := testEnv(tt.env)
			var out, errb strings.Builder
			a := newApp(&out, &errb, func(k string) (string, bool) { v, ok := env[k]; return v, ok })
			a.root = tt.root
			probes := 0
			a.probe = func(_ context.Context, uri string, _ driver.Mode) (string, error) {
				probes++
				if tt.probeFails {
					return "", virshErr
				}
				if uri == "" {
					return "qemu:///system", nil
				}
				return uri, nil
			}
			opened := ""
			a.open = func(_ context.Context, uri string, _ driver.Mode) (driver.Driver, error) {
				opened = uri
				if tt.openFails {
					return nil, driverErr
				}
				return backupChain(t), nil
			}
			rc := a.main(append(tt.args, "checkpoint-current", "guest", "--name"))
			if probes != tt.wantProbes {
				t.Errorf("%d probes, want %d", probes, tt.wantProbes)
			}
			if tt.wantErr == "" {
				if rc != 0 || errb.String() != "" {
					t.Fatalf("rc %d, stderr %q", rc, errb.String())
				}
				if opened == "" {
					t.Errorf("driver opened with no URI")
				}
				return
			}
			want := "error: failed to connect to the hypervisor\nerror: " + tt.wantErr + "\n"
			if rc != 1 || errb.String() != want {
				t.Errorf("rc %d, stderr %q; want 1, %q", rc, errb.String(), want)
			}
		})
	}
}
