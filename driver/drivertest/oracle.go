package drivertest

import (
	"context"
	"encoding/xml"
	"fmt"
	"sort"
	"testing"

	"github.com/vmoments/vmoments/conf"
	"github.com/vmoments/vmoments/driver"
)

// Oracle is libvirt's own answer about the state a driver serves. For the test driver it must
// use the driver's own connection (a second connection would see a different state). The
// domains of the libvirt-backed drivers (driver/qemu, driver/test) implement it with libvirt's
// calls; those of driver/memory with the memory server's own lists, so that the suite runs
// without libvirt too (libvirt's answers then come from [Config.Reference]).
type Oracle interface {
	// NativeList is libvirt's ListAllSnapshots / ListAllCheckpoints (from "") or ListAllChildren
	// of from, with libvirt's own list flag numbers.
	NativeList(ctx context.Context, kind conf.Kind, from string, flags uint32) ([]string, error)
	// NativeCurrentSnapshot is libvirt's current snapshot (virDomainSnapshotCurrent), "" if none.
	NativeCurrentSnapshot(ctx context.Context) (string, error)
}

// OracleOf returns the Oracle of a domain of this module's drivers.
func OracleOf(d driver.Domain) (Oracle, error) {
	o, ok := d.(Oracle)
	if !ok {
		return nil, fmt.Errorf("drivertest: domain %q (%T) has no libvirt oracle (NativeList, NativeCurrentSnapshot)", d.Name(), d)
	}
	return o, nil
}

// source is where the suite reads libvirt's state: the oracle of a domain for lists and the
// current snapshot, and the same domain's XML of each moment (parents, disks). For a driver with
// libvirt behind it, it is the driver's own domain; for one without (a reference run, see
// [Config.Reference]), the domain of the reference driver that ran the same changes.
type source struct {
	o   Oracle
	dom driver.Domain
}

// sourceOf returns the source of dom, or fails t.
func sourceOf(t testing.TB, dom driver.Domain) source {
	t.Helper()
	o, err := OracleOf(dom)
	if err != nil {
		t.Fatal(err)
	}
	return source{o: o, dom: dom}
}

// truth is libvirt's state of one kind, read by the suite without momentlist: every name,
// each moment's parent and covered disks from the XML libvirt returns, and the current snapshot.
type truth struct {
	kind   conf.Kind
	names  []string // sorted
	parent map[string]string
	covers map[string]map[string]bool // moment -> disk -> captured
	// external says which snapshots are external (external memory or any external disk).
	external map[string]bool
	disks    []string            // every disk any moment mentions, sorted
	current  string              // snapshots: libvirt's; checkpoints: what the caller expects
	kids     map[string][]string // parent ("" for the roots) -> children, sorted
}

// momentXML is the part of snapshot and checkpoint XML the suite reads itself.
type momentXML struct {
	Name   string `xml:"name"`
	Memory struct {
		Snapshot string `xml:"snapshot,attr"`
	} `xml:"memory"`
	Parent struct {
		Name string `xml:"name"`
	} `xml:"parent"`
	Disks []struct {
		Name       string `xml:"name,attr"`
		Snapshot   string `xml:"snapshot,attr"`
		Checkpoint string `xml:"checkpoint,attr"`
	} `xml:"disks>disk"`
}

// mustTruth reads libvirt's state of kind from src (see readTruth), or fails t.
func mustTruth(t testing.TB, ctx context.Context, src source, kind conf.Kind) *truth {
	t.Helper()
	tr, err := readTruth(ctx, src, kind)
	if err != nil {
		t.Fatalf("reading libvirt's %ss of %q: %v", kind, src.dom.Name(), err)
	}
	return tr
}

// readTruth asks libvirt (ListAll with flags 0 and each moment's XML) for the state of kind.
func readTruth(ctx context.Context, src source, kind conf.Kind) (*truth, error) {
	o, dom := src.o, src.dom
	names, err := o.NativeList(ctx, kind, "", 0)
	if err != nil {
		return nil, err
	}
	sort.Strings(names)
	tr := &truth{kind: kind, names: names, parent: map[string]string{}, covers: map[string]map[string]bool{},
		external: map[string]bool{}}
	seen := map[string]bool{}
	for _, n := range names {
		x, err := dom.XML(ctx, kind, n, 0)
		if err != nil {
			return nil, err
		}
		var m momentXML
		if err := xml.Unmarshal([]byte(x), &m); err != nil {
			return nil, fmt.Errorf("%s %q: parsing libvirt's XML: %w", kind, n, err)
		}
		tr.parent[n] = m.Parent.Name
		tr.covers[n] = map[string]bool{}
		tr.external[n] = m.Memory.Snapshot == "external"
		for _, d := range m.Disks {
			if d.Snapshot == "external" {
				tr.external[n] = true
			}
			mode := d.Snapshot
			captured := mode == "internal" || mode == "external"
			if kind == conf.Checkpoint {
				captured = d.Checkpoint == "bitmap"
			}
			tr.covers[n][d.Name] = captured
			if !seen[d.Name] {
				seen[d.Name] = true
				tr.disks = append(tr.disks, d.Name)
			}
		}
	}
	sort.Strings(tr.disks)
	tr.kids = map[string][]string{}
	for _, n := range names { // sorted, so every kids list is sorted
		tr.kids[tr.parent[n]] = append(tr.kids[tr.parent[n]], n)
	}
	if kind == conf.Snapshot {
		if tr.current, err = o.NativeCurrentSnapshot(ctx); err != nil {
			return nil, err
		}
	} else {
		tr.current = tr.freshLoadLeaf()
	}
	return tr, nil
}

// children returns the names whose parent is p ("" for the roots), sorted.
func (tr *truth) children(p string) []string { return tr.kids[p] }

// freshLoadLeaf is libvirt's checkpoint load rule, computed here: the leaf of a single
// unbranched chain, else "".
func (tr *truth) freshLoadLeaf() string {
	kids := tr.children("")
	if len(kids) != 1 {
		return ""
	}
	n := kids[0]
	for {
		kids = tr.children(n)
		switch len(kids) {
		case 0:
			return n
		case 1:
			n = kids[0]
		default:
			return ""
		}
	}
}

// currentSet is docs/design.md §2's per-disk current set, computed here: for each disk, the nearest
// moment from the current one up through its parents that captured the disk.
func (tr *truth) currentSet() map[string]bool {
	set := map[string]bool{}
	if tr.current == "" {
		return set
	}
	for _, disk := range tr.disks {
		for n := tr.current; n != ""; n = tr.parent[n] {
			if tr.covers[n][disk] {
				set[n] = true
				break
			}
			if _, ok := tr.parent[n]; !ok {
				break
			}
		}
	}
	return set
}

// depth returns the number of ancestors of n.
func (tr *truth) depth(n string) int {
	d := 0
	for p := tr.parent[n]; p != "" && d <= len(tr.names); p = tr.parent[p] {
		d++
	}
	return d
}

// descendants counts the moments below n (iteratively: chains may be 20,000 deep).
func (tr *truth) descendants(n string) int {
	c := 0
	stack := append([]string(nil), tr.kids[n]...)
	for len(stack) > 0 {
		k := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		c++
		stack = append(stack, tr.kids[k]...)
	}
	return c
}
