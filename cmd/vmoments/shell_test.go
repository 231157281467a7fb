package main

import (
	"context"
	"strings"
	"syscall"
	"testing"

	"github.com/vmoments/vmoments/driver"
)

// TestShellInterruptedCommand: a signal during a command the shell runs ends the command and
// the shell (as it ends virsh): the interruption said once, no later line read, status 130.
func TestShellInterruptedCommand(t *testing.T) {
	drv := &blockingDriver{fakeDriver: backupChain(t), entered: make(chan struct{}), canceled: make(chan error, 1)}
	ctx, cancel := context.WithCancelCause(context.Background())
	defer cancel(nil)
	var out, errb strings.Builder
	a := newApp(&out, &errb, func(string) (string, bool) { return "", false })
	a.ctx = ctx
	a.stdin = strings.NewReader("snapshot-list guest --name\necho never\n")
	a.open = func(context.Context, string, driver.Mode) (driver.Driver, error) { return drv, nil }
	done := make(chan int)
	go func() { done <- a.main([]string{"-q", "-c", "test:///fake"}) }()
	<-drv.entered
	cancel(&interrupted{sig: syscall.SIGINT})
	status := <-done
	<-drv.canceled
	if want := "vmoments # snapshot-list guest --name\n"; status != 130 || out.String() != want || errb.String() != "error: interrupted by SIGINT\n" {
		t.Errorf("status %d, stdout %q, stderr %q; want 130, %q", status, out.String(), errb.String(), want)
	}
}

// TestShellStatus: the shell exits 0 whatever its commands did, as virsh's interactive mode;
// a command line exits with its last command's status.
func TestShellStatus(t *testing.T) {
	env := testEnv(nil)
	for _, tc := range []struct {
		args  []string
		stdin string
		rc    int
	}{
		{[]string{"-q", "-c", "test:///default"}, "snapshot-list nosuch\n", 0},
		{[]string{"-q"}, "bogus\n", 0},
		{[]string{"-q", "-c", "test:///default", "snapshot-list nosuch; echo"}, "", 0},
		{[]string{"-q", "-c", "test:///default", "echo; snapshot-list nosuch"}, "", 1},
		{[]string{"-q", "-c", "test:///default", "snapshot-list nosuch; quit"}, "", 0},
	} {
		if got := runVmomentsStdin(t, env, tc.args, tc.stdin); got.rc != tc.rc {
			t.Errorf("%q < %q: %s, want status %d", tc.args, tc.stdin, got, tc.rc)
		}
	}
}
