//go:build integration

package conf

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// TestFormatValidatesAgainstLibvirtSchema: what Format writes — for the real corpus with
// changed fields, and for definitions made in code — is valid for libvirt's own schemas
// (domainsnapshot.rng, domaincheckpoint.rng), checked with virt-xml-validate from
// libvirt-clients. It needs no daemon but libvirt's tools, hence the integration tag.
func TestFormatValidatesAgainstLibvirtSchema(t *testing.T) {
	if _, err := exec.LookPath("virt-xml-validate"); err != nil {
		t.Fatalf("virt-xml-validate (libvirt-clients) is required: %v", err)
	}
	created := time.Unix(1700000000, 0).UTC()
	defs := []*Def{
		{Kind: Snapshot, Name: "s1", Description: "a <description> & 'quotes'\t", Parent: "s0", Created: created, HasCreated: true,
			State: "disk-snapshot", Memory: MemorySpec{Mode: "no"}, Disks: []DiskSpec{
				{Name: "vda", Mode: "external", Source: "/images/a b's.qcow2", DriverType: "qcow2"},
				{Name: "vdb", Mode: "no"}, {Name: "sdc", Mode: "external", Source: "/dev/sdc", SourceType: "block"}}},
		{Kind: Snapshot, Name: "m", Created: created, HasCreated: true, State: "running", Memory: MemorySpec{Mode: "external", File: "/save/m"}},
		{Kind: Checkpoint, Name: "c2", Parent: "c1", Created: created, HasCreated: true,
			Disks: []DiskSpec{{Name: "vda", Mode: "bitmap", Bitmap: "c2"}, {Name: "vdb", Mode: "no"}}},
	}
	for path, data := range corpus(t) {
		d, err := Parse(data, ParseRedefine)
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		d.Description = "changed & re-exported"
		if len(d.Disks) > 0 && d.Disks[0].Mode == "bitmap" {
			d.Disks[0].Bitmap = "renamed"
		}
		defs = append(defs, d)
	}
	dir := t.TempDir()
	for i, d := range defs {
		out, err := d.Format()
		if err != nil {
			t.Fatal(err)
		}
		file := filepath.Join(dir, "doc.xml")
		if err := os.WriteFile(file, out, 0o644); err != nil {
			t.Fatal(err)
		}
		if msg, err := exec.Command("virt-xml-validate", file, rootNames[d.Kind]).CombinedOutput(); err != nil {
			t.Errorf("definition %d (%s '%s'): %v\n%s\n%s", i, d.Kind, d.Name, err, msg, out)
		}
	}
}
