// Package qemu serves moments from a live libvirtd running QEMU: qemu:///system,
// qemu:///session and the remote forms qemu+ssh://, qemu+tcp://, qemu+tls://, qemu+unix://
// (and qemu+libssh2://, qemu+ext://), all through libvirt's own client.
//
// Importing the package registers it with [driver.Open] for those schemes.
//
// Reads go through a read-only connection; the first change opens a read-write one. When
// libvirtd restarts in the middle of a load, the load is retried once on a new connection.
package qemu

import (
	"context"

	"github.com/vmoments/vmoments/driver"
	"github.com/vmoments/vmoments/driver/internal/virt"
)

// Schemes are the URI schemes this driver serves.
var Schemes = []string{"qemu", "qemu+ssh", "qemu+tcp", "qemu+tls", "qemu+unix", "qemu+libssh2", "qemu+libssh", "qemu+ext"}

func init() {
	driver.Register(func(ctx context.Context, uri string, readOnly bool) (driver.Driver, error) {
		return Open(ctx, uri, readOnly)
	}, Schemes...)
}

// Open opens a QEMU URI.
func Open(ctx context.Context, uri string, readOnly bool) (driver.Driver, error) {
	d, err := virt.Open(ctx, uri, readOnly, virt.Options{})
	if err != nil {
		return nil, err
	}
	return d, nil
}
