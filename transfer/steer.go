package transfer

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"

	"github.com/vmoments/vmoments/conf"
	"github.com/vmoments/vmoments/driver"
	"github.com/vmoments/vmoments/momentlist"
)

// SteerCurrent is the plan step that makes the exported current checkpoint current when the
// order of the redefinitions alone cannot (see steerCheckpoint).
const SteerCurrent Action = "steer-current"

// steerCheckpoint moves libvirt's internal current-checkpoint pointer to target ("" = none).
//
// libvirt has no call that sets it (spec §3): it moves only when a checkpoint is created, when
// one is redefined (it becomes current iff its parent is current or none is) and when the current
// one is deleted (current moves to its parent). steerCheckpoint uses a temporary checkpoint T,
// metadata only, with those three rules:
//
//  1. to get to "none" from C: redefine T with parent C (T becomes current), redefine T again as a
//     root (same object: T stays current), delete T (a deleted root current leaves none);
//  2. to get from "none" to the target E: redefine T with parent E (none is current, so T becomes
//     current), delete T (current moves to T's parent, E).
//
// T's definition is an existing checkpoint's (for its embedded <domain>) without disks, so libvirt
// gives it default bitmap names and, without REDEFINE_VALIDATE, checks no bitmap; deleting it with
// METADATA_ONLY touches no bitmap either. T is deleted again even when a step fails.
func steerCheckpoint(ctx context.Context, dom driver.Domain, target string) (err error) {
	// One refresh gives both the list and its current checkpoint.
	l, err := dom.Moments(ctx, conf.Checkpoint)
	if err != nil {
		return err
	}
	cur := l.Current()
	curName := nameOf(cur)
	if curName == target {
		return nil
	}
	tmpl := l.Find(target)
	if tmpl == nil && cur != nil {
		tmpl = l.Find(curName)
	}
	if tmpl == nil {
		return fmt.Errorf("make checkpoint %q current: no such checkpoint", target)
	}
	tmp, err := tempName(l)
	if err != nil {
		return err
	}
	created := false
	defer func() {
		if created {
			if derr := dom.Delete(context.WithoutCancel(ctx), conf.Checkpoint, tmp, driver.DeleteMetadataOnly); derr != nil && !errors.Is(derr, driver.ErrNotFound) {
				err = errors.Join(err, fmt.Errorf("delete temporary checkpoint %q: %w", tmp, derr))
			}
		}
	}()
	put := func(parent string) error {
		x, err := tempXML(ctx, dom, tmpl, tmp, parent)
		if err != nil {
			return err
		}
		if _, err := dom.CreateCheckpoint(ctx, string(x), driver.CheckpointCreateRedefine); err != nil {
			return fmt.Errorf("make checkpoint %q current: redefine temporary checkpoint %q: %w", target, tmp, err)
		}
		created = true
		return nil
	}
	del := func() error {
		if err := dom.Delete(ctx, conf.Checkpoint, tmp, driver.DeleteMetadataOnly); err != nil {
			return fmt.Errorf("make checkpoint %q current: delete temporary checkpoint %q: %w", target, tmp, err)
		}
		created = false
		return nil
	}
	if curName != "" {
		for _, step := range []func() error{func() error { return put(curName) }, func() error { return put("") }, del} {
			if err := step(); err != nil {
				return err
			}
		}
	}
	if target != "" {
		for _, step := range []func() error{func() error { return put(target) }, del} {
			if err := step(); err != nil {
				return err
			}
		}
	}
	if now, _, err := dom.Current(ctx, conf.Checkpoint); err != nil {
		return err
	} else if name := nameOf(now); name != target {
		return fmt.Errorf("make checkpoint %q current: %q is current instead", target, name)
	}
	return nil
}

func nameOf(m *momentlist.Moment) string {
	if m == nil {
		return ""
	}
	return m.Name()
}

// tempName returns a checkpoint name the list does not have (checkpoint names allow only
// [A-Za-z0-9_.-]).
func tempName(l *momentlist.List) (string, error) {
	for range 8 {
		var b [6]byte
		if _, err := rand.Read(b[:]); err != nil {
			return "", err
		}
		n := "vmoments-transfer-tmp-" + hex.EncodeToString(b[:])
		if l.Find(n) == nil {
			return n, nil
		}
	}
	return "", errors.New("no free temporary checkpoint name")
}

// tempXML is tmpl's definition renamed, re-parented and without disks. A definition the driver
// read from libvirtd's metadata files keeps no raw XML (they hold what the API hides): then the
// document comes from libvirt's API.
func tempXML(ctx context.Context, dom driver.Reader, tmpl *momentlist.Moment, name, parent string) ([]byte, error) {
	raw := tmpl.Def().Raw()
	if raw == nil {
		x, err := dom.XML(ctx, conf.Checkpoint, tmpl.Name(), 0)
		if err != nil {
			return nil, err
		}
		raw = []byte(x)
	}
	d, err := conf.ParseCheckpoint(raw, conf.ParseRedefine)
	if err != nil {
		return nil, fmt.Errorf("checkpoint %q: %w", tmpl.Name(), err)
	}
	d.Name, d.Parent, d.Description, d.Disks = name, parent, "vmoments transfer: temporary, to move libvirt's current checkpoint", nil
	return d.Format()
}
