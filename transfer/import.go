package transfer

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/vmoments/vmoments/conf"
	"github.com/vmoments/vmoments/driver"
)

// Result is what an import did.
type Result struct {
	Plan *Plan
	// Redefined, Replaced and Skipped count the moments by what was done with them.
	Redefined, Replaced, Skipped int
	// CurrentSnapshot and CurrentCheckpoint are the destination's current moments afterwards,
	// CheckpointRule the rule that made the checkpoint current.
	CurrentSnapshot, CurrentCheckpoint, CheckpointRule string
	// Notes say what could not be made as on the source (the checkpoint current).
	Notes    []string
	Duration time.Duration
}

// StepError is the error of an import that failed at one step and was rolled back.
type StepError struct {
	Step Step
	Err  error
	// Undone counts the changes the rollback reverted; RollbackErr is not nil when the
	// rollback itself failed (the domain is then NOT as it began: the message says what is left).
	Undone      int
	RollbackErr error
}

func (e *StepError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "import stopped at %s %q (%s): %v", e.Step.Kind, e.Step.Name, e.Step.Action, e.Err)
	if e.RollbackErr != nil {
		fmt.Fprintf(&b, "; ROLLBACK FAILED after undoing %d changes: %v", e.Undone, e.RollbackErr)
	} else {
		fmt.Fprintf(&b, "; rolled back: %d changes undone, the domain is as it was before the import", e.Undone)
	}
	return b.String()
}

func (e *StepError) Unwrap() error { return e.Err }

// ErrConflict is wrapped by the error of an import that found moments defined differently on
// the destination (and no Replace).
var ErrConflict = errors.New("moments differ on the destination")

// Import puts the moments of the export at path back on dom. See ImportFrom.
func Import(ctx context.Context, dom driver.Domain, path string, opts ImportOptions) (*Result, error) {
	src, err := OpenSource(path)
	if err != nil {
		return nil, err
	}
	defer src.Close()
	return ImportFrom(ctx, dom, src, opts)
}

// ImportFrom makes the plan (MakePlan: everything verified before any change) and carries it
// out: snapshots parents first with libvirt's REDEFINE, the exported current snapshot redefined
// once more with CURRENT after all of them, then checkpoints parents first (with
// REDEFINE_VALIDATE if asked) and libvirt's current checkpoint moved to the exported one.
//
// If a step fails, every change this import made is undone, newest first (so children go before
// their parents): redefined moments are deleted again, metadata only (disks and bitmaps are never
// touched), replaced ones get their old definition back, and the previous current snapshot is
// made current again, and libvirt's current checkpoint pointer is moved back where it was. The returned *StepError names the moment that failed and libvirt's reason.
func ImportFrom(ctx context.Context, dom driver.Domain, src Source, opts ImportOptions) (*Result, error) {
	start := time.Now()
	p, err := MakePlan(ctx, dom, src, opts)
	if err != nil {
		return nil, err
	}
	if len(p.Conflicts) > 0 {
		var names []string
		for _, c := range p.Conflicts {
			names = append(names, fmt.Sprintf("%s %q", c.Kind, c.Name))
		}
		more := ""
		if len(names) > 5 {
			more, names = fmt.Sprintf(" and %d more", len(names)-5), names[:5]
		}
		return nil, fmt.Errorf("%w: %s%s exist on domain %q with another definition; nothing was changed (--replace redefines them)",
			ErrConflict, strings.Join(names, ", "), more, dom.Name())
	}
	var done []Step
	total := len(p.Steps)
	for i, s := range p.Steps {
		err := ctx.Err()
		if err == nil && opts.failAt != nil {
			err = opts.failAt(i, s)
		}
		if err == nil {
			err = apply(ctx, dom, s, opts.Validate)
		}
		if err != nil {
			undone, rerr := rollback(context.WithoutCancel(ctx), dom, done, p.before, opts.Progress)
			return nil, &StepError{Step: s, Err: err, Undone: undone, RollbackErr: rerr}
		}
		if s.Action != Skip {
			done = append(done, s)
		}
		opts.Progress.report("import", i+1, total)
	}
	r := &Result{Plan: p, Redefined: p.Count(Redefine), Replaced: p.Count(Replace), Skipped: p.Count(Skip)}
	if cur, _, err := dom.Current(ctx, conf.Snapshot); err == nil && cur != nil {
		r.CurrentSnapshot = cur.Name()
	}
	if p.Manifest.hasKind(conf.Checkpoint) {
		cur, rule, err := dom.Current(ctx, conf.Checkpoint)
		if err != nil {
			return nil, err
		}
		if cur != nil {
			r.CurrentCheckpoint = cur.Name()
		}
		r.CheckpointRule = rule.String()
		if r.CurrentCheckpoint != p.Manifest.CurrentCheckpoint {
			note := p.CheckpointNote
			if note == "" {
				note = fmt.Sprintf("checkpoint %q was current on the source, %q is current now", p.Manifest.CurrentCheckpoint, r.CurrentCheckpoint)
			}
			r.Notes = append(r.Notes, note)
		}
	}
	r.Duration = time.Since(start)
	return r, nil
}

// apply carries out one step.
func apply(ctx context.Context, dom driver.Domain, s Step, validate bool) error {
	switch s.Action {
	case Skip:
		return nil
	case Redefine, Replace:
		return redefine(ctx, dom, s.Kind, s.xml, false, validate)
	case SetCurrent:
		return redefine(ctx, dom, s.Kind, s.xml, true, false)
	case SteerCurrent:
		return steerCheckpoint(ctx, dom, s.Name)
	}
	return fmt.Errorf("%s %q: cannot carry out %q", s.Kind, s.Name, s.Action)
}

func redefine(ctx context.Context, dom driver.Domain, kind conf.Kind, xml []byte, current, validate bool) error {
	if kind == conf.Snapshot {
		f := driver.SnapshotCreateRedefine
		if current {
			f |= driver.SnapshotCreateCurrent
		}
		_, err := dom.CreateSnapshot(ctx, string(xml), f)
		return err
	}
	f := driver.CheckpointCreateRedefine
	if validate {
		f |= driver.CheckpointCreateRedefineValidate
	}
	_, err := dom.CreateCheckpoint(ctx, string(xml), f)
	return err
}

// rollback undoes the done steps newest first and makes the previous current snapshot current
// again. It returns how many changes it undid and the errors of those it could not undo (it goes
// on after a failure, to leave as little as possible behind).
func rollback(ctx context.Context, dom driver.Domain, done []Step, before map[conf.Kind]string, progress ProgressFunc) (int, error) {
	var errs []error
	undone := 0
	for i := len(done) - 1; i >= 0; i-- {
		s := done[i]
		var err error
		switch s.Action {
		case Redefine:
			err = deleteMetadata(ctx, dom, s.Kind, s.Name)
		case Replace:
			err = redefine(ctx, dom, s.Kind, s.old, false, false)
		case SetCurrent, SteerCurrent:
			// Undone below, with the current moments as they were.
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("undo %s: %w", s, err))
		} else {
			undone++
		}
		progress.report("rollback", len(done)-i, len(done))
	}
	if prev, ok := before[conf.Checkpoint]; ok {
		if err := steerCheckpoint(ctx, dom, prev); err != nil {
			errs = append(errs, fmt.Errorf("make checkpoint %q current again: %w", prev, err))
		}
	}
	if prev, ok := before[conf.Snapshot]; ok {
		cur, _, err := dom.Current(ctx, conf.Snapshot)
		switch {
		case err != nil:
		case prev == "" && cur != nil:
			// Only when the destination had snapshots but none current, and the exported
			// current one hangs below one of them: deleting moved current up to it.
			err = fmt.Errorf("snapshot %q is current, none was before the import, and libvirt has no call that clears the current snapshot", cur.Name())
		case prev != "" && (cur == nil || cur.Name() != prev):
			err = dom.SetCurrent(ctx, prev)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("make snapshot %q current again: %w", prev, err))
		}
	}
	return undone, errors.Join(errs...)
}

// deleteMetadata makes libvirt forget one moment and nothing else: DeleteMetadataOnly where the
// driver accepts it. A driver that refuses it (libvirt's test driver, whose snapshot delete has
// no disk data to keep) gets a plain delete: the callers delete children before parents, so it removes a leaf and
// re-parents nothing.
func deleteMetadata(ctx context.Context, dom driver.Domain, kind conf.Kind, name string) error {
	f := driver.DeleteMetadataOnly
	if !dom.Driver().Capabilities().CanDelete(kind, f) {
		f = 0
	}
	return dom.Delete(ctx, kind, name, f)
}
