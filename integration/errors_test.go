//go:build integration

package integration

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/vmoments/vmoments/conf"
	"github.com/vmoments/vmoments/driver"
	"github.com/vmoments/vmoments/driver/qemu/qemutest"
)

// TestErrors checks what a caller gets when libvirt or QEMU refuses: libvirt's own message,
// verbatim, after the URI, the domain and the moment; the libvirt error reachable with
// errors.As; and a read-only driver refusing changes before it reaches libvirt.
func TestErrors(t *testing.T) {
	conn := qemutest.Connect(t, systemURI)
	g := conn.NewGuest(t, group, "errors")
	g.Snapshot("base", 0)

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	rw, err := driver.Open(ctx, systemURI, driver.ReadWrite)
	if err != nil {
		t.Fatalf("open %s: %v", systemURI, err)
	}
	defer rw.Close()
	dom, err := rw.Domain(ctx, g.Name)
	if err != nil {
		t.Fatal(err)
	}
	prefix := systemURI + `: domain "` + g.Name + `": `

	for _, tc := range []struct {
		name string
		// direct makes libvirt refuse on its own; via makes vmoments pass the same request on.
		direct func() error
		via    func() error
	}{
		{
			name: "partial internal snapshot",
			direct: func() error {
				return g.TrySnapshot(qemutest.SnapshotRequest("p1", only("vda", "internal", "no")...), 0)
			},
			via: func() error {
				_, err := dom.CreateSnapshot(ctx, qemutest.SnapshotRequest("p1", only("vda", "internal", "no")...), 0)
				return err
			},
		},
		{
			name: "checkpoint of a shut-off guest",
			direct: func() error {
				return g.TryCheckpoint(qemutest.CheckpointRequest("c1", both("bitmap")...), 0)
			},
			via: func() error {
				_, err := dom.CreateCheckpoint(ctx, qemutest.CheckpointRequest("c1", both("bitmap")...), 0)
				return err
			},
		},
		{
			// Safe on the shared daemon: libvirt refuses before it changes anything, and the
			// daemon survives every call after it (TestLibvirtBugs, "existing name").
			name: "snapshot that exists",
			direct: func() error {
				return g.TrySnapshot(qemutest.SnapshotRequest("base"), 0)
			},
			via: func() error {
				_, err := dom.CreateSnapshot(ctx, qemutest.SnapshotRequest("base"), 0)
				return err
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			want := tc.direct()
			lerr, ok := qemutest.AsLibvirtError(want)
			if !ok {
				t.Fatalf("libvirt accepted the request (err %v); the case is meant to be refused", want)
			}
			got := tc.via()
			if got == nil {
				t.Fatalf("vmoments passed on a request libvirt refuses (%s)", lerr.Message)
			}
			if !strings.HasPrefix(got.Error(), prefix) || !strings.HasSuffix(got.Error(), lerr.Message) && !strings.Contains(got.Error(), ": "+lerr.Message) {
				t.Fatalf("error %q: want %q, then libvirt's message %q", got, prefix, lerr.Message)
			}
			t.Logf("vmoments: %v", got)
			if through, ok := qemutest.AsLibvirtError(got); !ok || through.Code != lerr.Code {
				t.Fatalf("error %q: the libvirt error (code %d) is not reachable with errors.As", got, lerr.Code)
			}
			var derr *driver.Error
			if !errors.As(got, &derr) || derr.Domain != g.Name || derr.URI != systemURI {
				t.Fatalf("error %q: not a *driver.Error naming %s and %s", got, systemURI, g.Name)
			}
		})
	}

	t.Run("read-only", func(t *testing.T) {
		ro, err := driver.Open(ctx, systemURI, driver.ReadOnly)
		if err != nil {
			t.Fatal(err)
		}
		defer ro.Close()
		rdom, err := ro.Domain(ctx, g.Name)
		if err != nil {
			t.Fatal(err)
		}
		changes := map[string]func() error{
			"create snapshot": func() error { _, err := rdom.CreateSnapshot(ctx, qemutest.SnapshotRequest("ro"), 0); return err },
			"delete":          func() error { return rdom.Delete(ctx, conf.Snapshot, "base", driver.DeleteMetadataOnly) },
			"revert":          func() error { return rdom.Revert(ctx, "base", 0) },
			"set current":     func() error { return rdom.SetCurrent(ctx, "base") },
		}
		for what, change := range changes {
			if err := change(); !errors.Is(err, driver.ErrReadOnly) {
				t.Errorf("%s through a read-only driver: err %v, want ErrReadOnly", what, err)
			}
		}
		g.WantSnapshots(map[string]string{"base": ""}, "base")
	})

	t.Run("unknown moment", func(t *testing.T) {
		err := dom.Revert(ctx, "nosuch", 0)
		if err == nil || !strings.Contains(err.Error(), "no domain snapshot with matching name 'nosuch'") {
			t.Fatalf("revert to a snapshot that does not exist: err %v, want libvirt's \"no domain snapshot with matching name 'nosuch'\"", err)
		}
	})
}
