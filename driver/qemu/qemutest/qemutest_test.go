package qemutest

import (
	"fmt"
	"os"
	"strings"
	"testing"

	"libvirt.org/go/libvirt"

	"github.com/vmoments/vmoments/driver"
)

// The harness hands the driver package's flags to libvirt as numbers: they must be libvirt's.
func TestFlagNumbers(t *testing.T) {
	for _, c := range []struct {
		name      string
		got, want uint32
	}{
		{"SnapshotCreateRedefine", uint32(driver.SnapshotCreateRedefine), uint32(libvirt.DOMAIN_SNAPSHOT_CREATE_REDEFINE)},
		{"SnapshotCreateCurrent", uint32(driver.SnapshotCreateCurrent), uint32(libvirt.DOMAIN_SNAPSHOT_CREATE_CURRENT)},
		{"SnapshotCreateNoMetadata", uint32(driver.SnapshotCreateNoMetadata), uint32(libvirt.DOMAIN_SNAPSHOT_CREATE_NO_METADATA)},
		{"SnapshotCreateHalt", uint32(driver.SnapshotCreateHalt), uint32(libvirt.DOMAIN_SNAPSHOT_CREATE_HALT)},
		{"SnapshotCreateDiskOnly", uint32(driver.SnapshotCreateDiskOnly), uint32(libvirt.DOMAIN_SNAPSHOT_CREATE_DISK_ONLY)},
		{"SnapshotCreateReuseExt", uint32(driver.SnapshotCreateReuseExt), uint32(libvirt.DOMAIN_SNAPSHOT_CREATE_REUSE_EXT)},
		{"SnapshotCreateQuiesce", uint32(driver.SnapshotCreateQuiesce), uint32(libvirt.DOMAIN_SNAPSHOT_CREATE_QUIESCE)},
		{"SnapshotCreateAtomic", uint32(driver.SnapshotCreateAtomic), uint32(libvirt.DOMAIN_SNAPSHOT_CREATE_ATOMIC)},
		{"SnapshotCreateLive", uint32(driver.SnapshotCreateLive), uint32(libvirt.DOMAIN_SNAPSHOT_CREATE_LIVE)},
		{"SnapshotCreateValidate", uint32(driver.SnapshotCreateValidate), uint32(libvirt.DOMAIN_SNAPSHOT_CREATE_VALIDATE)},
		{"CheckpointCreateRedefine", uint32(driver.CheckpointCreateRedefine), uint32(libvirt.DOMAIN_CHECKPOINT_CREATE_REDEFINE)},
		{"CheckpointCreateQuiesce", uint32(driver.CheckpointCreateQuiesce), uint32(libvirt.DOMAIN_CHECKPOINT_CREATE_QUIESCE)},
		{"CheckpointCreateRedefineValidate", uint32(driver.CheckpointCreateRedefineValidate), uint32(libvirt.DOMAIN_CHECKPOINT_CREATE_REDEFINE_VALIDATE)},
		{"DeleteChildren (snapshot)", uint32(driver.DeleteChildren), uint32(libvirt.DOMAIN_SNAPSHOT_DELETE_CHILDREN)},
		{"DeleteMetadataOnly (snapshot)", uint32(driver.DeleteMetadataOnly), uint32(libvirt.DOMAIN_SNAPSHOT_DELETE_METADATA_ONLY)},
		{"DeleteChildrenOnly (snapshot)", uint32(driver.DeleteChildrenOnly), uint32(libvirt.DOMAIN_SNAPSHOT_DELETE_CHILDREN_ONLY)},
		{"DeleteChildren (checkpoint)", uint32(driver.DeleteChildren), uint32(libvirt.DOMAIN_CHECKPOINT_DELETE_CHILDREN)},
		{"DeleteMetadataOnly (checkpoint)", uint32(driver.DeleteMetadataOnly), uint32(libvirt.DOMAIN_CHECKPOINT_DELETE_METADATA_ONLY)},
		{"DeleteChildrenOnly (checkpoint)", uint32(driver.DeleteChildrenOnly), uint32(libvirt.DOMAIN_CHECKPOINT_DELETE_CHILDREN_ONLY)},
		{"RevertRunning", uint32(driver.RevertRunning), uint32(libvirt.DOMAIN_SNAPSHOT_REVERT_RUNNING)},
		{"RevertPaused", uint32(driver.RevertPaused), uint32(libvirt.DOMAIN_SNAPSHOT_REVERT_PAUSED)},
		{"RevertForce", uint32(driver.RevertForce), uint32(libvirt.DOMAIN_SNAPSHOT_REVERT_FORCE)},
		{"RevertResetNVRAM", uint32(driver.RevertResetNVRAM), uint32(libvirt.DOMAIN_SNAPSHOT_REVERT_RESET_NVRAM)},
	} {
		if c.got != c.want {
			t.Errorf("driver.%s is %#x, libvirt's %#x", c.name, c.got, c.want)
		}
	}
}

func TestRequests(t *testing.T) {
	for _, c := range []struct{ got, want string }{
		{SnapshotRequest("s1"), "<domainsnapshot><name>s1</name></domainsnapshot>"},
		{SnapshotRequest(`a&b<'">`, Disk{"vda", "external"}, Disk{"vdb", "no"}),
			"<domainsnapshot><name>a&amp;b&lt;&#39;&#34;&gt;</name><disks><disk name='vda' snapshot='external'/>" +
				"<disk name='vdb' snapshot='no'/></disks></domainsnapshot>"},
		{CheckpointRequest("c1", Disk{"vda", "bitmap"}),
			"<domaincheckpoint><name>c1</name><disks><disk name='vda' checkpoint='bitmap'/></disks></domaincheckpoint>"},
	} {
		if c.got != c.want {
			t.Errorf("got  %s\nwant %s", c.got, c.want)
		}
	}
}

func TestTreeDiff(t *testing.T) {
	want := Tree{Parent: map[string]string{"a": "", "b": "a", "c": "a"}, Current: "b"}
	if !want.Equal(Tree{Parent: map[string]string{"c": "a", "b": "a", "a": ""}, Current: "b"}) {
		t.Fatal("equal trees differ")
	}
	got := Tree{Parent: map[string]string{"a": "", "b": "", "d": "a"}, Current: "a"}
	if got.Equal(want) {
		t.Fatal("different trees are equal")
	}
	const d = `3 moments (want 3): current "a", want "b"; "b" has parent "", want "a"; "c" missing (parent "a"); "d" unexpected (parent "a")`
	if s := got.Diff(want); s != d {
		t.Fatalf("Diff:\n got %s\nwant %s", s, d)
	}
	big := Tree{Parent: map[string]string{}}
	for i := range 30 {
		big.Parent[fmt.Sprint("m", i)] = ""
	}
	if s := (Tree{}).Diff(big); !strings.HasSuffix(s, "... 30 differences in all") || strings.Count(s, "missing") != 10 {
		t.Fatalf("Diff of 30 differences: %s", s)
	}
	if s := want.String(); s != `a<- b<-a c<-a current="b"` {
		t.Fatalf("String: %s", s)
	}
}

// The sweep takes only the group's guests of processes that are gone.
func TestLeftover(t *testing.T) {
	gone := func(pid int) bool { return pid == 4242 }
	self := os.Getpid()
	for _, c := range []struct {
		name string
		want bool
	}{
		{"vmoments-test-integ-4242-states-1", true},
		{"vmoments-test-integ-4243-states-1", false}, // its process still runs
		{fmt.Sprintf("vmoments-test-integ-%d-states-1", self), false},
		{"vmoments-test-integ-4242", false},           // not our naming scheme
		{"vmoments-test-integration-4242-x-1", false}, // another group
		{"vmoments-test-drivers-4242-x", false},       // another group
		{"vmoments-test-integ-x4242-states-1", false}, // no pid
		{"vmoments-test-integ-0-states-1", false},     // no pid
		{"vmoments-test-integ--4242-states-1", false}, // no pid
		{"guest1", false},                                // not ours at all
		{"my-vmoments-test-integ-4242-a-1", false},       // not a prefix
		{"vmoments-test-integ-4242-states-1-copy", true}, // anything after the pid
	} {
		if got := leftover(c.name, "integ", gone); got != c.want {
			t.Errorf("leftover(%q) = %v, want %v", c.name, got, c.want)
		}
	}
	for _, g := range []string{"", "a-b", "in teg", "é"} {
		if validGroup(g) {
			t.Errorf("group %q accepted", g)
		}
		if _, err := Sweep(SystemURI, g); err == nil {
			t.Errorf("Sweep with group %q: no error", g)
		}
	}
}

func TestAsLibvirtError(t *testing.T) {
	err := fmt.Errorf("context: %w", libvirt.Error{Code: libvirt.ERR_NO_DOMAIN_SNAPSHOT, Message: "no domain snapshot with matching name 'x'"})
	le, ok := AsLibvirtError(err)
	if !ok || le.Code != int(libvirt.ERR_NO_DOMAIN_SNAPSHOT) || le.Message != "no domain snapshot with matching name 'x'" {
		t.Fatalf("AsLibvirtError: %+v, %v", le, ok)
	}
	if _, ok := AsLibvirtError(fmt.Errorf("plain")); ok {
		t.Fatal("a plain error reads as libvirt's")
	}
}
