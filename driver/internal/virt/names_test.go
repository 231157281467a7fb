package virt

import (
	"fmt"
	"os"
	"slices"
	"testing"

	"libvirt.org/go/libvirt"

	"github.com/vmoments/vmoments/conf"
)

// namesDomain defines a domain of its own on test:///default with a branched tree of n
// snapshots (every third is made below the one two back, so the tree has leaves all along) or
// a chain of m checkpoints of the running domain (libvirt refuses checkpoints beside
// snapshots or of an inactive domain), and undefines it
// with its metadata when the test ends.
func namesDomain(t *testing.T, suffix string, n, m int) (*libvirt.Connect, *libvirt.Domain) {
	t.Helper()
	conn, err := libvirt.NewConnect("test:///default")
	if err != nil {
		t.Fatal(err)
	}
	name := fmt.Sprintf("vmoments-test-names-%d-%s", os.Getpid(), suffix)
	dom, err := conn.DomainDefineXML(fmt.Sprintf(
		"<domain type='test'><name>%[1]s</name><memory>65536</memory><os><type>hvm</type></os>"+
			"<devices><disk type='file' device='disk'><driver name='qemu' type='qcow2'/>"+
			"<source file='/guest/%[1]s.qcow2'/><target dev='vda'/></disk></devices></domain>", name))
	if err != nil {
		conn.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if active, _ := dom.IsActive(); active {
			if err := dom.Destroy(); err != nil {
				t.Errorf("destroy %s: %v", name, err)
			}
		}
		if err := dom.UndefineFlags(libvirt.DOMAIN_UNDEFINE_SNAPSHOTS_METADATA); err != nil {
			t.Errorf("undefine %s: %v", name, err)
		}
		dom.Free()
		conn.Close()
	})
	for i := range n {
		if i%3 == 2 {
			prev, err := dom.SnapshotLookupByName(fmt.Sprintf("s%d", i-2), 0)
			if err != nil {
				t.Fatal(err)
			}
			err = prev.RevertToSnapshot(0)
			prev.Free()
			if err != nil {
				t.Fatal(err)
			}
		}
		h, err := dom.CreateSnapshotXML(fmt.Sprintf("<domainsnapshot><name>s%d</name></domainsnapshot>", i), 0)
		if err != nil {
			t.Fatal(err)
		}
		h.Free()
	}
	if m > 0 {
		if err := dom.Create(); err != nil { // libvirt checkpoints a running domain only
			t.Fatal(err)
		}
	}
	for i := range m {
		h, err := dom.CreateCheckpointXML(fmt.Sprintf("<domaincheckpoint><name>c%d</name></domaincheckpoint>", i), 0)
		if err != nil {
			t.Fatal(err)
		}
		h.Free()
	}
	return conn, dom
}

// TestDomainPointer checks that domainPtr reads the Go binding's C handle of a domain.
func TestDomainPointer(t *testing.T) {
	_, dom := namesDomain(t, "ptr", 0, 0)
	want, err := dom.GetName()
	if err != nil {
		t.Fatal(err)
	}
	if got := domainNameC(dom); got != want {
		t.Fatalf("name through domainPtr = %q, want %q", got, want)
	}
}

// TestNamesMatchListAll compares the names-only list calls a refresh makes with the ListAll
// calls of a load, for every list filter at domain level and below moments, past the 1024
// names the Go binding's own SnapshotListNames stops at.
func TestNamesMatchListAll(t *testing.T) {
	const snapshots, checkpoints = 1100, 40
	_, snapDom := namesDomain(t, "s", snapshots, 0)
	_, cpDom := namesDomain(t, "c", 0, checkpoints)
	flags := []uint32{0, 1, 4, 8, 1 | 4, 1 | 8, 32, 64, 128, 256, 512, 4 | 256, 8 | 32}
	cpFlags := []uint32{0, 1, 4, 8, 1 | 4}
	for _, tt := range []struct {
		from      string
		kind      string
		flags     []uint32
		wantTotal int
	}{
		{"", "snapshot", flags, snapshots},
		{"s0", "snapshot", flags, snapshots - 1},
		{"s1", "snapshot", flags, 0}, // a leaf
		{"", "checkpoint", cpFlags, checkpoints},
		{"c0", "checkpoint", cpFlags, checkpoints - 1},
	} {
		for _, f := range tt.flags {
			t.Run(fmt.Sprintf("%s from %q flags 0x%x", tt.kind, tt.from, f), func(t *testing.T) {
				if tt.from != "" {
					f |= 1 // DESCENDANTS below a moment, as load asks
				}
				var got, want []string
				var err error
				dom := snapDom
				if tt.kind == "checkpoint" {
					dom = cpDom
				}
				if tt.kind == "snapshot" {
					got, err = snapshotNames(dom, tt.from, f)
				} else {
					got, err = checkpointNames(dom, tt.from, f)
				}
				if err != nil {
					t.Fatal(err)
				}
				kind := conf.Snapshot
				if tt.kind == "checkpoint" {
					kind = conf.Checkpoint
				}
				src := newSource(kind, nil, dom, true)
				defer src.close()
				if want, err = src.List(t.Context(), tt.from, f); err != nil {
					t.Fatal(err)
				}
				slices.Sort(got)
				slices.Sort(want)
				if !slices.Equal(got, want) {
					t.Fatalf("names-only call gives %d names, ListAll %d", len(got), len(want))
				}
				if (tt.from == "" && f == 0) || (tt.from != "" && f == 1) {
					if len(got) != tt.wantTotal {
						t.Errorf("%d names, want %d", len(got), tt.wantTotal)
					}
				}
			})
		}
	}
}

// TestNamesOfMissingMoment: a names call below a moment that does not exist returns
// libvirt's not-found error, which load classifies as Gone.
func TestNamesOfMissingMoment(t *testing.T) {
	_, snapDom := namesDomain(t, "s", 2, 0)
	_, cpDom := namesDomain(t, "c", 0, 2)
	for _, tt := range []struct {
		kind string
		code libvirt.ErrorNumber
	}{{"snapshot", libvirt.ERR_NO_DOMAIN_SNAPSHOT}, {"checkpoint", libvirt.ERR_NO_DOMAIN_CHECKPOINT}} {
		var err error
		if tt.kind == "snapshot" {
			_, err = snapshotNames(snapDom, "nosuch", 1)
		} else {
			_, err = checkpointNames(cpDom, "nosuch", 1)
		}
		le, ok := err.(libvirt.Error)
		if !ok || le.Code != tt.code || le.Message == "" {
			t.Errorf("%s below nosuch: err = %#v, want libvirt.Error code %d with a message", tt.kind, err, tt.code)
		}
	}
}
