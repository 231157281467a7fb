// Package qemutest makes throw-away QEMU guests on a live libvirtd for tests, and answers the
// libvirt side of a differential test: the snapshots and checkpoints libvirt itself makes, lists
// and reports, asked through libvirt's own bindings and never through vmoments. It is to
// driver/qemu what net/http/httptest is to net/http: the tests of vmoments (and of programs
// built on it) use it so that they need not import libvirt's bindings themselves.
//
// # What it gives
//
//   - [Connect] opens a libvirt connection for a test. Without a libvirtd the test fails, with
//     a hint to start one (scripts/libvirtd-up); it never skips.
//   - [Conn.NewGuest] defines a guest: <domain type='qemu'> (TCG, no /dev/kvm needed), 64 MiB,
//     no OS, two qcow2 disks vda and vdb in a directory of its own, named
//     vmoments-test-GROUP-PID-TAG-N. When the test ends, also after a failure, the guest is
//     destroyed and undefined with all its snapshot and checkpoint metadata, and the directory
//     goes.
//   - [Guest] starts, pauses and stops the guest, makes snapshots and checkpoints through
//     libvirt, deletes and reverts them, redefines generated trees in bulk over several
//     connections ([Guest.Redefine]), and reports what libvirt says: each moment's parent and the
//     current snapshot ([Guest.SnapshotTree], [Guest.WantSnapshots]), a moment's XML.
//   - [Sweep] removes the guests that an earlier run of a test package left behind when it
//     died before its clean-up: only vmoments-test-GROUP-PID-* domains whose process is gone.
//   - [StartDaemon] starts a private libvirtd in a mount namespace of its own, listening on
//     127.0.0.1 (qemu+tcp://) and on a unix socket of its own, for remote URIs and for what must
//     not happen to the shared system daemon: [Daemon.Restart], [Daemon.Kill], libvirt's own
//     crashes.
//
// Flags are the driver package's types ([driver.SnapshotCreateFlags], [driver.DeleteFlags],
// [driver.RevertFlags]), which carry libvirt's numbers; XML goes in and out as strings;
// libvirt's errors come back as libvirt returned them, and [AsLibvirtError] reads their code and
// message.
//
// # Safety
//
// The tests share the machine's libvirtd (qemu:///system) with everything else on it, so the
// package touches only the domains it defined, and the sweep only domains of its naming scheme
// whose process no longer runs. libvirt 9.0's libvirtd crashes on some snapshot deletes with
// children (docs/libvirt-bugs.md, B1): a snapshot delete with [driver.DeleteChildren] or
// [driver.DeleteChildrenOnly] is refused on every connection but a private daemon's
// ([Daemon.Connect]).
//
// # Worked example
//
// A test of vmoments' current snapshot against libvirt's, on real snapshots of a shut-off guest:
//
//	func TestMain(m *testing.M) {
//		// The guests of an earlier run that died before its clean-up.
//		removed, err := qemutest.Sweep(qemutest.SystemURI, "mine")
//		for _, name := range removed {
//			fmt.Fprintln(os.Stderr, "removed", name, "left by an earlier run")
//		}
//		if err != nil {
//			fmt.Fprintln(os.Stderr, "sweep:", err)
//		}
//		os.Exit(m.Run())
//	}
//
//	func TestCurrent(t *testing.T) {
//		c := qemutest.Connect(t, qemutest.SystemURI)
//		g := c.NewGuest(t, "mine", "current") // vmoments-test-mine-PID-current-1
//		g.Snapshot("s1", 0)
//		g.Snapshot("s2", 0)
//		g.Revert("s1", 0)
//		// libvirt did what was asked: s2 under s1, s1 current.
//		g.WantSnapshots(map[string]string{"s1": "", "s2": "s1"}, "s1")
//
//		ctx := context.Background()
//		drv, err := driver.Open(ctx, g.URI, driver.ReadOnly) // import _ ".../driver/qemu"
//		if err != nil {
//			t.Fatal(err)
//		}
//		defer drv.Close()
//		dom, err := drv.Domain(ctx, g.Name)
//		if err != nil {
//			t.Fatal(err)
//		}
//		cur, _, err := dom.Current(ctx, conf.Snapshot)
//		if err != nil || cur == nil || cur.Name() != g.SnapshotTree().Current {
//			t.Fatalf("vmoments' current snapshot %v (err %v), libvirt's %q", cur, err, g.SnapshotTree().Current)
//		}
//	}
//
// The package's own integration test (build tag integration) runs these steps and the private
// daemon's restart and kill.
package qemutest
