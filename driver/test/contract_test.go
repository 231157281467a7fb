package test_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"libvirt.org/go/libvirt"

	"github.com/vmoments/vmoments/conf"
	"github.com/vmoments/vmoments/driver"
	"github.com/vmoments/vmoments/momentlist"
)

// nodeWithThree is a node file with a running, a paused and a shut-off domain; the running ones
// get IDs 1 and 2 in file order, and the shut-off one is named like a number.
const nodeWithThree = `<node>
<domain type='test' xmlns:test='http://libvirt.org/schemas/domain/test/1.0'>
  <name>alpha</name><uuid>aaaaaaaa-2222-3333-4444-555555555555</uuid><memory>1048576</memory><vcpu>1</vcpu>
  <os><type arch='i686'>hvm</type></os></domain>
<domain type='test' xmlns:test='http://libvirt.org/schemas/domain/test/1.0'>
  <name>beta</name><uuid>bbbbbbbb-2222-3333-4444-555555555555</uuid><memory>1048576</memory><vcpu>1</vcpu>
  <os><type arch='i686'>hvm</type></os><test:runstate>3</test:runstate></domain>
<domain type='test' xmlns:test='http://libvirt.org/schemas/domain/test/1.0'>
  <name>2</name><uuid>cccccccc-2222-3333-4444-555555555555</uuid><memory>1048576</memory><vcpu>1</vcpu>
  <os><type arch='i686'>hvm</type></os><test:runstate>5</test:runstate></domain>
</node>`

func nodeFile(t *testing.T, xml string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "node.xml")
	if err := os.WriteFile(p, []byte(xml), 0o644); err != nil {
		t.Fatal(err)
	}
	return "test://" + p
}

// TestDomains: a connection's domains with name, UUID, ID and state, sorted by name.
func TestDomains(t *testing.T) {
	drv := open(t, nodeFile(t, nodeWithThree), driver.ReadOnly)
	got, err := drv.Domains(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := []driver.DomainInfo{
		{Name: "2", UUID: "cccccccc-2222-3333-4444-555555555555", ID: -1, State: driver.DomainShutoff},
		{Name: "alpha", UUID: "aaaaaaaa-2222-3333-4444-555555555555", ID: 1, State: driver.DomainRunning},
		{Name: "beta", UUID: "bbbbbbbb-2222-3333-4444-555555555555", ID: 2, State: driver.DomainPaused},
	}
	if len(got) != len(want) {
		t.Fatalf("Domains = %+v, want %+v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("domain %d = %+v, want %+v", i, got[i], want[i])
		}
	}
	for s, word := range map[driver.DomainState]string{driver.DomainRunning: "running", driver.DomainShutoff: "shut off",
		driver.DomainPaused: "paused", driver.DomainBlocked: "idle", driver.DomainState(99): "unknown"} {
		if s.String() != word {
			t.Errorf("%d.String() = %q, want %q", int(s), s.String(), word)
		}
	}
}

// TestLookupOrder: Domain takes a running domain's ID first, then a UUID, then a name, as virsh.
func TestLookupOrder(t *testing.T) {
	drv := open(t, nodeFile(t, nodeWithThree), driver.ReadOnly)
	for ref, want := range map[string]string{
		"1":                                    "alpha", // ID 1
		"2":                                    "beta",  // ID 2 wins over the domain named "2"
		"alpha":                                "alpha",
		"cccccccc-2222-3333-4444-555555555555": "2",
		"3":                                    "", // no ID 3, no domain named 3
	} {
		dom, err := drv.Domain(ctx, ref)
		if want == "" {
			if !errors.Is(err, driver.ErrDomainNotFound) || !errors.Is(err, driver.ErrNotFound) || errors.Is(err, driver.ErrMomentNotFound) {
				t.Errorf("Domain(%q) = %v, want ErrDomainNotFound", ref, err)
			}
			if dom != nil {
				t.Errorf("Domain(%q) returned a domain with its error", ref)
			}
			continue
		}
		if err != nil || dom.Name() != want {
			t.Errorf("Domain(%q) = %v, %v; want %s", ref, dom, err, want)
		}
	}
}

// TestErrorClasses: every failure an embedder must tell apart has its class, and the libvirt
// error stays reachable.
func TestErrorClasses(t *testing.T) {
	ro := open(t, "test:///default", driver.ReadOnly)
	dom := domain(t, ro, "test")
	check := func(what string, err error, class error, kind conf.Kind) {
		t.Helper()
		var de *driver.Error
		if !errors.As(err, &de) {
			t.Errorf("%s: %T %v is not a *driver.Error", what, err, err)
			return
		}
		if !errors.Is(err, class) {
			t.Errorf("%s: %v does not match %v", what, err, class)
		}
		if de.Kind != kind {
			t.Errorf("%s: Kind %v, want %v", what, de.Kind, kind)
		}
	}
	_, err := ro.Domain(ctx, "nope")
	check("unknown domain", err, driver.ErrDomainNotFound, conf.NoKind)
	var le libvirt.Error
	if !errors.As(err, &le) || le.Code != libvirt.ERR_NO_DOMAIN {
		t.Errorf("unknown domain: libvirt's error not reachable: %v", err)
	}
	_, err = dom.Def(ctx, conf.Snapshot, "s9")
	check("Def of an unknown snapshot", err, driver.ErrMomentNotFound, conf.Snapshot)
	_, err = dom.XML(ctx, conf.Checkpoint, "c9", 0)
	check("XML of an unknown checkpoint", err, driver.ErrMomentNotFound, conf.Checkpoint)
	_, err = dom.List(ctx, conf.Snapshot, "s9", 0)
	check("List from an unknown snapshot", err, driver.ErrMomentNotFound, conf.Snapshot)
	if errors.Is(err, driver.ErrDomainNotFound) {
		t.Errorf("an unknown moment matches ErrDomainNotFound: %v", err)
	}
	_, err = dom.CreateSnapshot(ctx, "<domainsnapshot><name>x</name></domainsnapshot>", 0)
	check("create on a read-only driver", err, driver.ErrReadOnly, conf.Snapshot)

	// The secure XML refusal of a read-only connection is a read-only refusal too.
	rw := open(t, "test:///default", driver.ReadWrite)
	rwDom := domain(t, rw, "test")
	if _, err := rwDom.CreateSnapshot(ctx, "<domainsnapshot><name>s1</name></domainsnapshot>", 0); err != nil {
		t.Fatal(err)
	}
	_, err = dom.XML(ctx, conf.Snapshot, "s1", driver.XMLSecure)
	check("secure XML on a read-only driver", err, driver.ErrReadOnly, conf.Snapshot)

	_, err = driver.Open(ctx, "xen:///system", driver.ReadOnly)
	check("unknown scheme", err, driver.ErrUnsupportedURI, conf.NoKind)
	_, err = driver.Open(ctx, "//no-scheme", driver.ReadOnly)
	check("no scheme", err, driver.ErrUnsupportedURI, conf.NoKind)

	canceled, cancel := context.WithCancel(ctx)
	cancel()
	_, err = dom.List(canceled, conf.Snapshot, "", 0)
	check("canceled List", err, context.Canceled, conf.Snapshot)
	_, err = ro.Domains(canceled)
	check("canceled Domains", err, context.Canceled, conf.NoKind)
	_, err = driver.Open(canceled, "test:///default", driver.ReadOnly)
	check("canceled Open", err, context.Canceled, conf.NoKind)

	closed, err := driver.Open(ctx, "test:///default", driver.ReadOnly)
	if err != nil {
		t.Fatal(err)
	}
	cdom := domain(t, closed, "test")
	closed.Close()
	_, err = closed.Domain(ctx, "test")
	check("Domain on a closed driver", err, driver.ErrClosed, conf.NoKind)
	_, err = closed.Domains(ctx)
	check("Domains on a closed driver", err, driver.ErrClosed, conf.NoKind)
	_, err = cdom.List(ctx, conf.Checkpoint, "", 0)
	check("List on a closed driver", err, driver.ErrClosed, conf.Checkpoint)
	_, err = cdom.XML(ctx, conf.Snapshot, "s1", 0)
	check("XML on a closed driver", err, driver.ErrClosed, conf.Snapshot)
}

// TestVersionsAndCapabilities: the test driver reports the library's version for both ends and
// declares the flags it refuses.
func TestVersionsAndCapabilities(t *testing.T) {
	drv := open(t, "test:///default", driver.ReadOnly)
	v, err := drv.Versions(ctx)
	if err != nil {
		t.Fatal(err)
	}
	lib, _ := libvirt.GetVersion()
	want := fmt.Sprintf("%d.%d.%d", lib/1000000, lib/1000%1000, lib%1000)
	if v.Daemon != v.Library || v.Library != want {
		t.Errorf("Versions = %+v, want library = daemon = %s", v, want)
	}
	c := drv.Capabilities()
	if c.MixedKinds || c.InactiveCheckpoints {
		t.Errorf("test driver claims mixed kinds or inactive checkpoints: %+v", c)
	}
	if c.CanDelete(conf.Snapshot, driver.DeleteMetadataOnly) || !c.CanDelete(conf.Checkpoint, driver.DeleteMetadataOnly) ||
		!c.CanDelete(conf.Snapshot, driver.DeleteChildren) {
		t.Errorf("delete capabilities wrong: %+v", c)
	}
	if c.SnapshotCreate&driver.SnapshotCreateDiskOnly != 0 || c.SnapshotCreate&driver.SnapshotCreateRedefine == 0 {
		t.Errorf("snapshot create capabilities wrong: %+v", c)
	}
}

// TestProbe: the probe resolves a URI through libvirt and reports libvirt's own refusal.
func TestProbe(t *testing.T) {
	got, err := driver.Probe(ctx, "test:///default", driver.ReadOnly)
	if err != nil || got != "test:///default" {
		t.Errorf("Probe(test:///default) = %q, %v", got, err)
	}
	t.Setenv("LIBVIRT_DEFAULT_URI", "test:///default")
	if got, err := driver.Probe(ctx, "", driver.ReadOnly); err != nil || got != "test:///default" {
		t.Errorf("Probe(\"\") with LIBVIRT_DEFAULT_URI = %q, %v", got, err)
	}
	drv, err := driver.Open(ctx, "", driver.ReadOnly)
	if err != nil || drv.URI() != "test:///default" {
		t.Fatalf("Open(\"\") = %v, %v", drv, err)
	}
	drv.Close()
	_, err = driver.Probe(ctx, "test:///no/such/file.xml", driver.ReadOnly)
	var de *driver.Error
	if !errors.As(err, &de) || !errors.Is(err, driver.ErrConnection) || de.Message() == "" {
		t.Errorf("Probe of a missing node file = %v, want libvirt's refusal with ErrConnection", err)
	}
}

// TestDomainDriver: a domain's Driver is the driver it came from.
func TestDomainDriver(t *testing.T) {
	drv := open(t, "test:///default", driver.ReadOnly)
	dom := domain(t, drv, "test")
	if dom.Driver() != drv || dom.Driver().URI() != "test:///default" {
		t.Errorf("Driver() = %v, want the driver it was looked up on", dom.Driver())
	}
	var r driver.Reader = dom
	if _, err := r.List(ctx, conf.Snapshot, "", momentlist.Roots); err != nil {
		t.Error(err)
	}
}
