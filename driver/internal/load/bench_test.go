package load

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/vmoments/vmoments/conf"
	"github.com/vmoments/vmoments/momentlist"
)

// xmlSource answers every XML fetch with a realistic document (an embedded <domain> of about
// 3 KB, as libvirt writes), so the benchmark measures vmoments' own cost of a load: the fetch
// machinery, the fast parse and momentlist's Load, without any RPC.
type xmlSource struct {
	fakeSource
	domain string
}

func (x *xmlSource) XML(ctx context.Context, worker int, name string) ([]byte, error) {
	m := x.byName(name)
	parent := ""
	if m.parent != "" {
		parent = "<parent><name>" + m.parent + "</name></parent>"
	}
	return []byte("<domainsnapshot>\n  <name>" + name + "</name>\n  <state>" + m.state + "</state>\n  " + parent +
		"\n  <creationTime>1700000000</creationTime>\n  <memory snapshot='no'/>\n  <disks>\n    <disk name='vda' snapshot='internal'/>\n" +
		"    <disk name='vdb' snapshot='internal'/>\n  </disks>\n" + x.domain + "</domainsnapshot>\n"), nil
}

func BenchmarkLoad2000(b *testing.B) {
	var dev strings.Builder
	for i := range 20 {
		fmt.Fprintf(&dev, "    <disk type='file' device='disk'><driver name='qemu' type='qcow2'/><source file='/var/lib/libvirt/images/d%d.qcow2'/><target dev='vd%c' bus='virtio'/></disk>\n", i, 'a'+i)
	}
	src := &xmlSource{
		fakeSource: fakeSource{kind: conf.Snapshot, limit: 16384, moments: chain("s", 2000, "", "shutoff", "running")},
		domain: "  <domain type='qemu'>\n    <name>guest</name>\n    <uuid>6695eb01-f6a4-8304-79aa-97f2502e193f</uuid>\n" +
			"    <memory unit='KiB'>65536</memory>\n    <devices>\n" + dev.String() + "    </devices>\n  </domain>\n",
	}
	ctx := context.Background()
	names := allNames(src.moments)
	b.ReportAllocs()
	for b.Loop() {
		defs, _, err := Fetch(ctx, src, names, DefaultWorkers)
		if err != nil {
			b.Fatal(err)
		}
		l := momentlist.New(conf.Snapshot)
		if err := l.Load(defs, ""); err != nil {
			b.Fatal(err)
		}
	}
}
