package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"

	"github.com/vmoments/vmoments/cmd/vmoments/internal/vsh"
)

// interrupted is the cause of a run's context canceled by a signal (context.Cause gives it).
type interrupted struct{ sig syscall.Signal }

func (e *interrupted) Error() string {
	return "interrupted by " + signalName(e.sig)
}

// Is makes an interruption a cancellation, as the context's own error is.
func (e *interrupted) Is(target error) bool { return target == context.Canceled }

// status is the exit status of a run a signal ended: 128 + the signal's number, as a shell
// reports a process the signal killed (130 for SIGINT, 143 for SIGTERM, 129 for SIGHUP).
func (e *interrupted) status() int { return 128 + int(e.sig) }

func signalName(s syscall.Signal) string {
	switch s {
	case syscall.SIGINT:
		return "SIGINT"
	case syscall.SIGTERM:
		return "SIGTERM"
	case syscall.SIGHUP:
		return "SIGHUP"
	}
	return s.String()
}

// stopSignals are the signals that interrupt a run: Ctrl-C, what timeout, systemd and
// orchestrators send, and a closed terminal.
var stopSignals = []os.Signal{syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP}

// signals is a run's handling of stopSignals. The first cancels the run's context with an
// *interrupted cause that names it. Then:
//   - while no command that rolls back runs (see rollbackGuard), the signals' default action is
//     back, so a second one ends vmoments at once;
//   - while one runs (import, copy), the next signal says how far the rollback is and that one
//     more abandons it, and that one more cancels the guard's context: the rollback stops where
//     it is and leaves the journal; after it the default action is back.
type signals struct {
	cancel context.CancelCauseFunc
	ch     chan os.Signal
	quit   chan struct{}
	stderr io.Writer

	mu    sync.Mutex
	n     int            // signals so far
	guard *rollbackGuard // the command that rolls back, if one runs
}

// rollbackGuard is a command's claim on the signals that come after the first one.
type rollbackGuard struct {
	s      *signals
	ctx    context.Context // canceled by the signal that abandons the rollback
	cancel context.CancelCauseFunc
	// informAt is the signal (counting from 1) that tells how far the rollback is; the next one
	// abandons it. 2 for an import (the first starts the rollback), 1 for import --rollback.
	informAt int
	// finish says how to finish an abandoned rollback later.
	finish string
	// done and total are the rollback's progress (0, 0 before it begins).
	done, total int
}

// signalContext returns a context that the first of stopSignals cancels and the run's signal
// handling, whose stop releases it.
func signalContext(parent context.Context, stderr io.Writer) (context.Context, *signals) {
	ctx, cancel := context.WithCancelCause(parent)
	s := &signals{cancel: cancel, ch: make(chan os.Signal, 4), quit: make(chan struct{}), stderr: stderr}
	signal.Notify(s.ch, stopSignals...)
	go s.loop()
	return ctx, s
}

func (s *signals) loop() {
	for {
		select {
		case sig := <-s.ch:
			if !s.handle(sig) {
				return
			}
		case <-s.quit:
			return
		}
	}
}

// handle acts on one signal and reports whether to listen for more.
func (s *signals) handle(received os.Signal) bool {
	sig, _ := received.(syscall.Signal)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.n++
	if s.n == 1 {
		s.cancel(&interrupted{sig: sig})
	}
	g := s.guard
	switch {
	case g == nil && s.n == 1:
		signal.Stop(s.ch)
		return false
	case g == nil:
		return false
	case s.n == g.informAt:
		if g.total > 0 {
			fmt.Fprintf(s.stderr, "vmoments: %s: rolling back, %d of %d undo steps remain; interrupt once more to abandon the rollback (%s)\n",
				signalName(sig), g.total-g.done, g.total, g.finish)
		} else {
			fmt.Fprintf(s.stderr, "vmoments: %s: the step under way finishes, then everything done is rolled back; interrupt once more to abandon the rollback (%s)\n",
				signalName(sig), g.finish)
		}
		return true
	case s.n > g.informAt:
		fmt.Fprintf(s.stderr, "vmoments: %s: abandoning the rollback after the undo step under way\n", signalName(sig))
		g.cancel(&interrupted{sig: sig})
		signal.Stop(s.ch)
		return false
	}
	return true
}

// stop releases the signals (their default action is back) and the run's context.
func (s *signals) stop() {
	signal.Stop(s.ch)
	close(s.quit)
	s.cancel(nil)
}

// rollbackGuard claims the signals after the first for a command that rolls back (see
// signals); finish says how to finish an abandoned rollback. release gives them back. Without
// signal handling (tests) the guard's context is never canceled.
func (a *app) rollbackGuard(informAt int, finish string) (*rollbackGuard, func()) {
	g := &rollbackGuard{informAt: informAt, finish: finish}
	g.ctx, g.cancel = context.WithCancelCause(context.Background())
	s := a.sigs
	if s == nil {
		return g, func() { g.cancel(nil) }
	}
	g.s = s
	s.mu.Lock()
	s.guard = g
	s.mu.Unlock()
	return g, func() {
		s.mu.Lock()
		if s.guard == g {
			s.guard = nil
			if s.n > 0 {
				// A signal came: the default action is back for the next one.
				signal.Stop(s.ch)
			}
		}
		s.mu.Unlock()
		g.cancel(nil)
	}
}

// progress wraps a transfer progress function to follow the rollback's.
func (g *rollbackGuard) progress(next func(phase string, done, total int)) func(phase string, done, total int) {
	return func(phase string, done, total int) {
		if phase == "rollback" && g.s != nil {
			g.s.mu.Lock()
			g.done, g.total = done, total
			g.s.mu.Unlock()
		}
		if next != nil {
			next(phase, done, total)
		}
	}
}

// interruptedBy returns the signal that canceled ctx, or nil.
func interruptedBy(ctx context.Context) *interrupted {
	var in *interrupted
	if errors.As(context.Cause(ctx), &in) {
		return in
	}
	return nil
}

// interruption is what the dispatcher does when a signal canceled the run: print the command's
// error err, unless it says no more than that the context was canceled, then "error:
// interrupted by SIGNAL" unless err said so already (an import's "interrupted by SIGINT:
// rolled back 869 changes, ..."), and return the exit status. It returns 0 when no signal came.
func (a *app) interruption(err error) int {
	in := interruptedBy(a.ctx)
	if in == nil {
		return 0
	}
	if err != nil && !onlyCanceled(err) {
		a.report(err)
		var said *interrupted
		if errors.As(err, &said) && said.sig == in.sig {
			return in.status()
		}
	}
	a.report(in)
	return in.status()
}

// onlyCanceled reports whether err, printed, ends with the cancellation ("... context
// canceled"): it tells nothing the interruption does not. An error that goes on (an import's
// rollback report) is printed.
func onlyCanceled(err error) bool {
	if !errors.Is(err, context.Canceled) {
		return false
	}
	var b strings.Builder
	vsh.Report(&b, err)
	return strings.HasSuffix(b.String(), context.Canceled.Error()+"\n")
}
