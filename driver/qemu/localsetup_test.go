//go:build integration

package qemu_test

// Helpers of the tests of the local metadata source (local_test.go, localproperty_test.go,
// localdaemon_test.go). They are named lt* so that they stay apart from the helpers of the
// driver's other tests.

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"libvirt.org/go/libvirt"

	"github.com/vmoments/vmoments/conf"
	"github.com/vmoments/vmoments/driver"
	"github.com/vmoments/vmoments/driver/qemu"
	"github.com/vmoments/vmoments/momentlist"
)

// ltDomain defines a shut-off QEMU domain vmoments-test-local-PID-TAG on uri with two qcow2
// disks (vda, vdb), and a VNC password when vnc is set, and removes it with all its moment
// metadata when the test ends. It returns the name and the domain's XML (as libvirt gives it,
// without secrets) for embedding in redefined snapshots. It fails, never skips, without a
// daemon.
func ltDomain(t testing.TB, uri, tag string, vnc bool) (string, string) {
	t.Helper()
	conn, err := libvirt.NewConnect(uri)
	if err != nil {
		t.Fatalf("connect %s: %v (start a daemon with scripts/libvirtd-up)", uri, err)
	}
	dir, err := os.MkdirTemp("", "vmoments-local-")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o755); err != nil { // libvirtd reads the images
		t.Fatal(err)
	}
	for _, d := range []string{"vda", "vdb"} {
		if out, err := exec.Command("qemu-img", "create", "-q", "-f", "qcow2", filepath.Join(dir, d+".qcow2"), "16M").CombinedOutput(); err != nil {
			t.Fatalf("qemu-img: %v: %s", err, out)
		}
	}
	name := fmt.Sprintf("vmoments-test-local-%d-%s", os.Getpid(), tag)
	disk := func(dev string) string {
		return fmt.Sprintf(`<disk type='file' device='disk'><driver name='qemu' type='qcow2'/><source file='%s/%s.qcow2'/><target dev='%s' bus='virtio'/></disk>`, dir, dev, dev)
	}
	graphics := ""
	if vnc {
		graphics = "<graphics type='vnc' port='-1' passwd='" + ltSecret + "'/>"
	}
	dom, err := conn.DomainDefineXML(fmt.Sprintf(`<domain type='qemu'><name>%s</name><memory unit='MiB'>64</memory><vcpu>1</vcpu>
<os><type arch='x86_64'>hvm</type></os><devices>%s%s%s</devices></domain>`, name, disk("vda"), disk("vdb"), graphics))
	if err != nil {
		t.Fatalf("define %s: %v", name, err)
	}
	domXML, err := dom.GetXMLDesc(0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		dom.Destroy()
		if err := dom.UndefineFlags(libvirt.DOMAIN_UNDEFINE_SNAPSHOTS_METADATA | libvirt.DOMAIN_UNDEFINE_CHECKPOINTS_METADATA |
			libvirt.DOMAIN_UNDEFINE_MANAGED_SAVE | libvirt.DOMAIN_UNDEFINE_NVRAM); err != nil {
			t.Errorf("undefine %s: %v", name, err)
		}
		dom.Free()
		conn.Close()
		os.RemoveAll(dir)
	})
	return name, domXML
}

// ltSecret is the VNC password of ltDomain's domains with vnc: libvirt's API shows it only
// with XMLSecure on a read-write connection, libvirtd's files always hold it.
const ltSecret = "s3cretVN"

// ltOpen opens uri with mode and the domain name on it, closed when the test ends.
func ltOpen(t testing.TB, uri, name string, mode driver.Mode) (driver.Driver, driver.Domain) {
	t.Helper()
	drv, err := driver.Open(context.Background(), uri, mode)
	if err != nil {
		t.Fatalf("Open(%s): %v", uri, err)
	}
	t.Cleanup(func() { drv.Close() })
	dom, err := drv.Domain(context.Background(), name)
	if err != nil {
		t.Fatal(err)
	}
	return drv, dom
}

// ltVirsh runs virsh -c uri ARGS with extra environment and returns its output; a failure is
// an error carrying virsh's output.
func ltVirsh(uri string, env []string, args ...string) (string, error) {
	cmd := exec.Command("virsh", append([]string{"-q", "-c", uri}, args...)...)
	// virsh prefers VISUAL to EDITOR: a caller's EDITOR must win.
	cmd.Env = slices.DeleteFunc(os.Environ(), func(e string) bool { return strings.HasPrefix(e, "VISUAL=") })
	cmd.Env = append(cmd.Env, env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("virsh %s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return string(out), nil
}

func ltMustVirsh(t testing.TB, uri string, args ...string) string {
	t.Helper()
	out, err := ltVirsh(uri, nil, args...)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// ltSnapshotXML is a snapshot for redefinition (libvirt 9.0's QEMU driver wants the domain
// embedded).
func ltSnapshotXML(name, parent, description string, created int64, domXML string) string {
	p, d := "", ""
	if parent != "" {
		p = "<parent><name>" + parent + "</name></parent>"
	}
	if description != "" {
		d = "<description>" + description + "</description>"
	}
	return fmt.Sprintf("<domainsnapshot><name>%s</name>%s<state>shutoff</state>%s<creationTime>%d</creationTime><memory snapshot='no'/>"+
		"<disks><disk name='vda' snapshot='internal'/><disk name='vdb' snapshot='internal'/></disks>%s</domainsnapshot>", name, d, p, created, domXML)
}

// ltCheckpointXML is a checkpoint for redefinition, of vda and (with vdb) vdb.
func ltCheckpointXML(name, parent, description string, created int64, vdb bool) string {
	p, d := "", ""
	if parent != "" {
		p = "<parent><name>" + parent + "</name></parent>"
	}
	if description != "" {
		d = "<description>" + description + "</description>"
	}
	b := "no"
	if vdb {
		b = "bitmap"
	}
	return fmt.Sprintf("<domaincheckpoint><name>%s</name>%s%s<creationTime>%d</creationTime>"+
		"<disks><disk name='vda' checkpoint='bitmap' bitmap='%s'/><disk name='vdb' checkpoint='%s'/></disks></domaincheckpoint>", name, d, p, created, name, b)
}

// ltWriteFile writes content to a new file in dir and returns its path.
func ltWriteFile(t testing.TB, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// ltSource returns the qemu.Source of dom's kind or fails.
func ltSource(t testing.TB, dom driver.Reader, kind conf.Kind) qemu.Source {
	t.Helper()
	s, ok := qemu.SourceOf(dom, kind)
	if !ok {
		t.Fatalf("SourceOf(%s, %s): no source (not loaded?)", dom.Name(), kind)
	}
	return s
}

// ltWantFiles fails unless dom's last load or refresh of kind came from the metadata files.
func ltWantFiles(t testing.TB, dom driver.Reader, kind conf.Kind) qemu.Source {
	t.Helper()
	s := ltSource(t, dom, kind)
	if !s.Files {
		t.Fatalf("%s %ss were not read from the metadata files: %s", dom.Name(), kind, s.Fallback)
	}
	return s
}

// ltFilters are the filters the lists are compared with: every combination of libvirt's own
// list bits of kind, each also with Current, NoCurrent, PerDisk|Current and PerDisk|NoCurrent.
func ltFilters(kind conf.Kind) []momentlist.Filter {
	bits := momentlist.LibvirtBits(kind)
	var out []momentlist.Filter
	for combo := range 1 << len(bits) {
		var f momentlist.Filter
		for i, b := range bits {
			if combo&(1<<i) != 0 {
				f |= b
			}
		}
		for _, extra := range []momentlist.Filter{0, momentlist.Current, momentlist.NoCurrent,
			momentlist.PerDisk | momentlist.Current, momentlist.PerDisk | momentlist.NoCurrent} {
			out = append(out, f|extra)
		}
	}
	return out
}

// ltDiff says how two lists of the same kind differ ("" if they do not): the same moments with
// Equal definitions, the same parents and children, the same current moment and rule, and the
// same answer (as a set, in topological order where asked) to every filter of filters at
// domain level and below every moment. It returns the number of filter cases compared.
func ltDiff(got, want *momentlist.List, filters []momentlist.Filter) (string, int) {
	if got.Len() != want.Len() {
		return fmt.Sprintf("%d moments, want %d (%v vs %v)", got.Len(), want.Len(), ltNames(got.All()), ltNames(want.All())), 0
	}
	for _, w := range want.All() {
		g := got.Find(w.Name())
		if g == nil {
			return fmt.Sprintf("%q missing", w.Name()), 0
		}
		if !g.Def().Equal(w.Def()) {
			return fmt.Sprintf("%q: definition %+v, want %+v", w.Name(), *g.Def(), *w.Def()), 0
		}
		if ltName(g.Parent()) != ltName(w.Parent()) {
			return fmt.Sprintf("%q: parent %q, want %q", w.Name(), ltName(g.Parent()), ltName(w.Parent())), 0
		}
		if gk, wk := ltSorted(g.Children()), ltSorted(w.Children()); !slices.Equal(gk, wk) {
			return fmt.Sprintf("%q: children %v, want %v", w.Name(), gk, wk), 0
		}
	}
	if ltName(got.Current()) != ltName(want.Current()) || got.CurrentRule() != want.CurrentRule() {
		return fmt.Sprintf("current %q (%v), want %q (%v)", ltName(got.Current()), got.CurrentRule(), ltName(want.Current()), want.CurrentRule()), 0
	}
	n := 0
	froms := append([]*momentlist.Moment{nil}, want.All()...)
	for _, wf := range froms {
		var gf *momentlist.Moment
		if wf != nil {
			gf = got.Find(wf.Name())
		}
		for _, f := range filters {
			if wf != nil && f&^ltBelowBits != 0 {
				continue // below a moment, the tree filters; the others are checked at domain level
			}
			gs, gerr := got.Select(gf, f)
			ws, werr := want.Select(wf, f)
			n++
			if (gerr == nil) != (werr == nil) {
				return fmt.Sprintf("from %q filter %v: error %v, want %v", ltName(wf), f, gerr, werr), n
			}
			// libvirt leaves the order of siblings to its hash table: compare as sets, and a
			// topological answer must be topological.
			a, b := ltNames(gs), ltNames(ws)
			if !ltSameSet(a, b) || f&momentlist.Topological != 0 && !ltTopological(got, a) {
				return fmt.Sprintf("from %q filter %v: %v, want %v", ltName(wf), f, a, b), n
			}
		}
	}
	return "", n
}

// ltBelowBits are the filter bits ltDiff also tries below every moment.
const ltBelowBits = momentlist.Descendants | momentlist.Topological | momentlist.Leaves | momentlist.NoLeaves |
	momentlist.Current | momentlist.NoCurrent | momentlist.PerDisk

// ltTopological reports whether no name in order comes after one of its descendants in l.
func ltTopological(l *momentlist.List, order []string) bool {
	pos := map[string]int{}
	for i, n := range order {
		pos[n] = i
	}
	for i, n := range order {
		for p := l.Find(n).Parent(); p != nil; p = p.Parent() {
			if j, ok := pos[p.Name()]; ok && j > i {
				return false
			}
		}
	}
	return true
}

func ltSameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}

func ltName(m *momentlist.Moment) string {
	if m == nil {
		return ""
	}
	return m.Name()
}

func ltNames(ms []*momentlist.Moment) []string {
	out := make([]string, len(ms))
	for i, m := range ms {
		out[i] = m.Name()
	}
	return out
}

func ltSorted(ms []*momentlist.Moment) []string {
	out := ltNames(ms)
	slices.Sort(out)
	return out
}
