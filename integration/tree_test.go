//go:build integration

package integration

import (
	"encoding/xml"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vmoments/vmoments/conf"
	"github.com/vmoments/vmoments/driver/qemu/qemutest"
)

// A tree is a generated moment tree, redefined into libvirt in one go: the way tools that
// migrate a domain restore its moments, and the only way to build thousands in seconds.
type tree struct {
	Snapshots bool // true: snapshots; false: checkpoints
	Nodes     []treeNode
	// Current is the snapshot redefined with CURRENT ("" for none, and for checkpoints).
	Current string
}

// treeNode is one moment of a tree. Nodes come parents first.
type treeNode struct {
	Name    string
	Parent  string // "" for a root
	Created time.Time
	// Snapshots: State is the <state>, Memory the <memory snapshot=...> mode.
	State, Memory string
	Disks         []qemutest.Disk
}

// treeShape steers the generator.
type treeShape struct {
	// N is the number of moments, Roots how many of them are roots (the first is always one).
	N, Roots int
	// Branch is the chance that a moment hangs under a random earlier moment rather than under
	// the one made just before it (which continues the chain, as successive creates do).
	Branch float64
	// Offline is the share of snapshots that are offline internal ones (state shutoff), like
	// nightly snapshots of a stopped guest; the rest get the mix of snapshotKind. 0 means the
	// mix for all.
	Offline float64
	// Seed makes the tree reproducible.
	Seed uint64
}

// oddNames are moment names that are valid in libvirt but trip careless XML or path handling.
var oddNames = []string{"with space", "amp&ersand", `quote'"s`, "ünïcødé", "<angle>", "dot.name"}

// genTree generates a tree of shape s. Snapshots cover every kind libvirt lists apart:
// shutoff and running and paused (internal, with memory for the online ones), disk-snapshot
// (external), external memory, and partial ones that leave a disk out; checkpoints cover both
// disks, one of them, or the other. creationTime grows with the index, parents before children.
func genTree(snapshots bool, s treeShape) tree {
	rng := rand.New(rand.NewPCG(s.Seed, 0x766d6f6d656e7473))
	base := time.Date(2026, 1, 1, 8, 0, 0, 0, time.UTC)
	tr := tree{Snapshots: snapshots, Nodes: make([]treeNode, 0, s.N)}
	// The roots are spread evenly, so each root's tree has about N/Roots moments.
	rootAt := map[int]bool{}
	for r := range max(1, min(s.Roots, s.N)) {
		rootAt[r*s.N/max(1, min(s.Roots, s.N))] = true
	}
	prefix := "c"
	if snapshots {
		prefix = "s"
	}
	for i := range s.N {
		n := treeNode{Name: fmt.Sprintf("%s%05d", prefix, i), Created: base.Add(time.Duration(i) * time.Minute)}
		if i%997 == 500 {
			n.Name = fmt.Sprintf("%s %d", oddNames[(i/997)%len(oddNames)], i)
		}
		switch {
		case rootAt[i]:
		case rng.Float64() < s.Branch:
			n.Parent = tr.Nodes[rng.IntN(i)].Name
		default:
			n.Parent = tr.Nodes[i-1].Name
		}
		if snapshots {
			if rng.Float64() < s.Offline {
				n.State, n.Memory, n.Disks = "shutoff", "no", both("internal")
			} else {
				n.State, n.Memory, n.Disks = snapshotKind(rng)
			}
		} else {
			n.Disks = checkpointKind(rng)
		}
		tr.Nodes = append(tr.Nodes, n)
	}
	if snapshots {
		// A current that is neither a root nor a leaf nor the newest: that is what reverts leave.
		tr.Current = tr.Nodes[s.N/3].Name
	}
	return tr
}

// snapshotKind picks a realistic state, memory and disk set for a redefined snapshot.
func snapshotKind(rng *rand.Rand) (state, memory string, disks []qemutest.Disk) {
	internal := both("internal")
	switch r := rng.IntN(100); {
	case r < 35: // offline internal
		return "shutoff", "no", internal
	case r < 55: // running guest with its memory
		return "running", "internal", internal
	case r < 62:
		return "paused", "internal", internal
	case r < 80: // external disk-only of a running guest
		return "disk-snapshot", "no", both("external")
	case r < 90: // partial: vdb left out
		return "disk-snapshot", "no", only("vda", "external", "no")
	case r < 95: // offline external, as libvirt records it (state shutoff)
		return "shutoff", "no", only("vda", "external", "no")
	default: // running with external memory
		return "running", "external", both("external")
	}
}

// checkpointKind picks which disks a redefined checkpoint covers.
func checkpointKind(rng *rand.Rand) []qemutest.Disk {
	switch r := rng.IntN(10); {
	case r < 6:
		return both("bitmap")
	case r < 8:
		return only("vda", "bitmap", "no")
	default:
		return only("vdb", "bitmap", "no")
	}
}

// redefineXML is the document that redefines node n; domainXML is the <domain> to embed
// (a real domain's, so the documents are as big as libvirt's own); dir holds the overlays.
func (tr tree) redefineXML(n treeNode, domainXML, dir string) string {
	var b strings.Builder
	root := "domaincheckpoint"
	if tr.Snapshots {
		root = "domainsnapshot"
	}
	fmt.Fprintf(&b, "<%s>\n  <name>%s</name>\n", root, escape(n.Name))
	fmt.Fprintf(&b, "  <description>generated moment %s</description>\n", escape(n.Name))
	if tr.Snapshots {
		fmt.Fprintf(&b, "  <state>%s</state>\n", n.State)
	}
	if n.Parent != "" {
		fmt.Fprintf(&b, "  <parent>\n    <name>%s</name>\n  </parent>\n", escape(n.Parent))
	}
	fmt.Fprintf(&b, "  <creationTime>%d</creationTime>\n", n.Created.Unix())
	if tr.Snapshots {
		if n.Memory == "external" {
			fmt.Fprintf(&b, "  <memory snapshot='external' file='%s'/>\n", escape(overlay(dir, "mem", n.Name)))
		} else {
			fmt.Fprintf(&b, "  <memory snapshot='%s'/>\n", n.Memory)
		}
	}
	b.WriteString("  <disks>\n")
	for _, d := range n.Disks {
		switch {
		case !tr.Snapshots && d.Mode == "bitmap":
			fmt.Fprintf(&b, "    <disk name='%s' checkpoint='bitmap' bitmap='%s'/>\n", d.Name, escape(n.Name))
		case !tr.Snapshots:
			fmt.Fprintf(&b, "    <disk name='%s' checkpoint='no'/>\n", d.Name)
		case d.Mode == "external":
			fmt.Fprintf(&b, "    <disk name='%s' snapshot='external' type='file'>\n      <driver type='qcow2'/>\n"+
				"      <source file='%s'/>\n    </disk>\n", d.Name, escape(overlay(dir, d.Name, n.Name)))
		default:
			fmt.Fprintf(&b, "    <disk name='%s' snapshot='%s'/>\n", d.Name, d.Mode)
		}
	}
	b.WriteString("  </disks>\n")
	b.WriteString(domainXML)
	fmt.Fprintf(&b, "</%s>\n", root)
	return b.String()
}

// escape returns s escaped for XML text and attribute values.
func escape(s string) string {
	var b strings.Builder
	xml.EscapeText(&b, []byte(s))
	return b.String()
}

// overlay is where an external snapshot's file of a disk (or "mem") would be.
func overlay(dir, disk, moment string) string {
	return filepath.Join(dir, disk+"."+strings.ReplaceAll(moment, "/", "_"))
}

// redefineConns is how many connections a redefinition of a generated tree uses: libvirtd
// serves each connection's calls one at a time.
const redefineConns = 4

// redefine redefines every node of tr on the guest (qemutest.Guest.Redefine, over
// redefineConns connections), each with the guest's own <domain> embedded; the tree's current
// snapshot gets VIR_DOMAIN_SNAPSHOT_CREATE_CURRENT.
func redefine(g *qemutest.Guest, tr tree) {
	g.Redefine(tr.kind(), tr.moments(g.XML(), g.Dir), redefineConns)
}

// kind says which kind of moments the tree holds.
func (tr tree) kind() conf.Kind {
	if tr.Snapshots {
		return conf.Snapshot
	}
	return conf.Checkpoint
}

// moments are the tree's redefinition documents, parents first (see redefineXML).
func (tr tree) moments(domainXML, dir string) []qemutest.Moment {
	ms := make([]qemutest.Moment, len(tr.Nodes))
	for i, n := range tr.Nodes {
		ms[i] = qemutest.Moment{Name: n.Name, Parent: n.Parent, XML: tr.redefineXML(n, domainXML, dir), Current: tr.Snapshots && n.Name == tr.Current}
	}
	return ms
}

// Relations returns the tree's parents and current in the form libvirt's are checked in.
func (tr tree) Relations() qemutest.Tree {
	r := qemutest.Tree{Parent: make(map[string]string, len(tr.Nodes)), Current: tr.Current}
	for _, n := range tr.Nodes {
		r.Parent[n.Name] = n.Parent
	}
	return r
}

// stats counts roots, leaves, branch points and the depth, for the logs.
func (tr tree) stats() string {
	children := map[string]int{}
	depth := map[string]int{}
	roots, maxDepth := 0, 0
	for _, n := range tr.Nodes {
		if n.Parent == "" {
			roots++
		} else {
			children[n.Parent]++
			depth[n.Name] = depth[n.Parent] + 1
			maxDepth = max(maxDepth, depth[n.Name])
		}
	}
	branches := 0
	for _, c := range children {
		if c > 1 {
			branches++
		}
	}
	return fmt.Sprintf("%d moments, %d roots, %d leaves, %d branch points, depth %d",
		len(tr.Nodes), roots, len(tr.Nodes)-len(children), branches, maxDepth)
}

// TestGenTree checks the generator itself: parents first, unique names, the asked shape.
func TestGenTree(t *testing.T) {
	for _, tc := range []struct {
		name      string
		snapshots bool
		shape     treeShape
	}{
		{"snapshots", true, treeShape{N: 1200, Roots: 3, Branch: 0.15, Seed: 1}},
		{"checkpoints", false, treeShape{N: 320, Roots: 2, Branch: 0.1, Seed: 2}},
		{"one", true, treeShape{N: 1, Roots: 1, Seed: 3}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tr := genTree(tc.snapshots, tc.shape)
			seen := map[string]bool{}
			roots := 0
			for i, n := range tr.Nodes {
				if seen[n.Name] {
					t.Fatalf("node %d: name %q twice", i, n.Name)
				}
				if n.Parent == "" {
					roots++
				} else if !seen[n.Parent] {
					t.Fatalf("node %d %q: parent %q does not come before it", i, n.Name, n.Parent)
				}
				seen[n.Name] = true
				if i > 0 && !n.Created.After(tr.Nodes[i-1].Created) {
					t.Fatalf("node %d %q: creationTime %v not after its predecessor's", i, n.Name, n.Created)
				}
			}
			if len(tr.Nodes) != tc.shape.N || roots != min(tc.shape.Roots, tc.shape.N) {
				t.Fatalf("got %d nodes, %d roots; want %d, %d", len(tr.Nodes), roots, tc.shape.N, tc.shape.Roots)
			}
			if tc.snapshots != (tr.Current != "") {
				t.Fatalf("current %q for snapshots=%v", tr.Current, tc.snapshots)
			}
			t.Log(tr.stats())
		})
	}
}
