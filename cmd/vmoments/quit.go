package main

import (
	"context"

	"github.com/vmoments/vmoments/cmd/vmoments/internal/vsh"
)

// runQuit is virsh's quit and exit: the shell ends, and so do the commands of the line (the
// dispatcher stops after it, without the blank line; quit succeeds, so a command line that
// ends with it exits 0).
func runQuit(_ context.Context, a *app, _ *vsh.Parsed) error {
	a.imode = false
	return nil
}
