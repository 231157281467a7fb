package main

import (
	"context"
	"net/url"
	"strings"

	"github.com/vmoments/vmoments/cmd/vmoments/internal/vsh"
	"github.com/vmoments/vmoments/driver"
)

// connect opens the driver for the URI virsh would use: -c's, else $VIRSH_DEFAULT_CONNECT_URI,
// else $LIBVIRT_DEFAULT_URI, else libvirt's default. Its failures are virsh's two lines, "failed
// to connect to the hypervisor" and libvirt's message.
func (a *app) connect(ctx context.Context) error {
	return a.connectTo(ctx, a.g.URI, a.g.URIGiven, a.g.Readonly)
}

// connectTo opens the driver for uri (given: named by -c or connect; else the environment's or
// libvirt's default), read-only or not, as virshConnect: then keepalive is asked for
// (keepaliveCheck).
func (a *app) connectTo(ctx context.Context, uri string, given, readonly bool) error {
	const failed = "failed to connect to the hypervisor"
	if !given {
		if v, ok := a.env("VIRSH_DEFAULT_CONNECT_URI"); ok && v != "" {
			uri = v
		} else if v, ok := a.env("LIBVIRT_DEFAULT_URI"); ok && v != "" {
			uri = v
		}
	}
	mode := driver.ReadWrite
	if readonly {
		mode = driver.ReadOnly
	}
	probed := false
	if a.needProbe(uri, readonly) {
		// Ask libvirt itself: it resolves its default URI (uri_default in libvirt.conf, root or
		// session), and a failure gives exactly the message virsh prints.
		resolved, err := a.probe(ctx, uri, mode)
		if err != nil {
			return libvirtErr(err, failed)
		}
		uri, probed = resolved, true
	}
	drv, err := a.open(ctx, uri, mode)
	if err != nil {
		if !probed && !isTestURI(uri) {
			// The driver's message may not be virsh's (an unknown scheme, a read-only
			// connection that failed): libvirt's own connection says what virsh says.
			if _, perr := a.probe(ctx, uri, mode); perr != nil {
				err = perr
			}
		}
		return libvirtErr(err, failed)
	}
	if err := a.keepaliveCheck(drv.URI()); err != nil {
		drv.Close()
		return err
	}
	a.drv = drv
	return nil
}

// runConnect is virsh's connect: close the connection and open one to --name's URI (empty:
// libvirt's default), else to the URI of the one before; read-only with --readonly, else as the
// one before when no URI is named. A failure leaves no connection, and the URI and mode as they
// were, so the next command that needs one tries them again.
func runConnect(ctx context.Context, a *app, c *vsh.Parsed) error {
	readonly := c.Has("readonly")
	name, named := c.Value("name")
	if !readonly && !named {
		readonly = a.g.Readonly
	}
	if a.drv != nil {
		a.drv.Close()
		a.drv = nil
	}
	uri, given := a.g.URI, a.g.URIGiven
	if named {
		uri, given = name, true
	}
	if err := a.connectTo(ctx, uri, given, readonly); err != nil {
		return err
	}
	a.g.URI, a.g.URIGiven, a.g.Readonly = uri, given, readonly
	return nil
}

// needProbe reports whether connect must open a libvirt connection of its own before the
// driver's, which costs a connection (~10 ms). It must when the URI is libvirt's default (""),
// which only libvirt resolves. With an explicit URI the driver's first connection (read-only,
// opened first) fails the way virsh's does, except where a read-write connection can be refused
// while a read-only one is accepted (a user other than root; a remote host, where the login
// may be anyone): there virsh's read-write connection is probed as before, so vmoments fails
// as virsh does. The test driver is never probed: its state lives in the driver's connection.
func (a *app) needProbe(uri string, readonly bool) bool {
	switch {
	case uri == "":
		return true
	case isTestURI(uri):
		return false
	case readonly:
		return false // the driver's connection is the same read-only one
	}
	u, err := url.Parse(uri)
	return err != nil || u.Host != "" || !a.root
}

// isTestURI reports whether uri is libvirt's test driver.
func isTestURI(uri string) bool {
	return strings.HasPrefix(strings.ToLower(uri), "test:")
}
