package load

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/vmoments/vmoments/conf"
	"github.com/vmoments/vmoments/driver"
)

func TestFetch(t *testing.T) {
	moments := chain("s", 40, "", "shutoff", "running", "disk-snapshot")
	names := allNames(moments)
	connLost := &Classified{Class: ConnLost, Err: errors.New("Cannot recv data: Connection reset by peer")}
	tests := []struct {
		name     string
		workers  int
		gone     map[string]bool
		failOn   string
		wantGone []string
		wantErr  string
	}{
		{name: "one worker", workers: 1},
		{name: "five workers", workers: 5},
		{name: "more workers than names", workers: 100},
		{name: "gone ones skipped", workers: 5, gone: map[string]bool{"s3": true, "s17": true},
			wantGone: []string{"s17", "s3"}},
		{name: "error names the moment", workers: 5, failOn: "s22",
			wantErr: `snapshot "s22": Cannot recv data: Connection reset by peer`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := &fakeSource{kind: conf.Snapshot, limit: 1000, moments: moments, gone: tt.gone,
				failOn: tt.failOn, failErr: connLost}
			var mu sync.Mutex
			var calls, last, total int
			ctx := driver.WithProgress(context.Background(), func(fetched, tot int) {
				mu.Lock()
				defer mu.Unlock()
				calls++
				last = max(last, fetched)
				total = tot
			})
			defs, gone, err := Fetch(ctx, src, names, tt.workers)
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				if ClassOf(err) != ConnLost {
					t.Errorf("class of %v = %v, want ConnLost kept", err, ClassOf(err))
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(gone) != len(tt.wantGone) {
				t.Fatalf("gone = %v, want %v", gone, tt.wantGone)
			}
			for i := range gone {
				if gone[i] != tt.wantGone[i] {
					t.Errorf("gone = %v, want %v (in the order of names)", gone, tt.wantGone)
				}
			}
			want := 0
			for _, n := range names {
				if tt.gone[n] {
					continue
				}
				if want >= len(defs) {
					t.Fatalf("only %d defs", len(defs))
				}
				d := defs[want]
				m := src.byName(n)
				if d.Name != n || d.Parent != m.parent || d.State != m.state {
					t.Errorf("def %d = {%q parent %q state %q}, want {%q %q %q}", want, d.Name, d.Parent, d.State, n, m.parent, m.state)
				}
				want++
			}
			if len(defs) != want {
				t.Errorf("%d defs, want %d", len(defs), want)
			}
			for n, c := range src.fetched {
				if c != 1 {
					t.Errorf("%q fetched %d times", n, c)
				}
			}
			if total != len(names) || last != len(names) || calls != len(names)+1 {
				t.Errorf("progress: %d calls, last %d of %d; want %d calls ending %d of %d",
					calls, last, total, len(names)+1, len(names), len(names))
			}
		})
	}
}

func TestFetchCanceled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	src := &cancelingSource{fakeSource: fakeSource{kind: conf.Snapshot, limit: 1000, moments: chain("s", 200, "", "shutoff")},
		after: 10, cancel: cancel}
	_, _, err := Fetch(ctx, src, allNames(src.moments), 5)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	// Workers stop before their next fetch: at most one call in flight per worker after cancel.
	if n := len(src.fetched); n > 10+5 {
		t.Errorf("%d fetches after cancel at 10, want at most 15 (prompt stop)", n)
	}
}

// cancelingSource cancels the load after a number of fetches.
type cancelingSource struct {
	fakeSource
	after  int
	cancel func()
	n      int
	mu     sync.Mutex
}

func (c *cancelingSource) XML(ctx context.Context, worker int, name string) ([]byte, error) {
	c.mu.Lock()
	c.n++
	if c.n == c.after {
		c.cancel()
	}
	c.mu.Unlock()
	return c.fakeSource.XML(ctx, worker, name)
}
