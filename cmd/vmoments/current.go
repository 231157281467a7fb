package main

import (
	"context"
	"slices"

	"github.com/vmoments/vmoments/cmd/vmoments/internal/vsh"
	"github.com/vmoments/vmoments/cmd/vmoments/internal/vshfmt"
	"github.com/vmoments/vmoments/conf"
	"github.com/vmoments/vmoments/driver"
	"github.com/vmoments/vmoments/momentlist"
)

// runSnapshotCurrent is virsh's snapshot-current for reading: the current snapshot's XML, or
// its name with --name; vmoments adds --per-disk and --json. Setting the current snapshot
// (--snapshotname) is refused after virsh's own checks.
func runSnapshotCurrent(ctx context.Context, a *app, c *vsh.Parsed) error {
	if err := exclusive(c, [2]string{"name", "snapshotname"}); err != nil {
		return err
	}
	dom, err := a.domain(ctx, c)
	if err != nil {
		return err
	}
	domname, _ := c.Value("domain")
	if v, given := c.Value("snapshotname"); given {
		if v == "" {
			return emptyOption("snapshotname")
		}
		return vsh.Errorf("vmoments only reads: to make snapshot '%s' current run virsh snapshot-current %s %s", v, domname, v)
	}
	l, err := a.load(ctx, dom, conf.Snapshot, c.Has("json"), false)
	if err != nil {
		return err
	}
	if c.Has("per-disk") || c.Has("json") {
		return a.showCurrent(l, c.Has("per-disk"), c.Has("json"), c.Has("name"))
	}
	cur := l.Current()
	if cur == nil {
		return vsh.Errorf("domain '%s' has no current snapshot", domname)
	}
	if c.Has("name") {
		a.printf("%s", cur.Name())
		return nil
	}
	var flags driver.XMLFlags
	if c.Has("security-info") {
		flags |= driver.XMLSecure
	}
	xml, err := dom.XML(ctx, conf.Snapshot, cur.Name(), flags)
	if err != nil {
		return libvirtErr(err)
	}
	a.printf("%s", xml)
	return nil
}

// runCheckpointCurrent shows the current checkpoint (libvirt's internal pointer, which no
// libvirt API returns) and the rule that chose it, or why there is none; with --per-disk, the
// checkpoint each disk's next incremental backup starts from.
func runCheckpointCurrent(ctx context.Context, a *app, c *vsh.Parsed) error {
	dom, err := a.domain(ctx, c)
	if err != nil {
		return err
	}
	l, err := a.load(ctx, dom, conf.Checkpoint, c.Has("json"), false)
	if err != nil {
		return err
	}
	if !c.Has("per-disk") && !c.Has("json") && c.Has("name") {
		cur := l.Current()
		if cur == nil {
			domname, _ := c.Value("domain")
			return vsh.Errorf("domain '%s' has no current checkpoint (%s)", domname, l.CurrentRule())
		}
		a.printf("%s", cur.Name())
		return nil
	}
	return a.showCurrent(l, c.Has("per-disk"), c.Has("json"), c.Has("name"))
}

// showCurrent prints the current moment and its rule, or per disk the current set.
func (a *app) showCurrent(l *momentlist.List, perDisk, asJSON, nameOnly bool) error {
	kind := l.Kind()
	cur := l.Current()
	if asJSON {
		var items []*momentlist.Moment
		if perDisk {
			items = l.CurrentSet()
		} else if cur != nil {
			items = []*momentlist.Moment{cur}
		}
		return a.printJSON(momentsJSON(l, items))
	}
	if !perDisk {
		name := "-"
		if cur != nil {
			name = cur.Name()
		}
		a.printf("%-15s %s\n", "Current:", name)
		a.printf("%-15s %s\n", "Rule:", l.CurrentRule())
		return nil
	}
	if cur == nil {
		a.printf("no current %s (%s): no disk has a current %s\n", kind, l.CurrentRule(), kind)
		return nil
	}
	if nameOnly {
		for _, m := range l.CurrentSet() {
			a.printf("%s\n", m.Name())
		}
		return nil
	}
	a.printf("%-15s %s (%s)\n\n", "Current:", cur.Name(), l.CurrentRule())
	a.printf("%s", a.perDiskTable(l))
	return nil
}

// perDiskTable is the --per-disk table: each disk, its current moment and how that moment
// captured it (snapshots: the mode; checkpoints: the bitmap).
func (a *app) perDiskTable(l *momentlist.List) string {
	kind := l.Kind()
	forDisk := l.CurrentFor()
	head := []string{"Disk", kindTitle(kind)}
	if kind == conf.Checkpoint {
		head = append(head, "Bitmap")
	} else {
		head = append(head, "Mode")
	}
	t := vshfmt.NewTable(head...)
	for _, disk := range allDisks(l) {
		m := forDisk[disk]
		if m == nil {
			t.Append(disk, "-", "-")
			continue
		}
		extra := ""
		for _, ds := range m.Def().Disks {
			if ds.Name == disk {
				extra = ds.Mode
				if kind == conf.Checkpoint {
					extra = ds.Bitmap
					if extra == "" {
						extra = m.Name() // libvirt's default bitmap name
					}
				}
			}
		}
		t.Append(disk, m.Name(), extra)
	}
	return t.Format(a.locale, !a.g.Quiet)
}

// allDisks returns every disk named by any moment of l, sorted.
func allDisks(l *momentlist.List) []string {
	var disks []string
	for _, m := range l.All() {
		for _, d := range m.Def().Disks {
			if !slices.Contains(disks, d.Name) {
				disks = append(disks, d.Name)
			}
		}
	}
	slices.Sort(disks)
	return disks
}
