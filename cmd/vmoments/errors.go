package main

import (
	"errors"
	"slices"

	"github.com/vmoments/vmoments/cmd/vmoments/internal/vsh"
	"github.com/vmoments/vmoments/driver"
)

// How commands fail: they return an error and print nothing of it; the dispatcher prints it
// once, as virsh does ("error: MESSAGE"; see vsh.Error for the failures virsh reports in two
// lines). Errors of package transfer are printed as they are; a driver's error as libvirt's
// words alone (libvirtErr), which is what virsh prints.

// errShown ends a command with exit status 1 when its own output already told what failed
// (validate's verdict on each file, a dry run's conflicts): the dispatcher prints nothing more.
var errShown = errors.New("the command's output says what failed")

// report prints a command's error on stderr, once (nothing for errShown), and logs it (-l).
func (a *app) report(err error) {
	if errors.Is(err, errShown) {
		return
	}
	for _, l := range vsh.Lines(err) {
		a.reportLine(l)
	}
}

// libvirtMessage returns libvirt's own message for err (what virsh prints), else err's text.
func libvirtMessage(err error) string {
	var derr *driver.Error
	if errors.As(err, &derr) {
		return derr.Message()
	}
	return err.Error()
}

// libvirtErr is err printed as virsh prints a libvirt failure: libvirt's message alone, after
// the lines of before (virsh's own line, where it prints one first). The cause stays reachable
// (errors.Is(err, driver.ErrNotFound), a canceled context).
func libvirtErr(err error, before ...string) error {
	return &vsh.Error{Lines: append(slices.Clone(before), libvirtMessage(err)), Err: err}
}

// emptyOption is virsh's vshCommandOptStringReq error for a string option given an empty value.
func emptyOption(name string) error {
	return vsh.Errorf("Failed to get option '%s': Option argument is empty", name)
}

// exclusive is VSH_EXCLUSIVE_OPTIONS: an error for the first pair given together.
func exclusive(c *vsh.Parsed, pairs ...[2]string) error {
	for _, p := range pairs {
		if c.Has(p[0]) && c.Has(p[1]) {
			return vsh.Errorf("Options --%s and --%s are mutually exclusive", p[0], p[1])
		}
	}
	return nil
}

// required returns a string option that must be given and not be empty.
func required(c *vsh.Parsed, name string) (string, error) {
	v, given := c.Value(name)
	if !given {
		return "", vsh.Errorf("command '%s' requires --%s option", c.Cmd.Name, name)
	}
	if v == "" {
		return "", emptyOption(name)
	}
	return v, nil
}
