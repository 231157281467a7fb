package conf

import (
	"bytes"
	"os"
	"strings"
	"testing"
	"time"
)

// TestFormatRoundTrip: definitions made in code (no raw XML) format to XML that parses back to
// the same definition, in the mode they are valid in.
func TestFormatRoundTrip(t *testing.T) {
	created := time.Unix(1700000000, 0).UTC()
	tests := []struct {
		name string
		mode ParseMode
		d    Def
	}{
		{"empty new snapshot", ParseNew, Def{Kind: Snapshot}},
		{"empty new checkpoint", ParseNew, Def{Kind: Checkpoint}},
		{"full snapshot", ParseRedefine, Def{Kind: Snapshot, Name: "s1", Description: "a\ndescription <with> & 'quotes' \"too\"\t",
			Parent: "s0", Created: created, HasCreated: true, State: "disk-snapshot", Memory: MemorySpec{Mode: "no"},
			Disks: []DiskSpec{
				{Name: "vda", Mode: "external", Source: "/images/a b's.qcow2", DriverType: "qcow2"},
				{Name: "vdb", Mode: "no"},
				{Name: "sdc", Mode: "external", Source: "/dev/sdc", SourceType: "block"},
				{Name: "vdn", Mode: "external", Source: "pool/img", SourceType: "network"},
				{Name: "vdm", Mode: "manual"},
			}, Active: ptr(true)}},
		{"external memory", ParseRedefine, Def{Kind: Snapshot, Name: "m", Created: created, HasCreated: true, State: "running",
			Memory: MemorySpec{Mode: "external", File: "/save/m\tx"}, Active: ptr(false)}},
		{"creationTime 0 is kept (libvirt would drop it)", ParseRedefine, Def{Kind: Snapshot, Name: "z", HasCreated: true, Created: time.Unix(0, 0).UTC(), State: "shutoff", Memory: MemorySpec{Mode: "no"}}},
		{"odd names", ParseRedefine, Def{Kind: Snapshot, Name: " -x\t\"q\"\r\n\\ * ünï 😀 ]]> &amp;", Parent: ".a/b", HasCreated: true, Created: created, State: "paused", Memory: MemorySpec{Mode: "internal"}}},
		{"checkpoint", ParseRedefine, Def{Kind: Checkpoint, Name: "c2", Description: "d", Parent: "c1", Created: created, HasCreated: true,
			Disks: []DiskSpec{{Name: "vda", Mode: "bitmap", Bitmap: "c2"}, {Name: "vdb", Mode: "no"}, {Name: "/images/c.qcow2", Mode: "bitmap"}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkRoundTrip(t, &tt.d, tt.mode)
			out, _ := tt.d.Format()
			if f, err := ParseFast(tt.d.Kind, out); tt.mode == ParseRedefine && (err != nil || !f.Equal(&tt.d)) {
				t.Errorf("ParseFast of Format output: %v %+v", err, f)
			}
		})
	}
}

// TestFormatKeepsRaw: what the fields do not model comes verbatim from the raw XML — the
// domains, the cookie, unchanged disks with attributes Def does not hold — while changed fields
// are written from the definition.
func TestFormatKeepsRaw(t *testing.T) {
	data, err := os.ReadFile("testdata/snapshot/qemu-file-ext-mem.xml")
	if err != nil {
		t.Fatal(err)
	}
	d, err := ParseFast(Snapshot, data)
	if err != nil {
		t.Fatal(err)
	}
	d.Parent = "new-parent"
	d.Description = "changed"
	d.Disks[1].Source = "/moved/vdb.qcow2"
	out, err := d.Format()
	if err != nil {
		t.Fatal(err)
	}
	for _, part := range []string{"domain", "inactiveDomain", "cookie"} {
		i, j := bytes.Index(data, []byte("<"+part+">")), bytes.Index(data, []byte("</"+part+">"))
		if i < 0 {
			i = bytes.Index(data, []byte("<"+part+" "))
		}
		if i < 0 || j < 0 || !bytes.Contains(out, data[i:j]) {
			t.Errorf("<%s> not kept verbatim", part)
		}
	}
	for _, want := range []string{"<name>new-parent</name>", "<description>changed</description>", "<source file='/moved/vdb.qcow2'/>", "<active>0</active>"} {
		if !bytes.Contains(out, []byte(want)) {
			t.Errorf("output lacks %s", want)
		}
	}
	back, err := ParseSnapshot(out, ParseRedefine)
	if err != nil || !back.Equal(d) {
		t.Errorf("round trip: %v\n%s", err, out)
	}

	// A checkpoint disk's size attribute (checkpoint-dumpxml --size) survives while the disk
	// is unchanged.
	data, err = os.ReadFile("testdata/checkpoint/qemu-c3-size.xml")
	if err != nil {
		t.Fatal(err)
	}
	c, err := ParseCheckpoint(data, ParseRedefine)
	if err != nil {
		t.Fatal(err)
	}
	out, _ = c.Format()
	if !bytes.Contains(out, []byte("size='0'")) {
		t.Error("unchanged disk lost its size attribute")
	}
	c.Disks[0].Bitmap = "other"
	out, _ = c.Format()
	if bytes.Contains(out, []byte("size='0'")) || !bytes.Contains(out, []byte("bitmap='other'")) {
		t.Errorf("changed disk not written from the definition:\n%s", out)
	}

	// HasDomain false leaves the domains out, as libvirt's NO_DOMAIN flag does.
	c.HasDomain = false
	out, _ = c.Format()
	if bytes.Contains(out, []byte("<domain ")) {
		t.Error("HasDomain false still wrote the domain")
	}
	checkRoundTrip(t, c, ParseRedefine)
}

func TestFormatErrors(t *testing.T) {
	tests := []struct {
		name string
		d    Def
		raw  string
		err  string
	}{
		{"domain without raw", Def{Kind: Snapshot, Name: "s", HasDomain: true}, "", "format snapshot 's': HasDomain is set but no <domain> is kept to write"},
		{"domain missing from raw", Def{Kind: Checkpoint, Name: "c", HasDomain: true}, "<domaincheckpoint/>", "format checkpoint 'c': HasDomain is set but no <domain> is kept to write"},
		{"control character", Def{Kind: Snapshot, Name: "a\x01"}, "", `format snapshot 'a` + "\x01" + `': name "a\x01" holds U+0001, which XML cannot carry`},
		{"invalid UTF-8", Def{Kind: Checkpoint, Disks: []DiskSpec{{Name: "vd\xff"}}}, "", `format checkpoint '': disk name "vd\xff" holds U+FFFD, which XML cannot carry`},
		{"unknown kind", Def{Kind: Kind(9)}, "", "format: unknown kind 9"},
		{"raw of the other kind", Def{Kind: Snapshot}, "<domaincheckpoint/>", "format snapshot: kept XML: root element is <domaincheckpoint>, not <domainsnapshot>"},
		{"broken raw", Def{Kind: Snapshot}, "<domainsnapshot><domain>", "format snapshot: kept XML: XML syntax error on line 1: unexpected EOF"},
		{"broken raw disks", Def{Kind: Snapshot}, "<domainsnapshot><disks><disk name='a'><source file='/x' index='y'/></disk></disks></domainsnapshot>", "format snapshot: kept XML: invalid disk 'a' in snapshot XML"},
		{"unterminated raw disks", Def{Kind: Snapshot}, "<domainsnapshot><disks>", "format snapshot: kept XML: XML syntax error on line 1: unexpected EOF"},
		{"empty raw", Def{Kind: Snapshot}, " ", "format snapshot: kept XML: snapshot XML has no root element"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.raw != "" {
				tt.d.SetRaw([]byte(tt.raw))
			}
			out, err := tt.d.Format()
			if err == nil || !strings.HasPrefix(err.Error(), tt.err) {
				t.Errorf("Format = %q, %v; want error %q", out, err, tt.err)
			}
		})
	}
}

// TestFormatRawNamespaces: namespace declarations of the raw root survive, so prefixed
// elements in a kept domain stay bound.
func TestFormatRawNamespaces(t *testing.T) {
	raw := `<domainsnapshot xmlns:q="urn:q" other='x'><name>s</name><domain type='qemu'><q:x/></domain></domainsnapshot>`
	d, err := ParseSnapshot([]byte(raw), ParseNew)
	if err != nil {
		t.Fatal(err)
	}
	out, err := d.Format()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(out, []byte("<domainsnapshot xmlns:q='urn:q'>")) || !bytes.Contains(out, []byte("<q:x/>")) {
		t.Errorf("namespaces lost:\n%s", out)
	}
	checkRoundTrip(t, d, ParseNew)
}
