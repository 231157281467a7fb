package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vmoments/vmoments/conf"
	"github.com/vmoments/vmoments/driver"
	"github.com/vmoments/vmoments/momentlist"
	"github.com/vmoments/vmoments/transfer"
)

// blockingDriver serves domains whose load blocks until the run's context is canceled.
type blockingDriver struct {
	*fakeDriver
	// entered is closed when a load begins; canceled receives the context's cause the load saw.
	entered  chan struct{}
	canceled chan error
}

func (b *blockingDriver) Domain(_ context.Context, name string) (driver.Domain, error) {
	return &blockingDomain{name: name, b: b}, nil
}

type blockingDomain struct {
	driver.Domain
	name string
	b    *blockingDriver
}

func (d *blockingDomain) Name() string { return d.name }

func (d *blockingDomain) Moments(ctx context.Context, k conf.Kind) (*momentlist.List, error) {
	close(d.b.entered)
	<-ctx.Done()
	d.b.canceled <- context.Cause(ctx)
	return nil, &driver.Error{URI: "fake:///", Domain: d.name, Err: ctx.Err()}
}

// TestInterruptedCommand: a signal cancels the run's context; the command blocked in a load
// sees it and returns; the dispatcher says it was interrupted, prints virsh's blank line, runs
// no later command and exits 128+signal.
func TestInterruptedCommand(t *testing.T) {
	for _, tc := range []struct {
		sig    syscall.Signal
		status int
	}{{syscall.SIGINT, 130}, {syscall.SIGTERM, 143}} {
		t.Run(signalName(tc.sig), func(t *testing.T) {
			drv := &blockingDriver{fakeDriver: backupChain(t), entered: make(chan struct{}), canceled: make(chan error, 1)}
			ctx, cancel := context.WithCancelCause(context.Background())
			defer cancel(nil)
			var out, errb strings.Builder
			a := newApp(&out, &errb, func(string) (string, bool) { return "", false })
			a.ctx = ctx
			a.open = func(context.Context, string, driver.Mode) (driver.Driver, error) { return drv, nil }
			done := make(chan int)
			go func() { done <- a.main([]string{"-c", "test:///fake", "snapshot-list guest --name; help"}) }()
			<-drv.entered
			cancel(&interrupted{sig: tc.sig})
			status := <-done
			var in *interrupted
			if cause := <-drv.canceled; !errors.As(cause, &in) || in.sig != tc.sig {
				t.Errorf("the command saw cause %v, want the signal", cause)
			}
			want := "error: interrupted by " + signalName(tc.sig) + "\n"
			if status != tc.status || errb.String() != want || out.String() != "\n" {
				t.Errorf("status %d, stdout %q, stderr %q; want %d, %q, %q", status, out.String(), errb.String(), tc.status, "\n", want)
			}
		})
	}
}

// TestInterruptedConnect: a signal while the connection opens ends the run before any command.
func TestInterruptedConnect(t *testing.T) {
	ctx, cancel := context.WithCancelCause(context.Background())
	var out, errb strings.Builder
	a := newApp(&out, &errb, func(string) (string, bool) { return "", false })
	a.ctx = ctx
	a.open = func(ctx context.Context, uri string, _ driver.Mode) (driver.Driver, error) {
		cancel(&interrupted{sig: syscall.SIGINT})
		return nil, &driver.Error{URI: uri, Err: ctx.Err()}
	}
	status := a.main([]string{"-c", "test:///fake", "snapshot-list", "guest"})
	if status != 130 || errb.String() != "error: interrupted by SIGINT\n" || out.String() != "" {
		t.Errorf("status %d, stdout %q, stderr %q", status, out.String(), errb.String())
	}
}

// TestInterruptionKeepsWhatErrorsSay: an error that says more than "context canceled" (an
// import's rollback report) is printed before the interruption; one that says only that is not.
func TestInterruptionKeepsWhatErrorsSay(t *testing.T) {
	step := &transfer.StepError{Step: transfer.Step{Kind: conf.Snapshot, Name: "s1", Action: transfer.Redefine},
		Err: context.Canceled, Undone: 3}
	tests := []struct {
		err  error
		want string
	}{
		{nil, ""},
		{context.Canceled, ""},
		{&driver.Error{URI: "qemu:///system", Domain: "d", Err: context.Canceled}, ""},
		{libvirtErr(&driver.Error{URI: "qemu:///system", Domain: "d", Err: context.Canceled}), ""},
		{libvirtErr(&driver.Error{Err: context.Canceled}, "unexpected problem querying checkpoints"), ""},
		{step, "error: " + step.Error() + "\n"},
		{errors.New("libvirt said no"), "error: libvirt said no\n"},
	}
	for _, tt := range tests {
		ctx, cancel := context.WithCancelCause(context.Background())
		cancel(&interrupted{sig: syscall.SIGTERM})
		var errb strings.Builder
		a := newApp(&strings.Builder{}, &errb, func(string) (string, bool) { return "", false })
		a.ctx = ctx
		if status := a.interruption(tt.err); status != 143 {
			t.Errorf("%v: status %d, want 143", tt.err, status)
		}
		if want := tt.want + "error: interrupted by SIGTERM\n"; errb.String() != want {
			t.Errorf("%v: printed %q, want %q", tt.err, errb.String(), want)
		}
	}
	a := newApp(&strings.Builder{}, &strings.Builder{}, func(string) (string, bool) { return "", false })
	if status := a.interruption(context.Canceled); status != 0 {
		t.Errorf("no signal: status %d, want 0", status)
	}
}

// buildVmoments builds the command into a temporary directory, with extra go build arguments.
func buildVmoments(t *testing.T, args ...string) string {
	t.Helper()
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the go command is needed to build vmoments: %v", err)
	}
	bin := filepath.Join(t.TempDir(), "vmoments")
	cmd := exec.Command(goTool, append(append([]string{"build", "-o", bin}, args...), ".")...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// bigNode writes a test-driver node file with one domain "big" and a chain of n snapshots, each
// with its domain definition embedded (so libvirt logs no warning for it).
func bigNode(t *testing.T, n int) string {
	t.Helper()
	const dom = "<name>big</name><uuid>11111111-2222-3333-4444-000000000001</uuid>" +
		"<memory unit='KiB'>1024</memory><vcpu>1</vcpu><os><type arch='x86_64'>hvm</type></os>"
	var b strings.Builder
	b.WriteString("<node><domain type='test' xmlns:test='http://libvirt.org/schemas/domain/test/1.0'>" + dom + "<test:runstate>5</test:runstate>")
	for i := range n {
		parent := ""
		if i > 0 {
			parent = fmt.Sprintf("<parent><name>s%d</name></parent>", i-1)
		}
		fmt.Fprintf(&b, "<test:domainsnapshot><name>s%d</name><state>shutoff</state><creationTime>%d</creationTime>%s"+
			"<domain type='test'>%s</domain><active>0</active></test:domainsnapshot>", i, 1600000000+i, parent, dom)
	}
	b.WriteString("</domain></node>\n")
	p := filepath.Join(t.TempDir(), "big.xml")
	if err := os.WriteFile(p, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestSignalStopsExport runs a built vmoments exporting 10,000 snapshots (seconds of work),
// sends it SIGINT, SIGTERM or SIGHUP once the export has begun writing, and checks that it
// stops at once: the exit status is 128+signal, stderr says it was interrupted, nothing is at
// the target path and the temporary directory it wrote into is gone.
func TestSignalStopsExport(t *testing.T) {
	if testing.Short() {
		t.Skip("builds vmoments and exports 10,000 snapshots")
	}
	bin := buildVmoments(t)
	node := bigNode(t, 10000)
	for _, tc := range []struct {
		sig    syscall.Signal
		status int
	}{{syscall.SIGINT, 130}, {syscall.SIGTERM, 143}, {syscall.SIGHUP, 129}} {
		t.Run(signalName(tc.sig), func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "export")
			tmpGlob := filepath.Join(filepath.Dir(dir), ".export.tmp-*")
			cmd := exec.Command(bin, "-c", "test://"+node, "export", "big", "--to", dir)
			var out, errb strings.Builder
			cmd.Stdout, cmd.Stderr = &out, &errb
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			exited := make(chan error, 1)
			go func() { exited <- cmd.Wait() }()
			// The export has begun once the snapshots directory exists in the temporary
			// directory beside the target (after libvirt loaded the node file, which no signal
			// interrupts).
			for {
				if m, _ := filepath.Glob(filepath.Join(tmpGlob, "snapshots")); len(m) > 0 {
					break
				}
				select {
				case err := <-exited:
					t.Fatalf("vmoments ended before the export began: %v\n%s%s", err, out.String(), errb.String())
				case <-time.After(5 * time.Millisecond):
				}
			}
			if err := cmd.Process.Signal(tc.sig); err != nil {
				t.Fatal(err)
			}
			sent := time.Now()
			var err error
			select {
			case err = <-exited:
			case <-time.After(30 * time.Second):
				cmd.Process.Kill()
				t.Fatalf("vmoments still runs 30 s after %s", signalName(tc.sig))
			}
			t.Logf("exited %v after %s", time.Since(sent).Round(time.Millisecond), signalName(tc.sig))
			var ee *exec.ExitError
			if !errors.As(err, &ee) || ee.ExitCode() != tc.status {
				t.Errorf("exit: %v, want status %d", err, tc.status)
			}
			if want := "error: interrupted by " + signalName(tc.sig) + "\n"; errb.String() != want {
				t.Errorf("stderr %q, want %q", errb.String(), want)
			}
			if strings.Contains(out.String(), "Exported") {
				t.Errorf("the export finished: %q", out.String())
			}
			if _, err := os.Lstat(dir); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("the interrupted export left %s (%v)", dir, err)
			}
			if m, _ := filepath.Glob(tmpGlob); len(m) > 0 {
				t.Errorf("the interrupted export left its temporary directory %v", m)
			}
		})
	}
}

// TestRollbackSignals: without a command that rolls back, the first signal cancels the run
// and hands the signals back to their default action; with an import's guard, the second
// says how many undo steps remain and the third abandons the rollback (the guard's context,
// with the signal as cause); import --rollback's guard informs at the first.
func TestRollbackSignals(t *testing.T) {
	newSignals := func() (context.Context, *signals, *strings.Builder) {
		ctx, cancel := context.WithCancelCause(context.Background())
		var errb strings.Builder
		return ctx, &signals{cancel: cancel, ch: make(chan os.Signal, 1), quit: make(chan struct{}), stderr: &errb}, &errb
	}
	ctx, s, _ := newSignals()
	if s.handle(syscall.SIGHUP) {
		t.Error("without a guard the handler listens on after the first signal")
	}
	var in *interrupted
	if !errors.As(context.Cause(ctx), &in) || in.sig != syscall.SIGHUP || in.status() != 129 {
		t.Errorf("cause %v", context.Cause(ctx))
	}

	ctx, s, errb := newSignals()
	a := newApp(&strings.Builder{}, &strings.Builder{}, func(string) (string, bool) { return "", false })
	a.sigs = s
	g, release := a.rollbackGuard(2, "the journal stays")
	defer release()
	if !s.handle(syscall.SIGINT) || ctx.Err() == nil || g.ctx.Err() != nil {
		t.Fatalf("first signal: run ctx %v, guard %v", ctx.Err(), g.ctx.Err())
	}
	if !s.handle(syscall.SIGINT) || !strings.Contains(errb.String(), "the step under way finishes, then everything done is rolled back; interrupt once more to abandon the rollback (the journal stays)") {
		t.Errorf("second signal before the rollback: %q", errb.String())
	}
	g.progress(nil)("rollback", 300, 869)
	errb.Reset()
	s.n = 1 // as if the rollback had begun before the second signal
	if !s.handle(syscall.SIGINT) || errb.String() != "vmoments: SIGINT: rolling back, 569 of 869 undo steps remain; interrupt once more to abandon the rollback (the journal stays)\n" {
		t.Errorf("second signal during the rollback: %q", errb.String())
	}
	if s.handle(syscall.SIGTERM) || !errors.As(context.Cause(g.ctx), &in) || in.sig != syscall.SIGTERM {
		t.Errorf("third signal: guard cause %v", context.Cause(g.ctx))
	}

	_, s, errb = newSignals()
	a.sigs = s
	g2, release2 := a.rollbackGuard(1, "finish later")
	defer release2()
	g2.progress(nil)("rollback", 1, 10)
	if !s.handle(syscall.SIGINT) || !strings.Contains(errb.String(), "9 of 10 undo steps remain") || g2.ctx.Err() != nil {
		t.Errorf("import --rollback, first signal: %q", errb.String())
	}
	if s.handle(syscall.SIGINT) || g2.ctx.Err() == nil {
		t.Error("import --rollback, second signal: not abandoned")
	}
}
