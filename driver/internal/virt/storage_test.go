package virt

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/vmoments/vmoments/driver"
)

// storageNode is a node file of libvirt's test driver with one domain of every kind of disk
// the storage read tells apart.
const storageNode = `<node>
  <domain type='test'>
    <name>disks</name>
    <memory>1048576</memory>
    <os><type arch='x86_64'>hvm</type></os>
    <devices>
      <disk type='file' device='disk'><driver name='qemu' type='qcow2'/><source file='/img/a.qcow2'/><target dev='vda' bus='virtio'/></disk>
      <disk type='block' device='disk'><driver name='qemu' type='raw'/><source dev='/dev/vg/b'/><target dev='vdb' bus='virtio'/></disk>
      <disk type='file' device='disk'><source file='/img/ro.img'/><target dev='vdc' bus='virtio'/><readonly/></disk>
      <disk type='network' device='disk'><driver name='qemu' type='raw'/><source protocol='nbd' name='export1'><host name='example.org' port='10809'/></source><target dev='vdd' bus='virtio'/></disk>
      <disk type='file' device='cdrom'><target dev='sda' bus='sata'/><readonly/></disk>
    </devices>
  </domain>
</node>
`

func TestStorageDisks(t *testing.T) {
	path := filepath.Join(t.TempDir(), "node.xml")
	if err := os.WriteFile(path, []byte(storageNode), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	drv, err := Open(ctx, "test://"+path, driver.ReadOnly, Options{Single: true})
	if err != nil {
		t.Fatal(err)
	}
	defer drv.Close()
	dom, err := drv.LookupDomain(ctx, "disks")
	if err != nil {
		t.Fatal(err)
	}
	st, err := dom.Storage(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := []driver.Disk{
		{Target: "vda", Device: "disk", Type: "file", Source: "/img/a.qcow2", Format: "qcow2"},
		{Target: "vdb", Device: "disk", Type: "block", Source: "/dev/vg/b", Format: "raw"},
		{Target: "vdc", Device: "disk", Type: "file", Source: "/img/ro.img", ReadOnly: true},
		{Target: "vdd", Device: "disk", Type: "network", Source: "export1", Format: "raw"},
		{Target: "sda", Device: "cdrom", Type: "file", ReadOnly: true, Empty: true},
	}
	if !reflect.DeepEqual(st.Disks, want) {
		t.Errorf("disks:\n got %+v\nwant %+v", st.Disks, want)
	}
	// libvirt's test driver gives no block statistics: nothing is made up for it.
	if st.Stats {
		t.Errorf("Stats = true on libvirt's test driver, which gives no block statistics")
	}
	if st.State != driver.DomainRunning || !st.Active() {
		t.Errorf("state %v (active %v); the test driver runs its domains unless told otherwise", st.State, st.Active())
	}
	var can []string
	for _, d := range st.Disks {
		if d.Checkpointable() {
			can = append(can, d.Target)
		}
	}
	if !reflect.DeepEqual(can, []string{"vda", "vdb", "vdd"}) {
		t.Errorf("checkpointable disks %v, want [vda vdb vdd] (not the read-only vdc, not the empty cdrom)", can)
	}
}
