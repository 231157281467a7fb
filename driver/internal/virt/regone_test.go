package virt

import (
	"context"
	"testing"

	"github.com/vmoments/vmoments/conf"
	"github.com/vmoments/vmoments/driver"
	"github.com/vmoments/vmoments/momentlist"
)

// TestRefreshAfterDeleteElsewhere deletes a snapshot through another handle (someone else, to
// the first): the first handle's refresh must give the deleted moment's child the parent libvirt
// gave it and keep the current snapshot, as a fresh load does.
func TestRefreshAfterDeleteElsewhere(t *testing.T) {
	ctx := context.Background()
	drv, err := Open(ctx, "test:///default", driver.ReadWrite, Options{Single: true})
	if err != nil {
		t.Fatal(err)
	}
	defer drv.Close()
	mine, err := drv.LookupDomain(ctx, "test")
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"s1", "s2", "s3"} {
		if _, err := mine.CreateSnapshot(ctx, "<domainsnapshot><name>"+n+"</name></domainsnapshot>", 0); err != nil {
			t.Fatal(err)
		}
	}
	reader, err := drv.LookupDomain(ctx, "test")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := reader.Moments(ctx, conf.Snapshot); err != nil {
		t.Fatal(err)
	}
	if err := mine.Delete(ctx, conf.Snapshot, "s1", 0); err != nil {
		t.Fatal(err)
	}
	l, err := reader.Moments(ctx, conf.Snapshot)
	if err != nil {
		t.Fatal(err)
	}
	s2 := l.Find("s2")
	if s2 == nil || s2.Parent() != nil || s2.Def().Parent != "" {
		t.Errorf("s2 after s1's delete: %+v; want a root, as libvirt made it", s2)
	}
	if c := l.Current(); c == nil || c.Name() != "s3" || l.CurrentRule() == momentlist.CurrentRelationsBroken {
		t.Errorf("current after a delete elsewhere: %v (%v), want s3", c, l.CurrentRule())
	}
}
