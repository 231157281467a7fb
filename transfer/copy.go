package transfer

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/vmoments/vmoments/driver"
)

// CopyOptions tune Copy.
type CopyOptions struct {
	Export ExportOptions
	Import ImportOptions
	// RemoveSource deletes the source's metadata of the copied moments once the destination
	// has them all (metadata only, children before parents), so that libvirt lets the domain
	// migrate ("cannot migrate domain with N snapshots").
	RemoveSource bool
}

// CopyResult is what Copy did.
type CopyResult struct {
	Manifest *Manifest
	Import   *Result
	// Removed counts the source moments whose metadata was deleted.
	Removed  int
	Duration time.Duration
}

// Copy exports the moments of src into memory and imports them on dst (another connection's
// domain with the same UUID), journaled as ImportFrom journals (opts.Import.JournalDir, keyed
// by dst's URI), with From "copy from SRC-URI". A failed or interrupted import leaves dst as it
// was and src untouched.
//
// With RemoveSource the source's metadata is deleted only after the import succeeded, and
// under a journal of its own (keyed by src's URI; op "remove", holding every definition it
// deletes) written before the first deletion; the destination's journal stays until the
// removal is done. If a deletion fails or ctx ends meanwhile, the deleted moments are redefined
// on the source from the export and the destination is rolled back, so that both sides are as
// they were before the copy. If the process is killed meanwhile, both journals stay:
// Rollback on each side puts it back.
func Copy(ctx context.Context, src, dst driver.Domain, opts CopyOptions) (*CopyResult, error) {
	start := time.Now()
	su, du := src.Driver().URI(), dst.Driver().URI()
	if su != "" && strings.EqualFold(su, du) {
		// Copying onto itself would skip everything, and RemoveSource would then delete the
		// only copy.
		return nil, fmt.Errorf("copy: the source and the destination are the same connection (%s)", su)
	}
	var srcPath string
	if opts.RemoveSource {
		var err error
		if srcPath, err = opts.Import.journalPath(src); err != nil {
			return nil, err
		}
		if srcPath != "" {
			// A removal left unfinished on the source: refuse before anything is read.
			j, info, busy, err := openPending(srcPath)
			if err != nil {
				return nil, fmt.Errorf("copy: the source: %w", err)
			}
			if j != nil || busy {
				if j != nil {
					j.close()
				}
				return nil, fmt.Errorf("copy: the source: %w", &UnfinishedError{Journal: info, Domain: src.Name(), URI: su, Busy: busy})
			}
		}
	}
	mem := NewMemory()
	m, err := ExportTo(ctx, src, mem, opts.Export)
	if err != nil {
		return nil, fmt.Errorf("copy: export from domain %q: %w", src.Name(), err)
	}
	iopts := opts.Import
	if iopts.From == "" {
		iopts.From = "copy from " + su
	}
	res, jd, err := importFrom(ctx, dst, mem, iopts)
	if err != nil {
		return nil, fmt.Errorf("copy: import on the destination: %w (the source is untouched)", err)
	}
	out := &CopyResult{Manifest: m, Import: res}
	if !opts.RemoveSource {
		out.Duration = time.Since(start)
		return out, jd.remove()
	}
	stop := opts.Import.RollbackContext
	if stop == nil {
		stop = context.Background()
	}
	// Both sides back as they were: the source from its journal, the destination from its own.
	undo := func(cause error, js *journal) error {
		msg := fmt.Sprintf("copy: %v", cause)
		if js != nil {
			n, rerr := js.rollback(stop, src, opts.Import.Progress)
			if rerr != nil {
				js.close()
				jd.close()
				return fmt.Errorf("%s; putting the source's %d removed moments back FAILED after %d: %w (the destination keeps them all)", msg, out.Removed, n, rerr)
			}
			msg += fmt.Sprintf("; the source's %d removed moments were redefined again", n)
		}
		n, rerr := jd.rollback(stop, dst, opts.Import.Progress)
		if rerr != nil {
			jd.close()
			return fmt.Errorf("%s; rolling back the destination FAILED after undoing %d changes: %w", msg, n, rerr)
		}
		return &causedError{msg: fmt.Sprintf("%s; the destination was rolled back (%d changes undone): both are as they were before the copy", msg, n), cause: cause}
	}
	if err := ctx.Err(); err != nil {
		return out, undo(context.Cause(ctx), nil)
	}
	var steps []jstep
	for i := len(m.Moments) - 1; i >= 0; i-- {
		e := m.Moments[i]
		x, err := mem.ReadFile(e.File)
		if err != nil {
			return out, undo(err, nil)
		}
		steps = append(steps, jstep{Kind: e.Kind, Name: e.Name, Parent: e.Parent, Action: actRemove, Old: string(x)})
	}
	now := time.Now().UTC()
	begin := &jrecord{T: recBegin, Op: opRemove, Version: toolVersion(opts.Import.ToolVersion), Time: &now, PID: os.Getpid(), Host: hostname(),
		URI: su, Domain: &DomainRef{Name: src.Name(), UUID: src.UUID()},
		Export: &ExportRef{From: "copy to " + du, ID: ExportID(m), Created: m.Created, Domain: m.Domain}, Secure: m.Secure,
		Kinds: m.Kinds, CurSnap: strp(m.CurrentSnapshot), CurCP: strp(m.CurrentCheckpoint), Steps: steps}
	var js *journal
	if srcPath != "" {
		if js, err = createJournal(srcPath, begin, opts.Import.trace); err != nil {
			return out, undo(err, nil)
		}
	} else {
		js = memJournal(begin)
	}
	if err := removeJournaled(ctx, src, steps, js, opts.Import.Progress); err != nil {
		out.Removed = js.st.doneN[0]
		return out, undo(err, js)
	}
	out.Removed = len(steps)
	if err := js.remove(); err != nil {
		return out, err
	}
	out.Duration = time.Since(start)
	return out, jd.remove()
}

// causedError is a message that says all, wrapping the error that caused what it tells.
type causedError struct {
	msg   string
	cause error
}

func (e *causedError) Error() string { return e.msg }
func (e *causedError) Unwrap() error { return e.cause }

// removeJournaled deletes the metadata of the steps' moments in order (children before
// parents), each kind's as one batch, recording each in the journal.
func removeJournaled(ctx context.Context, dom driver.Domain, steps []jstep, j *journal, progress ProgressFunc) error {
	for i := 0; i < len(steps); {
		kind, err := kindOf(steps[i].Kind)
		if err != nil {
			return err
		}
		k := i
		for k < len(steps) && steps[k].Kind == steps[i].Kind {
			k++
		}
		var failed error
		berr := driver.Batch(ctx, dom, kind, 0, func(b driver.Domain) error {
			for ; i < k; i++ {
				if err := ctx.Err(); err != nil {
					failed = context.Cause(ctx)
					return failed
				}
				s := steps[i]
				if err := deleteMetadata(context.WithoutCancel(ctx), b, kind, s.Name); err != nil && !errors.Is(err, driver.ErrNotFound) {
					failed = fmt.Errorf("remove %s %q from the source: %w", kind, s.Name, err)
					return failed
				}
				if err := j.done(i); err != nil {
					failed = err
					return err
				}
				progress.report("remove source", i+1, len(steps))
			}
			return nil
		})
		if failed != nil {
			return failed
		}
		if berr != nil {
			return berr
		}
	}
	// Interrupted during the last removal: undone all the same.
	if ctx.Err() != nil {
		return context.Cause(ctx)
	}
	return nil
}

// RemoveMetadata makes libvirt forget the moments the manifest lists (metadata only: disks and
// bitmaps stay), children before parents, and returns how many it removed. It stops at the first
// failure.
func RemoveMetadata(ctx context.Context, dom driver.Domain, m *Manifest, progress ProgressFunc) (int, error) {
	n := 0
	// The manifest lists each kind parents first; backwards, every moment comes after all of
	// its descendants, so each is a leaf when it goes.
	for i := len(m.Moments) - 1; i >= 0; i-- {
		e := m.Moments[i]
		kind, err := kindOf(e.Kind)
		if err != nil {
			return n, err
		}
		if err := deleteMetadata(ctx, dom, kind, e.Name); err != nil {
			if errors.Is(err, driver.ErrNotFound) {
				continue
			}
			return n, fmt.Errorf("remove %s %q: %w", e.Kind, e.Name, err)
		}
		n++
		progress.report("remove source", n, len(m.Moments))
	}
	return n, nil
}
