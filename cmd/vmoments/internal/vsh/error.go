package vsh

import (
	"errors"
	"fmt"
	"io"
	"strings"
)

// Error is a failure as virsh reports it: one or more lines, each printed "error: LINE" (virsh's
// vshError). Most failures are one line; some are two, as virsh prints them: "failed to connect
// to the hypervisor" then libvirt's message, or checkpoint-list's "unexpected problem querying
// checkpoints" then libvirt's, or one "command 'C' requires <X> option" per missing option.
type Error struct {
	// Lines are the messages, without "error: " and without a newline.
	Lines []string
	// Err is the cause, if any: errors.Is and errors.As reach it (a driver's error class, a
	// canceled context).
	Err error
}

// Errorf returns a one-line *Error.
func Errorf(format string, args ...any) error {
	return &Error{Lines: []string{fmt.Sprintf(format, args...)}}
}

// Error returns the lines joined by newlines.
func (e *Error) Error() string { return strings.Join(e.Lines, "\n") }

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// Report prints err as virsh does: each of its [Lines] after "error: ".
func Report(w io.Writer, err error) {
	for _, l := range Lines(err) {
		fmt.Fprintf(w, "error: %s\n", l)
	}
}

// Lines are the lines virsh prints for err: those of the first *Error in err's chain, else
// err's text.
func Lines(err error) []string {
	var e *Error
	if errors.As(err, &e) {
		return e.Lines
	}
	return []string{err.Error()}
}
