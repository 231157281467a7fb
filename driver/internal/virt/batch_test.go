package virt

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vmoments/vmoments/conf"
	"github.com/vmoments/vmoments/driver"
	"github.com/vmoments/vmoments/driver/drivertest"
	"github.com/vmoments/vmoments/driver/internal/load"
)

// listCountingSource counts the name listings at domain level (from ""): one per refresh.
type listCountingSource struct {
	load.Source
	n *atomic.Int64
}

func (s listCountingSource) List(ctx context.Context, from string, flags uint32) ([]string, error) {
	if from == "" {
		s.n.Add(1)
	}
	return s.Source.List(ctx, from, flags)
}

func openCounting(t *testing.T) (*Driver, *Domain, *atomic.Int64) {
	t.Helper()
	var n atomic.Int64
	drv, err := Open(context.Background(), "test:///default", driver.ReadWrite, Options{Single: true,
		wrapSource: func(s load.Source) load.Source { return listCountingSource{Source: s, n: &n} }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { drv.Close() })
	dom, err := drv.LookupDomain(context.Background(), "test")
	if err != nil {
		t.Fatal(err)
	}
	_, h, err := dom.handle(false)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Free() // the call's own reference (domainHandle): kept, it keeps test:///default's state alive
	if domainXML, err = h.GetXMLDesc(0); err != nil {
		t.Fatal(err)
	}
	return drv, dom, &n
}

// domainXML is the test domain's definition, which a redefined snapshot embeds.
var domainXML string

func redefXML(name, parent string) string {
	p := ""
	if parent != "" {
		p = "<parent><name>" + parent + "</name></parent>"
	}
	return fmt.Sprintf("<domainsnapshot><name>%s</name>%s<state>running</state><creationTime>%d</creationTime>%s</domainsnapshot>",
		name, p, 1700000000+len(name), domainXML)
}

// TestBatchRefreshesOnce: 60 redefinitions, a SetCurrent, a delete and a revert in one batch
// list libvirt's names once (at the start) where the same changes outside a batch list them
// once each; the batch's reads see its own changes; afterwards the list equals libvirt's
// (drivertest.CheckState) and a fresh load; and the batch handle is closed.
func TestBatchRefreshesOnce(t *testing.T) {
	ctx := context.Background()
	const n = 60
	drv, dom, lists := openCounting(t)
	if _, err := dom.List(ctx, conf.Snapshot, "", 0); err != nil {
		t.Fatal(err)
	}
	lists.Store(0)
	var kept driver.Domain
	err := driver.Batch(ctx, dom, conf.Snapshot, 0, func(b driver.Domain) error {
		kept = b
		parent := ""
		for i := range n {
			name := fmt.Sprintf("b%02d", i)
			if i%10 == 5 {
				parent = "b00" // a branch
			}
			if _, err := b.CreateSnapshot(ctx, redefXML(name, parent), driver.SnapshotCreateRedefine); err != nil {
				return err
			}
			parent = name
		}
		// The batch's own reads see its changes without asking libvirt.
		if d, err := b.Def(ctx, conf.Snapshot, "b42"); err != nil || d.Parent != "b41" {
			return fmt.Errorf("Def in the batch: %v, %v", d, err)
		}
		if err := b.SetCurrent(ctx, "b30"); err != nil {
			return err
		}
		if cur, _, err := b.Current(ctx, conf.Snapshot); err != nil || cur == nil || cur.Name() != "b30" {
			return fmt.Errorf("Current in the batch: %v, %v", cur, err)
		}
		if err := b.Delete(ctx, conf.Snapshot, "b59", 0); err != nil {
			return err
		}
		if err := b.Revert(ctx, "b20", 0); err != nil {
			return err
		}
		l, err := b.Moments(ctx, conf.Snapshot)
		if err != nil || l.Len() != n-1 || l.Find("b59") != nil {
			return fmt.Errorf("Moments in the batch: %d moments, %v", l.Len(), err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := lists.Load(); got != 1 {
		t.Errorf("the batch listed libvirt's names %d times, want 1", got)
	}
	if _, err := kept.List(ctx, conf.Snapshot, "", 0); !errors.Is(err, driver.ErrClosed) {
		t.Errorf("the batch's handle after the batch: %v, want ErrClosed", err)
	}
	cur, _, err := dom.Current(ctx, conf.Snapshot)
	if err != nil || cur == nil || cur.Name() != "b20" {
		t.Errorf("current after the batch %v (%v), want b20", cur, err)
	}
	drivertest.CheckState(t, drv, dom, conf.Snapshot, "")

	// The same kind of changes outside a batch: one listing each.
	lists.Store(0)
	for i := range 10 {
		if _, err := dom.CreateSnapshot(ctx, redefXML(fmt.Sprintf("u%d", i), "b20"), driver.SnapshotCreateRedefine); err != nil {
			t.Fatal(err)
		}
	}
	if got := lists.Load(); got != 10 {
		t.Errorf("10 changes outside a batch listed the names %d times, want 10", got)
	}
	drivertest.CheckState(t, drv, dom, conf.Snapshot, "")
}

// TestBatchFailureKeepsWhatHappened: a change libvirt refuses in the middle of a batch ends
// fn with libvirt's error; what happened before it is in the published list.
func TestBatchFailureKeepsWhatHappened(t *testing.T) {
	ctx := context.Background()
	drv, dom, _ := openCounting(t)
	err := driver.Batch(ctx, dom, conf.Snapshot, 0, func(b driver.Domain) error {
		for _, s := range [][2]string{{"f1", ""}, {"f2", "f1"}, {"f3", "missing"}, {"f4", "f2"}} {
			if _, err := b.CreateSnapshot(ctx, redefXML(s[0], s[1]), driver.SnapshotCreateRedefine); err != nil {
				return err
			}
		}
		return nil
	})
	var de *driver.Error
	if !errors.As(err, &de) || de.Moment != "f3" {
		t.Fatalf("batch: %v, want libvirt's refusal of f3", err)
	}
	ms, err := dom.List(ctx, conf.Snapshot, "", 0)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, m := range ms {
		got = append(got, m.Name())
	}
	slices.Sort(got)
	if !slices.Equal(got, []string{"f1", "f2"}) {
		t.Errorf("after the failed batch: %v, want f1 f2", got)
	}
	drivertest.CheckState(t, drv, dom, conf.Snapshot, "")
}

// TestBatchHoldsTheKind: another goroutine's read of the batch's kind waits for the batch to
// end and then sees all of it; the other kind is not held; a batch of the other kind inside
// works, and so does a batch of the same kind inside (it is the same batch).
func TestBatchHoldsTheKind(t *testing.T) {
	ctx := context.Background()
	_, dom, _ := openCounting(t)
	var wg sync.WaitGroup
	var seen int
	err := driver.Batch(ctx, dom, conf.Snapshot, 0, func(b driver.Domain) error {
		if _, err := b.CreateSnapshot(ctx, redefXML("h1", ""), driver.SnapshotCreateRedefine); err != nil {
			return err
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			ms, err := dom.List(ctx, conf.Snapshot, "", 0)
			if err != nil {
				t.Error(err)
			}
			seen = len(ms)
		}()
		time.Sleep(50 * time.Millisecond)
		if _, err := dom.List(ctx, conf.Checkpoint, "", 0); err != nil {
			return fmt.Errorf("the other kind on the domain: %w", err)
		}
		if err := driver.Batch(ctx, b, conf.Checkpoint, 0, func(c driver.Domain) error {
			if _, err := c.List(ctx, conf.Checkpoint, "", 0); err != nil {
				return err
			}
			_, err := c.CreateSnapshot(ctx, redefXML("h2", "h1"), driver.SnapshotCreateRedefine)
			return err
		}); err != nil {
			return err
		}
		return driver.Batch(ctx, b, conf.Snapshot, 0, func(c driver.Domain) error {
			_, err := c.CreateSnapshot(ctx, redefXML("h3", "h2"), driver.SnapshotCreateRedefine)
			return err
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	if seen != 3 {
		t.Errorf("the reader waiting for the batch saw %d snapshots, want 3", seen)
	}
}

// TestBatchNoReadBack: with BatchNoReadBack a redefinition's definition comes from the XML
// passed, without raw text (so a SECURE definition is never served as libvirt's); the list is
// still libvirt's (CheckState) and XML asks libvirt.
func TestBatchNoReadBack(t *testing.T) {
	ctx := context.Background()
	drv, dom, _ := openCounting(t)
	err := driver.Batch(ctx, dom, conf.Snapshot, driver.BatchNoReadBack, func(b driver.Domain) error {
		for i, p := range []string{"", "n0", "n1", "n0"} {
			if _, err := b.CreateSnapshot(ctx, redefXML(fmt.Sprintf("n%d", i), p), driver.SnapshotCreateRedefine); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	d, err := dom.Def(ctx, conf.Snapshot, "n3")
	if err != nil || d.Parent != "n0" || d.Raw() != nil {
		t.Fatalf("n3: %+v, raw %d bytes, %v", d, len(d.Raw()), err)
	}
	if x, err := dom.XML(ctx, conf.Snapshot, "n3", 0); err != nil || !strings.Contains(x, "<name>n3</name>") {
		t.Errorf("XML: %v", err)
	}
	drivertest.CheckState(t, drv, dom, conf.Snapshot, "")
}
