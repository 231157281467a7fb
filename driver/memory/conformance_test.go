//go:build cgo

package memory_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/vmoments/vmoments/driver"
	"github.com/vmoments/vmoments/driver/drivertest"
	"github.com/vmoments/vmoments/driver/memory"
	_ "github.com/vmoments/vmoments/driver/test"
)

// opener opens uri with the mode asked.
func opener(uri string) func(driver.Mode) (driver.Driver, error) {
	return func(mode driver.Mode) (driver.Driver, error) { return driver.Open(context.Background(), uri, mode) }
}

// TestConformanceAgainstTestDriver runs the conformance suite on the memory driver with
// libvirt's test driver as the reference: every scenario runs on both, and after every step
// every list of every flag combination, the current moment, the per-disk current set, the tree
// and a fresh load of the memory driver must equal libvirt's answers on the test driver, and
// every failing step must fail alike (message, class, kind, moment). Both start from
// test:///default's domain "test" and from examples/demo.xml, which the memory driver reads
// itself.
//
// It runs twice: with the test driver's limits (Config.Capabilities set to the test driver's,
// so that every scenario and refusal compares) and with the memory driver's own QEMU-like
// capabilities (what the test driver cannot do is skipped: mixed kinds, metadata-only snapshot
// deletes).
func TestConformanceAgainstTestDriver(t *testing.T) {
	demo, err := filepath.Abs("../../examples/demo.xml")
	if err != nil {
		t.Fatal(err)
	}
	// Three domains: running, paused (IDs 1 and 2, in file order) and shut off, the last named
	// like the paused one's ID, which a lookup of "2" must not find.
	three := filepath.Join(t.TempDir(), "three.xml")
	if err := os.WriteFile(three, []byte(`<node>
<domain type='test' xmlns:test='http://libvirt.org/schemas/domain/test/1.0'>
  <name>alpha</name><uuid>aaaaaaaa-2222-3333-4444-555555555555</uuid><memory>1048576</memory><vcpu>1</vcpu>
  <os><type arch='i686'>hvm</type></os></domain>
<domain type='test' xmlns:test='http://libvirt.org/schemas/domain/test/1.0'>
  <name>beta</name><uuid>bbbbbbbb-2222-3333-4444-555555555555</uuid><memory>1048576</memory><vcpu>1</vcpu>
  <os><type arch='i686'>hvm</type></os><test:runstate>3</test:runstate></domain>
<domain type='test' xmlns:test='http://libvirt.org/schemas/domain/test/1.0'>
  <name>2</name><uuid>cccccccc-2222-3333-4444-555555555555</uuid><memory>1048576</memory><vcpu>1</vcpu>
  <os><type arch='i686'>hvm</type></os><test:runstate>5</test:runstate></domain>
</node>`), 0o644); err != nil {
		t.Fatal(err)
	}
	states := func(scheme string) []drivertest.State {
		return []drivertest.State{
			{Name: "examples/demo.xml", Open: opener(scheme + "://" + demo)},
			{Name: "three domains", Open: opener(scheme + "://" + three)},
		}
	}
	ref := drivertest.Config{
		Fresh: func(t *testing.T) drivertest.Place {
			return drivertest.Place{Open: opener("test:///default"), Domain: "test", Disks: []string{"vda"}}
		},
		Running: true,
		States:  states("test"),
	}
	probe, err := driver.Open(context.Background(), "test:///default", driver.ReadOnly)
	if err != nil {
		t.Fatal(err)
	}
	testCaps := probe.Capabilities()
	probe.Close()
	for _, c := range []struct {
		name string
		caps *driver.Capabilities
	}{{"test driver's limits", &testCaps}, {"QEMU's capabilities", nil}} {
		t.Run(c.name, func(t *testing.T) {
			drivertest.Run(t, drivertest.Config{
				Fresh: func(t *testing.T) drivertest.Place {
					srv, err := memory.New(memory.Config{Domains: []memory.DomainConfig{memory.DefaultDomain()}, Capabilities: c.caps})
					if err != nil {
						t.Fatal(err)
					}
					t.Cleanup(srv.Close)
					return drivertest.Place{Open: opener(srv.URI()), Domain: "test", Disks: []string{"vda"}}
				},
				Running:   true,
				States:    states("memory"),
				Reference: &ref,
			})
		})
	}
}
