package main

import (
	"context"
	"strings"
	"testing"

	"github.com/vmoments/vmoments/driver"
)

// TestKeepaliveRefused: where vmoments cannot do what -k and -K ask (its connections send no
// keepalive messages; libvirt's test driver refuses keepalive as virsh's test connections do,
// which the golden tests compare), the connection is refused with a message that says why,
// rather than the options being ignored. -k 0 asks for no keepalive: accepted.
func TestKeepaliveRefused(t *testing.T) {
	drv := backupChain(t)
	run := func(args ...string) result {
		env := testEnv(nil)
		var out, errb strings.Builder
		a := newApp(&out, &errb, func(k string) (string, bool) { v, ok := env[k]; return v, ok })
		a.open = func(context.Context, string, driver.Mode) (driver.Driver, error) { return drv, nil }
		a.root = true
		rc := a.main(append(args, "checkpoint-list", "guest", "--name"))
		return result{out.String(), errb.String(), rc}
	}
	refused := "error: keepalive (-k, -K) is not supported: vmoments' connection to fake:/// would send no keepalive messages; -k 0 asks for none\n"
	for _, tc := range []struct {
		args   []string
		stderr string
		rc     int
	}{
		{[]string{"-c", "qemu:///system"}, "", 0},
		{[]string{"-k", "0", "-c", "qemu:///system"}, "", 0},
		{[]string{"-k", "0", "-K", "9", "-c", "qemu:///system"}, "", 0},
		{[]string{"-k", "5", "-c", "qemu:///system"}, refused, 1},
		{[]string{"-K", "2", "-c", "qemu:///system"}, refused, 1},
	} {
		got := run(tc.args...)
		if got.stderr != tc.stderr || got.rc != tc.rc || (tc.rc == 0 && got.stdout != "c1\nc2\nc3\nc4\n\n") {
			t.Errorf("%q: %s", tc.args, got)
		}
	}
}
