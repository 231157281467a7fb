package main

import (
	"context"
	"os"
	"os/user"
	"syscall"

	"github.com/vmoments/vmoments/cmd/vmoments/internal/vsh"
)

// runCd is virsh's cd: only in the shell (commands read from standard input or a terminal),
// to --dir, or with none (or an empty one) to the home directory, else /.
func runCd(_ context.Context, a *app, c *vsh.Parsed) error {
	if !a.imode {
		return vsh.Errorf("cd: command valid only in interactive mode")
	}
	dir, _ := c.Value("dir")
	if dir == "" {
		dir = homeDir(a.env)
	}
	if err := os.Chdir(dir); err != nil {
		return vsh.Errorf("cd: %s: %s", strerror(err), dir)
	}
	return nil
}

// runPwd is virsh's pwd: the working directory as the kernel gives it (getcwd, not $PWD).
func runPwd(_ context.Context, a *app, _ *vsh.Parsed) error {
	dir, err := syscall.Getwd()
	if err != nil {
		dir = "/" // g_get_current_dir's answer when getcwd fails
	}
	a.printf("%s\n", dir)
	return nil
}

// homeDir is glib's g_get_home_dir: $HOME, else the user's home in the password database,
// else "/" (virsh's fallback).
func homeDir(env func(string) (string, bool)) string {
	if h, _ := env("HOME"); h != "" {
		return h
	}
	if u, err := user.Current(); err == nil && u.HomeDir != "" {
		return u.HomeDir
	}
	return "/"
}
