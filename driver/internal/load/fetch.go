package load

import (
	"bytes"
	"context"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/vmoments/vmoments/conf"
	"github.com/vmoments/vmoments/driver"
)

// DefaultWorkers is the number of XML fetches kept in flight per connection: libvirtd serves at
// most max_client_requests (default 5) calls of one client at a time and queues the rest.
const DefaultWorkers = 5

// Fetch fetches and parses (conf.ParseFast) the XML of each named moment with workers fetches in
// flight, and returns the definitions in the order of names. A moment that is gone by the time
// its XML is asked for ([Gone]) is skipped and its name returned in gone. The first other error
// stops the fetch and is returned, naming the moment; so does a canceled ctx (between fetches:
// a call in flight finishes first). A [driver.ProgressFunc] in ctx is told of every fetch.
func Fetch(ctx context.Context, src Source, names []string, workers int) (defs []*conf.Def, gone []string, err error) {
	return FetchReusing(ctx, src, names, workers, nil)
}

// FetchReusing is Fetch where known returns, for a name, the definition a previous load parsed
// (or nil): when the XML fetched now is that definition's raw XML byte for byte, the definition
// is returned again instead of being parsed anew (an exact refresh that finds nothing changed
// parses nothing). The definitions returned are then shared with the caller's.
func FetchReusing(ctx context.Context, src Source, names []string, workers int, known func(name string) *conf.Def) (defs []*conf.Def, gone []string, err error) {
	if workers < 1 {
		workers = 1
	}
	if workers > len(names) {
		workers = len(names)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	kind := src.Kind()
	// got[i] stays nil for a moment that was gone: past the checks after wg.Wait, every name
	// was either fetched and parsed (a non-nil Def) or found gone.
	got := make([]*conf.Def, len(names))
	var (
		next     atomic.Int64
		errOnce  sync.Once
		firstErr error
		wg       sync.WaitGroup
	)
	progress := driver.ProgressFrom(ctx)
	var done atomic.Int64
	if progress != nil {
		progress(0, len(names))
	}
	fail := func(err error) {
		errOnce.Do(func() { firstErr = err; cancel() })
	}
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= len(names) {
					return
				}
				if ctx.Err() != nil {
					return
				}
				xml, err := src.XML(ctx, w, names[i])
				if err != nil {
					if ClassOf(err) == Gone {
						if progress != nil {
							progress(int(done.Add(1)), len(names))
						}
						continue
					}
					fail(&MomentError{Kind: kind, Name: names[i], Err: err})
					return
				}
				if known != nil {
					if old := known(names[i]); old != nil && old.Raw() != nil && bytes.Equal(old.Raw(), xml) {
						got[i] = old
						if progress != nil {
							progress(int(done.Add(1)), len(names))
						}
						continue
					}
				}
				def, err := conf.ParseFast(kind, xml)
				if err != nil {
					fail(&MomentError{Kind: kind, Name: names[i], Err: fmt.Errorf("parsing its XML: %w", err)})
					return
				}
				got[i] = def
				if progress != nil {
					progress(int(done.Add(1)), len(names))
				}
			}
		}()
	}
	wg.Wait()
	if firstErr != nil {
		return nil, nil, firstErr
	}
	if err := ctx.Err(); err != nil {
		return nil, nil, err
	}
	defs = make([]*conf.Def, 0, len(names))
	for i, d := range got {
		if d == nil {
			gone = append(gone, names[i])
			continue
		}
		defs = append(defs, d)
	}
	return defs, gone, nil
}

// MomentError is an error about one moment during a load.
type MomentError struct {
	Kind conf.Kind
	Name string
	Err  error
}

func (e *MomentError) Error() string { return fmt.Sprintf("%s %q: %v", e.Kind, e.Name, e.Err) }

// Unwrap returns the underlying error.
func (e *MomentError) Unwrap() error { return e.Err }
