package driver

import (
	"context"
	"fmt"
	"net/url"
	"sort"
	"strings"
	"sync"
)

// Mode says how [Open] connects.
type Mode uint

const (
	// ReadWrite reads through a read-only libvirt connection and opens a read-write one for the
	// first change (or the first XML with XMLSecure). It is the zero Mode.
	ReadWrite Mode = 0
	// ReadOnly uses read-only connections only; every change fails with [ErrReadOnly].
	ReadOnly Mode = 1 << 0
	// ConnectWrite opens the read-write connection at once instead of at the first change, so
	// that a refusal (polkit for a user other than root, a remote login) shows at Open, with
	// libvirt's message, as a virsh connection shows it. Ignored with ReadOnly.
	ConnectWrite Mode = 1 << 1
)

// ReadOnly reports whether m has ReadOnly.
func (m Mode) ReadOnly() bool { return m&ReadOnly != 0 }

// OpenFunc opens a driver for a URI; drivers register one with [Register].
type OpenFunc func(ctx context.Context, uri string, mode Mode) (Driver, error)

// ProbeFunc opens and closes one libvirt connection to uri (read-write unless mode has
// ReadOnly) and returns the URI libvirt connected to: for "" the one libvirt resolved its
// default to. A refusal is libvirt's own error, wrapped in an [*Error].
type ProbeFunc func(ctx context.Context, uri string, mode Mode) (string, error)

var (
	registryMu sync.RWMutex
	registry   = map[string]OpenFunc{}
	prober     ProbeFunc
)

// Register makes a driver available to [Open] for the URI schemes given ("test", "qemu",
// "qemu+ssh", ...). Driver packages call it from init; registering a scheme twice panics.
func Register(open OpenFunc, schemes ...string) {
	registryMu.Lock()
	defer registryMu.Unlock()
	for _, s := range schemes {
		if _, dup := registry[s]; dup {
			panic("driver: Register called twice for scheme " + s)
		}
		registry[s] = open
	}
}

// RegisterProbe sets the function [Probe] and [Open] of the default URI use. The libvirt-backed
// drivers (driver/qemu, driver/test) register libvirt's; the last registration wins.
func RegisterProbe(p ProbeFunc) {
	registryMu.Lock()
	defer registryMu.Unlock()
	prober = p
}

// Schemes returns the registered URI schemes, sorted.
func Schemes() []string {
	registryMu.RLock()
	defer registryMu.RUnlock()
	out := make([]string, 0, len(registry))
	for s := range registry {
		out = append(out, s)
	}
	sort.Strings(out)
	return out
}

// Probe opens and closes one libvirt connection to uri the way a libvirt client (virsh) opens
// its own: read-write unless mode has ReadOnly. It returns the URI libvirt connected to (for "",
// the default libvirt resolves: LIBVIRT_DEFAULT_URI, uri_default in libvirt.conf, or its
// built-in choice), or libvirt's refusal in libvirt's words ([Error.Message]). Callers use it to
// learn the default URI, or to report a failure exactly as virsh would.
func Probe(ctx context.Context, uri string, mode Mode) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", &Error{URI: uri, Err: err}
	}
	registryMu.RLock()
	p := prober
	registryMu.RUnlock()
	if p == nil {
		return "", &Error{URI: uri, Class: ErrUnsupportedURI,
			Msg: "no libvirt-backed driver is registered (import github.com/vmoments/vmoments/driver/qemu or driver/test)"}
	}
	return p(ctx, uri, mode)
}

// Open opens a driver for uri, chosen by the URI's scheme among the registered drivers (import
// driver/qemu and driver/test for their side effect). The empty URI is libvirt's default, which
// [Probe] resolves first. An unknown scheme fails with [ErrUnsupportedURI]; a canceled ctx with
// ctx's error.
func Open(ctx context.Context, uri string, mode Mode) (Driver, error) {
	if err := ctx.Err(); err != nil {
		return nil, &Error{URI: uri, Err: err}
	}
	if uri == "" {
		resolved, err := Probe(ctx, "", mode)
		if err != nil {
			return nil, err
		}
		uri = resolved
	}
	u, err := url.Parse(uri)
	if err != nil {
		return nil, &Error{URI: uri, Class: ErrUnsupportedURI, Msg: fmt.Sprintf("invalid URI %q: %v", uri, err), Err: err}
	}
	scheme := strings.ToLower(u.Scheme)
	registryMu.RLock()
	open := registry[scheme]
	registryMu.RUnlock()
	if open == nil {
		if scheme == "" {
			return nil, &Error{URI: uri, Class: ErrUnsupportedURI,
				Msg: fmt.Sprintf("URI %q has no scheme (want e.g. qemu:///system or test:///default)", uri)}
		}
		return nil, &Error{URI: uri, Class: ErrUnsupportedURI,
			Msg: fmt.Sprintf("no driver for URI scheme %q (registered: %s; import github.com/vmoments/vmoments/driver/qemu and driver/test)",
				scheme, strings.Join(Schemes(), ", "))}
	}
	return open(ctx, uri, mode)
}
