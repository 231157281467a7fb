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

// steerCheckpoint moves libvirt's internal current-checkpoint pointer to target ("" = none),
// from where the journal j says it is (j.st.cp: libvirt cannot be asked; the journal follows
// every checkpoint change by libvirt's rules, across processes).
//
// libvirt has no call that sets it (docs/libvirt.md §3): it moves only when a checkpoint is created, when
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
// METADATA_ONLY touches no bitmap either. T is deleted again even when a step fails. Each change
// of T is announced in the journal (fsynced) before it is made, so that a process that dies
// meanwhile leaves T's name and the pointer's whereabouts behind.
func steerCheckpoint(ctx context.Context, dom driver.Domain, target string, j *journal) (err error) {
	from := j.st.cp
	if from == target {
		return nil
	}
	l, err := dom.Moments(ctx, conf.Checkpoint)
	if err != nil {
		return err
	}
	// The driver follows the pointer too; when it agrees with the journal it must agree at the
	// end as well (a fresh process after a crash has only the load rule's guess).
	agreed := nameOf(l.Current()) == from
	tmpl := l.Find(target)
	if tmpl == nil && from != "" {
		tmpl = l.Find(from)
	}
	if tmpl == nil {
		return fmt.Errorf("make checkpoint %q current: no such checkpoint", target)
	}
	raw := tmpl.Def().Raw()
	if raw == nil {
		x, err := dom.XML(ctx, conf.Checkpoint, tmpl.Name(), 0)
		if err != nil {
			return err
		}
		raw = []byte(x)
	}
	tmp, err := tempName(l)
	if err != nil {
		return err
	}
	created := false
	del := func(c context.Context) error {
		if err := j.tmp("del", tmp, nil); err != nil {
			return err
		}
		j.crashAt("tmp del announced")
		err := dom.Delete(c, conf.Checkpoint, tmp, driver.DeleteMetadataOnly)
		if err == nil {
			j.crashAt("tmp del made")
		}
		if err != nil {
			if errors.Is(err, driver.ErrNotFound) {
				j.st.confirmTmp()
				created = false
				return nil
			}
			j.tmp("failed", tmp, nil)
			return fmt.Errorf("make checkpoint %q current: delete temporary checkpoint %q: %w", target, tmp, err)
		}
		j.st.confirmTmp()
		created = false
		return nil
	}
	defer func() {
		if created && !j.crashed {
			if derr := del(context.WithoutCancel(ctx)); derr != nil {
				err = errors.Join(err, derr)
			}
		}
	}()
	put := func(parent string) error {
		x, err := tempXML(raw, tmpl.Name(), tmp, parent)
		if err != nil {
			return err
		}
		if err := j.tmp("put", tmp, strp(parent)); err != nil {
			return err
		}
		j.crashAt("tmp put %q announced", parent)
		_, err = dom.CreateCheckpoint(ctx, string(x), driver.CheckpointCreateRedefine)
		if err == nil {
			j.crashAt("tmp put %q made", parent)
		}
		if err != nil {
			j.tmp("failed", tmp, nil)
			return fmt.Errorf("make checkpoint %q current: redefine temporary checkpoint %q: %w", target, tmp, err)
		}
		j.st.confirmTmp()
		created = true
		return nil
	}
	if from != "" {
		for _, step := range []func() error{func() error { return put(from) }, func() error { return put("") }, func() error { return del(ctx) }} {
			if err := step(); err != nil {
				return err
			}
		}
	}
	if target != "" {
		for _, step := range []func() error{func() error { return put(target) }, func() error { return del(ctx) }} {
			if err := step(); err != nil {
				return err
			}
		}
	}
	if j.st.cp != target {
		return fmt.Errorf("make checkpoint %q current: by libvirt's rules %q is current instead", target, j.st.cp)
	}
	if agreed {
		if now, _, err := dom.Current(ctx, conf.Checkpoint); err != nil {
			return err
		} else if name := nameOf(now); name != target {
			return fmt.Errorf("make checkpoint %q current: %q is current instead", target, name)
		}
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

// tempXML is the definition raw (of checkpoint tmpl) renamed, re-parented and without disks.
func tempXML(raw []byte, tmpl, name, parent string) ([]byte, error) {
	d, err := conf.ParseCheckpoint(raw, conf.ParseRedefine)
	if err != nil {
		return nil, fmt.Errorf("checkpoint %q: %w", tmpl, err)
	}
	d.Name, d.Parent, d.Description, d.Disks = name, parent, "vmoments transfer: temporary, to move libvirt's current checkpoint", nil
	return d.Format()
}
