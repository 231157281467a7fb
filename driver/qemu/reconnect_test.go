//go:build integration

package qemu_test

import (
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"

	"libvirt.org/go/libvirt"

	"github.com/vmoments/vmoments/conf"
	"github.com/vmoments/vmoments/driver"
)

// ourReadOnlyClients returns the ids of libvirtd's read-only clients that belong to this process
// (virt-admin client-info: readonly yes, unix_process_id our pid). Only those are disconnected:
// other processes' connections are never touched.
func ourReadOnlyClients(t testing.TB) []string {
	t.Helper()
	out, err := exec.Command("virt-admin", "srv-clients-list", "libvirtd").CombinedOutput()
	if err != nil {
		t.Fatalf("virt-admin srv-clients-list: %v: %s", err, out)
	}
	var ids []string
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		if _, err := strconv.Atoi(f[0]); err != nil {
			continue
		}
		info, err := exec.Command("virt-admin", "client-info", "libvirtd", f[0]).CombinedOutput()
		if err != nil {
			continue // gone meanwhile
		}
		fields := map[string]string{}
		for _, l := range strings.Split(string(info), "\n") {
			if k, v, ok := strings.Cut(l, ":"); ok {
				fields[strings.TrimSpace(k)] = strings.TrimSpace(v)
			}
		}
		if fields["readonly"] == "yes" && fields["unix_process_id"] == strconv.Itoa(os.Getpid()) {
			ids = append(ids, f[0])
		}
	}
	return ids
}

// TestReconnectMidLoad cuts the driver's connection from the daemon's side (virt-admin
// client-disconnect, what a libvirtd restart does to a client) while the XML of the moments is
// being fetched: the load is retried once on a new connection and succeeds.
func TestReconnectMidLoad(t *testing.T) {
	_, raw, name := throwaway(t, "reconnect")
	domXML, err := raw.GetXMLDesc(0)
	if err != nil {
		t.Fatal(err)
	}
	const total = 300
	for i := range total {
		parent := ""
		if i > 0 {
			parent = fmt.Sprintf("s%d", i-1)
		}
		h, err := raw.CreateSnapshotXML(redefineSnapshotXML(fmt.Sprintf("s%d", i), parent, "shutoff", 1700000000, domXML),
			libvirt.DOMAIN_SNAPSHOT_CREATE_REDEFINE)
		if err != nil {
			t.Fatal(err)
		}
		h.Free()
	}
	_, dom := openDomain(t, name, driver.ReadOnly)
	var once sync.Once
	var cut []string
	var mu sync.Mutex
	starts := 0
	pctx := driver.WithProgress(ctx, func(done, _ int) {
		if done == 0 {
			mu.Lock()
			starts++
			mu.Unlock()
		}
		if done >= 50 {
			once.Do(func() {
				cut = ourReadOnlyClients(t)
				for _, id := range cut {
					if out, err := exec.Command("virt-admin", "client-disconnect", "libvirtd", id).CombinedOutput(); err != nil {
						t.Errorf("virt-admin client-disconnect %s: %v: %s", id, err, out)
					}
				}
			})
		}
	})
	ms, err := dom.List(pctx, conf.Snapshot, "", 0)
	if err != nil {
		t.Fatalf("List after the connection was cut mid-load: %v", err)
	}
	if len(cut) == 0 {
		t.Fatal("found no read-only connection of this process to cut")
	}
	if len(ms) != total {
		t.Errorf("loaded %d snapshots, want %d", len(ms), total)
	}
	if starts != 2 {
		t.Errorf("the fetch started %d times, want 2 (the cut load and its one retry)", starts)
	}
	// The new connection serves later calls too.
	if _, err := dom.XML(ctx, conf.Snapshot, "s7", 0); err != nil {
		t.Errorf("XML on the new connection: %v", err)
	}
	// Cut again between calls: the next call notices the dead connection and reconnects.
	for _, id := range ourReadOnlyClients(t) {
		exec.Command("virt-admin", "client-disconnect", "libvirtd", id).Run()
	}
	if got, err := dom.List(ctx, conf.Snapshot, "s290", 1); err != nil || len(got) != 9 {
		t.Errorf("List after a cut between calls: %d moments, %v; want 9", len(got), err)
	}
}
