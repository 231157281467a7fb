package test_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/vmoments/vmoments/conf"
	"github.com/vmoments/vmoments/driver"
	"github.com/vmoments/vmoments/momentlist"
)

// BenchmarkListRefresh is a List on a loaded domain of 1,000 snapshots: one list call to
// libvirt (nothing new to fetch), the current snapshot, and the filter walk.
func BenchmarkListRefresh(b *testing.B) {
	drv := open(b, "test:///default", driver.ReadWrite)
	dom := domain(b, drv, "test")
	if _, err := dom.CreateSnapshot(ctx, "<domainsnapshot><name>s0</name></domainsnapshot>", 0); err != nil {
		b.Fatal(err)
	}
	tmpl := snapXML(b, dom, "NAME", "PARENT", "running")
	for i := 1; i < 1000; i++ {
		x := replaceAll(tmpl, "NAME", fmt.Sprintf("s%d", i), "PARENT", fmt.Sprintf("s%d", (i-1)/2))
		if _, err := dom.CreateSnapshot(ctx, x, driver.SnapshotCreateRedefine); err != nil {
			b.Fatal(err)
		}
	}
	if err := dom.Reload(ctx, conf.Snapshot); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		ms, err := dom.List(ctx, conf.Snapshot, "", momentlist.Leaves|momentlist.NoCurrent)
		if err != nil || len(ms) != 500 {
			b.Fatalf("%d leaves, %v", len(ms), err)
		}
	}
}

// snapXML is a snapshot for redefinition. libvirt's redefine wants the domain definition
// embedded: it is taken from a snapshot the domain already has.
func snapXML(t testing.TB, dom driver.Domain, name, parent, state string) string {
	t.Helper()
	all, err := dom.List(ctx, conf.Snapshot, "", 0)
	if err != nil || len(all) == 0 {
		t.Fatalf("redefining %s needs an existing snapshot to copy the domain from (%v)", name, err)
	}
	x, err := dom.XML(ctx, conf.Snapshot, all[0].Name(), driver.XMLSecure)
	if err != nil {
		t.Fatal(err)
	}
	i, j := strings.Index(x, "<domain "), strings.LastIndex(x, "</domain>")
	if i < 0 || j < 0 {
		t.Fatalf("no <domain> in %s", x)
	}
	p := ""
	if parent != "" {
		p = "<parent><name>" + parent + "</name></parent>"
	}
	return fmt.Sprintf("<domainsnapshot><name>%s</name><state>%s</state>%s<creationTime>1700000000</creationTime>%s</domainsnapshot>",
		name, state, p, x[i:j+len("</domain>")])
}

func replaceAll(s string, oldnew ...string) string {
	for i := 0; i+1 < len(oldnew); i += 2 {
		s = strings.ReplaceAll(s, oldnew[i], oldnew[i+1])
	}
	return s
}
