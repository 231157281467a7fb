package conf

import (
	"os"
	"strings"
	"sync"
	"testing"
)

// TestFull: the full libvirtxml document comes from the raw XML, once, for concurrent callers.
func TestFull(t *testing.T) {
	data, err := os.ReadFile("testdata/snapshot/qemu-file-run1.xml")
	if err != nil {
		t.Fatal(err)
	}
	d, err := ParseFast(Snapshot, data)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	got := make([]any, 8)
	for i := range got {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s, err := d.FullSnapshot()
			if err != nil {
				t.Error(err)
			}
			got[i] = s
		}()
	}
	wg.Wait()
	s, _ := d.FullSnapshot()
	for _, g := range got {
		if g != any(s) {
			t.Fatal("FullSnapshot parsed more than once")
		}
	}
	if s.Domain == nil || s.Domain.Name != "vmoments-test-conf" || s.InactiveDomain == nil || s.Cookie == nil || s.Active == nil {
		t.Errorf("full document incomplete: %+v", s)
	}
	if _, err := d.FullCheckpoint(); err == nil || err.Error() != "FullCheckpoint: snapshot 'run1' is not a checkpoint" {
		t.Errorf("FullCheckpoint of a snapshot: %v", err)
	}

	// SetRaw forgets the parsed document.
	d.SetRaw([]byte(`<domainsnapshot><name>other</name></domainsnapshot>`))
	if s2, err := d.FullSnapshot(); err != nil || s2.Name != "other" {
		t.Errorf("after SetRaw: %+v, %v", s2, err)
	}
	d.SetRaw([]byte(`<domainsnapshot><name>x</nam></domainsnapshot>`))
	if _, err := d.FullSnapshot(); err == nil || !strings.HasPrefix(err.Error(), "snapshot 'run1': full XML:") {
		t.Errorf("broken raw: %v", err)
	}

	// Checkpoints.
	data, _ = os.ReadFile("testdata/checkpoint/qemu-c3-size.xml")
	c, err := ParseFast(Checkpoint, data)
	if err != nil {
		t.Fatal(err)
	}
	cp, err := c.FullCheckpoint()
	if err != nil || cp.Domain == nil || cp.Disks.Disks[0].Size != 0 || cp.Disks.Disks[0].Bitmap != "c3" {
		t.Errorf("FullCheckpoint: %+v, %v", cp, err)
	}
	if _, err := c.FullSnapshot(); err == nil {
		t.Error("FullSnapshot of a checkpoint succeeded")
	}
	c.SetRaw([]byte("<domaincheckpoint><x></domaincheckpoint>"))
	if _, err := c.FullCheckpoint(); err == nil {
		t.Error("broken raw checkpoint parsed")
	}

	// Without raw XML the document is made from the fields.
	n := &Def{Kind: Checkpoint, Name: "c9", Disks: []DiskSpec{{Name: "vda", Mode: "bitmap"}}}
	if cp, err := n.FullCheckpoint(); err != nil || cp.Name != "c9" || cp.Disks.Disks[0].Checkpoint != "bitmap" {
		t.Errorf("FullCheckpoint without raw: %+v, %v", cp, err)
	}
	bad := &Def{Kind: Snapshot, HasDomain: true}
	if _, err := bad.FullSnapshot(); err == nil {
		t.Error("FullSnapshot of an unformattable definition succeeded")
	}
}
