package momentlist

import (
	"errors"
	"fmt"
)

// Error classes, for errors.Is. The messages of the errors the package returns keep libvirt's
// exact wording (with libvirt's "operation failed: " / "invalid argument: " prefixes where
// libvirt prints them); the class says which libvirt error code libvirt would report.
var (
	// ErrExists: a moment of that name is already in the list (VIR_ERR_OPERATION_FAILED,
	// "domain moment %s already exists").
	ErrExists = errors.New("moment already exists")
	// ErrInvalidArg: a definition or argument libvirt refuses (VIR_ERR_INVALID_ARG): the
	// redefine checks of List.checkCycles, a missing name, a moment of another list.
	ErrInvalidArg = errors.New("invalid argument")
	// ErrUnsupportedFlags: filter or flag bits the kind does not have (libvirt's
	// virCheckFlags: "unsupported flags (0x%x) in function %s").
	ErrUnsupportedFlags = errors.New("unsupported flags")
	// ErrInconsistent: parent names that are missing or form a cycle ([*RelationsError];
	// libvirt's "Snapshots have inconsistent relations for domain %s" at load).
	ErrInconsistent = errors.New("inconsistent relations")
)

// classError is an error with an exact message and a class for errors.Is.
type classError struct {
	class error
	msg   string
}

func (e *classError) Error() string { return e.msg }

func (e *classError) Is(target error) bool { return target == e.class }

func errorf(class error, format string, args ...any) error {
	return &classError{class: class, msg: fmt.Sprintf(format, args...)}
}

// errExists is libvirt's virDomainMomentAssignDef failure.
func errExists(name string) error {
	return errorf(ErrExists, "operation failed: domain moment %s already exists", name)
}
