package fleet

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vmoments/vmoments/conf"
	"github.com/vmoments/vmoments/driver"
	"github.com/vmoments/vmoments/momentlist"
)

// snapshots builds a snapshot list from definitions: "name:mem:disk=mode[@source],..." where
// mem is no, internal or external@FILE.
func snapshots(t *testing.T, specs ...string) *momentlist.List {
	t.Helper()
	var defs []*conf.Def
	parent := ""
	for _, spec := range specs {
		f := strings.Split(spec, ":")
		d := &conf.Def{Kind: conf.Snapshot, Name: f[0], Parent: parent, State: "shutoff"}
		mem, file, _ := strings.Cut(f[1], "@")
		d.Memory = conf.MemorySpec{Mode: mem, File: file}
		if len(f) > 2 {
			for _, disk := range strings.Split(f[2], ",") {
				name, rest, _ := strings.Cut(disk, "=")
				mode, src, _ := strings.Cut(rest, "@")
				ds := conf.DiskSpec{Name: name, Mode: mode, Source: src}
				if strings.HasPrefix(src, "/dev/") {
					ds.SourceType = "block"
				}
				d.Disks = append(d.Disks, ds)
			}
		}
		defs = append(defs, d)
		parent = d.Name
	}
	l := momentlist.New(conf.Snapshot)
	if err := l.Load(defs, ""); err != nil {
		t.Fatal(err)
	}
	return l
}

// sized writes a file of n bytes (not sparse) and returns its path and allocation.
func sized(t *testing.T, dir, name string, n int) (string, uint64) {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, make([]byte, n), 0o644); err != nil {
		t.Fatal(err)
	}
	a, err := allocated(p)
	if err != nil || a < uint64(n) {
		t.Fatalf("allocated(%s) = %d, %v", p, a, err)
	}
	return p, a
}

func TestOverlays(t *testing.T) {
	dir := t.TempDir()
	o1, a1 := sized(t, dir, "o1", 70000)
	o2, a2 := sized(t, dir, "o2", 9000)
	snaps := snapshots(t, "s1:no:vda=external@"+o1+",vdb=no", "s2:no:vda=external@"+o2)
	running := &driver.Storage{State: driver.DomainRunning, Stats: true, Disks: []driver.Disk{{Target: "vda", Images: []driver.Image{
		{Path: o2, Allocation: 0, HasAllocation: true, Physical: 123456, HasPhysical: true},
		{Path: o1, Allocation: 0, HasAllocation: true, Physical: 654321, HasPhysical: true},
		{Path: "/base.qcow2", Physical: 1 << 30, HasPhysical: true},
	}}}}
	s := newSizer("-")
	for _, tt := range []struct {
		name  string
		st    *driver.Storage
		local bool
		want  Size
	}{
		// A running domain's chain: libvirt's physical (QEMU's actual-size), the base not counted.
		{"running", running, false, known(123456 + 654321)},
		// A shut-off domain: libvirt lists the active image only (its allocation); the older
		// overlay is read from the file when local, unknown when not.
		{"shut off, local", &driver.Storage{State: driver.DomainShutoff, Stats: true, Disks: []driver.Disk{{Target: "vda",
			Images: []driver.Image{{Path: o2, Allocation: 4096, HasAllocation: true, Physical: 9000, HasPhysical: true}}}}}, true, known(4096 + a1)},
		{"shut off, remote", &driver.Storage{State: driver.DomainShutoff, Stats: true, Disks: []driver.Disk{{Target: "vda",
			Images: []driver.Image{{Path: o2, Allocation: 4096, HasAllocation: true}}}}}, false, Size{}},
		{"no statistics, local", &driver.Storage{}, true, known(a1 + a2)},
		{"no statistics, remote", nil, false, Size{}},
	} {
		got := s.overlays(snaps, tt.st, tt.local)
		if got.Known != tt.want.Known || got.Bytes != tt.want.Bytes || !got.Known && got.Why == "" {
			t.Errorf("%s: %+v, want %+v", tt.name, got, tt.want)
		}
	}
	// An overlay that no longer exists holds nothing; one on a block device is unknown.
	gone := snapshots(t, "s1:no:vda=external@"+filepath.Join(dir, "deleted"))
	if got := s.overlays(gone, nil, true); !got.Known || got.Bytes != 0 {
		t.Errorf("deleted overlay: %+v, want 0 known", got)
	}
	block := snapshots(t, "s1:no:vda=external@/dev/vg/overlay")
	if got := s.overlays(block, running, true); got.Known || !strings.Contains(got.Why, "block") {
		t.Errorf("block overlay: %+v, want unknown", got)
	}
	if got := s.overlays(snapshots(t, "s1:internal:vda=internal"), nil, false); !got.Known || got.Bytes != 0 {
		t.Errorf("no external snapshot: %+v, want 0 known", got)
	}
}

func TestMemoryFiles(t *testing.T) {
	dir := t.TempDir()
	m1, a1 := sized(t, dir, "mem1", 50000)
	snaps := snapshots(t, "s1:external@"+m1+":vda=external@"+filepath.Join(dir, "o"), "s2:no", "s3:external@"+m1)
	s := newSizer("-")
	if got := s.memoryFiles(snaps, true); !got.Known || got.Bytes != a1 {
		t.Errorf("local: %+v, want %d (the one file once)", got, a1)
	}
	if got := s.memoryFiles(snaps, false); got.Known {
		t.Errorf("remote: %+v, want unknown", got)
	}
}

// fakeQemuImg writes a qemu-img stand-in that prints out and counts its runs in dir/runs.
func fakeQemuImg(t *testing.T, dir, out string) string {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, "out.json"), []byte(out), 0o644); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, "qemu-img")
	script := "#!/bin/sh\necho run >> " + filepath.Join(dir, "runs") + "\ncat " + filepath.Join(dir, "out.json") + "\n"
	if err := os.WriteFile(p, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

func runs(t *testing.T, dir string) int {
	b, _ := os.ReadFile(filepath.Join(dir, "runs"))
	return strings.Count(string(b), "run")
}

func TestInternalVMState(t *testing.T) {
	dir := t.TempDir()
	top, _ := sized(t, dir, "top.qcow2", 1000)
	base, _ := sized(t, dir, "base.qcow2", 1000)
	// s1 and s2 are the domain's internal snapshots; "foreign" was made by qemu-img directly.
	out := `[{"filename": "` + top + `", "full-backing-filename": "` + base + `",
	  "snapshots": [{"name": "s2", "vm-state-size": 5000}, {"name": "foreign", "vm-state-size": 7}]},
	 {"filename": "` + base + `", "snapshots": [{"name": "s1", "vm-state-size": 300}]}]`
	s := newSizer(fakeQemuImg(t, dir, out))
	snaps := snapshots(t, "s1:internal:vda=internal", "s2:internal:vda=internal", "e:no:vda=external@"+filepath.Join(dir, "x"))
	st := &driver.Storage{Disks: []driver.Disk{
		{Target: "vda", Type: "file", Source: top},
		{Target: "sda", Type: "file", Device: "cdrom", ReadOnly: true, Empty: true},
	}}
	ctx := context.Background()
	if got := s.internal(ctx, snaps, st, true); !got.Known || got.Bytes != 5300 {
		t.Errorf("internal: %+v, want 5300 (s1 in the base, s2 in the top; not the foreign one)", got)
	}
	s.internal(ctx, snaps, st, true)
	if n := runs(t, dir); n != 1 {
		t.Errorf("qemu-img ran %d times for two reads of unchanged images, want 1", n)
	}
	// A change to a backing file is seen.
	if err := os.WriteFile(base, make([]byte, 2000), 0o644); err != nil {
		t.Fatal(err)
	}
	s.internal(ctx, snaps, st, true)
	if n := runs(t, dir); n != 2 {
		t.Errorf("qemu-img ran %d times after the base changed, want 2", n)
	}
	if got := s.internal(ctx, snaps, st, false); got.Known {
		t.Errorf("remote: %+v, want unknown", got)
	}
	if got := s.internal(ctx, snapshots(t, "e:no:vda=external@/x"), nil, false); !got.Known || got.Bytes != 0 {
		t.Errorf("no internal snapshot: %+v, want 0 known", got)
	}
	broken := newSizer(filepath.Join(dir, "no-such-qemu-img"))
	if got := broken.internal(ctx, snaps, st, true); got.Known || got.Why == "" {
		t.Errorf("qemu-img missing: %+v, want unknown with a reason", got)
	}
}

// TestInternalVMStateQemuImg reads a real qcow2 image with an internal snapshot made by
// qemu-img (no VM state: 0 bytes, known).
func TestInternalVMStateQemuImg(t *testing.T) {
	if _, err := exec.LookPath("qemu-img"); err != nil {
		t.Fatal("qemu-img is needed (apt-get install qemu-utils)")
	}
	dir := t.TempDir()
	img := filepath.Join(dir, "a.qcow2")
	for _, args := range [][]string{{"create", "-q", "-f", "qcow2", img, "16M"}, {"snapshot", "-c", "s1", img}} {
		if out, err := exec.Command("qemu-img", args...).CombinedOutput(); err != nil {
			t.Fatalf("qemu-img %v: %v: %s", args, err, out)
		}
	}
	s := newSizer("qemu-img")
	st := &driver.Storage{Disks: []driver.Disk{{Target: "vda", Type: "file", Source: img}}}
	got := s.internal(context.Background(), snapshots(t, "s1:no:vda=internal"), st, true)
	if !got.Known || got.Bytes != 0 {
		t.Errorf("%+v, want 0 known", got)
	}
	info, err := s.image(context.Background(), img)
	if err != nil || len(info.snaps) != 1 || info.snaps[0].tag != "s1" {
		t.Errorf("image: %+v, %v; want the snapshot s1", info, err)
	}
}

func TestIsLocal(t *testing.T) {
	for uri, want := range map[string]bool{
		"qemu:///system": true, "qemu:///session": true,
		"qemu+unix:///system?socket=/tmp/s": true,
		"qemu+tcp://127.0.0.1/system":       false, "qemu+ssh://root@h/system": false,
		"qemu+unix://h/system": false, "test:///default": false, "test:///tmp/node.xml": false,
		"": false,
	} {
		if got := isLocal(uri); got != want {
			t.Errorf("isLocal(%q) = %v, want %v", uri, got, want)
		}
	}
}
