package fleet

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"

	"github.com/vmoments/vmoments/driver"
	"github.com/vmoments/vmoments/momentlist"
)

// sizer measures the disk space snapshots hold (see the package doc), remembering what qemu-img
// said about each image until one of the image's files changes.
type sizer struct {
	qemuImg string

	mu    sync.Mutex
	cache map[string]*imageInfo // by the path qemu-img was given
}

// imageInfo is what qemu-img said about one image and its backing chain.
type imageInfo struct {
	files []fileID // the chain's files as they were when qemu-img read them
	snaps []imageSnapshot
}

// imageSnapshot is one internal snapshot of a qcow2 image.
type imageSnapshot struct {
	file, tag string
	vmState   uint64
}

// fileID identifies one version of a file.
type fileID struct {
	path                 string
	dev, ino             uint64
	size, mtime, ctimeNs int64
}

func newSizer(qemuImg string) *sizer {
	return &sizer{qemuImg: qemuImg, cache: map[string]*imageInfo{}}
}

// measure returns the disk space the snapshots of one domain hold. st is the domain's storage
// (nil if unknown); local says the host's files are this machine's.
func (s *sizer) measure(ctx context.Context, snaps *momentlist.List, st *driver.Storage, local bool) Bytes {
	var b Bytes
	b.Overlays = s.overlays(snaps, st, local)
	b.MemoryFiles = s.memoryFiles(snaps, local)
	b.InternalVMState = s.internal(ctx, snaps, st, local)
	b.Total = b.Overlays.add(b.MemoryFiles).add(b.InternalVMState)
	return b
}

// overlays sums the host bytes of the overlay files external snapshots created.
func (s *sizer) overlays(snaps *momentlist.List, st *driver.Storage, local bool) Size {
	type overlay struct{ path, typ string }
	var files []overlay
	seen := map[string]bool{}
	for _, m := range snaps.All() {
		d := m.Def()
		for _, disk := range d.Disks {
			if disk.Mode != "external" {
				continue
			}
			if disk.Source == "" {
				return unknown(fmt.Sprintf("snapshot %q: external disk %q names no file", d.Name, disk.Name))
			}
			if !seen[disk.Source] {
				seen[disk.Source] = true
				files = append(files, overlay{disk.Source, disk.SourceType})
			}
		}
	}
	total := known(0)
	if len(files) == 0 {
		return total
	}
	images := map[string]driver.Image{}
	if st != nil {
		for _, disk := range st.Disks {
			for _, img := range disk.Images {
				if img.Path != "" {
					if _, ok := images[img.Path]; !ok {
						images[img.Path] = img
					}
				}
			}
		}
	}
	for _, f := range files {
		if f.typ != "" { // block or network
			return unknown(fmt.Sprintf("overlay %s is a %s source: libvirt's figures do not say what an overlay uses of it", f.path, f.typ))
		}
		if img, ok := images[f.path]; ok {
			switch {
			case st.Active() && img.HasPhysical:
				total = total.add(known(img.Physical))
				continue
			case !st.Active() && img.HasAllocation:
				total = total.add(known(img.Allocation))
				continue
			}
		}
		if !local {
			return unknown(fmt.Sprintf("overlay %s: libvirt's block statistics do not list it (it lists a shut-off domain's active image only) and the host's files cannot be read from here", f.path))
		}
		n, err := allocated(f.path)
		if err != nil {
			return unknown(err.Error())
		}
		total = total.add(known(n))
	}
	return total
}

// memoryFiles sums the host bytes of the snapshots' external memory files.
func (s *sizer) memoryFiles(snaps *momentlist.List, local bool) Size {
	total := known(0)
	seen := map[string]bool{}
	for _, m := range snaps.All() {
		d := m.Def()
		if d.Memory.Mode != "external" || seen[d.Memory.File] {
			continue
		}
		seen[d.Memory.File] = true
		if d.Memory.File == "" {
			return unknown(fmt.Sprintf("snapshot %q: external memory names no file", d.Name))
		}
		if !local {
			return unknown(fmt.Sprintf("memory file %s: the host's files cannot be read from here", d.Memory.File))
		}
		n, err := allocated(d.Memory.File)
		if err != nil {
			return unknown(err.Error())
		}
		total = total.add(known(n))
	}
	return total
}

// allocated returns the bytes a file occupies on its file system (st_blocks × 512, as libvirt
// reports a shut-off domain's images), 0 for a file that does not exist (it holds nothing).
func allocated(path string) (uint64, error) {
	fi, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("cannot read %s: %v", path, err)
	}
	sys, ok := fi.Sys().(*syscall.Stat_t)
	if !ok || !fi.Mode().IsRegular() {
		return 0, fmt.Errorf("%s is not a regular file", path)
	}
	return uint64(sys.Blocks) * 512, nil
}

// internal sums the VM state the domain's internal snapshots keep in its local qcow2 images.
func (s *sizer) internal(ctx context.Context, snaps *momentlist.List, st *driver.Storage, local bool) Size {
	names := map[string]bool{}
	for _, m := range snaps.All() {
		d := m.Def()
		internal := d.Memory.Mode == "internal"
		for _, disk := range d.Disks {
			internal = internal || disk.Mode == "internal"
		}
		if internal {
			names[d.Name] = true
		}
	}
	if len(names) == 0 {
		return known(0)
	}
	switch {
	case !local:
		return unknown("internal snapshots live in the host's images, which qemu-img reads on this machine only")
	case s.qemuImg == "-":
		return unknown("internal snapshots: qemu-img is not to be run")
	case st == nil:
		return unknown("internal snapshots: the domain's disks are not known")
	}
	total := known(0)
	counted := map[[2]string]bool{}
	for _, disk := range st.Disks {
		if disk.Empty || disk.ReadOnly || disk.Source == "" || disk.Type != "file" && disk.Type != "block" {
			continue
		}
		info, err := s.image(ctx, disk.Source)
		if err != nil {
			return unknown(err.Error())
		}
		for _, sn := range info.snaps {
			k := [2]string{sn.file, sn.tag}
			if names[sn.tag] && !counted[k] {
				counted[k] = true
				total = total.add(known(sn.vmState))
			}
		}
	}
	return total
}

// image returns what qemu-img says about the image at path and its backing chain, from the
// cache while none of the chain's files changed.
func (s *sizer) image(ctx context.Context, path string) (*imageInfo, error) {
	s.mu.Lock()
	info := s.cache[path]
	s.mu.Unlock()
	if info != nil && unchanged(info.files) {
		return info, nil
	}
	// The image as it is before qemu-img reads it: if it changes while qemu-img reads, the answer
	// is used once and not kept.
	before, beforeOK := identify(path)
	out, err := exec.CommandContext(ctx, s.qemuImg, "info", "-U", "--backing-chain", "--output=json", path).Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return nil, fmt.Errorf("qemu-img info %s: %s", path, strings.TrimSpace(string(ee.Stderr)))
		}
		return nil, fmt.Errorf("qemu-img info %s: %v", path, err)
	}
	var chain []struct {
		Filename    string `json:"filename"`
		FullBacking string `json:"full-backing-filename"`
		Snapshots   []struct {
			Name    string `json:"name"`
			VMState uint64 `json:"vm-state-size"`
		} `json:"snapshots"`
	}
	if err := json.Unmarshal(out, &chain); err != nil {
		return nil, fmt.Errorf("qemu-img info %s: %v", path, err)
	}
	info = &imageInfo{}
	cacheable := beforeOK
	file := path
	for _, img := range chain {
		if id, ok := identify(file); ok && (file != path || id == before) {
			info.files = append(info.files, id)
		} else {
			cacheable = false
		}
		for _, sn := range img.Snapshots {
			info.snaps = append(info.snaps, imageSnapshot{file: file, tag: sn.Name, vmState: sn.VMState})
		}
		file = img.FullBacking
	}
	if cacheable {
		s.mu.Lock()
		s.cache[path] = info
		s.mu.Unlock()
	}
	return info, nil
}

// identify returns the identity of the file at path now.
func identify(path string) (fileID, bool) {
	fi, err := os.Stat(path)
	if err != nil {
		return fileID{}, false
	}
	sys, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return fileID{}, false
	}
	return fileID{path: path, dev: uint64(sys.Dev), ino: sys.Ino, size: fi.Size(),
		mtime: fi.ModTime().UnixNano(), ctimeNs: sys.Ctim.Nano()}, true
}

// unchanged says whether every file is still the one identified.
func unchanged(files []fileID) bool {
	for _, f := range files {
		if now, ok := identify(f.path); !ok || now != f {
			return false
		}
	}
	return true
}
