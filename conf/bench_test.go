package conf

import (
	"os"
	"testing"

	"libvirt.org/go/libvirtxml"
)

// benchDoc is a snapshot as libvirt's QEMU driver stores it: an external disk-only snapshot of a
// pc machine with two qcow2 disks, a network interface, a serial console and <active> after the
// embedded <domain> (2.9 KB).
func benchDoc(b *testing.B) []byte {
	b.Helper()
	data, err := os.ReadFile("testdata/bench/snapshot-pc.xml")
	if err != nil {
		b.Fatal(err)
	}
	return data
}

// BenchmarkParseFast is the list fast path (docs/design.md §5).
func BenchmarkParseFast(b *testing.B) {
	data := benchDoc(b)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParseFast(Snapshot, data); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkUnmarshalFull is what the fast path avoids: libvirtxml's full Unmarshal of the same
// document, domain included.
func BenchmarkUnmarshalFull(b *testing.B) {
	doc := string(benchDoc(b))
	b.SetBytes(int64(len(doc)))
	b.ReportAllocs()
	for b.Loop() {
		var s libvirtxml.DomainSnapshot
		if err := s.Unmarshal(doc); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkParseSnapshot is the full parser with libvirt's checks (it tokenizes the domain
// but does not build it).
func BenchmarkParseSnapshot(b *testing.B) {
	data := benchDoc(b)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParseSnapshot(data, ParseRedefine); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkFormat formats a definition read from libvirt back to libvirt's bytes.
func BenchmarkFormat(b *testing.B) {
	d, err := ParseFast(Snapshot, benchDoc(b))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := d.Format(); err != nil {
			b.Fatal(err)
		}
	}
}
