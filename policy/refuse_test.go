package policy

import (
	"fmt"
	"math/rand/v2"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vmoments/vmoments/conf"
	"github.com/vmoments/vmoments/momentlist"
)

// TestRefusals: the deletes libvirt 9.0 refuses up front are kept with libvirt's words, judged
// on the tree as it is at each step.
func TestRefusals(t *testing.T) {
	utc := time.UTC
	now := at(t, utc, "2030-01-01 00:00")
	both := func(mode string) []string { return []string{"vda:" + mode, "vdb:" + mode} }
	tests := []struct {
		name    string
		kind    conf.Kind
		current string
		ms      []mom
		policy  Policy
		how     Deletion
		want    string
	}{
		{
			name: "checkpoints of a domain that is not running", kind: conf.Checkpoint, current: "c3",
			ms:   []mom{{name: "c1", disks: both("bitmap")}, {name: "c2", parent: "c1", disks: both("bitmap")}, {name: "c3", parent: "c2", disks: both("bitmap")}},
			how:  Deletion{},
			want: "c3: last 1/1; current; current for vda, vdb\nc2: libvirt refuses: cannot delete checkpoint for inactive domain\nc1: libvirt refuses: cannot delete checkpoint for inactive domain\norder: \n",
		},
		{
			name: "checkpoints of a running domain", kind: conf.Checkpoint, current: "c3",
			ms:   []mom{{name: "c1", disks: both("bitmap")}, {name: "c2", parent: "c1", disks: both("bitmap")}, {name: "c3", parent: "c2", disks: both("bitmap")}},
			how:  Deletion{Active: true},
			want: "c3: last 1/1; current; current for vda, vdb\nc2: delete\nc1: delete\norder: c2 c1\n",
		},
		{
			name: "checkpoints of a stopped domain, metadata only", kind: conf.Checkpoint, current: "c2",
			ms:   []mom{{name: "c1", disks: both("bitmap")}, {name: "c2", parent: "c1", disks: both("bitmap")}},
			how:  Deletion{MetadataOnly: true},
			want: "c2: last 1/1; current; current for vda, vdb\nc1: delete\norder: c1\n",
		},
		{
			// i1 <- e1 <- e2 (current): e1 goes after its internal parent i1, in a second pass.
			name: "an external snapshot waits for its internal parent", kind: conf.Snapshot, current: "e2",
			ms: []mom{{name: "i1", disks: both("internal")}, {name: "e1", parent: "i1", disks: both("external")},
				{name: "e2", parent: "e1", disks: both("external")}},
			how:  Deletion{Active: true},
			want: "e2: last 1/1; current; current for vda, vdb\ne1: delete\ni1: delete\norder: i1 e1\n",
		},
		{
			name: "an external snapshot under a kept internal one", kind: conf.Snapshot, current: "e2",
			ms: []mom{{name: "keep-i1", disks: both("internal")}, {name: "e1", parent: "keep-i1", disks: both("external")},
				{name: "e2", parent: "e1", disks: both("external")}},
			policy: Policy{Match: regexp.MustCompile(`^e`)},
			how:    Deletion{Active: true},
			want: "e2: last 1/1; current; current for vda, vdb\n" +
				"e1: libvirt refuses: deleting external snapshot that has internal snapshot as parent not supported\n" +
				"keep-i1: not matched\norder: \n",
		},
		{
			// keep-i1 <- p (vdb external) <- e (vda external) <- f (current): e's vda was last
			// captured by keep-i1, an internal snapshot, although e's own parent is external.
			name: "the parent of each disk, not the parent", kind: conf.Snapshot, current: "f",
			ms: []mom{{name: "keep-i1", disks: both("internal")}, {name: "p", parent: "keep-i1", disks: []string{"vda:no", "vdb:external"}},
				{name: "e", parent: "p", disks: []string{"vda:external", "vdb:no"}}, {name: "f", parent: "e", disks: both("external")}},
			policy: Policy{Match: regexp.MustCompile(`^[a-z]$`)},
			how:    Deletion{},
			want: "f: last 1/1; current; current for vda, vdb\n" +
				"e: libvirt refuses: deleting external snapshot that has internal snapshot as parent not supported\n" +
				"p: libvirt refuses: deleting external snapshot that has internal snapshot as parent not supported\n" +
				"keep-i1: not matched\norder: \n",
		},
		{
			name: "external snapshots, metadata only", kind: conf.Snapshot, current: "e2",
			ms: []mom{{name: "keep-i1", disks: both("internal")}, {name: "e1", parent: "keep-i1", disks: both("external")},
				{name: "e2", parent: "e1", disks: both("external")}},
			policy: Policy{Match: regexp.MustCompile(`^e`)},
			how:    Deletion{MetadataOnly: true},
			want:   "e2: last 1/1; current; current for vda, vdb\ne1: delete\nkeep-i1: not matched\norder: e1\n",
		},
		{
			name: "a driver without disk work deletes checkpoints of a shut-off domain", kind: conf.Checkpoint, current: "c2",
			ms:   []mom{{name: "c1", disks: both("bitmap")}, {name: "c2", parent: "c1", disks: both("bitmap")}},
			how:  Deletion{NoDiskWork: true},
			want: "c2: last 1/1; current; current for vda, vdb\nc1: delete\norder: c1\n",
		},
		{
			name: "a driver without disk work deletes an external snapshot with an internal parent", kind: conf.Snapshot, current: "e2",
			ms: []mom{{name: "i1", disks: both("internal")}, {name: "e1", parent: "i1", disks: both("external")},
				{name: "e2", parent: "e1", disks: both("external")}},
			policy: Policy{Match: regexp.MustCompile(`^e`)},
			how:    Deletion{NoDiskWork: true},
			want:   "e2: last 1/1; current; current for vda, vdb\ne1: delete\ni1: not matched\norder: e1\n",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for i := range tc.ms {
				tc.ms[i].created = at(t, utc, "2025-01-01 00:00").Add(time.Duration(i) * time.Hour)
			}
			p := tc.policy
			p.Last, p.Location = 1, utc
			l := build(t, tc.kind, tc.current, tc.ms)
			got := summary(mustPlan(t, l, p, now, tc.how))
			if got != tc.want {
				t.Errorf("plan:\n%s\nwant:\n%s", got, tc.want)
			}
		})
	}
}

// snapshotXML is a redefinable snapshot whose embedded <domain> has vda and vdb on the images
// given.
func snapshotXML(name, parent, vda, vdb string, created int64) string {
	p := ""
	if parent != "" {
		p = "<parent><name>" + parent + "</name></parent>"
	}
	return fmt.Sprintf(`<domainsnapshot><name>%s</name><state>running</state>%s<creationTime>%d</creationTime>
<memory snapshot='internal'/><disks><disk name='vda' snapshot='internal'/><disk name='vdb' snapshot='internal'/></disks>
<domain type='qemu'><name>g</name><uuid>11111111-2222-3333-4444-555555555555</uuid><memory>65536</memory>
<os><type>hvm</type></os><devices>
<disk type='file' device='disk'><driver name='qemu' type='qcow2'/><source file='%s'/><target dev='vda' bus='virtio'/></disk>
<disk type='file' device='disk'><driver name='qemu' type='qcow2'/><source file='%s'/><target dev='vdb' bus='virtio'/></disk>
</devices></domain></domainsnapshot>`, name, p, created, vda, vdb)
}

// TestRefusalMovedDisk: an internal snapshot of a running domain whose disk has moved to an
// overlay since (an external snapshot) is refused; a stopped domain, or unknown images, are
// not judged.
func TestRefusalMovedDisk(t *testing.T) {
	var defs []*conf.Def
	for i, x := range []struct{ name, parent, vda string }{
		{"old", "", "/img/vda.qcow2"}, {"mid", "old", "/img/vda.qcow2"}, {"new", "mid", "/img/vda.ext"},
	} {
		d, err := conf.ParseSnapshot([]byte(snapshotXML(x.name, x.parent, x.vda, "/img/vdb.qcow2", 1700000000+int64(i))), conf.ParseRedefine)
		if err != nil {
			t.Fatal(err)
		}
		defs = append(defs, d)
	}
	l := momentlist.New(conf.Snapshot)
	if err := l.Load(defs, "new"); err != nil {
		t.Fatal(err)
	}
	sources := map[string]string{"vda": "/img/vda.ext", "vdb": "/img/vdb.qcow2"}
	p := Policy{Last: 1, Location: time.UTC}
	for _, tc := range []struct {
		how  Deletion
		want string
	}{
		{Deletion{Active: true, Sources: sources}, "new: last 1/1; current; current for vda, vdb\n" +
			"mid: libvirt refuses: disk image 'vda' for internal snapshot 'mid' is not the same as disk image currently used by VM\n" +
			"old: libvirt refuses: disk image 'vda' for internal snapshot 'old' is not the same as disk image currently used by VM\norder: \n"},
		{Deletion{Sources: sources}, "new: last 1/1; current; current for vda, vdb\nmid: delete\nold: delete\norder: mid old\n"},
		{Deletion{Active: true}, "new: last 1/1; current; current for vda, vdb\nmid: delete\nold: delete\norder: mid old\n"},
		{Deletion{Active: true, Sources: sources, MetadataOnly: true}, "new: last 1/1; current; current for vda, vdb\nmid: delete\nold: delete\norder: mid old\n"},
	} {
		got := summary(mustPlan(t, l, p, time.Now(), tc.how))
		if got != tc.want {
			t.Errorf("%+v: plan:\n%s\nwant:\n%s", tc.how, got, tc.want)
		}
	}
}

// libvirtRefuses is the external-parent rule written out apart from refusal: the answer a
// libvirt 9.0 QEMU driver gives to a plain delete of m in l (without METADATA_ONLY).
func libvirtRefuses(m *momentlist.Moment) bool {
	for _, ds := range m.Def().Disks {
		if ds.Mode != "external" {
			continue
		}
		for a := m.Parent(); a != nil; a = a.Parent() {
			i := slices.IndexFunc(a.Def().Disks, func(x conf.DiskSpec) bool { return x.Name == ds.Name })
			if i < 0 || a.Def().Disks[i].Mode == "no" {
				continue
			}
			if !a.Def().IsExternal() {
				return true
			}
			break
		}
	}
	return false
}

// TestPropertyRefusals: over seeded random snapshot trees of internal, external and partial
// external snapshots, deleting the plan's moments in the plan's order meets no refusal of
// libvirt's external-parent rule; every moment kept as refused is still refused once the others
// are gone (so the plan tried enough), pruning the result deletes nothing more, and what is
// deleted or refused is exactly what the rules alone do not keep.
func TestPropertyRefusals(t *testing.T) {
	var refusedTotal, deletedTotal, retried int
	for seed := range uint64(histories) {
		rng := rand.New(rand.NewPCG(seed, 0x726566757365))
		n := 1 + rng.IntN(60)
		ms := make([]mom, n)
		base := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
		for i := range ms {
			m := mom{name: fmt.Sprintf("s%02d", i), created: base.Add(time.Duration(i) * time.Hour)}
			if i > 0 {
				if rng.IntN(4) == 0 {
					m.parent = ms[rng.IntN(i)].name
				} else {
					m.parent = ms[i-1].name
				}
			}
			switch rng.IntN(5) {
			case 0, 1:
				m.disks = []string{"vda:internal", "vdb:internal"}
			case 2:
				m.disks = []string{"vda:external", "vdb:external"}
			case 3:
				m.disks = []string{"vda:external", "vdb:no"}
			default:
				m.disks = []string{"vda:no", "vdb:external"}
			}
			ms[i] = m
		}
		l := build(t, conf.Snapshot, ms[rng.IntN(n)].name, ms)
		p := Policy{Last: 1 + rng.IntN(3), Daily: rng.IntN(2), Location: time.UTC}
		if rng.IntN(3) == 0 {
			p.Match = regexp.MustCompile(`[02468]$`)
		}
		now := base.Add(1000 * time.Hour)
		res := mustPlan(t, l, p, now, Deletion{Active: rng.IntN(2) == 0})
		desc := fmt.Sprintf("seed %d:\n%s", seed, summary(res))

		sim := l.Clone()
		for _, name := range res.Delete {
			m := sim.Find(name)
			if libvirtRefuses(m) {
				t.Fatalf("%s\nlibvirt refuses %s at its step", desc, name)
			}
			if err := sim.Delete(m, momentlist.DeletePlain); err != nil {
				t.Fatal(err)
			}
		}
		var refused []string
		for _, d := range res.Moments {
			if d.Has(Refused) {
				refused = append(refused, d.Name())
				if !libvirtRefuses(sim.Find(d.Name())) {
					t.Fatalf("%s\n%s is kept as refused, but libvirt would delete it once the others are gone", desc, d.Name())
				}
				if len(d.Reasons) != 1 {
					t.Fatalf("%s\n%s is refused and kept for other reasons too: %v", desc, d.Name(), d.Reasons)
				}
			}
		}
		again := mustPlan(t, sim, p, now, res.Deletion)
		if len(again.Delete) > 0 {
			t.Fatalf("%s\npruning the result again deletes %v", desc, again.Delete)
		}
		free := mustPlan(t, l, p, now, Deletion{MetadataOnly: true})
		if got, want := slices.Sorted(slices.Values(append(slices.Clone(res.Delete), refused...))), slices.Sorted(slices.Values(free.Delete)); !slices.Equal(got, want) {
			t.Fatalf("%s\ndeleted and refused %v, the rules alone delete %v", desc, got, want)
		}
		// A delete placed after a moment that comes later in post-order was retried.
		post := postOrder(l)
		pos := map[string]int{}
		for i, m := range post {
			pos[m.Name()] = i
		}
		for i := 1; i < len(res.Delete); i++ {
			if pos[res.Delete[i]] < pos[res.Delete[i-1]] {
				retried++
				break
			}
		}
		refusedTotal += len(refused)
		deletedTotal += len(res.Delete)
	}
	if retried == 0 || refusedTotal == 0 {
		t.Fatalf("the histories never exercised a retry (%d) or a refusal (%d)", retried, refusedTotal)
	}
	t.Logf("%d snapshot trees: %d deleted, %d kept as refused; %d plans needed a second pass", histories, deletedTotal, refusedTotal, retried)
}

// TestDeleteOrderLeavesFirst: every moment to delete comes after each moment of its subtree
// that goes too.
func TestDeleteOrderLeavesFirst(t *testing.T) {
	utc := time.UTC
	// r -> {a -> {a1, a2 -> a21}, b}, current b.
	ms := []mom{{name: "r"}, {name: "a", parent: "r"}, {name: "a1", parent: "a"}, {name: "a2", parent: "a"},
		{name: "a21", parent: "a2"}, {name: "b", parent: "r"}}
	for i := range ms {
		ms[i].created = at(t, utc, "2025-01-01 00:00").Add(time.Duration(i) * time.Minute)
		ms[i].disks = []string{"vda:internal"}
	}
	l := build(t, conf.Snapshot, "b", ms)
	res := mustPlan(t, l, Policy{Last: 1, Location: utc}, at(t, utc, "2026-01-01 00:00"), Deletion{})
	pos := map[string]int{}
	for i, n := range res.Delete {
		pos[n] = i
	}
	if len(res.Delete) != 5 {
		t.Fatalf("deletes %v, want every moment but b", res.Delete)
	}
	for _, m := range l.All() {
		for p := m.Parent(); p != nil; p = p.Parent() {
			if _, ok := pos[m.Name()]; ok && pos[p.Name()] < pos[m.Name()] {
				t.Errorf("order %s: %s before its descendant %s", strings.Join(res.Delete, " "), p.Name(), m.Name())
			}
		}
	}
}
