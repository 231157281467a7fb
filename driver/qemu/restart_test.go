//go:build integration

package qemu_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/vmoments/vmoments/conf"
	"github.com/vmoments/vmoments/driver"
	"github.com/vmoments/vmoments/driver/qemu/qemutest"
)

// TestReconnectWaitsForDaemon takes the test's own libvirtd away (killed, as a package upgrade
// stops it) under a driver that has a connection open, and checks the three sides of the
// driver's reconnect: a call made while the daemon is away waits for it and succeeds once it is
// back; a context that ends first ends the wait; and a daemon that stays away ends it after the
// bound (about 10 s), with the connection error, instead of hanging.
func TestReconnectWaitsForDaemon(t *testing.T) {
	d := qemutest.StartDaemon(t)
	g := d.Connect(t).NewGuest(t, "drivers", "wait")
	g.Snapshot("s1", 0)
	g.Snapshot("s2", 0)

	drv, err := driver.Open(ctx, d.URI, driver.ReadOnly)
	if err != nil {
		t.Fatal(err)
	}
	defer drv.Close()
	dom, err := drv.Domain(ctx, g.Name)
	if err != nil {
		t.Fatal(err)
	}
	if ms, err := dom.List(ctx, conf.Snapshot, "", 0); err != nil || len(ms) != 2 {
		t.Fatalf("List before the restart: %v, %v; want 2 snapshots", ms, err)
	}
	// restartAfter kills the daemon now and starts it again after away.
	restartAfter := func(away time.Duration) <-chan error {
		d.Kill()
		done := make(chan error, 1)
		go func() {
			time.Sleep(away)
			start := time.Now()
			err := d.Restart(t)
			t.Logf("the daemon was away %v and took %v to answer again", away, time.Since(start).Round(time.Millisecond))
			done <- err
		}()
		return done
	}

	t.Run("back within the wait", func(t *testing.T) {
		const away = 3 * time.Second
		back := restartAfter(away)
		start := time.Now()
		doms, err := drv.Domains(ctx)
		waited := time.Since(start)
		if rerr := <-back; rerr != nil {
			t.Fatalf("restart: %v", rerr)
		}
		if err != nil {
			t.Fatalf("Domains while the daemon was away for %v: %v", away, err)
		}
		if len(doms) != 1 || doms[0].Name != g.Name {
			t.Errorf("Domains after the restart: %v; want [%s]", doms, g.Name)
		}
		if waited < away/2 {
			t.Errorf("Domains returned after %v, before the daemon was back (%v)", waited, away)
		}
		t.Logf("Domains waited %v for a daemon away %v", waited.Round(time.Millisecond), away)

		// A refresh of the loaded list across a second restart.
		back = restartAfter(2 * time.Second)
		ms, err := dom.List(ctx, conf.Snapshot, "", 0)
		if rerr := <-back; rerr != nil {
			t.Fatalf("restart: %v", rerr)
		}
		if err != nil || len(ms) != 2 {
			t.Fatalf("List across a restart: %v, %v; want 2 snapshots", ms, err)
		}
	})

	t.Run("context ends the wait", func(t *testing.T) {
		back := restartAfter(4 * time.Second)
		cctx, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
		start := time.Now()
		_, err := drv.Domains(cctx)
		took := time.Since(start)
		cancel()
		if rerr := <-back; rerr != nil {
			t.Fatalf("restart: %v", rerr)
		}
		if err == nil {
			t.Fatal("Domains succeeded while the daemon was away")
		}
		if !errors.Is(err, driver.ErrConnection) {
			t.Errorf("Domains while away: %v; want an error matching ErrConnection", err)
		}
		if took > 3*time.Second {
			t.Errorf("Domains with a 500 ms context returned after %v", took)
		}
		t.Logf("a 500 ms context ended the wait after %v: %v", took.Round(time.Millisecond), err)
	})

	t.Run("bounded", func(t *testing.T) {
		away := 15 * time.Second
		back := restartAfter(away)
		start := time.Now()
		_, err := dom.List(ctx, conf.Snapshot, "", 0)
		took := time.Since(start)
		if rerr := <-back; rerr != nil {
			t.Fatalf("restart: %v", rerr)
		}
		if err == nil {
			t.Fatalf("List succeeded after %v while the daemon was away for %v", took, away)
		}
		if !errors.Is(err, driver.ErrConnection) {
			t.Errorf("List while away: %v; want an error matching ErrConnection", err)
		}
		if took < 5*time.Second || took >= away {
			t.Errorf("List gave up after %v; want it to wait about 10 s, less than the %v the daemon was away", took, away)
		}
		t.Logf("List gave up after %v: %v", took.Round(time.Millisecond), err)
		// And works again now that the daemon is back.
		if ms, err := dom.List(ctx, conf.Snapshot, "", 0); err != nil || len(ms) != 2 {
			t.Fatalf("List after the restart: %v, %v; want 2 snapshots", ms, err)
		}
	})
}
