package main

import (
	"context"
	"net/url"
	"strings"

	"github.com/vmoments/vmoments/driver"
)

// connect opens the driver for the URI virsh would use. Its failures are virsh's two lines,
// "failed to connect to the hypervisor" and libvirt's message.
func (a *app) connect(ctx context.Context) error {
	const failed = "failed to connect to the hypervisor"
	uri := a.g.URI
	if !a.g.URIGiven {
		if v, ok := a.env("VIRSH_DEFAULT_CONNECT_URI"); ok && v != "" {
			uri = v
		} else if v, ok := a.env("LIBVIRT_DEFAULT_URI"); ok && v != "" {
			uri = v
		}
	}
	probed := false
	if a.needProbe(uri) {
		// Ask libvirt itself: it resolves its default URI (uri_default in libvirt.conf, root or
		// session), and a failure gives exactly the message virsh prints.
		resolved, err := a.probe(ctx, uri, a.mode())
		if err != nil {
			return libvirtErr(err, failed)
		}
		uri, probed = resolved, true
	}
	drv, err := a.open(ctx, uri, a.mode())
	if err != nil {
		if !probed && !isTestURI(uri) {
			// The driver's message may not be virsh's (an unknown scheme, a read-only
			// connection that failed): libvirt's own connection says what virsh says.
			if _, perr := a.probe(ctx, uri, a.mode()); perr != nil {
				err = perr
			}
		}
		return libvirtErr(err, failed)
	}
	a.drv = drv
	return nil
}

// needProbe reports whether connect must open a libvirt connection of its own before the
// driver's, which costs a connection (~10 ms). It must when the URI is libvirt's default (""),
// which only libvirt resolves. With an explicit URI the driver's first connection (read-only,
// opened first) fails the way virsh's does, except where a read-write connection can be refused
// while a read-only one is accepted (a user other than root; a remote host, where the login
// may be anyone): there virsh's read-write connection is probed as before, so vmoments fails
// as virsh does. The test driver is never probed: its state lives in the driver's connection.
func (a *app) needProbe(uri string) bool {
	switch {
	case uri == "":
		return true
	case isTestURI(uri):
		return false
	case a.g.Readonly:
		return false // the driver's connection is the same read-only one
	}
	u, err := url.Parse(uri)
	return err != nil || u.Host != "" || !a.root
}

// isTestURI reports whether uri is libvirt's test driver.
func isTestURI(uri string) bool {
	return strings.HasPrefix(strings.ToLower(uri), "test:")
}

// mode is the driver mode of -r.
func (a *app) mode() driver.Mode {
	if a.g.Readonly {
		return driver.ReadOnly
	}
	return driver.ReadWrite
}
