package main

import (
	"slices"

	"github.com/vmoments/vmoments/cmd/vmoments/internal/vshfmt"
	"github.com/vmoments/vmoments/conf"
	"github.com/vmoments/vmoments/driver"
	"github.com/vmoments/vmoments/momentlist"
)

// runSnapshotCurrent is virsh's snapshot-current for reading: the current snapshot's XML, or
// its name with --name; vmoments adds --per-disk and --json. Setting the current snapshot
// (--snapshotname) is refused after virsh's own checks.
func runSnapshotCurrent(a *app, c *parsedCmd) bool {
	if !a.exclusive(c, [2]string{"name", "snapshotname"}) {
		return false
	}
	dom, ok := a.domain(c)
	if !ok {
		return false
	}
	domname, _ := c.str("domain")
	if v, given := c.str("snapshotname"); given {
		if v == "" {
			a.emptyOption("snapshotname")
			return false
		}
		a.errorf("vmoments only reads: to make snapshot '%s' current run virsh snapshot-current %s %s", v, domname, v)
		return false
	}
	l, ok := a.load(dom, conf.Snapshot, c.has("json"), false)
	if !ok {
		return false
	}
	if c.has("per-disk") || c.has("json") {
		return a.showCurrent(l, c.has("per-disk"), c.has("json"), c.has("name"))
	}
	cur := l.Current()
	if cur == nil {
		a.errorf("domain '%s' has no current snapshot", domname)
		return false
	}
	if c.has("name") {
		a.printf("%s", cur.Name())
		return true
	}
	var flags driver.XMLFlags
	if c.has("security-info") {
		flags |= driver.XMLSecure
	}
	xml, err := dom.XML(a.ctx, conf.Snapshot, cur.Name(), flags)
	if err != nil {
		a.errorf("%s", libvirtMessage(err))
		return false
	}
	a.printf("%s", xml)
	return true
}

// runCheckpointCurrent shows the current checkpoint (libvirt's internal pointer, which no
// libvirt API returns) and the rule that chose it, or why there is none; with --per-disk, the
// checkpoint each disk's next incremental backup starts from.
func runCheckpointCurrent(a *app, c *parsedCmd) bool {
	dom, ok := a.domain(c)
	if !ok {
		return false
	}
	l, ok := a.load(dom, conf.Checkpoint, c.has("json"), false)
	if !ok {
		return false
	}
	if !c.has("per-disk") && !c.has("json") && c.has("name") {
		cur := l.Current()
		if cur == nil {
			domname, _ := c.str("domain")
			a.errorf("domain '%s' has no current checkpoint (%s)", domname, l.CurrentRule())
			return false
		}
		a.printf("%s", cur.Name())
		return true
	}
	return a.showCurrent(l, c.has("per-disk"), c.has("json"), c.has("name"))
}

// showCurrent prints the current moment and its rule, or per disk the current set.
func (a *app) showCurrent(l *momentlist.List, perDisk, asJSON, nameOnly bool) bool {
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
		return true
	}
	if cur == nil {
		a.printf("no current %s (%s): no disk has a current %s\n", kind, l.CurrentRule(), kind)
		return true
	}
	if nameOnly {
		for _, m := range l.CurrentSet() {
			a.printf("%s\n", m.Name())
		}
		return true
	}
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
	a.printf("%-15s %s (%s)\n\n", "Current:", cur.Name(), l.CurrentRule())
	a.printf("%s", t.Format(a.locale, !a.g.quiet))
	return true
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

// loadMoment is the common start of snapshot-info and checkpoint-info: the domain, its list
// of kind, and the moment option arg names (or, withCurrent, --current names).
func (a *app) loadMoment(c *parsedCmd, kind conf.Kind, arg string, withCurrent bool) (driver.Domain, *momentlist.List, *momentlist.Moment, bool) {
	dom, ok := a.domain(c)
	if !ok {
		return nil, nil, nil, false
	}
	l, ok := a.load(dom, kind, c.has("json"), false)
	if !ok {
		return nil, nil, nil, false
	}
	m, ok := a.lookupMoment(c, l, kind, arg, withCurrent)
	return dom, l, m, ok
}

// runSnapshotInfo is virsh's snapshot-info, read from the loaded list.
func runSnapshotInfo(a *app, c *parsedCmd) bool {
	dom, l, m, ok := a.loadMoment(c, conf.Snapshot, "snapshotname", true)
	if !ok {
		return false
	}
	if c.has("json") {
		return a.printJSON(momentsJSON(l, []*momentlist.Moment{m}))
	}
	d := m.Def()
	yes := map[bool]string{true: "yes", false: "no"}
	a.printf("%-15s %s\n", "Name:", m.Name())
	a.printf("%-15s %s\n", "Domain:", dom.Name())
	a.printf("%-15s %s\n", "Current:", yes[l.Current() == m])
	a.printf("%-15s %s\n", "State:", d.State)
	a.printf("%-15s %s\n", "Location:", snapshotLocation(d))
	parent := d.Parent
	if parent == "" {
		parent = "-"
	}
	a.printf("%-15s %s\n", "Parent:", parent)
	a.printf("%-15s %d\n", "Children:", m.NumChildren())
	a.printf("%-15s %d\n", "Descendants:", m.NumDescendants())
	a.printf("%-15s %s\n", "Metadata:", "yes")
	return true
}

// runCheckpointInfo is virsh's checkpoint-info.
func runCheckpointInfo(a *app, c *parsedCmd) bool {
	dom, l, m, ok := a.loadMoment(c, conf.Checkpoint, "checkpointname", false)
	if !ok {
		return false
	}
	if c.has("json") {
		return a.printJSON(momentsJSON(l, []*momentlist.Moment{m}))
	}
	parent := "-"
	if p := m.Parent(); p != nil {
		parent = p.Name()
	}
	a.printf("%-15s %s\n", "Name:", m.Name())
	a.printf("%-15s %s\n", "Domain:", dom.Name())
	a.printf("%-15s %s\n", "Parent:", parent)
	a.printf("%-15s %d\n", "Children:", m.NumChildren())
	a.printf("%-15s %d\n", "Descendants:", m.NumDescendants())
	return true
}

// runSnapshotDumpXML is virsh's snapshot-dumpxml (without --xpath).
func runSnapshotDumpXML(a *app, c *parsedCmd) bool {
	var flags driver.XMLFlags
	if c.has("security-info") {
		flags |= driver.XMLSecure
	}
	name, _ := c.str("snapshotname")
	if name == "" {
		a.emptyOption("snapshotname")
		return false
	}
	dom, ok := a.domain(c)
	if !ok {
		return false
	}
	return a.dumpXML(dom, conf.Snapshot, name, flags, c)
}

// runCheckpointDumpXML is virsh's checkpoint-dumpxml (without --xpath).
func runCheckpointDumpXML(a *app, c *parsedCmd) bool {
	var flags driver.XMLFlags
	for opt, f := range map[string]driver.XMLFlags{"security-info": driver.XMLSecure,
		"no-domain": driver.CheckpointXMLNoDomain, "size": driver.CheckpointXMLSize} {
		if c.has(opt) {
			flags |= f
		}
	}
	dom, ok := a.domain(c)
	if !ok {
		return false
	}
	name, given := c.str("checkpointname")
	if given && name == "" {
		a.emptyOption("checkpointname")
		return false
	}
	if !given {
		a.errorf("--checkpointname is required")
		return false
	}
	return a.dumpXML(dom, conf.Checkpoint, name, flags, c)
}

func (a *app) dumpXML(dom driver.Domain, kind conf.Kind, name string, flags driver.XMLFlags, c *parsedCmd) bool {
	if c.has("xpath") {
		a.errorf("vmoments does not evaluate --xpath: pipe the XML to xmllint --xpath EXPR -")
		return false
	}
	xml, err := dom.XML(a.ctx, kind, name, flags)
	if err != nil {
		a.errorf("%s", libvirtMessage(err))
		return false
	}
	a.printf("%s", xml)
	return true
}
