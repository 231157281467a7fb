package main

import (
	"context"
	"slices"
	"strings"

	"github.com/vmoments/vmoments/cmd/vmoments/internal/vsh"
	"github.com/vmoments/vmoments/cmd/vmoments/internal/vshfmt"
	"github.com/vmoments/vmoments/conf"
	"github.com/vmoments/vmoments/driver"
	"github.com/vmoments/vmoments/momentlist"
)

// runSnapshotCurrent is virsh's cmdSnapshotCurrent: with a snapshot name (--snapshotname or
// the second word) it makes that snapshot current, as virsh does, by redefining it from its own
// XML with VIR_DOMAIN_SNAPSHOT_CREATE_REDEFINE|CURRENT (and DISK_ONLY for a disk-only one);
// without, it shows the current snapshot's XML, or its name with --name. vmoments adds
// --per-disk and --json. Without a current snapshot every form fails the same way (noCurrent).
func runSnapshotCurrent(ctx context.Context, a *app, c *vsh.Parsed) error {
	var xmlFlags driver.XMLFlags
	if c.Has("security-info") {
		xmlFlags |= driver.XMLSecure
	}
	if err := exclusive(c, [2]string{"name", "snapshotname"}, [2]string{"name", "json"}, [2]string{"snapshotname", "per-disk"}); err != nil {
		return err
	}
	dom, err := a.domain(ctx, c)
	if err != nil {
		return err
	}
	if v, given := c.Value("snapshotname"); given {
		if v == "" {
			return emptyOption("snapshotname")
		}
		return a.setCurrentSnapshot(ctx, c, dom, v)
	}
	l, err := a.load(ctx, dom, conf.Snapshot, c.Has("json"), false)
	if err != nil {
		return err
	}
	cur := l.Current()
	if cur == nil {
		return a.noCurrent(c, dom, l)
	}
	switch {
	case c.Has("per-disk") || c.Has("json"):
		return a.showCurrent(l, c.Has("per-disk"), c.Has("json"), c.Has("name"))
	case c.Has("name"):
		a.printf("%s", cur.Name())
		return nil
	}
	xml, err := dom.XML(ctx, conf.Snapshot, cur.Name(), xmlFlags)
	if err != nil {
		return libvirtErr(err)
	}
	a.printf("%s", xml)
	return nil
}

// setCurrentSnapshot is the setting half of cmdSnapshotCurrent: the snapshot's secure XML,
// redefined with REDEFINE|CURRENT, plus DISK_ONLY when the XML says disk-snapshot (which
// libvirt's test driver refuses, as it refuses it for virsh).
func (a *app) setCurrentSnapshot(ctx context.Context, c *vsh.Parsed, dom driver.Domain, name string) error {
	l, err := a.load(ctx, dom, conf.Snapshot, c.Has("json"), false)
	if err != nil {
		return err
	}
	if l.Find(name) == nil {
		return vsh.Errorf("%s", notFound(conf.Snapshot, name))
	}
	xml, err := dom.XML(ctx, conf.Snapshot, name, driver.XMLSecure)
	if err != nil {
		return libvirtErr(err)
	}
	flags := driver.SnapshotCreateRedefine | driver.SnapshotCreateCurrent
	if strings.Contains(xml, "<state>disk-snapshot</state>") {
		flags |= driver.SnapshotCreateDiskOnly
	}
	if _, err := dom.CreateSnapshot(ctx, xml, flags); err != nil {
		return changeErr(err, "virDomainSnapshotCreateXML")
	}
	if c.Has("json") {
		return a.changedJSON(ctx, dom, conf.Snapshot, name)
	}
	a.printExtra("Snapshot %s set as current", name)
	return nil
}

// runCheckpointCurrent shows the current checkpoint (libvirt's internal pointer, which no
// libvirt API returns) and the rule that chose it; with --per-disk, the checkpoint each disk's
// next incremental backup starts from. Without a current checkpoint every form fails the same
// way (noCurrent).
func runCheckpointCurrent(ctx context.Context, a *app, c *vsh.Parsed) error {
	if err := exclusive(c, [2]string{"name", "json"}); err != nil {
		return err
	}
	dom, err := a.domain(ctx, c)
	if err != nil {
		return err
	}
	l, err := a.load(ctx, dom, conf.Checkpoint, c.Has("json"), false)
	if err != nil {
		return err
	}
	cur := l.Current()
	if cur == nil {
		return a.noCurrent(c, dom, l)
	}
	if !c.Has("per-disk") && !c.Has("json") && c.Has("name") {
		a.printf("%s", cur.Name())
		return nil
	}
	return a.showCurrent(l, c.Has("per-disk"), c.Has("json"), c.Has("name"))
}

// noCurrentJSON is what --json prints when there is no current moment (JSON.md).
type noCurrentJSON struct {
	Domain  string  `json:"domain"`
	Kind    string  `json:"kind"`
	Current *string `json:"current"`
	Reason  string  `json:"reason"`
}

// noCurrent is the one rule for a domain without a current moment, in every form of
// snapshot-current and checkpoint-current (plain, --name, --per-disk, --json): exit status 1
// and virsh's error "domain 'D' has no current snapshot", D as the user named the domain; for
// checkpoints, whose current pointer libvirt keeps hidden, the reason follows in parentheses.
// --json also prints an object that keeps the reason (the JSON reader gets it without parsing
// stderr).
func (a *app) noCurrent(c *vsh.Parsed, dom driver.Domain, l *momentlist.List) error {
	kind := l.Kind()
	domname, _ := c.Value("domain")
	reason := noCurrentReason(l)
	if c.Has("json") {
		if err := a.printJSON(noCurrentJSON{Domain: dom.Name(), Kind: kind.String(), Reason: reason}); err != nil {
			return err
		}
	}
	if kind == conf.Snapshot {
		return vsh.Errorf("domain '%s' has no current snapshot", domname)
	}
	return vsh.Errorf("domain '%s' has no current checkpoint (%s)", domname, reason)
}

// noCurrentReason says why l has no current moment.
func noCurrentReason(l *momentlist.List) string {
	if l.Len() == 0 {
		return "it has no " + l.Kind().String() + "s"
	}
	return l.CurrentRule().String()
}

// showCurrent prints the current moment (there is one) and its rule, or per disk the current
// set.
func (a *app) showCurrent(l *momentlist.List, perDisk, asJSON, nameOnly bool) error {
	cur := l.Current()
	if asJSON {
		items := []*momentlist.Moment{cur}
		if perDisk {
			items = l.CurrentSet()
		}
		return a.printJSON(momentsJSON(l, items))
	}
	if !perDisk {
		a.printf("%-15s %s\n", "Current:", cur.Name())
		a.printf("%-15s %s\n", "Rule:", l.CurrentRule())
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
