package main

import (
	"context"
	"fmt"

	"github.com/vmoments/vmoments/cmd/vmoments/internal/vsh"
	"github.com/vmoments/vmoments/driver"
	"github.com/vmoments/vmoments/transfer"
)

type copyJSON struct {
	From    string     `json:"from"`
	To      string     `json:"to"`
	Import  importJSON `json:"import"`
	Removed int        `json:"removedFromSource"`
}

// runCopy copies a domain's moments from the connection (or --from URI) to --to URI (package
// transfer does the work).
func runCopy(ctx context.Context, a *app, c *vsh.Parsed) error {
	to, err := required(c, "to")
	if err != nil {
		return err
	}
	kinds, err := kindsOption(c)
	if err != nil {
		return err
	}
	from, given := c.Value("from")
	src, closeSrc, err := a.copySource(ctx, c, from, given)
	if err != nil {
		return err
	}
	defer closeSrc()
	if !given {
		from = a.drv.URI()
	}
	// The destination first: an unreachable one ends the copy before anything is read.
	dstDrv, err := a.open(ctx, to, driver.ReadWrite)
	if err != nil {
		return vsh.Errorf("failed to connect to the destination %s: %s (nothing was changed)", to, libvirtMessage(err))
	}
	defer dstDrv.Close()
	dst, err := dstDrv.Domain(ctx, src.UUID())
	if err != nil && ctx.Err() != nil {
		return err // interrupted, not a lookup that failed
	}
	if err != nil {
		return vsh.Errorf("domain '%s' (uuid %s) is not defined on %s: define it there first (virsh dumpxml, then virsh -c %s define); nothing was changed",
			src.Name(), src.UUID(), to, to)
	}
	jdir, err := a.journalDir()
	if err != nil {
		return err
	}
	if isTestURI(from) && isTestURI(to) {
		jdir = "" // the test driver's state ends with vmoments: transfer keeps no journal
	}
	p := a.transferProgress(c.Has("json"))
	g, release := a.rollbackGuard(2, fmt.Sprintf("the journals stay: 'vmoments -c %s import %s --rollback' finishes the destination's", to, shellQuote(src.Name())))
	defer release()
	progress := g.progress(p.report)
	res, err := transfer.Copy(ctx, src, dst, transfer.CopyOptions{
		Export: transfer.ExportOptions{Kinds: kinds, Secure: c.Has("secure"), ToolVersion: version(), Progress: p.report},
		Import: transfer.ImportOptions{Replace: c.Has("replace"), Validate: c.Has("validate"), Progress: progress,
			JournalDir: jdir, ToolVersion: version(), RollbackContext: g.ctx},
		RemoveSource: c.Has("remove-source-metadata"),
	})
	p.done()
	if err != nil {
		return a.unfinished(err, to, dst.Name())
	}
	if c.Has("json") {
		return a.printJSON(copyJSON{From: from, To: to, Import: resultJSON(res.Import, dst.Name()), Removed: res.Removed})
	}
	a.printf("Copied from %s to %s\n", from, to)
	if err := a.printImport(res.Import, dst.Name(), false); err != nil {
		return err
	}
	if c.Has("remove-source-metadata") {
		a.printf("Removed the metadata of %d moments from the source\n", res.Removed)
	}
	return nil
}

// copySource is the domain to copy from: on the connection, or on --from URI when given and
// another URI (opened here; the function returned closes it).
func (a *app) copySource(ctx context.Context, c *vsh.Parsed, from string, given bool) (driver.Domain, func(), error) {
	if !given || from == a.drv.URI() {
		dom, err := a.domain(ctx, c)
		return dom, func() {}, err
	}
	if from == "" {
		return nil, nil, emptyOption("from")
	}
	drv, err := a.open(ctx, from, driver.ReadWrite)
	if err != nil {
		return nil, nil, vsh.Errorf("failed to connect to the source %s: %s", from, libvirtMessage(err))
	}
	name, _ := c.Value("domain")
	src, err := drv.Domain(ctx, name)
	if err != nil {
		drv.Close()
		if ctx.Err() != nil {
			return nil, nil, err // interrupted, not a lookup that failed
		}
		return nil, nil, vsh.Errorf("failed to get domain '%s' on %s", name, from)
	}
	return src, func() { drv.Close() }, nil
}
