package transfer

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/vmoments/vmoments/conf"
	"github.com/vmoments/vmoments/driver"
	_ "github.com/vmoments/vmoments/driver/test"
	"github.com/vmoments/vmoments/momentlist"
)

var ctx = context.Background()

// nodeDomain is a running test-driver domain with two disks.
func nodeDomain(name, uuid string) string {
	return fmt.Sprintf(`<domain type='test'>
  <name>%s</name><uuid>%s</uuid>
  <memory>1048576</memory><vcpu>1</vcpu><os><type arch='x86_64'>hvm</type></os>
  <devices>
    <disk type='file' device='disk'><source file='/guest/%s-a.img'/><target dev='vda' bus='virtio'/></disk>
    <disk type='file' device='disk'><source file='/guest/%s-b.img'/><target dev='vdb' bus='virtio'/></disk>
  </devices>
</domain>
`, name, uuid, name, name)
}

const (
	snapUUID = "11111111-2222-3333-4444-000000000001"
	chkUUID  = "11111111-2222-3333-4444-000000000002"
)

// nodeURI writes a node file with the domains "snaps" (for snapshots) and "chks" (for
// checkpoints: the test driver refuses both kinds on one domain) and returns its test:/// URI.
func nodeURI(t testing.TB) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "node.xml")
	data := "<node>\n" + nodeDomain("snaps", snapUUID) + nodeDomain("chks", chkUUID) + "</node>\n"
	if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
	return "test://" + p
}

func openDomain(t testing.TB, uri, name string) (driver.Driver, driver.Domain) {
	t.Helper()
	drv, err := driver.Open(ctx, uri, driver.ReadWrite)
	if err != nil {
		t.Fatalf("open %s: %v", uri, err)
	}
	t.Cleanup(func() { drv.Close() })
	dom, err := drv.Domain(ctx, name)
	if err != nil {
		t.Fatal(err)
	}
	return drv, dom
}

// oddNames are snapshot names that must stay inside an export and come back unchanged.
var oddNames = []string{
	"with space", "ünïcödé-快照", ".hidden", "..", "../escape", "a/b/../../c", "/abs",
	strings.Repeat("long-", 60), strings.Repeat("é", 140), "UPPER", "upper", "%41", "tab\there", "x.xml",
}

// buildSnapshots makes a tree of n snapshots on dom (the test driver), with branches (a revert
// every 7 creates) and the odd names, and leaves a snapshot that has children current.
func buildSnapshots(t testing.TB, dom driver.Domain, n int) {
	t.Helper()
	names := make([]string, 0, n+len(oddNames))
	for i := 0; i < n; i++ {
		names = append(names, fmt.Sprintf("s%d", i))
	}
	names = append(names, oddNames...)
	for i, name := range names {
		if _, err := dom.CreateSnapshot(ctx, "<domainsnapshot><name>"+xmlEscape(name)+"</name></domainsnapshot>", 0); err != nil {
			t.Fatalf("create %q: %v", name, err)
		}
		if i%7 == 6 {
			if err := dom.Revert(ctx, names[i/2], 0); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := dom.Revert(ctx, names[len(names)/3], 0); err != nil {
		t.Fatal(err)
	}
	cur, _, _ := dom.Current(ctx, conf.Snapshot)
	if cur == nil || cur.NumChildren() == 0 {
		t.Fatalf("current snapshot %v should have children", cur)
	}
}

func xmlEscape(s string) string {
	r := strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", "\t", "&#9;")
	return r.Replace(s)
}

// buildCheckpoints makes a chain c0..c(n-1) with partial disks on the running test domain, then
// a branch redefined below c1 (cb1, cb2), and returns the checkpoint current afterwards.
func buildCheckpoints(t testing.TB, dom driver.Domain, n int) {
	t.Helper()
	for i := 0; i < n; i++ {
		disks := "<disks><disk name='vda' checkpoint='bitmap'/><disk name='vdb' checkpoint='bitmap'/></disks>"
		if i%2 == 1 {
			disks = "<disks><disk name='vda' checkpoint='bitmap'/><disk name='vdb' checkpoint='no'/></disks>"
		}
		if _, err := dom.CreateCheckpoint(ctx, fmt.Sprintf("<domaincheckpoint><name>c%d</name>%s</domaincheckpoint>", i, disks), 0); err != nil {
			t.Fatal(err)
		}
	}
	parent := "c1"
	for _, name := range []string{"cb1", "cb2"} {
		def, err := dom.Def(ctx, conf.Checkpoint, "c2")
		if err != nil {
			t.Fatal(err)
		}
		full, err := conf.ParseCheckpoint(def.Raw(), conf.ParseRedefine)
		if err != nil {
			t.Fatal(err)
		}
		full.Name, full.Parent = name, parent
		for i := range full.Disks {
			full.Disks[i].Bitmap = name
		}
		x, err := full.Format()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := dom.CreateCheckpoint(ctx, string(x), driver.CheckpointCreateRedefine); err != nil {
			t.Fatal(err)
		}
		parent = name
	}
}

// state is everything a round trip must keep: per moment its parent and XML, the current
// moment (and its rule), the per-disk current, the tree as a fresh load sees it.
type state struct {
	Parents    map[string]string
	XML        map[string]string
	Current    string
	PerDisk    map[string]string
	Roots      []string
	FreshLeafs []string
}

func capture(t testing.TB, drv driver.Driver, dom driver.Domain, kind conf.Kind) state {
	t.Helper()
	st := state{Parents: map[string]string{}, XML: map[string]string{}, PerDisk: map[string]string{}}
	l, err := dom.Moments(ctx, kind)
	if err != nil {
		t.Fatal(err)
	}
	cur, _, err := dom.Current(ctx, kind)
	if err != nil {
		t.Fatal(err)
	}
	if cur != nil {
		st.Current = cur.Name()
		if l.Find(cur.Name()) != nil {
			l.SetCurrent(l.Find(cur.Name()))
		}
	}
	for _, m := range l.All() {
		st.Parents[m.Name()] = m.Def().Parent
		x, err := dom.XML(ctx, kind, m.Name(), driver.XMLSecure)
		if err != nil {
			t.Fatal(err)
		}
		st.XML[m.Name()] = x
	}
	for disk, m := range l.CurrentFor() {
		st.PerDisk[disk] = m.Name()
	}
	fresh, err := drv.Domain(ctx, dom.Name())
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []struct {
		f   momentlist.Filter
		out *[]string
	}{{momentlist.Roots, &st.Roots}, {momentlist.Leaves, &st.FreshLeafs}} {
		ms, err := fresh.List(ctx, kind, "", f.f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range ms {
			*f.out = append(*f.out, m.Name())
		}
		sort.Strings(*f.out)
	}
	return st
}

func sameState(t testing.TB, what string, want, got state) {
	t.Helper()
	if reflect.DeepEqual(want, got) {
		return
	}
	if want.Current != got.Current {
		t.Errorf("%s: current %q, want %q", what, got.Current, want.Current)
	}
	for n, x := range want.XML {
		if got.XML[n] != x {
			t.Errorf("%s: %q differs:\n got %.300q\nwant %.300q", what, n, got.XML[n], x)
			break
		}
	}
	if len(want.XML) != len(got.XML) {
		t.Errorf("%s: %d moments, want %d", what, len(got.XML), len(want.XML))
	}
	if !reflect.DeepEqual(want.Parents, got.Parents) {
		t.Errorf("%s: parents differ", what)
	}
	if !reflect.DeepEqual(want.PerDisk, got.PerDisk) {
		t.Errorf("%s: per-disk current %v, want %v", what, got.PerDisk, want.PerDisk)
	}
	if !reflect.DeepEqual(want.Roots, got.Roots) || !reflect.DeepEqual(want.FreshLeafs, got.FreshLeafs) {
		t.Errorf("%s: roots/leaves of a fresh load differ", what)
	}
}

// removeAll deletes every moment of kind, leaves first (metadata only where the driver allows).
func removeAll(t testing.TB, dom driver.Domain, kind conf.Kind) {
	t.Helper()
	l, err := dom.Moments(ctx, kind)
	if err != nil {
		t.Fatal(err)
	}
	all, _ := l.Select(nil, momentlist.Topological)
	for i := len(all) - 1; i >= 0; i-- {
		if err := deleteMetadata(ctx, dom, kind, all[i].Name()); err != nil {
			t.Fatal(err)
		}
	}
}
