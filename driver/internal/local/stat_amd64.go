package local

import (
	"syscall"
	"unsafe"
)

// statAt is fstatat(dirfd, name, AT_SYMLINK_NOFOLLOW): one path component to resolve instead of
// the whole path (about a third cheaper per file on the machines measured). The syscall package
// has no Fstatat on amd64.
func statAt(dirfd int, dir, name string, st *syscall.Stat_t) error {
	p, err := syscall.BytePtrFromString(name)
	if err != nil {
		return err
	}
	const atSymlinkNoFollow = 0x100
	_, _, e := syscall.Syscall6(syscall.SYS_NEWFSTATAT, uintptr(dirfd), uintptr(unsafe.Pointer(p)), uintptr(unsafe.Pointer(st)), atSymlinkNoFollow, 0, 0)
	if e != 0 {
		return e
	}
	return nil
}
