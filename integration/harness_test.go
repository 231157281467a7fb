//go:build integration

package integration

import (
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/vmoments/vmoments/driver/qemu/qemutest"
	"github.com/vmoments/vmoments/momentlist"
)

// The guests, the libvirt side of every comparison and the private libvirtd come from
// driver/qemu/qemutest; this file holds what the tests of this package share beyond it.

// systemURI is the daemon every test but the remote ones talks to.
const systemURI = qemutest.SystemURI

// group names this package's guests: vmoments-test-integ-PID-TAG-N. The process id lets a
// later run tell a leftover of a crashed run (its process is gone) from a guest another test
// process is still using; other packages' tests use other groups, and the sweep never touches
// their guests.
const group = "integ"

func TestMain(m *testing.M) {
	removed, err := qemutest.Sweep(systemURI, group)
	for _, name := range removed {
		fmt.Fprintf(os.Stderr, "integration: removed %s, left behind by an earlier run\n", name)
	}
	if err != nil {
		// The tests themselves report an unreachable daemon with the hint; a sweep that
		// failed on a reachable one is worth a line but no reason to stop.
		fmt.Fprintf(os.Stderr, "integration: sweeping leftover vmoments-test-%s-* domains: %v\n", group, err)
	}
	os.Exit(m.Run())
}

// listTree reads the tree and current of a loaded vmoments list, to compare with libvirt's.
func listTree(l *momentlist.List) qemutest.Tree {
	r := qemutest.Tree{Parent: make(map[string]string, l.Len())}
	for _, m := range l.All() {
		r.Parent[m.Name()] = ""
		if p := m.Parent(); p != nil {
			r.Parent[m.Name()] = p.Name()
		}
	}
	if c := l.Current(); c != nil {
		r.Current = c.Name()
	}
	return r
}

// names returns the moments' names in order.
func names(ms []*momentlist.Moment) []string {
	out := make([]string, len(ms))
	for i, m := range ms {
		out[i] = m.Name()
	}
	return out
}

// timed runs fn and logs how long it took; the README's figures come from these lines.
func timed(t testing.TB, what string, fn func()) time.Duration {
	t.Helper()
	start := time.Now()
	fn()
	d := time.Since(start)
	t.Logf("timing: %s: %v", what, d.Round(time.Millisecond))
	return d
}
