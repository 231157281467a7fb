package main

import (
	"context"
	"errors"
	"strings"

	"github.com/vmoments/vmoments/cmd/vmoments/internal/vsh"
	"github.com/vmoments/vmoments/conf"
	"github.com/vmoments/vmoments/driver"
)

// runSnapshotEdit is virsh's cmdSnapshotEdit: the snapshot's XML in an editor (edit.go), then
// redefined. A changed name makes a new snapshot: kept beside the old one with --clone, the old
// one's metadata deleted with --rename, else the new one's deleted again and the edit refused.
func runSnapshotEdit(ctx context.Context, a *app, c *vsh.Parsed) error {
	if err := exclusive(c, [2]string{"rename", "clone"}); err != nil {
		return err
	}
	defineFlags := driver.SnapshotCreateRedefine
	if c.Has("current") && c.Has("snapshotname") {
		defineFlags |= driver.SnapshotCreateCurrent
	}
	dom, err := a.domain(ctx, c)
	if err != nil {
		return err
	}
	l, err := a.load(ctx, dom, conf.Snapshot, c.Has("json"), false)
	if err != nil {
		return err
	}
	// virshLookupSnapshot without exclusivity: a name wins over --current.
	m, err := lookupMoment(c, l, conf.Snapshot, "snapshotname", !c.Has("snapshotname"))
	if err != nil {
		return err
	}
	name := m.Name()
	var editedName string
	defined, err := a.edit(ctx, editStep{
		getXML: func() (string, error) { return dom.XML(ctx, conf.Snapshot, name, driver.XMLSecure) },
		unchanged: func() bool {
			if defineFlags&driver.SnapshotCreateCurrent != 0 {
				return false // with --current the XML is defined even unchanged
			}
			if !c.Has("json") {
				a.printExtra("Snapshot %s XML configuration not changed.\n", name)
			}
			return true
		},
		define: func(doc, edited string) error {
			if strings.Contains(doc, "<state>disk-snapshot</state>") {
				defineFlags |= driver.SnapshotCreateDiskOnly
			}
			var err error
			editedName, err = dom.CreateSnapshot(ctx, edited, defineFlags)
			return err
		},
	})
	if err != nil {
		return editError(err, name)
	}
	if !defined {
		return a.editJSON(ctx, c, dom, conf.Snapshot, name)
	}
	switch {
	case editedName == name:
		if !c.Has("json") {
			a.printExtra("Snapshot %s edited.\n", name)
		}
	case c.Has("clone"):
		if !c.Has("json") {
			a.printExtra("Snapshot %s cloned to %s.\n", name, editedName)
		}
	default:
		del := editedName
		if c.Has("rename") {
			del = name
		}
		if err := dom.Delete(ctx, conf.Snapshot, del, driver.DeleteMetadataOnly); err != nil {
			return &vsh.Error{Lines: []string{libvirtMessage(changeErr(err, "virDomainSnapshotDelete")),
				"Failed to clean up " + del, "Failed to update " + name}, Err: err}
		}
		if !c.Has("rename") {
			return &vsh.Error{Lines: []string{"Must use --rename or --clone to change " + name + " to " + editedName, "Failed to update " + name}}
		}
	}
	return a.editJSON(ctx, c, dom, conf.Snapshot, editedName)
}

// editError is a failed edit of the moment name as virsh reports it.
func editError(err error, name string) error {
	var ef *editFailure
	if errors.As(err, &ef) {
		return ef.asError(name)
	}
	return err
}

// editJSON prints, with --json, the moment an edit left (the edited one, or the unchanged one).
func (a *app) editJSON(ctx context.Context, c *vsh.Parsed, dom driver.Domain, kind conf.Kind, name string) error {
	if !c.Has("json") {
		return nil
	}
	return a.changedJSON(ctx, dom, kind, name)
}

// runCheckpointEdit is virsh's cmdCheckpointEdit: as snapshot-edit, without --current,
// --rename and --clone (a changed name is refused).
func runCheckpointEdit(ctx context.Context, a *app, c *vsh.Parsed) error {
	dom, _, m, err := a.loadMoment(ctx, c, conf.Checkpoint, "checkpointname", false)
	if err != nil {
		return err
	}
	name := m.Name()
	var editedName string
	defined, err := a.edit(ctx, editStep{
		getXML: func() (string, error) { return dom.XML(ctx, conf.Checkpoint, name, driver.XMLSecure) },
		unchanged: func() bool {
			if !c.Has("json") {
				a.printExtra("Checkpoint %s XML configuration not changed.\n", name)
			}
			return true
		},
		define: func(_, edited string) error {
			var err error
			editedName, err = dom.CreateCheckpoint(ctx, edited, driver.CheckpointCreateRedefine)
			return err
		},
	})
	if err != nil {
		return editError(err, name)
	}
	if !defined {
		return a.editJSON(ctx, c, dom, conf.Checkpoint, name)
	}
	if editedName != name {
		if err := dom.Delete(ctx, conf.Checkpoint, editedName, driver.DeleteMetadataOnly); err != nil {
			return &vsh.Error{Lines: []string{libvirtMessage(changeErr(err, "virDomainCheckpointDelete")),
				"Failed to clean up " + editedName, "Failed to update " + name}, Err: err}
		}
		return &vsh.Error{Lines: []string{"Cannot rename checkpoint " + name + " to " + editedName, "Failed to update " + name}}
	}
	if !c.Has("json") {
		a.printExtra("Checkpoint %s edited.\n", name)
	}
	return a.editJSON(ctx, c, dom, conf.Checkpoint, name)
}
