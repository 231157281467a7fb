//go:build integration

package systemd_test

import (
	"context"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"
)

// syncBuffer collects a process's output for the failure message.
type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (w *syncBuffer) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}
func (w *syncBuffer) String() string { w.mu.Lock(); defer w.mu.Unlock(); return w.b.String() }

// TestExecStart runs the unit's ExecStart as written (on another port) against the machine's
// libvirtd and scrapes it: the command line the unit gives works.
func TestExecStart(t *testing.T) {
	b, err := os.ReadFile(unit)
	if err != nil {
		t.Fatal(err)
	}
	var argv []string
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "ExecStart="); ok {
			argv = strings.Fields(rest)
		}
	}
	if len(argv) < 2 || argv[0] != "/usr/local/bin/vmoments" || argv[1] != "exporter" {
		t.Fatalf("ExecStart: %q", argv)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	for i, a := range argv {
		if a == "127.0.0.1:9477" {
			argv[i] = addr
		}
	}
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, buildVmoments(t, dir), argv[1:]...)
	logs := &syncBuffer{}
	cmd.Stderr = logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cancel(); cmd.Wait() }()
	// It reads every domain of the machine's libvirtd, other tests' too (some with thousands of
	// moments): the first read may take longer than a scrape waits, so scrape until it is done.
	const up = `vmoments_up{uri="qemu:///system"} 1`
	var body string
	for start := time.Now(); time.Since(start) < 3*time.Minute && !strings.Contains(body, up); time.Sleep(250 * time.Millisecond) {
		resp, err := http.Get("http://" + addr + "/metrics")
		if err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			body = string(b)
		}
	}
	if !strings.Contains(body, up) {
		t.Errorf("the unit's exporter: no vmoments_up 1 for qemu:///system:\n%.500s\nlog:\n%s", body, logs.String())
	}
}
