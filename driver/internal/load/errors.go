package load

import "errors"

// Class says what kind of failure a Source error is, as far as loading cares.
type Class int

const (
	// Other is any error the loader reports as is.
	Other Class = iota
	// Gone means the moment named in the call no longer exists (libvirt's
	// VIR_ERR_NO_DOMAIN_SNAPSHOT / VIR_ERR_NO_DOMAIN_CHECKPOINT): deleted by someone else between
	// the list call and the fetch. The loader skips it.
	Gone
	// TooMany means libvirtd refused a list call because the answer exceeds its RPC limit of
	// 16,384 names ("Too many domain_snapshots '20000' for limit '16384'", or the client's "too
	// many remote strings"). The loader then lists in smaller pieces.
	TooMany
	// ConnLost means the connection broke (libvirtd restarted: VIR_ERR_SYSTEM_ERROR, VIR_ERR_RPC,
	// VIR_ERR_NO_CONNECT, VIR_ERR_INVALID_CONN, or the connection is no longer alive). The caller
	// may retry once on a new connection.
	ConnLost
)

var classSentinels = map[Class]error{
	Gone:     errors.New("moment is gone"),
	TooMany:  errors.New("list answer exceeds libvirt's RPC limit"),
	ConnLost: errors.New("connection lost"),
}

// Classified wraps a Source error with its Class. Its message is the wrapped error's, unchanged.
type Classified struct {
	Class Class
	Err   error
}

func (e *Classified) Error() string { return e.Err.Error() }

// Unwrap returns the wrapped error and the class's sentinel, so errors.Is(err, load.ErrGone)
// and errors.As(err, &libvirt.Error{}) both work.
func (e *Classified) Unwrap() []error {
	if s := classSentinels[e.Class]; s != nil {
		return []error{e.Err, s}
	}
	return []error{e.Err}
}

// The sentinels of the classes, for errors.Is.
var (
	ErrGone     = classSentinels[Gone]
	ErrTooMany  = classSentinels[TooMany]
	ErrConnLost = classSentinels[ConnLost]
)

// ClassOf returns the Class of err (Other if it is not Classified).
func ClassOf(err error) Class {
	var c *Classified
	if errors.As(err, &c) {
		return c.Class
	}
	return Other
}
