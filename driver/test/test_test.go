package test_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"libvirt.org/go/libvirt"

	"github.com/vmoments/vmoments/conf"
	"github.com/vmoments/vmoments/driver"
	"github.com/vmoments/vmoments/driver/drivertest"
	_ "github.com/vmoments/vmoments/driver/test"
	"github.com/vmoments/vmoments/momentlist"
)

var ctx = context.Background()

// demoURI is test:///ABS/PATH of examples/demo.xml.
func demoURI(t testing.TB) string {
	abs, err := filepath.Abs("../../examples/demo.xml")
	if err != nil {
		t.Fatal(err)
	}
	return "test://" + abs
}

func open(t testing.TB, uri string, mode driver.Mode) driver.Driver {
	t.Helper()
	drv, err := driver.Open(ctx, uri, mode)
	if err != nil {
		t.Fatalf("Open(%s): %v", uri, err)
	}
	t.Cleanup(func() { drv.Close() })
	return drv
}

func domain(t testing.TB, drv driver.Driver, name string) driver.Domain {
	t.Helper()
	dom, err := drv.Domain(ctx, name)
	if err != nil {
		t.Fatalf("Domain(%s): %v", name, err)
	}
	return dom
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

func checkpointXML(name, parent string) string {
	p := ""
	if parent != "" {
		p = "<parent><name>" + parent + "</name></parent>"
	}
	return fmt.Sprintf("<domaincheckpoint><name>%s</name>%s<creationTime>1700000000</creationTime></domaincheckpoint>", name, p)
}

func TestConformanceDemo(t *testing.T) {
	drv := open(t, demoURI(t), driver.ReadOnly)
	dom := domain(t, drv, "demo")
	n := drivertest.CheckLists(t, dom, conf.Snapshot, drivertest.Options{MaxFroms: 5})
	n += drivertest.CheckState(t, drv, dom, conf.Snapshot, "")
	n += drivertest.CheckLists(t, dom, conf.Checkpoint, drivertest.Options{})
	t.Logf("conformance cases on examples/demo.xml: %d", n)
	if cur, rule, _ := dom.Current(ctx, conf.Snapshot); nameOf(cur) != "data disks only" {
		t.Errorf("current = %q (%v), want the demo's non-leaf, partial \"data disks only\"", nameOf(cur), rule)
	}
}

func nameOf(m interface{ Name() string }) string {
	if m == nil || fmt.Sprint(m) == "<nil>" {
		return ""
	}
	return m.Name()
}

// step is one change of a scenario and what libvirt's internal checkpoint pointer does.
type step struct {
	name string
	do   func(t *testing.T, dom driver.Domain, tr *drivertest.Tracker) error
}

func createSnap(name string) step {
	return step{"create snapshot " + name, func(t *testing.T, dom driver.Domain, _ *drivertest.Tracker) error {
		got, err := dom.CreateSnapshot(ctx, "<domainsnapshot><name>"+name+"</name></domainsnapshot>", 0)
		if err == nil && got != name {
			t.Errorf("created %q, want %q", got, name)
		}
		return err
	}}
}

func redefineSnap(name, parent string, current bool) step {
	flags := driver.SnapshotCreateRedefine
	if current {
		flags |= driver.SnapshotCreateCurrent
	}
	return step{fmt.Sprintf("redefine snapshot %s under %q current=%v", name, parent, current),
		func(t *testing.T, dom driver.Domain, _ *drivertest.Tracker) error {
			_, err := dom.CreateSnapshot(ctx, snapXML(t, dom, name, parent, "running"), flags)
			return err
		}}
}

func deleteMoment(kind conf.Kind, name string, flags driver.DeleteFlags) step {
	return step{fmt.Sprintf("delete %s %s flags %d", kind, name, flags), func(t *testing.T, dom driver.Domain, tr *drivertest.Tracker) error {
		if kind == conf.Checkpoint {
			tr.Delete(t, dom, name, flags)
		}
		return dom.Delete(ctx, kind, name, flags)
	}}
}

func createCheckpoint(name string) step {
	return step{"create checkpoint " + name, func(t *testing.T, dom driver.Domain, tr *drivertest.Tracker) error {
		_, err := dom.CreateCheckpoint(ctx, "<domaincheckpoint><name>"+name+"</name></domaincheckpoint>", 0)
		if err == nil {
			tr.Created(name)
		}
		return err
	}}
}

func redefineCheckpoint(name, parent string) step {
	return step{fmt.Sprintf("redefine checkpoint %s under %q", name, parent), func(t *testing.T, dom driver.Domain, tr *drivertest.Tracker) error {
		_, err := dom.CreateCheckpoint(ctx, checkpointXML(name, parent), driver.CheckpointCreateRedefine)
		if err == nil {
			tr.Redefined(name, parent)
		}
		return err
	}}
}

// TestConformanceChanges builds states on test:///default through the driver and checks, after
// every change, the list against libvirt and a fresh load, and every list flag combination.
func TestConformanceChanges(t *testing.T) {
	snapshotSteps := []step{
		createSnap("s1"), createSnap("s2"), createSnap("s3"),
		{"revert to s1", func(t *testing.T, dom driver.Domain, _ *drivertest.Tracker) error {
			return dom.Revert(ctx, "s1", 0)
		}},
		createSnap("s4"), createSnap("s5"),
		redefineSnap("r1", "s2", false),
		redefineSnap("r2", "r1", true),
		redefineSnap("r3", "", false),
		{"set current s3", func(t *testing.T, dom driver.Domain, _ *drivertest.Tracker) error {
			return dom.SetCurrent(ctx, "s3")
		}},
		redefineSnap("s3", "s4", false), // re-parent s3 (children kept)
		createSnap("s6"),
		deleteMoment(conf.Snapshot, "s1", 0),                         // plain: children move up
		deleteMoment(conf.Snapshot, "s4", driver.DeleteChildrenOnly), // current s6 below it: moves to s4
		createSnap("s7"), createSnap("s8"),
		deleteMoment(conf.Snapshot, "s7", driver.DeleteChildren), // current s8 inside: ends at s7's parent
		deleteMoment(conf.Snapshot, "r3", 0),
	}
	checkpointSteps := []step{
		createCheckpoint("c1"), createCheckpoint("c2"), createCheckpoint("c3"),
		redefineCheckpoint("d1", "c1"), // parent not current: not current
		createCheckpoint("c4"),         // parent c3
		redefineCheckpoint("d2", "c4"), // parent current: current
		redefineCheckpoint("d3", ""),   // a second root
		deleteMoment(conf.Checkpoint, "c2", 0),
		deleteMoment(conf.Checkpoint, "d2", 0), // current: moves to c4
		deleteMoment(conf.Checkpoint, "c3", driver.DeleteChildrenOnly),
		createCheckpoint("c5"),
		deleteMoment(conf.Checkpoint, "c1", driver.DeleteChildren),
		deleteMoment(conf.Checkpoint, "d3", driver.DeleteMetadataOnly),
	}
	drv := open(t, "test:///default", driver.ReadWrite)
	dom := domain(t, drv, "test")
	total := 0
	run := func(kind conf.Kind, steps []step) {
		var tr drivertest.Tracker
		for _, s := range steps {
			if err := s.do(t, dom, &tr); err != nil {
				t.Fatalf("%s: %v", s.name, err)
			}
			cur := tr.Current
			total += drivertest.CheckState(t, drv, dom, kind, cur)
			total += drivertest.CheckLists(t, dom, kind, drivertest.Options{CheckpointCurrent: &cur, MaxFroms: 3, ListEvery: 8})
			if t.Failed() {
				t.Fatalf("after %s", s.name)
			}
		}
	}
	run(conf.Snapshot, snapshotSteps)
	// The test driver keeps snapshots and checkpoints apart: clear the snapshots first.
	roots, err := dom.List(ctx, conf.Snapshot, "", 1)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range roots {
		if err := dom.Delete(ctx, conf.Snapshot, r.Name(), driver.DeleteChildren); err != nil {
			t.Fatal(err)
		}
	}
	run(conf.Checkpoint, checkpointSteps)
	t.Logf("conformance cases on test:///default states: %d", total)
}

// TestTestDriverLimits checks that the test driver's refusals keep libvirt's message and add
// why.
func TestTestDriverLimits(t *testing.T) {
	node := filepath.Join(t.TempDir(), "node.xml")
	if err := os.WriteFile(node, []byte(`<node><domain type='test' xmlns:test='http://libvirt.org/schemas/domain/test/1.0'>
<name>off</name><uuid>11111111-2222-3333-4444-555555555555</uuid><memory>1048576</memory><vcpu>1</vcpu>
<os><type arch='i686'>hvm</type></os><test:runstate>5</test:runstate></domain></node>`), 0o644); err != nil {
		t.Fatal(err)
	}
	drv := open(t, "test:///default", driver.ReadWrite)
	dom := domain(t, drv, "test")
	off := domain(t, open(t, "test://"+node, driver.ReadWrite), "11111111-2222-3333-4444-555555555555")
	tests := []struct {
		name string
		do   func() error
		want string
	}{
		{"disk-only snapshot", func() error {
			_, err := dom.CreateSnapshot(ctx, "<domainsnapshot><name>x</name></domainsnapshot>", driver.SnapshotCreateDiskOnly)
			return err
		}, `test:///default: domain "test": snapshot "x": unsupported flags (0x10) in function testDomainSnapshotCreateXML. This is a limit of libvirt's test driver: its snapshot create refuses the flags DISK_ONLY, REUSE_EXT and NO_METADATA`},
		{"checkpoint of an inactive domain", func() error {
			_, err := off.CreateCheckpoint(ctx, "<domaincheckpoint><name>c</name></domaincheckpoint>", 0)
			return err
		}, `test://` + node + `: domain "off": checkpoint "c": Operation not supported: cannot create checkpoint for inactive domain. This is a limit of libvirt's test driver: it creates and redefines checkpoints only on a running domain`},
		{"snapshot while a checkpoint exists", func() error {
			if _, err := dom.CreateCheckpoint(ctx, "<domaincheckpoint><name>c1</name></domaincheckpoint>", 0); err != nil {
				return err
			}
			_, err := dom.CreateSnapshot(ctx, "<domainsnapshot><name>s1</name></domainsnapshot>", 0)
			return err
		}, `test:///default: domain "test": snapshot "s1": Operation not supported: cannot create snapshot while checkpoint exists. This is a limit of libvirt's test driver: a domain cannot have snapshots and checkpoints at the same time (libvirt's QEMU driver has no such limit)`},
		{"metadata-only snapshot delete", func() error {
			if err := dom.Delete(ctx, conf.Checkpoint, "c1", 0); err != nil {
				return err
			}
			if _, err := dom.CreateSnapshot(ctx, "<domainsnapshot><name>s1</name></domainsnapshot>", 0); err != nil {
				return err
			}
			return dom.Delete(ctx, conf.Snapshot, "s1", driver.DeleteMetadataOnly)
		}, `test:///default: domain "test": snapshot "s1": unsupported flags (0x2) in function testDomainSnapshotDelete. This is a limit of libvirt's test driver: its snapshot delete refuses METADATA_ONLY`},
		{"missing moment", func() error {
			return dom.Delete(ctx, conf.Snapshot, "nope", 0)
		}, `test:///default: domain "test": snapshot "nope": Domain snapshot not found: no domain snapshot with matching name 'nope'`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.do()
			if err == nil || err.Error() != tt.want {
				t.Fatalf("err = %v\nwant   %s", err, tt.want)
			}
			var le libvirt.Error
			if !errors.As(err, &le) {
				t.Errorf("libvirt.Error not reachable with errors.As in %v", err)
			}
		})
	}
}

func TestErrors(t *testing.T) {
	drv := open(t, "test:///default", driver.ReadOnly)
	if _, err := drv.Domain(ctx, "nope"); err == nil ||
		err.Error() != `test:///default: domain "nope": Domain not found` {
		t.Errorf("Domain(nope) = %v", err)
	}
	dom := domain(t, drv, "test")
	if _, err := dom.CreateSnapshot(ctx, "<domainsnapshot/>", 0); !errors.Is(err, driver.ErrReadOnly) {
		t.Errorf("CreateSnapshot on a read-only driver = %v, want ErrReadOnly", err)
	}
	if _, err := dom.Def(ctx, conf.Snapshot, "s9"); !errors.Is(err, driver.ErrNotFound) ||
		err.Error() != `test:///default: domain "test": snapshot "s9": no domain snapshot with matching name 's9'` {
		t.Errorf("Def(s9) = %v", err)
	}
	if _, err := dom.List(ctx, conf.Checkpoint, "c9", 0); !errors.Is(err, driver.ErrNotFound) {
		t.Errorf("List from c9 = %v, want ErrNotFound", err)
	}
	canceled, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := dom.List(canceled, conf.Snapshot, "", 0); !errors.Is(err, context.Canceled) {
		t.Errorf("List with a canceled context = %v", err)
	}
	if _, err := driver.Open(ctx, "xen:///system", driver.ReadOnly); err == nil || !strings.Contains(err.Error(), `no driver for URI scheme "xen"`) {
		t.Errorf("Open(xen) = %v", err)
	}
	// By UUID.
	if d, err := drv.Domain(ctx, "6695eb01-f6a4-8304-79aa-97f2502e193f"); err != nil || d.Name() != "test" {
		t.Errorf("Domain by UUID = %v, %v", d, err)
	}
}

// TestRefresh checks that a kept handle fetches only new moments and drops gone ones.
func TestRefresh(t *testing.T) {
	drv := open(t, "test:///default", driver.ReadWrite)
	dom := domain(t, drv, "test")
	other := domain(t, drv, "test") // "someone else" on the same state
	if _, err := other.CreateSnapshot(ctx, "<domainsnapshot><name>a</name></domainsnapshot>", 0); err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"b", "c"} {
		if _, err := other.CreateSnapshot(ctx, snapXML(t, other, n, "", "running"), driver.SnapshotCreateRedefine); err != nil {
			t.Fatal(err)
		}
	}
	fetches := func(f func(ctx context.Context) error) int {
		var mu sync.Mutex
		n := 0
		pctx := driver.WithProgress(ctx, func(done, total int) {
			mu.Lock()
			n = total
			mu.Unlock()
		})
		if err := f(pctx); err != nil {
			t.Fatal(err)
		}
		return n
	}
	list := func(ctx context.Context) error { _, err := dom.List(ctx, conf.Snapshot, "", 0); return err }
	if n := fetches(list); n != 3 {
		t.Errorf("first load fetched %d, want 3", n)
	}
	for _, n := range []string{"d", "e"} {
		if _, err := other.CreateSnapshot(ctx, snapXML(t, other, n, "a", "running"), driver.SnapshotCreateRedefine); err != nil {
			t.Fatal(err)
		}
	}
	if err := other.Delete(ctx, conf.Snapshot, "b", 0); err != nil {
		t.Fatal(err)
	}
	if n := fetches(list); n != 2 {
		t.Errorf("refresh fetched %d, want only the 2 new ones", n)
	}
	got, _ := dom.List(ctx, conf.Snapshot, "a", 0)
	if len(got) != 2 {
		t.Errorf("children of a after refresh: %d, want 2", len(got))
	}
	if _, err := dom.Def(ctx, conf.Snapshot, "b"); !errors.Is(err, driver.ErrNotFound) {
		t.Errorf("b still served after someone deleted it: %v", err)
	}
	if n := fetches(func(ctx context.Context) error { return dom.Reload(ctx, conf.Snapshot) }); n != 4 {
		t.Errorf("Reload fetched %d, want all 4", n)
	}
	drivertest.CheckState(t, drv, dom, conf.Snapshot, "")
}

// TestConcurrent runs readers against a writer; run with -race.
func TestConcurrent(t *testing.T) {
	drv := open(t, "test:///default", driver.ReadWrite)
	dom := domain(t, drv, "test")
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				ms, err := dom.List(ctx, conf.Snapshot, "", 1024)
				if err != nil {
					t.Error(err)
					return
				}
				for _, m := range ms { // read what we were handed while the writer goes on
					_ = m.Def().Name
					if p := m.Parent(); p != nil {
						_ = p.Name()
					}
				}
				if l, err := dom.Moments(ctx, conf.Snapshot); err == nil && l.Len() > 0 {
					l.Delete(l.All()[0], 0) // a private copy: ours to change
				}
			}
		}()
	}
	for i := range 30 {
		if _, err := dom.CreateSnapshot(ctx, fmt.Sprintf("<domainsnapshot><name>s%d</name></domainsnapshot>", i), 0); err != nil {
			t.Fatal(err)
		}
		if i%5 == 4 {
			if err := dom.Delete(ctx, conf.Snapshot, fmt.Sprintf("s%d", i-2), 0); err != nil {
				t.Fatal(err)
			}
		}
	}
	close(stop)
	wg.Wait()
	drivertest.CheckState(t, drv, dom, conf.Snapshot, "")
}

// TestCheckpointPointerFromParent: when someone else moved libvirt's checkpoint pointer, the
// driver's list has lost it (fresh-load rule); the next checkpoint created through the driver
// tells where it was (its parent) and becomes current as libvirt's does.
func TestCheckpointPointerFromParent(t *testing.T) {
	drv := open(t, "test:///default", driver.ReadWrite)
	dom := domain(t, drv, "test")
	other := domain(t, drv, "test")
	var tr drivertest.Tracker
	for _, n := range []string{"c1", "c2"} {
		if _, err := dom.CreateCheckpoint(ctx, "<domaincheckpoint><name>"+n+"</name></domaincheckpoint>", 0); err != nil {
			t.Fatal(err)
		}
		tr.Created(n)
	}
	if _, err := other.CreateCheckpoint(ctx, "<domaincheckpoint><name>c3</name></domaincheckpoint>", 0); err != nil {
		t.Fatal(err)
	}
	tr.Created("c3")
	if _, err := other.CreateCheckpoint(ctx, checkpointXML("d1", "c1"), driver.CheckpointCreateRedefine); err != nil {
		t.Fatal(err)
	}
	tr.Redefined("d1", "c1")
	cur, rule, err := dom.Current(ctx, conf.Checkpoint)
	if err != nil {
		t.Fatal(err)
	}
	if cur != nil || rule != momentlist.CurrentLoadBranched {
		t.Errorf("after someone else's changes: current %v (%v), want none by the fresh-load rule", nameOf(cur), rule)
	}
	if _, err := dom.CreateCheckpoint(ctx, "<domaincheckpoint><name>c4</name></domaincheckpoint>", 0); err != nil {
		t.Fatal(err)
	}
	tr.Created("c4")
	if def, err := dom.Def(ctx, conf.Checkpoint, "c4"); err != nil || def.Parent != "c3" {
		t.Fatalf("c4's parent = %v (%v), want c3 (libvirt's pointer)", def, err)
	}
	drivertest.CheckState(t, drv, dom, conf.Checkpoint, tr.Current)
	if _, rule, _ := dom.Current(ctx, conf.Checkpoint); rule != momentlist.CurrentCreated {
		t.Errorf("rule = %v, want CurrentCreated", rule)
	}
}

// TestDemoChanges changes the demo's realistic tree and checks each state against libvirt and a
// fresh load.
func TestDemoChanges(t *testing.T) {
	drv := open(t, demoURI(t), driver.ReadWrite)
	dom := domain(t, drv, "demo")
	steps := []struct {
		name string
		do   func() error
	}{
		{"set current deploy-05", func() error { return dom.SetCurrent(ctx, "deploy-05") }},
		{"revert to live external", func() error { return dom.Revert(ctx, "live external", 0) }},
		{"create a snapshot under it", func() error {
			_, err := dom.CreateSnapshot(ctx, "<domainsnapshot><name>after revert ✓</name></domainsnapshot>", 0)
			return err
		}},
		{"delete os-updates (children move to base install)", func() error { return dom.Delete(ctx, conf.Snapshot, "os-updates", 0) }},
		{"delete backup chain's children only (current among them)", func() error {
			return dom.Delete(ctx, conf.Snapshot, "backup chain", driver.DeleteChildrenOnly)
		}},
		{"delete deploy-06 with children", func() error { return dom.Delete(ctx, conf.Snapshot, "deploy-06", driver.DeleteChildren) }},
	}
	n := 0
	for _, s := range steps {
		if err := s.do(); err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		n += drivertest.CheckState(t, drv, dom, conf.Snapshot, "")
		if t.Failed() {
			t.Fatalf("after %s", s.name)
		}
	}
	n += drivertest.CheckLists(t, dom, conf.Snapshot, drivertest.Options{MaxFroms: 3, ListEvery: 4})
	if cur, _, _ := dom.Current(ctx, conf.Snapshot); nameOf(cur) != "backup chain" {
		t.Errorf("current = %q, want backup chain (children-only delete of the current's ancestor)", nameOf(cur))
	}
	t.Logf("conformance cases on demo.xml changes: %d", n)
}

// TestDeletedDuringLoad: moments deleted by someone else while their XML is being fetched are
// skipped, and the next read drops those fetched before they went.
func TestDeletedDuringLoad(t *testing.T) {
	drv := open(t, "test:///default", driver.ReadWrite)
	dom := domain(t, drv, "test")
	other := domain(t, drv, "test")
	if _, err := other.CreateSnapshot(ctx, "<domainsnapshot><name>root</name></domainsnapshot>", 0); err != nil {
		t.Fatal(err)
	}
	for i := range 60 {
		if _, err := other.CreateSnapshot(ctx, snapXML(t, other, fmt.Sprintf("leaf%02d", i), "root", "running"), driver.SnapshotCreateRedefine); err != nil {
			t.Fatal(err)
		}
	}
	var once sync.Once
	pctx := driver.WithProgress(ctx, func(done, _ int) {
		if done == 5 {
			once.Do(func() {
				for i := range 60 {
					if i%3 == 0 {
						if err := other.Delete(ctx, conf.Snapshot, fmt.Sprintf("leaf%02d", i), 0); err != nil {
							t.Error(err)
						}
					}
				}
			})
		}
	})
	got, err := dom.List(pctx, conf.Snapshot, "", 0)
	if err != nil {
		t.Fatalf("a load during deletes failed: %v", err)
	}
	if len(got) < 41 || len(got) > 61 {
		t.Errorf("loaded %d snapshots, want between 41 and 61", len(got))
	}
	t.Logf("the load during deletes served %d snapshots (%d skipped as gone)", len(got), 61-len(got))
	if got, err := dom.List(ctx, conf.Snapshot, "", 0); err != nil || len(got) != 41 {
		t.Errorf("next read: %d snapshots (%v), want 41", len(got), err)
	}
	drivertest.CheckState(t, drv, dom, conf.Snapshot, "")
}

// TestCreateErrorsNameTheMoment checks that a refused create names the moment its XML defines
// (conf parses it before libvirt is asked), or says "new snapshot" when the XML has none, and
// keeps libvirt's message and error.
func TestCreateErrorsNameTheMoment(t *testing.T) {
	drv := open(t, "test:///default", driver.ReadWrite)
	dom := domain(t, drv, "test")
	if _, err := dom.CreateSnapshot(ctx, "<domainsnapshot><name>p1</name></domainsnapshot>", 0); err != nil {
		t.Fatal(err)
	}
	ro := domain(t, open(t, "test:///default", driver.ReadOnly), "test")
	tests := []struct {
		name string
		dom  driver.Domain
		do   func(d driver.Domain) error
		want string
	}{
		{"snapshot name taken", dom, func(d driver.Domain) error {
			_, err := d.CreateSnapshot(ctx, "<domainsnapshot><name>p1</name><description>again</description></domainsnapshot>", 0)
			return err
		}, `test:///default: domain "test": snapshot "p1": operation failed: domain moment p1 already exists`},
		{"snapshot without a name", dom, func(d driver.Domain) error {
			_, err := d.CreateSnapshot(ctx, "<domainsnapshot/>", driver.SnapshotCreateDiskOnly)
			return err
		}, `test:///default: domain "test": new snapshot: unsupported flags (0x10) in function testDomainSnapshotCreateXML. This is a limit of libvirt's test driver: its snapshot create refuses the flags DISK_ONLY, REUSE_EXT and NO_METADATA`},
		{"snapshot XML conf refuses", dom, func(d driver.Domain) error {
			_, err := d.CreateSnapshot(ctx, "<domainsnapshot><name>p2</name><memory snapshot='bogus'/></domainsnapshot>", 0)
			return err
		}, `test:///default: domain "test": snapshot "p2": XML error: Invalid value for attribute 'snapshot' in element 'memory': 'bogus'.`},
		{"redefined snapshot", dom, func(d driver.Domain) error {
			_, err := d.CreateSnapshot(ctx, "<domainsnapshot><name>p3</name><parent><name>nope</name></parent><state>running</state>"+
				"<creationTime>1700000000</creationTime></domainsnapshot>", driver.SnapshotCreateRedefine)
			return err
		}, `test:///default: domain "test": snapshot "p3": invalid argument: parent nope for moment p3 not found`},
		{"checkpoint next to snapshots", dom, func(d driver.Domain) error {
			_, err := d.CreateCheckpoint(ctx, "<domaincheckpoint><name>c1</name></domaincheckpoint>", 0)
			return err
		}, `test:///default: domain "test": checkpoint "c1": Operation not supported: cannot create checkpoint while snapshot exists. This is a limit of libvirt's test driver: a domain cannot have snapshots and checkpoints at the same time (libvirt's QEMU driver has no such limit)`},
		{"checkpoint without a name", dom, func(d driver.Domain) error {
			_, err := d.CreateCheckpoint(ctx, "<domaincheckpoint/>", 0)
			return err
		}, `test:///default: domain "test": new checkpoint: Operation not supported: cannot create checkpoint while snapshot exists. This is a limit of libvirt's test driver: a domain cannot have snapshots and checkpoints at the same time (libvirt's QEMU driver has no such limit)`},
		{"read-only driver", ro, func(d driver.Domain) error {
			_, err := d.CreateSnapshot(ctx, "<domainsnapshot><name>p4</name></domainsnapshot>", 0)
			return err
		}, `test:///default: domain "test": snapshot "p4": ` + driver.ErrReadOnly.Error()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.do(tt.dom)
			if err == nil || err.Error() != tt.want {
				t.Fatalf("got  %v\nwant %s", err, tt.want)
			}
			var le libvirt.Error
			if tt.dom == dom && !errors.As(err, &le) {
				t.Errorf("libvirt.Error not reachable with errors.As in %v", err)
			}
		})
	}
	drivertest.CheckState(t, drv, dom, conf.Snapshot, "")
}
