package main

import (
	"context"

	"github.com/vmoments/vmoments/cmd/vmoments/internal/vsh"
	"github.com/vmoments/vmoments/conf"
	"github.com/vmoments/vmoments/driver"
)

// checkpointCreateFlags are checkpoint-create's options and libvirt's flags for them.
var checkpointCreateFlags = []flagOpt[driver.CheckpointCreateFlags]{
	{"redefine", driver.CheckpointCreateRedefine}, {"redefine-validate", driver.CheckpointCreateRedefineValidate},
	{"quiesce", driver.CheckpointCreateQuiesce},
}

// runCheckpointCreate is virsh's cmdCheckpointCreate.
func runCheckpointCreate(ctx context.Context, a *app, c *vsh.Parsed) error {
	if c.Has("redefine-validate") && !c.Has("redefine") {
		return vsh.Errorf("Option --redefine is required by option --redefine-validate")
	}
	flags := flagsOf(c, checkpointCreateFlags)
	dom, err := a.domain(ctx, c)
	if err != nil {
		return err
	}
	from, given := c.Value("xmlfile")
	if given && from == "" {
		return emptyOption("xmlfile")
	}
	buffer := "<domaincheckpoint/>"
	if given {
		if buffer, err = readXMLFile(from); err != nil {
			return err
		}
	}
	return a.createCheckpoint(ctx, c, dom, buffer, flags, from)
}

// runCheckpointCreateAs is virsh's cmdCheckpointCreateAs.
func runCheckpointCreateAs(ctx context.Context, a *app, c *vsh.Parsed) error {
	if err := exclusive(c, [2]string{"print-xml", "json"}); err != nil {
		return err
	}
	flags := flagsOf(c, checkpointCreateFlags)
	dom, err := a.domain(ctx, c)
	if err != nil {
		return err
	}
	name, desc, err := nameAndDescription(c)
	if err != nil {
		return err
	}
	var buf xmlBuf
	buf.add("<domaincheckpoint>\n")
	buf.adjustIndent(2)
	buf.escape("<name>%s</name>\n", name)
	buf.escape("<description>%s</description>\n", desc)
	if c.Has("diskspec") {
		buf.add("<disks>\n")
		buf.adjustIndent(2)
		for _, spec := range c.Argv() {
			if err := checkpointDiskspec(&buf, spec); err != nil {
				return err
			}
		}
		buf.adjustIndent(-2)
		buf.add("</disks>\n")
	}
	buf.adjustIndent(-2)
	buf.add("</domaincheckpoint>\n")
	if c.Has("print-xml") {
		a.printf("%s\n", buf.String())
		return nil
	}
	return a.createCheckpoint(ctx, c, dom, buf.String(), flags, "")
}

// checkpointDiskspec is virshParseCheckpointDiskspec: DISK[,checkpoint=TYPE][,bitmap=NAME]
// becomes one <disk/>; checkpoint and bitmap go in unescaped, as virsh puts them.
func checkpointDiskspec(buf *xmlBuf, str string) error {
	fields := stringToArray(str)
	var checkpoint, bitmap *string
	for _, f := range fields[1:] {
		if v, ok := cutPrefix(f, "checkpoint="); ok && checkpoint == nil {
			checkpoint = v
		} else if v, ok := cutPrefix(f, "bitmap="); ok && bitmap == nil {
			bitmap = v
		} else {
			return vsh.Errorf("unable to parse diskspec: %s", str)
		}
	}
	buf.escape("<disk name='%s'", fields[0])
	if checkpoint != nil {
		buf.printf(" checkpoint='%s'", *checkpoint)
	}
	if bitmap != nil {
		buf.printf(" bitmap='%s'", *bitmap)
	}
	buf.add("/>\n")
	return nil
}

// createCheckpoint is virshCheckpointCreate.
func (a *app) createCheckpoint(ctx context.Context, c *vsh.Parsed, dom driver.Domain, xml string, flags driver.CheckpointCreateFlags, from string) error {
	name, err := dom.CreateCheckpoint(ctx, xml, flags)
	if err != nil {
		return changeErr(err, "virDomainCheckpointCreateXML")
	}
	if c.Has("json") {
		return a.changedJSON(ctx, dom, conf.Checkpoint, name)
	}
	if from != "" {
		a.printExtra("Domain checkpoint %s created from '%s'", name, from)
	} else {
		a.printExtra("Domain checkpoint %s created", name)
	}
	return nil
}
