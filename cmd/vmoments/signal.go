package main

import (
	"context"
	"errors"
	"os"
	"os/signal"
	"strings"
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
// reports a process the signal killed (130 for SIGINT, 143 for SIGTERM).
func (e *interrupted) status() int { return 128 + int(e.sig) }

func signalName(s syscall.Signal) string {
	switch s {
	case syscall.SIGINT:
		return "SIGINT"
	case syscall.SIGTERM:
		return "SIGTERM"
	}
	return s.String()
}

// signalContext returns a context that the first SIGINT (Ctrl-C) or SIGTERM cancels, with an
// *interrupted cause that names the signal, and the function that releases it. After that first
// signal the signals' default action is back, so a second one ends vmoments at once.
func signalContext(parent context.Context) (context.Context, func()) {
	ctx, cancel := context.WithCancelCause(parent)
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, syscall.SIGINT, syscall.SIGTERM)
	go func() {
		select {
		case s := <-ch:
			signal.Stop(ch)
			sig, _ := s.(syscall.Signal)
			cancel(&interrupted{sig: sig})
		case <-ctx.Done():
		}
	}()
	return ctx, func() {
		signal.Stop(ch)
		cancel(nil)
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
// interrupted by SIGNAL", and return the exit status. It returns 0 when no signal came.
func (a *app) interruption(err error) int {
	in := interruptedBy(a.ctx)
	if in == nil {
		return 0
	}
	if err != nil && !onlyCanceled(err) {
		a.report(err)
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
