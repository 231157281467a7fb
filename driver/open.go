package driver

import (
	"context"
	"fmt"
	"net/url"
	"sort"
	"strings"
	"sync"
)

// OpenFunc opens a driver for a URI; drivers register one with [Register].
type OpenFunc func(ctx context.Context, uri string, readOnly bool) (Driver, error)

var (
	registryMu sync.RWMutex
	registry   = map[string]OpenFunc{}
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

// Open opens a driver for uri, chosen by the URI's scheme among the registered drivers (import
// driver/qemu and driver/test for their side effect). With readOnly the driver reads through
// read-only libvirt connections and refuses changes.
func Open(ctx context.Context, uri string, readOnly bool) (Driver, error) {
	u, err := url.Parse(uri)
	if err != nil {
		return nil, &Error{URI: uri, Msg: fmt.Sprintf("invalid URI %q: %v", uri, err), Err: err}
	}
	scheme := strings.ToLower(u.Scheme)
	registryMu.RLock()
	open := registry[scheme]
	registryMu.RUnlock()
	if open == nil {
		if scheme == "" {
			return nil, &Error{URI: uri, Msg: fmt.Sprintf("URI %q has no scheme (want e.g. qemu:///system or test:///default)", uri)}
		}
		return nil, &Error{URI: uri, Msg: fmt.Sprintf("no driver for URI scheme %q (registered: %s; import github.com/vmoments/vmoments/driver/qemu and driver/test)",
			scheme, strings.Join(Schemes(), ", "))}
	}
	return open(ctx, uri, readOnly)
}
