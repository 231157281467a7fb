package main

import (
	"context"
	"strings"

	"github.com/vmoments/vmoments/cmd/vmoments/internal/vsh"
	"github.com/vmoments/vmoments/conf"
	"github.com/vmoments/vmoments/driver"
)

// snapshotCreateFlags are the options of snapshot-create and snapshot-create-as and libvirt's
// flags for them, in virsh's order.
var snapshotCreateFlags = []flagOpt[driver.SnapshotCreateFlags]{
	{"redefine", driver.SnapshotCreateRedefine}, {"current", driver.SnapshotCreateCurrent},
	{"no-metadata", driver.SnapshotCreateNoMetadata}, {"halt", driver.SnapshotCreateHalt},
	{"disk-only", driver.SnapshotCreateDiskOnly}, {"reuse-external", driver.SnapshotCreateReuseExt},
	{"quiesce", driver.SnapshotCreateQuiesce}, {"atomic", driver.SnapshotCreateAtomic},
	{"live", driver.SnapshotCreateLive}, {"validate", driver.SnapshotCreateValidate},
}

// runSnapshotCreate is virsh's cmdSnapshotCreate: the snapshot XML of --xmlfile (else
// "<domainsnapshot/>", a snapshot libvirt names after the time) goes to libvirt with the flags.
func runSnapshotCreate(ctx context.Context, a *app, c *vsh.Parsed) error {
	flags := flagsOf(c, snapshotCreateFlags)
	dom, err := a.domain(ctx, c)
	if err != nil {
		return err
	}
	from, given := c.Value("xmlfile")
	if given && from == "" {
		return emptyOption("xmlfile")
	}
	buffer := "<domainsnapshot/>"
	if given {
		if buffer, err = readXMLFile(from); err != nil {
			return err
		}
	}
	return a.createSnapshot(ctx, c, dom, buffer, flags, from)
}

// runSnapshotCreateAs is virsh's cmdSnapshotCreateAs: the XML built from the options, printed
// with --print-xml, else created.
func runSnapshotCreateAs(ctx context.Context, a *app, c *vsh.Parsed) error {
	if err := exclusive(c, [2]string{"print-xml", "json"}); err != nil {
		return err
	}
	flags := flagsOf(c, snapshotCreateFlags)
	dom, err := a.domain(ctx, c)
	if err != nil {
		return err
	}
	name, desc, err := nameAndDescription(c)
	if err != nil {
		return err
	}
	var buf xmlBuf
	buf.add("<domainsnapshot>\n")
	buf.adjustIndent(2)
	buf.escape("<name>%s</name>\n", name)
	buf.escape("<description>%s</description>\n", desc)
	if memspec, given := c.Value("memspec"); given {
		if memspec == "" {
			return emptyOption("memspec")
		}
		if err := snapshotMemspec(&buf, memspec); err != nil {
			return err
		}
	}
	if c.Has("diskspec") {
		buf.add("<disks>\n")
		buf.adjustIndent(2)
		for _, spec := range c.Argv() {
			if err := snapshotDiskspec(&buf, spec); err != nil {
				return err
			}
		}
		buf.adjustIndent(-2)
		buf.add("</disks>\n")
	}
	buf.adjustIndent(-2)
	buf.add("</domainsnapshot>\n")
	if c.Has("print-xml") {
		a.printf("%s\n", buf.String())
		return nil
	}
	return a.createSnapshot(ctx, c, dom, buf.String(), flags, "")
}

// nameAndDescription are the --name and --description of the *-create-as commands (nil when
// not given; an empty value is virsh's error).
func nameAndDescription(c *vsh.Parsed) (name, desc *string, err error) {
	for _, o := range []struct {
		opt string
		v   **string
	}{{"name", &name}, {"description", &desc}} {
		if v, given := c.Value(o.opt); given {
			if v == "" {
				return nil, nil, emptyOption(o.opt)
			}
			*o.v = strPtr(v)
		}
	}
	return name, desc, nil
}

// snapshotMemspec is virshParseSnapshotMemspec: [file=]FILE and snapshot=TYPE, each at most
// once, become <memory snapshot='TYPE' file='FILE'/>.
func snapshotMemspec(buf *xmlBuf, str string) error {
	var snapshot, file *string
	for _, f := range stringToArray(str) {
		if v, ok := cutPrefix(f, "snapshot="); ok && snapshot == nil {
			snapshot = v
		} else if v, ok := cutPrefix(f, "file="); ok && file == nil {
			file = v
		} else if f != nil && file == nil && strings.HasPrefix(*f, "/") {
			file = f
		} else {
			return vsh.Errorf("unable to parse memspec: %s", str)
		}
	}
	buf.add("<memory")
	buf.escape(" snapshot='%s'", snapshot)
	buf.escape(" file='%s'", file)
	buf.add("/>\n")
	return nil
}

// snapshotDiskspec is virshParseSnapshotDiskspec: DISK[,snapshot=TYPE][,driver=TYPE]
// [,stype=file|block][,file=NAME] becomes one <disk>. snapshot, driver and stype go into the
// XML unescaped, as virsh puts them.
func snapshotDiskspec(buf *xmlBuf, str string) error {
	fields := stringToArray(str)
	name := fields[0]
	var snapshot, drv, stype, file *string
	for _, f := range fields[1:] {
		if v, ok := cutPrefix(f, "snapshot="); ok && snapshot == nil {
			snapshot = v
		} else if v, ok := cutPrefix(f, "driver="); ok && drv == nil {
			drv = v
		} else if v, ok := cutPrefix(f, "stype="); ok && stype == nil {
			stype = v
		} else if v, ok := cutPrefix(f, "file="); ok && file == nil {
			file = v
		} else {
			return vsh.Errorf("unable to parse diskspec: %s", str)
		}
	}
	buf.escape("<disk name='%s'", name)
	if snapshot != nil {
		buf.printf(" snapshot='%s'", *snapshot)
	}
	isFile := true
	if stype != nil {
		switch *stype {
		case "block":
			isFile = false
		case "file":
		default:
			return &vsh.Error{Lines: []string{"Unknown storage type: '" + *stype + "'", "unable to parse diskspec: " + str}}
		}
		buf.printf(" type='%s'", *stype)
	}
	if drv == nil && file == nil {
		buf.add("/>\n")
		return nil
	}
	buf.add(">\n")
	buf.adjustIndent(2)
	if drv != nil {
		buf.printf("<driver type='%s'/>\n", *drv)
	}
	if file != nil {
		if isFile {
			buf.escape("<source file='%s'/>\n", file)
		} else {
			buf.escape("<source dev='%s'/>\n", file)
		}
	}
	buf.adjustIndent(-2)
	buf.add("</disk>\n")
	return nil
}

// createSnapshot is virshSnapshotCreate: libvirt creates (or redefines) the snapshot, and virsh
// says so, naming the file it came from (from, if any); --json prints the snapshot instead.
//
// virsh 9.0 retries without --halt, then destroys the domain itself, whenever libvirt answers
// "invalid argument" to a create with --halt (an emulation for libvirt before 0.9.5); vmoments
// leaves libvirt's answer as it is (see main.go).
func (a *app) createSnapshot(ctx context.Context, c *vsh.Parsed, dom driver.Domain, xml string, flags driver.SnapshotCreateFlags, from string) error {
	name, err := dom.CreateSnapshot(ctx, xml, flags)
	if err != nil {
		return changeErr(err, "virDomainSnapshotCreateXML")
	}
	if c.Has("json") {
		return a.changedJSON(ctx, dom, conf.Snapshot, name)
	}
	if from != "" {
		a.printExtra("Domain snapshot %s created from '%s'", name, from)
	} else {
		a.printExtra("Domain snapshot %s created", name)
	}
	return nil
}
