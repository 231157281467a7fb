package main

import (
	"github.com/vmoments/vmoments/driver"
	"github.com/vmoments/vmoments/transfer"
)

type copyJSON struct {
	From    string     `json:"from"`
	To      string     `json:"to"`
	Import  importJSON `json:"import"`
	Removed int        `json:"removedFromSource"`
}

func runCopy(a *app, c *parsedCmd) bool {
	to, ok := a.required(c, "to")
	if !ok {
		return false
	}
	kinds, ok := a.kinds(c)
	if !ok {
		return false
	}
	var src driver.Domain
	from, given := c.str("from")
	if given && from != a.drv.URI() {
		if from == "" {
			a.emptyOption("from")
			return false
		}
		drv, err := a.open(a.ctx, from, driver.ReadWrite)
		if err != nil {
			a.errorf("failed to connect to the source %s: %s", from, libvirtMessage(err))
			return false
		}
		defer drv.Close()
		name, _ := c.str("domain")
		if src, err = drv.Domain(a.ctx, name); err != nil {
			a.errorf("failed to get domain '%s' on %s", name, from)
			return false
		}
	} else if src, ok = a.domain(c); !ok {
		return false
	}
	if !given {
		from = a.drv.URI()
	}
	// The destination first: an unreachable one ends the copy before anything is read.
	dstDrv, err := a.open(a.ctx, to, driver.ReadWrite)
	if err != nil {
		a.errorf("failed to connect to the destination %s: %s (nothing was changed)", to, libvirtMessage(err))
		return false
	}
	defer dstDrv.Close()
	dst, err := dstDrv.Domain(a.ctx, src.UUID())
	if err != nil {
		a.errorf("domain '%s' (uuid %s) is not defined on %s: define it there first (virsh dumpxml, then virsh -c %s define); nothing was changed",
			src.Name(), src.UUID(), to, to)
		return false
	}
	p := a.transferProgress(c.has("json"))
	res, err := transfer.Copy(a.ctx, src, dst, transfer.CopyOptions{
		Export:       transfer.ExportOptions{Kinds: kinds, Secure: c.has("secure"), Progress: p.report},
		Import:       transfer.ImportOptions{Replace: c.has("replace"), Validate: c.has("validate"), Progress: p.report},
		RemoveSource: c.has("remove-source-metadata"),
	})
	p.done()
	if err != nil {
		a.errorf("%s", err)
		return false
	}
	if c.has("json") {
		return a.printJSON(copyJSON{From: from, To: to, Import: resultJSON(res.Import, dst.Name()), Removed: res.Removed})
	}
	a.printf("Copied from %s to %s\n", from, to)
	a.printImport(res.Import, dst.Name(), false)
	if c.has("remove-source-metadata") {
		a.printf("Removed the metadata of %d moments from the source\n", res.Removed)
	}
	return true
}
