//go:build integration

package integration

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/vmoments/vmoments/conf"
	"github.com/vmoments/vmoments/driver"
	_ "github.com/vmoments/vmoments/driver/qemu"
	"github.com/vmoments/vmoments/driver/qemu/qemutest"
	"github.com/vmoments/vmoments/transfer"
)

// transferViews is what a round trip must keep, as libvirt and virsh show it: virsh's
// snapshot-list/checkpoint-list --parent and --tree, virsh's current snapshot, every moment's
// dumpxml (SECURE), and vmoments' per-disk current (from a handle that followed the changes).
func transferViews(t *testing.T, uri string, g *qemutest.Guest, dom driver.Domain, kind conf.Kind) string {
	t.Helper()
	var b strings.Builder
	list := "snapshot-list"
	if kind == conf.Checkpoint {
		list = "checkpoint-list"
	}
	cmds := [][]string{{list, g.Name, "--parent"}, {list, g.Name, "--tree"}}
	if kind == conf.Snapshot {
		cmds = append(cmds, []string{"snapshot-current", g.Name, "--name"})
	}
	for _, args := range cmds {
		out, err := exec.Command("virsh", append([]string{"-c", uri}, args...)...).CombinedOutput()
		if err != nil && !strings.Contains(string(out), "has no current snapshot") {
			t.Fatalf("virsh %v: %v: %s", args, err, out)
		}
		fmt.Fprintf(&b, "== virsh %s\n%s", strings.Join(args, " "), out)
	}
	ctx := context.Background()
	l, err := dom.Moments(ctx, kind)
	if err != nil {
		t.Fatal(err)
	}
	cur, _, err := dom.Current(ctx, kind)
	if err != nil {
		t.Fatal(err)
	}
	if cur != nil {
		l.SetCurrent(l.Find(cur.Name()))
	}
	fmt.Fprintf(&b, "== current %s: %v\n", kind, cur)
	var disks []string
	per := l.CurrentFor()
	for d := range per {
		disks = append(disks, d)
	}
	sort.Strings(disks)
	for _, d := range disks {
		fmt.Fprintf(&b, "== per-disk current %s: %s\n", d, per[d].Name())
	}
	var names []string
	for _, m := range l.All() {
		names = append(names, m.Name())
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(&b, "== dumpxml %s\n%s", n, g.DumpXML(kind, n))
	}
	return b.String()
}

// diffViews reports the first differing line of two views.
func diffViews(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	for i := 0; i < len(w) || i < len(g); i++ {
		if i >= len(w) || i >= len(g) || w[i] != g[i] {
			at := func(s []string) string {
				if i < len(s) {
					return s[i]
				}
				return "<end>"
			}
			return fmt.Sprintf("line %d: got %q, want %q", i+1, at(g), at(w))
		}
	}
	return ""
}

func openRW(t *testing.T, uri, name string) (driver.Driver, driver.Domain) {
	t.Helper()
	drv, err := driver.Open(context.Background(), uri, driver.ReadWrite)
	if err != nil {
		t.Fatalf("open %s: %v", uri, err)
	}
	t.Cleanup(func() { drv.Close() })
	dom, err := drv.Domain(context.Background(), name)
	if err != nil {
		t.Fatal(err)
	}
	return drv, dom
}

// spoiled copies an export into memory with one file changed by edit (and its checksum fixed
// when fixSum), so that the change passes verification and reaches libvirt.
func spoiled(t *testing.T, path, name string, edit func([]byte) []byte, fixSum bool) *transfer.Memory {
	t.Helper()
	src, err := transfer.OpenSource(path)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	data, err := src.ReadFile(transfer.ManifestName)
	if err != nil {
		t.Fatal(err)
	}
	var m transfer.Manifest
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	mem := transfer.NewMemory()
	found := false
	for i, e := range m.Moments {
		x, err := src.ReadFile(e.File)
		if err != nil {
			t.Fatal(err)
		}
		if e.Name == name {
			found = true
			x = edit(x)
			if fixSum {
				sum := sha256.Sum256(x)
				m.Moments[i].SHA256 = hex.EncodeToString(sum[:])
			}
		}
		if x != nil {
			if err := mem.WriteFile(e.File, x); err != nil {
				t.Fatal(err)
			}
		}
	}
	if !found {
		t.Fatalf("%q is not in the export", name)
	}
	data, _ = json.Marshal(&m)
	if err := mem.WriteFile(transfer.ManifestName, data); err != nil {
		t.Fatal(err)
	}
	return mem
}

// TestTransferSnapshots: 3 real snapshots taken by QEMU and 600 redefined ones (3 roots,
// branches, every state and location, odd names, a current with children); export to a tar →
// all metadata deleted → import gives back virsh's --parent and --tree lists, the current and
// per-disk current snapshot and every dumpxml. Then the faults: libvirt refusing a definition in
// the middle of an import (its <domain> has another UUID), an altered file, a missing file:
// each time the destination is exactly as before.
func TestTransferSnapshots(t *testing.T) {
	conn := qemutest.Connect(t, systemURI)
	g := conn.NewGuest(t, group, "xfer-snap")
	g.Snapshot("real1", 0)
	g.Snapshot("real2", 0)
	g.Revert("real1", 0)
	g.Snapshot("real3", 0)
	tr := genTree(true, treeShape{N: 600, Roots: 3, Branch: 0.1, Seed: 505})
	timed(t, "redefine 600 snapshots ("+tr.stats()+")", func() { redefine(g, tr) })

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	_, dom := openRW(t, systemURI, g.Name)
	want := transferViews(t, systemURI, g, dom, conf.Snapshot)
	if !strings.Contains(want, "== current snapshot: "+tr.Current) {
		t.Fatalf("libvirt's current snapshot is not the tree's %q", tr.Current)
	}
	path := filepath.Join(t.TempDir(), "moments.tar")
	var m *transfer.Manifest
	timed(t, "export 603 snapshots to a tar", func() {
		var err error
		if m, err = transfer.Export(ctx, dom, path, transfer.ExportOptions{}); err != nil {
			t.Fatal(err)
		}
	})
	if len(m.Moments) != 603 || m.CurrentSnapshot != tr.Current || !strings.HasPrefix(m.LibvirtVersion, "9.") {
		t.Fatalf("manifest: %d moments, current %q, libvirt %q", len(m.Moments), m.CurrentSnapshot, m.LibvirtVersion)
	}
	timed(t, "delete the metadata of 603 snapshots", func() {
		g.DropMetadata()
	})
	var res *transfer.Result
	timed(t, "import 603 snapshots from the tar", func() {
		var err error
		if res, err = transfer.Import(ctx, dom, path, transfer.ImportOptions{}); err != nil {
			t.Fatal(err)
		}
	})
	if res.Redefined != 603 {
		t.Errorf("redefined %d, want 603", res.Redefined)
	}
	got := transferViews(t, systemURI, g, dom, conf.Snapshot)
	if d := diffViews(want, got); d != "" {
		t.Fatalf("after export, delete, import: %s", d)
	}
	// A fresh handle (a fresh load) sees the same.
	_, fresh := openRW(t, systemURI, g.Name)
	if d := diffViews(want, transferViews(t, systemURI, g, fresh, conf.Snapshot)); d != "" {
		t.Fatalf("fresh load after import: %s", d)
	}

	// The faults start from a destination that has the older part of the tree: the last 200
	// moments of the export (leaves first) are gone, so the import has work to do and the
	// current snapshot is another one.
	for i := len(m.Moments) - 1; i >= len(m.Moments)-200; i-- {
		if err := dom.Delete(ctx, conf.Snapshot, m.Moments[i].Name, driver.DeleteMetadataOnly); err != nil {
			t.Fatal(err)
		}
	}
	before := transferViews(t, systemURI, g, dom, conf.Snapshot)
	victim := m.Moments[len(m.Moments)-100].Name
	for _, tc := range []struct {
		name string
		mem  *transfer.Memory
		want string
	}{
		{"uuid mismatch mid-import", spoiled(t, path, victim, func(b []byte) []byte {
			return []byte(strings.Replace(string(b), "<uuid>"+g.UUID+"</uuid>", "<uuid>00000000-1111-2222-3333-444444444444</uuid>", 1))
		}, true), fmt.Sprintf("definition for snapshot %s must use uuid %s", victim, g.UUID)},
		{"altered file", spoiled(t, path, victim, func(b []byte) []byte {
			return append(b, ' ')
		}, false), "was altered after the export"},
		{"missing file", spoiled(t, path, victim, func([]byte) []byte { return nil }, false), "is missing from the export"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := transfer.ImportFrom(ctx, dom, tc.mem, transfer.ImportOptions{})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("import: %v, want %q", err, tc.want)
			}
			t.Logf("error: %.300s", err)
			var se *transfer.StepError
			if errors.As(err, &se) && se.RollbackErr != nil {
				t.Fatalf("rollback failed: %v", se.RollbackErr)
			}
			if d := diffViews(before, transferViews(t, systemURI, g, dom, conf.Snapshot)); d != "" {
				t.Fatalf("the destination changed: %s", d)
			}
		})
	}
}

// TestTransferCheckpoints: a chain of checkpoints of a running guest, full and partial (one
// disk), a branch redefined below the second one, libvirt's current checkpoint on the chain's
// leaf; export → delete all checkpoint metadata → import: virsh's lists, every dumpxml, the
// per-disk current, and libvirt's own current checkpoint (revealed as the parent libvirt gives
// a new checkpoint) are as before.
func TestTransferCheckpoints(t *testing.T) {
	conn := qemutest.Connect(t, systemURI)
	g := conn.NewGuest(t, group, "xfer-chk")
	g.Start()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	_, dom := openRW(t, systemURI, g.Name)
	chain := []struct {
		name  string
		disks []qemutest.Disk
	}{
		{"c1", both("bitmap")}, {"c2", only("vda", "bitmap", "no")}, {"c3", both("bitmap")},
		{"c4", only("vdb", "bitmap", "no")}, {"c5", only("vda", "bitmap", "no")},
	}
	for _, c := range chain {
		if _, err := dom.CreateCheckpoint(ctx, qemutest.CheckpointRequest(c.name, c.disks...), 0); err != nil {
			t.Fatal(err)
		}
	}
	parent := "c2"
	for _, name := range []string{"b1", "b2"} {
		x, err := dom.XML(ctx, conf.Checkpoint, "c3", 0)
		if err != nil {
			t.Fatal(err)
		}
		d, err := conf.ParseCheckpoint([]byte(x), conf.ParseRedefine)
		if err != nil {
			t.Fatal(err)
		}
		d.Name, d.Parent = name, parent
		out, err := d.Format()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := dom.CreateCheckpoint(ctx, string(out), driver.CheckpointCreateRedefine); err != nil {
			t.Fatal(err)
		}
		parent = name
	}
	want := transferViews(t, systemURI, g, dom, conf.Checkpoint)
	if !strings.Contains(want, "== current checkpoint: c5") {
		t.Fatalf("current checkpoint is not c5:\n%s", want[:min(len(want), 2000)])
	}
	path := filepath.Join(t.TempDir(), "cps")
	m, err := transfer.Export(ctx, dom, path, transfer.ExportOptions{Kinds: []conf.Kind{conf.Checkpoint}})
	if err != nil {
		t.Fatal(err)
	}
	if m.CurrentCheckpoint != "c5" {
		t.Fatalf("manifest current checkpoint %q", m.CurrentCheckpoint)
	}
	if _, err := transfer.RemoveMetadata(ctx, dom, m, nil); err != nil {
		t.Fatal(err)
	}
	if n := len(g.CheckpointTree().Parent); n != 0 {
		t.Fatalf("%d checkpoints left", n)
	}
	// With REDEFINE_VALIDATE libvirt checks every checkpoint's bitmaps in the running QEMU: the
	// redefined branch has none, so the import stops there and is rolled back.
	_, err = transfer.Import(ctx, dom, path, transfer.ImportOptions{Validate: true})
	var se *transfer.StepError
	if !errors.As(err, &se) || se.Step.Name != "b1" || se.RollbackErr != nil ||
		!strings.Contains(err.Error(), "missing or broken bitmap 'b1'") {
		t.Fatalf("import --validate: %v, want a failure at b1", err)
	}
	t.Logf("import --validate: %v", err)
	if n := len(g.CheckpointTree().Parent); n != 0 {
		t.Fatalf("%d checkpoints left after a rolled-back import", n)
	}
	res, err := transfer.Import(ctx, dom, path, transfer.ImportOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if res.CurrentCheckpoint != "c5" || len(res.Notes) != 0 {
		t.Errorf("current checkpoint %q, notes %q", res.CurrentCheckpoint, res.Notes)
	}
	if d := diffViews(want, transferViews(t, systemURI, g, dom, conf.Checkpoint)); d != "" {
		t.Fatalf("after export, delete, import: %s", d)
	}
	if got := probeCheckpoint(ctx, t, dom, "probe1"); got != "c5" {
		t.Errorf("libvirt's current checkpoint after import is %q, want c5", got)
	}

	// Now a current checkpoint with children: deleting probe1, c5, c4, c3 moves libvirt's
	// pointer up to c2, which keeps the branch b1 → b2. Redefinitions alone would leave b2 or
	// c2's last redefined child current; the import steers the pointer back to c2.
	for _, n := range []string{"probe1", "c5", "c4", "c3"} {
		if err := dom.Delete(ctx, conf.Checkpoint, n, 0); err != nil {
			t.Fatal(err)
		}
	}
	want = transferViews(t, systemURI, g, dom, conf.Checkpoint)
	path2 := filepath.Join(t.TempDir(), "cps2.tar")
	if m, err = transfer.Export(ctx, dom, path2, transfer.ExportOptions{Kinds: []conf.Kind{conf.Checkpoint}}); err != nil {
		t.Fatal(err)
	}
	if m.CurrentCheckpoint != "c2" {
		t.Fatalf("current checkpoint %q (%s), want c2", m.CurrentCheckpoint, m.CurrentCheckpointRule)
	}
	if _, err := transfer.RemoveMetadata(ctx, dom, m, nil); err != nil {
		t.Fatal(err)
	}
	if res, err = transfer.Import(ctx, dom, path2, transfer.ImportOptions{}); err != nil {
		t.Fatal(err)
	}
	if res.Plan.Count(transfer.SteerCurrent) != 1 || res.CurrentCheckpoint != "c2" {
		t.Errorf("steering: %d steps, current %q; note %q", res.Plan.Count(transfer.SteerCurrent), res.CurrentCheckpoint, res.Plan.CheckpointNote)
	}
	t.Logf("plan note: %s", res.Plan.CheckpointNote)
	if d := diffViews(want, transferViews(t, systemURI, g, dom, conf.Checkpoint)); d != "" {
		t.Fatalf("after the second round trip: %s", d)
	}
	if got := probeCheckpoint(ctx, t, dom, "probe2"); got != "c2" {
		t.Errorf("libvirt's current checkpoint after the steered import is %q, want c2", got)
	}
}

// probeCheckpoint creates a checkpoint through dom and returns the parent libvirt gave it: the
// only way libvirt reveals its current checkpoint.
func probeCheckpoint(ctx context.Context, t *testing.T, dom driver.Domain, name string) string {
	t.Helper()
	if _, err := dom.CreateCheckpoint(ctx, qemutest.CheckpointRequest(name, both("bitmap")...), 0); err != nil {
		t.Fatal(err)
	}
	x, err := dom.XML(ctx, conf.Checkpoint, name, 0)
	if err != nil {
		t.Fatal(err)
	}
	d, err := conf.ParseCheckpoint([]byte(x), conf.ParseRedefine)
	if err != nil {
		t.Fatal(err)
	}
	return d.Parent
}

// TestTransferCopyRemoveSource: copy --remove-source-metadata from qemu:///system to a second
// libvirtd (the test's own, over qemu+tcp: qemutest.StartDaemon) where the same domain — same
// name, same UUID, same disks — is defined, as it would be on the target host of a migration.
// The destination then shows exactly what the source showed; the source has no metadata left
// (so libvirt would let the domain migrate). A copy to an unreachable URI fails before anything
// is read or changed.
func TestTransferCopyRemoveSource(t *testing.T) {
	conn := qemutest.Connect(t, systemURI)
	g := conn.NewGuest(t, group, "xfer-copy")
	g.Snapshot("real1", 0)
	snaps := genTree(true, treeShape{N: 150, Roots: 2, Branch: 0.15, Seed: 71})
	cps := genTree(false, treeShape{N: 30, Roots: 1, Branch: 0.1, Seed: 72})
	redefine(g, snaps)
	redefine(g, cps)

	d := qemutest.StartDaemon(t)
	g2 := d.Connect(t).DefineCopy(t, g)

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	_, src := openRW(t, systemURI, g.Name)
	want := map[conf.Kind]string{}
	for _, k := range []conf.Kind{conf.Snapshot, conf.Checkpoint} {
		want[k] = transferViews(t, systemURI, g, src, k)
	}

	if _, err := driver.Open(ctx, "qemu+tcp://127.0.0.1:1/system", driver.ReadWrite); err == nil {
		t.Fatal("an unreachable URI opened")
	}
	for _, k := range []conf.Kind{conf.Snapshot, conf.Checkpoint} {
		if diffViews(want[k], transferViews(t, systemURI, g, src, k)) != "" {
			t.Fatal("the source changed")
		}
	}

	_, dst := openRW(t, d.URI, g.UUID)
	var res *transfer.CopyResult
	timed(t, "copy 151 snapshots and 30 checkpoints to a second libvirtd over TCP, removing the source's", func() {
		var err error
		if res, err = transfer.Copy(ctx, src, dst, transfer.CopyOptions{RemoveSource: true}); err != nil {
			t.Fatal(err)
		}
	})
	if res.Removed != 181 {
		t.Errorf("removed %d, want 181", res.Removed)
	}
	for _, k := range []conf.Kind{conf.Snapshot, conf.Checkpoint} {
		// The checkpoint current on the source was decided by libvirt's load rule (a branched
		// tree: none); the copy makes it so on the destination too.
		if d := diffViews(want[k], transferViews(t, d.URI, g2, dst, k)); d != "" {
			t.Errorf("%s on the destination: %s", k, d)
		}
	}
	if n := len(g.SnapshotTree().Parent) + len(g.CheckpointTree().Parent); n != 0 {
		t.Errorf("%d moments left on the source", n)
	}
}
