//go:build integration

package qemu_test

import (
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"libvirt.org/go/libvirt"

	"github.com/vmoments/vmoments/conf"
	"github.com/vmoments/vmoments/driver"
	"github.com/vmoments/vmoments/driver/drivertest"
)

// nativeState is libvirt's own view of a domain's snapshots: "name<parent" for each, sorted,
// and the current one.
func nativeState(t *testing.T, dom *libvirt.Domain) ([]string, string) {
	t.Helper()
	snaps, err := dom.ListAllSnapshots(0)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for i := range snaps {
		name, err := snaps[i].GetName()
		if err != nil {
			t.Fatal(err)
		}
		parent := ""
		if p, err := snaps[i].GetParent(0); err == nil {
			parent, _ = p.GetName()
			p.Free()
		} else if !strings.Contains(err.Error(), "does not have a parent") {
			t.Fatal(err)
		}
		out = append(out, name+"<"+parent)
		snaps[i].Free()
	}
	slices.Sort(out)
	cur := ""
	if h, err := dom.SnapshotCurrent(0); err == nil {
		cur, _ = h.GetName()
		h.Free()
	}
	return out, cur
}

// TestDeleteWithChildrenOneByOne makes real snapshots of a shut-off guest and deletes with
// children through vmoments, which deletes the descendants one by one, leaves first (the
// libvirt 9.0 quirk in the package doc). After every step libvirt must report the tree and
// current snapshot libvirt's delete rules give (current inside the removed subtree ends on the
// target, after CHILDREN on its parent), and the conformance suite's CheckState must pass.
//
// Where libvirt 9.0 survives its own delete on the system daemon everybody shares, a second
// guest gets the same snapshots and libvirt's own CHILDREN / CHILDREN_ONLY call, and both
// guests must end alike: a target with one descendant, the shapes the integration tests run.
// libvirt 9.0 crashes on CHILDREN_ONLY of a branched subtree (also with the current snapshot
// outside it: seen here), so no branched subtree reaches libvirt in one call; the branched
// shapes are covered on the test driver in driver/internal/virt. An external descendant makes
// libvirt refuse the delete up front, and vmoments passes that refusal on unchanged.
func TestDeleteWithChildrenOneByOne(t *testing.T) {
	_, nat, _ := throwawayNamed(t, "fix", "native")
	_, _, name := throwawayNamed(t, "fix", "vm")
	drv, dom := openDomain(t, name, driver.ReadWrite)
	overlays := t.TempDir()
	native := true // the native guest follows until the first step libvirt could not survive

	create := func(n string) {
		t.Helper()
		if native {
			h, err := nat.CreateSnapshotXML("<domainsnapshot><name>"+n+"</name></domainsnapshot>", 0)
			if err != nil {
				t.Fatalf("libvirt: create %s: %v", n, err)
			}
			h.Free()
		}
		if _, err := dom.CreateSnapshot(ctx, "<domainsnapshot><name>"+n+"</name></domainsnapshot>", 0); err != nil {
			t.Fatalf("vmoments: create %s: %v", n, err)
		}
	}
	revert := func(n string) {
		t.Helper()
		if native {
			h, err := nat.SnapshotLookupByName(n, 0)
			if err == nil {
				err = h.RevertToSnapshot(0)
				h.Free()
			}
			if err != nil {
				t.Fatalf("libvirt: revert %s: %v", n, err)
			}
		}
		if err := dom.Revert(ctx, n, 0); err != nil {
			t.Fatalf("vmoments: revert %s: %v", n, err)
		}
	}
	external := func(n string) {
		t.Helper()
		x := func(side string) string {
			return fmt.Sprintf("<domainsnapshot><name>%s</name><disks><disk name='vda' snapshot='external'><source file='%s'/></disk>"+
				"<disk name='vdb' snapshot='external'><source file='%s'/></disk></disks></domainsnapshot>", n,
				filepath.Join(overlays, side+"-"+n+"-vda.qcow2"), filepath.Join(overlays, side+"-"+n+"-vdb.qcow2"))
		}
		if native {
			h, err := nat.CreateSnapshotXML(x("native"), libvirt.DOMAIN_SNAPSHOT_CREATE_DISK_ONLY)
			if err != nil {
				t.Fatalf("libvirt: create external %s: %v", n, err)
			}
			h.Free()
		}
		if _, err := dom.CreateSnapshot(ctx, x("vm"), driver.SnapshotCreateDiskOnly); err != nil {
			t.Fatalf("vmoments: create external %s: %v", n, err)
		}
	}

	create("r")
	create("a")
	create("b")
	steps := []struct {
		name        string
		native      bool // libvirt's own delete runs on the native guest too
		prepare     func()
		target      string
		flags       driver.DeleteFlags
		wantErr     string // libvirt's refusal, for both
		wantNames   []string
		wantCurrent string
	}{
		{"children only, current the one descendant", true, nil, "a", driver.DeleteChildrenOnly, "",
			[]string{"a<r", "r<"}, "a"},
		{"children, current the one descendant", true, func() { create("c"); create("d") }, "c", driver.DeleteChildren, "",
			[]string{"a<r", "r<"}, "a"},
		{"an external descendant: libvirt refuses up front", true, func() { external("x") }, "a", driver.DeleteChildrenOnly,
			"deletion of external children disk snapshots not supported",
			[]string{"a<r", "r<", "x<a"}, "x"},
		{"children only, metadata only, a chain of two with current at its end (one external)", false, nil,
			"r", driver.DeleteChildrenOnly | driver.DeleteMetadataOnly, "",
			[]string{"r<"}, "r"},
		{"children of a chain of three holding current in the middle", false, func() { create("s"); create("t"); create("u"); revert("t") },
			"s", driver.DeleteChildren, "",
			[]string{"r<"}, "r"},
		{"children of the root, current on it", false, func() { create("v"); create("w"); revert("r") }, "r", driver.DeleteChildren, "",
			nil, ""},
	}
	cases := 0
	for _, s := range steps {
		native = s.native
		if s.prepare != nil {
			s.prepare()
		}
		verr := dom.Delete(ctx, conf.Snapshot, s.target, s.flags)
		if s.wantErr == "" && verr != nil || s.wantErr != "" && (verr == nil || !strings.Contains(verr.Error(), s.wantErr)) {
			t.Errorf("%s: vmoments: error %v, want %q", s.name, verr, s.wantErr)
		}
		got, cur := nativeState(t, drvRaw(t, name))
		if !slices.Equal(got, s.wantNames) || cur != s.wantCurrent {
			t.Errorf("%s: libvirt reports %v current %q after vmoments' delete, want %v current %q", s.name, got, cur, s.wantNames, s.wantCurrent)
		}
		if s.native {
			h, err := nat.SnapshotLookupByName(s.target, 0)
			if err != nil {
				t.Fatal(err)
			}
			nerr := h.Delete(libvirt.DomainSnapshotDeleteFlags(s.flags))
			h.Free()
			if s.wantErr == "" && nerr != nil || s.wantErr != "" && (nerr == nil || !strings.Contains(nerr.Error(), s.wantErr)) {
				t.Errorf("%s: libvirt: error %v, want %q", s.name, nerr, s.wantErr)
			}
			if wantNative, wantCur := nativeState(t, nat); !slices.Equal(got, wantNative) || cur != wantCur {
				t.Errorf("%s: libvirt reports %v current %q after vmoments' delete, %v current %q after its own", s.name, got, cur, wantNative, wantCur)
			}
		}
		cases += drivertest.CheckState(t, drv, dom, conf.Snapshot, "")
		if t.Failed() {
			t.Fatalf("after %s", s.name)
		}
	}
	t.Logf("%d CheckState cases", cases)
}

// drvRaw looks the domain name up on a new read-only libvirt connection.
func drvRaw(t *testing.T, name string) *libvirt.Domain {
	t.Helper()
	conn, err := libvirt.NewConnectReadOnly(systemURI)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	d, err := conn.LookupDomainByName(name)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Free() })
	return d
}
