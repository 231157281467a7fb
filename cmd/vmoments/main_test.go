package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// asMain is the environment variable that makes the test binary run as vmoments itself
// (TestMain), for the tests that need a process of its own: a working directory of its own
// (cd, pwd), a terminal (pty_test.go), signals.
const asMain = "VMOMENTS_TEST_AS_MAIN"

func TestMain(m *testing.M) {
	if os.Getenv(asMain) == "1" {
		main()
		return
	}
	os.Exit(m.Run())
}

// vmomentsCommand is vmoments as a process of its own (this test binary, as main) with env's
// variables only, the test's PATH and HOME unless env sets them.
func vmomentsCommand(t *testing.T, env map[string]string, args ...string) *exec.Cmd {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, args...)
	cmd.Env = processEnv(env)
	cmd.Env = append(cmd.Env, asMain+"=1")
	return cmd
}

// processEnv is env with the test's PATH and HOME unless env sets them, and nothing else of
// the test's environment.
func processEnv(env map[string]string) []string {
	out := []string{}
	for _, k := range []string{"PATH", "HOME"} {
		if _, ok := env[k]; !ok {
			out = append(out, k+"="+os.Getenv(k))
		}
	}
	for k, v := range env {
		out = append(out, k+"="+v)
	}
	return out
}

// runProcess runs cmd with stdin, in dir ("" for the test's), and returns its result (libvirt's
// own log lines dropped, as runVirsh drops them).
func runProcess(t *testing.T, cmd *exec.Cmd, stdin, dir string) result {
	t.Helper()
	var out, errb bytes.Buffer
	cmd.Stdin, cmd.Stdout, cmd.Stderr, cmd.Dir = strings.NewReader(stdin), &out, &errb, dir
	err := cmd.Run()
	rc := 0
	if ee, ok := err.(*exec.ExitError); ok {
		rc = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("%q: %v", cmd.Args, err)
	}
	return result{out.String(), libvirtLogLine.ReplaceAllString(errb.String(), ""), rc}
}

// runVirshIn is virsh with args, stdin and working directory dir, env's variables only.
func runVirshIn(t *testing.T, env map[string]string, args []string, stdin, dir string) result {
	t.Helper()
	cmd := exec.Command("virsh", args...)
	cmd.Env = processEnv(env)
	return runProcess(t, cmd, stdin, dir)
}

// runVmomentsIn is vmoments as a process with args, stdin and working directory dir.
func runVmomentsIn(t *testing.T, env map[string]string, args []string, stdin, dir string) result {
	t.Helper()
	return runProcess(t, vmomentsCommand(t, env, args...), stdin, dir)
}

// runVmomentsStdin is runVmoments with standard input: in-process, where the working directory
// does not matter.
func runVmomentsStdin(t *testing.T, env map[string]string, args []string, stdin string) result {
	t.Helper()
	var out, errb bytes.Buffer
	a := newApp(&out, &errb, func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	loc, err := time.LoadLocation(env["TZ"])
	if err != nil {
		t.Fatalf("time zone %s: %v", env["TZ"], err)
	}
	a.loc = loc
	a.stdin = strings.NewReader(stdin)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	a.ctx = ctx
	rc := a.main(args)
	return result{out.String(), libvirtLogLine.ReplaceAllString(errb.String(), ""), rc}
}
