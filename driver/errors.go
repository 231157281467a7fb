package driver

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/vmoments/vmoments/conf"
)

// ErrReadOnly is returned (wrapped in an [*Error]) by every change on a driver opened read-only.
var ErrReadOnly = errors.New("the connection was opened read-only: changes need a read-write connection")

// ErrNotFound is wrapped by the errors for a moment that is not in the loaded list; the message
// uses libvirt's wording ("no domain snapshot with matching name 's1'").
var ErrNotFound = errors.New("not found")

// Error is an error about one URI, domain and moment. Its message is
//
//	URI: domain "NAME": KIND "MOMENT": MESSAGE[. HINT]
//
// with the parts that do not apply left out (a moment being created from XML without a name
// reads "new snapshot" / "new checkpoint"). MESSAGE is libvirt's message verbatim when the
// error came from libvirt; Err is then the libvirt.org/go/libvirt.Error value, reachable with
// errors.As.
type Error struct {
	URI    string
	Domain string
	// Kind and Moment name the moment; Moment "" means the error is about the whole list.
	Kind   conf.Kind
	Moment string
	// Unnamed, with Moment "", says the error is about a moment being created from XML that
	// gives no name (libvirt would have made one up): the message says "new KIND".
	Unnamed bool
	// Msg is the message to print: libvirt's own for libvirt errors, else Err's.
	Msg string
	// Hint, if not empty, is a sentence that explains the error (e.g. that a flag is a limit of
	// libvirt's test driver).
	Hint string
	// Err is the underlying error.
	Err error
}

func (e *Error) Error() string {
	var b strings.Builder
	if e.URI != "" {
		b.WriteString(e.URI)
		b.WriteString(": ")
	}
	if e.Domain != "" {
		b.WriteString("domain ")
		b.WriteString(strconv.Quote(e.Domain))
		b.WriteString(": ")
	}
	if e.Moment != "" {
		fmt.Fprintf(&b, "%s %q: ", e.Kind, e.Moment)
	} else if e.Unnamed {
		fmt.Fprintf(&b, "new %s: ", e.Kind)
	}
	msg := e.Msg
	if msg == "" && e.Err != nil {
		msg = e.Err.Error()
	}
	b.WriteString(msg)
	if e.Hint != "" {
		b.WriteString(". ")
		b.WriteString(e.Hint)
	}
	return b.String()
}

// Unwrap returns the underlying error.
func (e *Error) Unwrap() error { return e.Err }
