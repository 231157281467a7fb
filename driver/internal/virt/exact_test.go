package virt

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/vmoments/vmoments/conf"
	"github.com/vmoments/vmoments/driver"
	"github.com/vmoments/vmoments/driver/internal/load"
)

// countingSource counts the XML fetches of the sources it wraps.
type countingSource struct {
	load.Source
	mu      *sync.Mutex
	fetched *[]string
}

func (c countingSource) XML(ctx context.Context, worker int, name string) ([]byte, error) {
	c.mu.Lock()
	*c.fetched = append(*c.fetched, name)
	c.mu.Unlock()
	return c.Source.XML(ctx, worker, name)
}

// TestTestDriverRefreshIsExact: on libvirt's test driver, a handle's refresh sees what another
// handle of the process redefined in place (a new parent, a description), fetching just that
// moment again; with nothing changed it fetches nothing.
func TestTestDriverRefreshIsExact(t *testing.T) {
	ctx := context.Background()
	var (
		mu      sync.Mutex
		fetched []string
	)
	drv, err := Open(ctx, "test:///default", driver.ReadWrite, Options{Single: true, wrapSource: func(s load.Source) load.Source {
		return countingSource{Source: s, mu: &mu, fetched: &fetched}
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer drv.Close()
	a, err := drv.LookupDomain(ctx, "test")
	if err != nil {
		t.Fatal(err)
	}
	b, err := drv.LookupDomain(ctx, "test")
	if err != nil {
		t.Fatal(err)
	}
	h, err := drv.read.conn.LookupDomainByName("test")
	if err != nil {
		t.Fatal(err)
	}
	domXML, err := h.GetXMLDesc(0)
	h.Free()
	if err != nil {
		t.Fatal(err)
	}
	redefine := func(dom *Domain, name, parent, desc string) {
		t.Helper()
		p := ""
		if parent != "" {
			p = "<parent><name>" + parent + "</name></parent>"
		}
		x := fmt.Sprintf("<domainsnapshot><name>%s</name><description>%s</description><state>running</state>%s<creationTime>1700000000</creationTime>%s</domainsnapshot>", name, desc, p, domXML)
		if _, err := dom.CreateSnapshot(ctx, x, driver.SnapshotCreateRedefine); err != nil {
			t.Fatal(err)
		}
	}
	for i, n := range []string{"x1", "x2", "x3"} {
		parent := ""
		if i > 0 {
			parent = fmt.Sprintf("x%d", i)
		}
		redefine(b, n, parent, "")
	}
	list := func(what string, want []string) {
		t.Helper()
		mu.Lock()
		fetched = nil
		mu.Unlock()
		if _, err := a.List(ctx, conf.Snapshot, "", 0); err != nil {
			t.Fatal(err)
		}
		mu.Lock()
		defer mu.Unlock()
		slices.Sort(fetched)
		if strings.Join(fetched, " ") != strings.Join(want, " ") {
			t.Errorf("%s: fetched %v, want %v", what, fetched, want)
		}
	}
	list("load", []string{"x1", "x2", "x3"})
	list("nothing changed", nil)
	redefine(b, "x3", "x1", "moved by b")
	list("after b redefined x3", []string{"x3"})
	def, err := a.Def(ctx, conf.Snapshot, "x3")
	if err != nil {
		t.Fatal(err)
	}
	if def.Parent != "x1" || def.Description != "moved by b" {
		t.Errorf("a serves x3 with parent %q, description %q; b redefined them to x1, %q", def.Parent, def.Description, "moved by b")
	}
	// a's own change keeps a in step: nothing fetched on the next read.
	redefine(a, "x2", "", "by a")
	list("after a's own change", nil)
	if def, _ := a.Def(ctx, conf.Snapshot, "x2"); def.Description != "by a" || def.Parent != "" {
		t.Errorf("a's own redefinition of x2: parent %q, description %q", def.Parent, def.Description)
	}
	// b, behind a's change, fetches what a touched.
	mu.Lock()
	fetched = nil
	mu.Unlock()
	if def, _ := b.Def(ctx, conf.Snapshot, "x2"); def.Description != "by a" {
		t.Errorf("b serves x2 with description %q after a redefined it", def.Description)
	}
}

// TestChangeLogBounds: a handle further behind than the log reaches fetches everything.
func TestChangeLogBounds(t *testing.T) {
	var l changeLog
	for i := range maxLog + 10 {
		l.record(conf.Snapshot, []string{fmt.Sprint(i)})
	}
	if _, _, ok := l.since(5, conf.Snapshot); ok {
		t.Error("since(5) answered although the log starts later")
	}
	now, touched, ok := l.since(uint64(maxLog+8), conf.Snapshot)
	if !ok || now != uint64(maxLog+10) || strings.Join(touched, " ") != fmt.Sprintf("%d %d", maxLog+8, maxLog+9) {
		t.Errorf("since(last-2) = %d %v %v", now, touched, ok)
	}
	if _, touched, ok := l.since(uint64(maxLog+8), conf.Checkpoint); !ok || len(touched) != 0 {
		t.Errorf("checkpoints touched: %v %v", touched, ok)
	}
}
