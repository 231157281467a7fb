package momentlist_test

import (
	"fmt"

	"github.com/vmoments/vmoments/conf"
	"github.com/vmoments/vmoments/momentlist"
)

// A domain with two disks: a full snapshot, then a disk-only snapshot of vda alone, then a
// revert to the full one and a branch. List.Select answers libvirt's questions (leaves, in
// topological order) and the ones libvirt never shipped: is the current snapshot a leaf, and
// which snapshot is current for each disk.
func ExampleList_Select() {
	list := momentlist.New(conf.Snapshot)
	create := func(name, state string, disks ...conf.DiskSpec) *momentlist.Moment {
		m, err := list.Create(&conf.Def{Kind: conf.Snapshot, Name: name, State: state, Disks: disks})
		if err != nil {
			panic(err)
		}
		return m
	}
	vda := func(mode string) conf.DiskSpec { return conf.DiskSpec{Name: "vda", Mode: mode} }
	vdb := func(mode string) conf.DiskSpec { return conf.DiskSpec{Name: "vdb", Mode: mode} }

	full := create("full", "running", vda("internal"), vdb("internal"))
	create("vda-only", "disk-snapshot", vda("external"), vdb("no"))
	list.Revert(full)
	create("branch", "shutoff", vda("internal"), vdb("internal"))
	list.Revert(list.Find("vda-only"))

	show := func(what string, f momentlist.Filter) {
		ms, err := list.Select(nil, f)
		if err != nil {
			panic(err)
		}
		fmt.Printf("%-28s", what+":")
		for _, m := range ms {
			fmt.Print(" ", m.Name())
		}
		fmt.Println()
	}
	show("leaves, topological", momentlist.Leaves|momentlist.Topological)
	show("current leaf", momentlist.Leaves|momentlist.Current)
	show("current set (per disk)", momentlist.Current|momentlist.PerDisk)
	show("not current, per disk", momentlist.NoCurrent|momentlist.PerDisk)
	for _, disk := range []string{"vda", "vdb"} {
		fmt.Printf("current for %s: %s\n", disk, list.CurrentFor()[disk].Name())
	}
	fmt.Println("current:", list.Current().Name(), "—", list.CurrentRule())
	// Output:
	// leaves, topological:         branch vda-only
	// current leaf:                vda-only
	// current set (per disk):      full vda-only
	// not current, per disk:       branch
	// current for vda: vda-only
	// current for vdb: full
	// current: vda-only — reverted to
}
