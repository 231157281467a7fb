package virt

import (
	"slices"
	"sync"

	"github.com/vmoments/vmoments/conf"
	"github.com/vmoments/vmoments/momentlist"
)

// changeLog records, for one URI of libvirt's test driver, which moments the changes made
// through vmoments in this process touched. The test driver's state lives in this process (and
// every driver of the process on test:///default shares it), so only this process changes it;
// a handle whose list was in step at some generation refreshes exactly by asking for the names
// (new and gone moments, the current snapshot) and fetching again the moments touched since.
// No file or API call says which moments another handle redefined in place; this log does.
type changeLog struct {
	mu      sync.Mutex
	gen     uint64
	entries []logEntry // the last maxLog changes, oldest first
}

type logEntry struct {
	gen   uint64
	kind  conf.Kind
	names []string
}

// maxLog bounds the log: a handle further behind fetches everything again.
const maxLog = 256

var changeLogs sync.Map // URI -> *changeLog

func changeLogOf(uri string) *changeLog {
	l, _ := changeLogs.LoadOrStore(uri, &changeLog{})
	return l.(*changeLog)
}

// record adds a change of the moments names of kind and returns its generation.
func (c *changeLog) record(kind conf.Kind, names []string) uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	c.entries = append(c.entries, logEntry{gen: c.gen, kind: kind, names: names})
	if len(c.entries) > maxLog {
		c.entries = slices.Delete(c.entries, 0, len(c.entries)-maxLog)
	}
	return c.gen
}

// since returns the current generation and the moments of kind touched by the changes after
// gen; ok is false when the log no longer reaches back that far.
func (c *changeLog) since(gen uint64, kind conf.Kind) (now uint64, touched []string, ok bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if gen == c.gen {
		return c.gen, nil, true
	}
	if len(c.entries) == 0 || c.entries[0].gen > gen+1 {
		return c.gen, nil, false
	}
	for _, e := range c.entries {
		if e.gen > gen && e.kind == kind {
			touched = append(touched, e.names...)
		}
	}
	return c.gen, touched, true
}

// touchedBy returns the moments of after whose definitions differ from (or are missing in)
// before: what a change did besides removing moments.
func touchedBy(before, after *momentlist.List) []string {
	var out []string
	for _, m := range after.All() {
		if o := before.Find(m.Name()); o == nil || !o.Def().Equal(m.Def()) {
			out = append(out, m.Name())
		}
	}
	return out
}

// changed records a change made through st's handle, from the list before to the list after:
// for a driver that keeps a change log, the handle's list stays in step unless another change
// came in between.
func (d *Driver) changed(st *kindState, kind conf.Kind, before, after *momentlist.List) {
	if d.log == nil {
		return
	}
	if n := d.log.record(kind, touchedBy(before, after)); st.synced == n-1 {
		st.synced = n
	}
}
