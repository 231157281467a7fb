//go:build !amd64

package local

import (
	"path/filepath"
	"syscall"
)

// statAt is lstat(dir/name) where the syscall package offers no fstatat.
func statAt(dirfd int, dir, name string, st *syscall.Stat_t) error {
	return syscall.Lstat(filepath.Join(dir, name), st)
}
