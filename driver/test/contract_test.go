package test_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"libvirt.org/go/libvirt"

	"github.com/vmoments/vmoments/conf"
	"github.com/vmoments/vmoments/driver"
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

// TestLibvirtErrors: the libvirt error stays reachable behind the classes, and the unknown
// scheme (the suite runs on a driver's own URIs) has its class.
func TestLibvirtErrors(t *testing.T) {
	ro := open(t, "test:///default", driver.ReadOnly)
	_, err := ro.Domain(ctx, "nope")
	var le libvirt.Error
	if !errors.Is(err, driver.ErrDomainNotFound) || !errors.As(err, &le) || le.Code != libvirt.ERR_NO_DOMAIN ||
		err.Error() != `test:///default: domain "nope": Domain not found` {
		t.Errorf("unknown domain: %v, want ErrDomainNotFound with libvirt's VIR_ERR_NO_DOMAIN", err)
	}
	dom := domain(t, ro, "test")
	_, err = dom.XML(ctx, conf.Checkpoint, "c9", 0)
	if !errors.Is(err, driver.ErrMomentNotFound) || !errors.As(err, &le) || le.Code != libvirt.ERR_NO_DOMAIN_CHECKPOINT {
		t.Errorf("XML of an unknown checkpoint: %v, want ErrMomentNotFound with VIR_ERR_NO_DOMAIN_CHECKPOINT", err)
	}
	for _, uri := range []string{"xen:///system", "//no-scheme"} {
		_, err := driver.Open(ctx, uri, driver.ReadOnly)
		var de *driver.Error
		if !errors.As(err, &de) || !errors.Is(err, driver.ErrUnsupportedURI) || de.Kind != conf.NoKind {
			t.Errorf("Open(%s) = %v, want ErrUnsupportedURI", uri, err)
		}
	}
	if _, err := driver.Open(ctx, "xen:///system", driver.ReadOnly); err == nil || !strings.Contains(err.Error(), `no driver for URI scheme "xen"`) {
		t.Errorf("Open(xen) = %v", err)
	}
	canceled, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := driver.Open(canceled, "test:///default", driver.ReadOnly); !errors.Is(err, context.Canceled) {
		t.Errorf("Open with a canceled context = %v", err)
	}
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
