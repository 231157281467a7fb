package main

import (
	"context"

	"github.com/vmoments/vmoments/cmd/vmoments/internal/vsh"
	"github.com/vmoments/vmoments/conf"
	"github.com/vmoments/vmoments/driver"
)

// runSnapshotDumpXML is virsh's snapshot-dumpxml (without --xpath).
func runSnapshotDumpXML(ctx context.Context, a *app, c *vsh.Parsed) error {
	var flags driver.XMLFlags
	if c.Has("security-info") {
		flags |= driver.XMLSecure
	}
	name, _ := c.Value("snapshotname")
	if name == "" {
		return emptyOption("snapshotname")
	}
	dom, err := a.domain(ctx, c)
	if err != nil {
		return err
	}
	return a.dumpXML(ctx, dom, conf.Snapshot, name, flags, c)
}

// checkpointXMLFlags are checkpoint-dumpxml's options and libvirt's flags for them.
var checkpointXMLFlags = map[string]driver.XMLFlags{"security-info": driver.XMLSecure,
	"no-domain": driver.CheckpointXMLNoDomain, "size": driver.CheckpointXMLSize}

// runCheckpointDumpXML is virsh's checkpoint-dumpxml (without --xpath).
func runCheckpointDumpXML(ctx context.Context, a *app, c *vsh.Parsed) error {
	var flags driver.XMLFlags
	for opt, f := range checkpointXMLFlags {
		if c.Has(opt) {
			flags |= f
		}
	}
	dom, err := a.domain(ctx, c)
	if err != nil {
		return err
	}
	name, given := c.Value("checkpointname")
	if given && name == "" {
		return emptyOption("checkpointname")
	}
	if !given {
		return vsh.Errorf("--checkpointname is required")
	}
	return a.dumpXML(ctx, dom, conf.Checkpoint, name, flags, c)
}

// dumpXML prints the XML libvirt gives for a moment; --xpath is refused.
func (a *app) dumpXML(ctx context.Context, dom driver.Domain, kind conf.Kind, name string, flags driver.XMLFlags, c *vsh.Parsed) error {
	if c.Has("xpath") {
		return vsh.Errorf("vmoments does not evaluate --xpath: pipe the XML to xmllint --xpath EXPR -")
	}
	xml, err := dom.XML(ctx, kind, name, flags)
	if err != nil {
		return libvirtErr(err)
	}
	a.printf("%s", xml)
	return nil
}
