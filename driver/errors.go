package driver

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/vmoments/vmoments/conf"
)

// The error classes. Every error a driver returns is an [*Error]; its class, when it has one,
// matches with errors.Is, so a caller tells the cases apart without libvirt's bindings:
//
//	switch {
//	case errors.Is(err, driver.ErrDomainNotFound): // no such domain
//	case errors.Is(err, driver.ErrMomentNotFound): // no such snapshot or checkpoint
//	case errors.Is(err, driver.ErrReadOnly):       // a change (or secure XML) on a read-only driver
//	case errors.Is(err, context.Canceled):         // the caller's context ended
//	}
var (
	// ErrNotFound is matched by every error about a domain or a moment that does not exist
	// (both [ErrDomainNotFound] and [ErrMomentNotFound] match it).
	ErrNotFound = errors.New("not found")
	// ErrDomainNotFound: the domain does not exist (libvirt's VIR_ERR_NO_DOMAIN).
	ErrDomainNotFound error = &class{msg: "domain not found", parent: ErrNotFound}
	// ErrMomentNotFound: the snapshot or checkpoint does not exist (VIR_ERR_NO_DOMAIN_SNAPSHOT,
	// VIR_ERR_NO_DOMAIN_CHECKPOINT, or a name the loaded list lacks).
	ErrMomentNotFound error = &class{msg: "moment not found", parent: ErrNotFound}
	// ErrReadOnly: a change, or XML with XMLSecure, on a driver opened [ReadOnly] (or refused by
	// libvirt because the connection is read-only).
	ErrReadOnly = errors.New("the connection was opened read-only: changes need a read-write connection")
	// ErrClosed: a call on a driver, or a domain of a driver, that was closed.
	ErrClosed = errors.New("the driver is closed")
	// ErrUnsupportedURI: [Open] of a URI no registered driver serves (an unknown scheme, or no
	// URI at all where no driver can resolve libvirt's default).
	ErrUnsupportedURI = errors.New("no driver for the URI")
	// ErrConnection: the connection to libvirt failed or broke (libvirtd unreachable or
	// restarted) and could not be replaced.
	ErrConnection = errors.New("connection to libvirt failed")
)

// class is an error class that also matches a broader one (ErrDomainNotFound is an ErrNotFound).
type class struct {
	msg    string
	parent error
}

func (c *class) Error() string { return c.msg }
func (c *class) Unwrap() error { return c.parent }

// Error is an error about one URI, domain and moment. Its message is
//
//	URI: domain "NAME": KIND "MOMENT": MESSAGE[. HINT]
//
// with the parts that do not apply left out (a moment being created from XML without a name
// reads "new snapshot" / "new checkpoint"). MESSAGE is libvirt's message verbatim when the
// error came from libvirt; Err is then the libvirt.org/go/libvirt.Error value, reachable with
// errors.As. Class, when set, is one of the error classes above; errors.Is matches both Err and
// Class (and what they wrap).
type Error struct {
	URI    string
	Domain string
	// Kind and Moment name the moment: Kind is the kind of the moment, or of the list, the call
	// was about, conf.NoKind when neither (the error is about the driver or the domain); Moment
	// "" means no single moment.
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
	// Class is the error's class (ErrDomainNotFound, ErrReadOnly, ...), nil if it has none.
	Class error
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
	b.WriteString(e.Message())
	if e.Hint != "" {
		b.WriteString(". ")
		b.WriteString(e.Hint)
	}
	return b.String()
}

// Message is the message alone, without the URI, domain, moment and hint: libvirt's own words
// for a libvirt error (what virsh prints after "error: ").
func (e *Error) Message() string {
	switch {
	case e.Msg != "":
		return e.Msg
	case e.Err != nil:
		return e.Err.Error()
	case e.Class != nil:
		return e.Class.Error()
	}
	return "unknown error"
}

// Unwrap returns the underlying error and the class.
func (e *Error) Unwrap() []error {
	var out []error
	if e.Err != nil {
		out = append(out, e.Err)
	}
	if e.Class != nil {
		out = append(out, e.Class)
	}
	return out
}
