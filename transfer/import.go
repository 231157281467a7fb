package transfer

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/vmoments/vmoments/conf"
	"github.com/vmoments/vmoments/driver"
	"github.com/vmoments/vmoments/momentlist"
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
	Notes []string
	// Resumed says the import finished one that its journal recorded as unfinished (the
	// moments that one had redefined were skipped).
	Resumed bool
	// Journal is the journal the import kept while it ran ("" for none).
	Journal  string
	Duration time.Duration
}

// StepError is the error of an import that stopped before its end — libvirt refused a step,
// or the context was canceled (a signal) — and was rolled back.
type StepError struct {
	// Step is the step that failed, or the next one when the context ended the import.
	Step Step
	// Err is libvirt's refusal, or the context's cause.
	Err error
	// Undone counts the changes the rollback reverted; RollbackErr is not nil when the
	// rollback itself failed or was abandoned (*AbandonedError): the domain is then NOT as it
	// began, and Journal, if not "", keeps what is left for Rollback.
	Undone      int
	RollbackErr error
	Journal     string

	ctxErr error // the context's own error, when it ended the import
}

// interrupted says whether the context, not libvirt, ended the import.
func (e *StepError) interrupted() bool {
	return e.ctxErr != nil || errors.Is(e.Err, context.Canceled) || errors.Is(e.Err, context.DeadlineExceeded)
}

func (e *StepError) Error() string {
	var b strings.Builder
	if e.interrupted() {
		cause := e.Err.Error()
		if e.Err == e.ctxErr {
			cause = "import interrupted (" + cause + ")"
		}
		b.WriteString(cause)
	} else {
		fmt.Fprintf(&b, "import stopped at %s %q (%s): %v", e.Step.Kind, e.Step.Name, e.Step.Action, e.Err)
	}
	var ab *AbandonedError
	switch {
	case errors.As(e.RollbackErr, &ab):
		fmt.Fprintf(&b, "; %v", ab)
	case e.RollbackErr != nil:
		fmt.Fprintf(&b, "; ROLLBACK FAILED after undoing %d changes: %v", e.Undone, e.RollbackErr)
		if e.Journal != "" {
			fmt.Fprintf(&b, "; the journal %s keeps what is left: Rollback (vmoments import DOMAIN --rollback) tries again", e.Journal)
		}
	case e.interrupted() && e.Undone == 0:
		b.WriteString(" before the first change: the domain is as it was before the import")
	case e.interrupted():
		fmt.Fprintf(&b, ": rolled back %d changes, the domain is as it was before the import", e.Undone)
	default:
		fmt.Fprintf(&b, "; rolled back: %d changes undone, the domain is as it was before the import", e.Undone)
	}
	return b.String()
}

// Unwrap gives the step's error, the context's (so that errors.Is(err, context.Canceled)
// holds for an interrupted import whatever the cause) and the rollback's.
func (e *StepError) Unwrap() []error {
	out := []error{e.Err}
	for _, err := range []error{e.ctxErr, e.RollbackErr} {
		if err != nil {
			out = append(out, err)
		}
	}
	return out
}

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
	if opts.From == "" {
		opts.From = path
	}
	return ImportFrom(ctx, dom, src, opts)
}

// ImportFrom makes the plan (MakePlan: everything verified before any change) and carries it
// out: snapshots parents first with libvirt's REDEFINE, the exported current snapshot redefined
// once more with CURRENT after all of them, then checkpoints parents first (with
// REDEFINE_VALIDATE if asked) and libvirt's current checkpoint moved to the exported one. The
// changes of each kind run as one driver batch (driver.Batch): one refresh of the list before
// them, none between them.
//
// Before the first change it writes a journal (see the format in journal.go and
// JournalPath), appends each step as it completes, and removes it at the end, so that an
// import that was killed can still be rolled back (Rollback) or finished: running the same
// import again (an export with the same ExportID) skips what is there already, finishes the
// rest and removes the journal. Any other import into a domain with an unfinished journal is
// refused before any change (*UnfinishedError), as is a journal that cannot be trusted
// (ErrJournal).
//
// If a step fails, or ctx is canceled (it is checked before every step: the step under way
// finishes), every change this import made is undone (see rollback.go): redefined moments are
// deleted again, metadata only (disks and bitmaps are never touched), replaced ones get their
// old definition back, the previous current snapshot is made current again, and libvirt's
// current checkpoint pointer is moved back where it was. The returned *StepError names the
// moment that failed and libvirt's reason, or the context's cause (errors.Is(err,
// context.Canceled)), and how many changes were undone. The rollback itself runs to its end
// even though ctx is done; opts.RollbackContext can stop it.
func ImportFrom(ctx context.Context, dom driver.Domain, src Source, opts ImportOptions) (*Result, error) {
	res, j, err := importFrom(ctx, dom, src, opts)
	if err != nil {
		return nil, err
	}
	if err := j.remove(); err != nil {
		return nil, err
	}
	return res, nil
}

// importFrom is ImportFrom, returning the journal of a successful import (in memory when it
// keeps none on disk) unremoved: Copy keeps it until the source's removal is done. A failed
// import's journal is closed (and removed when its rollback completed).
func importFrom(ctx context.Context, dom driver.Domain, src Source, opts ImportOptions) (*Result, *journal, error) {
	start := time.Now()
	m, files, err := readExport(src, opts.Progress)
	if err != nil {
		return nil, nil, err
	}
	if err := checkExportDomain(m, dom); err != nil {
		return nil, nil, err
	}
	uri := dom.Driver().URI()
	id := ExportID(m)
	path, err := opts.journalPath(dom)
	if err != nil {
		return nil, nil, err
	}
	var j *journal // the unfinished import's journal, when this import finishes it
	var cpNow *string
	if path != "" {
		var info *JournalInfo
		var busy bool
		j, info, busy, err = openPending(path)
		if err != nil {
			return nil, nil, err
		}
		if busy {
			return nil, nil, &UnfinishedError{Journal: info, Domain: dom.Name(), URI: uri, Busy: true}
		}
		if j != nil {
			if err := j.checkDomain(uri, dom.UUID(), dom.Name()); err != nil {
				j.close()
				return nil, nil, err
			}
			if j.st.begin.Op != opImport || j.st.begin.Export.ID != id || j.st.begin.Secure != m.Secure {
				j.close()
				return nil, nil, &UnfinishedError{Journal: info, Domain: dom.Name(), URI: uri}
			}
			// The same import: finish it. Where the last one stopped, and where libvirt's
			// checkpoint pointer is now, follow from the journal and the domain.
			l, err := j.readLive(ctx, dom)
			if err == nil {
				err = j.st.resolveTail(l)
			}
			if err == nil {
				err = j.dropTemps(ctx, dom, l)
			}
			if err != nil {
				j.close()
				return nil, nil, err
			}
			cpNow = strp(j.st.cp)
		}
	}
	fail := func(err error) (*Result, *journal, error) {
		if j != nil {
			j.close()
		}
		return nil, nil, err
	}
	p, err := makePlan(ctx, dom, m, files, opts, cpNow)
	if err != nil {
		return fail(err)
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
		return fail(fmt.Errorf("%w: %s%s exist on domain %q with another definition; nothing was changed (--replace redefines them)",
			ErrConflict, strings.Join(names, ", "), more, dom.Name()))
	}
	var steps []jstep // the changes, for the journal
	for _, s := range p.Steps {
		if s.Action != Skip {
			steps = append(steps, jstep{Kind: s.Kind.String(), Name: s.Name, Parent: s.Parent, Action: string(s.Action), Old: string(s.old)})
		}
	}
	resumed := j != nil
	now := time.Now().UTC()
	switch {
	case resumed:
		j.trace = opts.trace
		j.start()
		if err := j.append(&jrecord{T: recResume, Time: &now, PID: os.Getpid(), Host: hostname(), CurCP: cpNow, Steps: steps}, true); err != nil {
			return fail(err)
		}
	default:
		begin := &jrecord{T: recBegin, Op: opImport, Version: toolVersion(opts.ToolVersion), Time: &now, PID: os.Getpid(), Host: hostname(),
			URI: uri, Domain: &DomainRef{Name: dom.Name(), UUID: dom.UUID()},
			Export: &ExportRef{From: opts.From, ID: id, Created: m.Created, Domain: m.Domain}, Secure: m.Secure,
			Kinds: m.Kinds, CurSnap: strp(p.before[conf.Snapshot]), CurCP: strp(p.before[conf.Checkpoint]), Steps: steps}
		if path != "" && len(steps) > 0 {
			if j, err = createJournal(path, begin, opts.trace); err != nil {
				return nil, nil, err
			}
		} else {
			j = memJournal(begin)
		}
	}
	j.crash = opts.crash
	err = j.run(func() error { return execute(ctx, dom, p, j, opts) })
	if err == nil && len(p.Steps) > 0 {
		// A signal that came while the last step was recorded may reach ctx only now: the import
		// is not declared done once ctx is canceled, it is undone as after any other step. (Later
		// than this, it is done, and the caller says so.) The current moments are read first, so
		// that the check comes as late as it can.
		dom.Current(ctx, conf.Snapshot)
		if cerr := ctx.Err(); cerr != nil {
			err = &StepError{Step: p.Steps[len(p.Steps)-1], Err: context.Cause(ctx), ctxErr: cerr}
		}
	}
	if err != nil {
		if err == errCrash {
			return nil, nil, err // as a killed process: the journal stays as it is
		}
		stop := opts.RollbackContext
		if stop == nil {
			stop = context.Background()
		}
		se := err.(*StepError)
		if rerr := j.run(func() error {
			se.Undone, se.RollbackErr = j.rollback(stop, dom, opts.Progress)
			return nil
		}); rerr == errCrash {
			return nil, nil, rerr
		}
		if se.RollbackErr != nil {
			se.Journal = j.path
		}
		return fail(se)
	}
	r := &Result{Plan: p, Redefined: p.Count(Redefine), Replaced: p.Count(Replace), Skipped: p.Count(Skip),
		Resumed: resumed, Journal: j.path}
	if cur, _, err := dom.Current(ctx, conf.Snapshot); err == nil && cur != nil {
		r.CurrentSnapshot = cur.Name()
	}
	if p.Manifest.hasKind(conf.Checkpoint) {
		// The import is done: a failure to read the rule back does not undo it.
		cur, rule, err := dom.Current(ctx, conf.Checkpoint)
		r.CurrentCheckpoint, r.CheckpointRule = j.st.cp, rule.String()
		if err != nil || nameOf(cur) != j.st.cp {
			// A new process that finished a killed import: its driver guessed by the load
			// rule; the journal followed libvirt's pointer.
			r.CheckpointRule = momentlist.CurrentRedefined.String()
			if j.st.cp == "" {
				r.CheckpointRule = momentlist.CurrentNone.String()
			}
		}
		if r.CurrentCheckpoint != p.Manifest.CurrentCheckpoint {
			note := p.CheckpointNote
			if note == "" {
				note = fmt.Sprintf("checkpoint %q was current on the source, %q is current now", p.Manifest.CurrentCheckpoint, r.CurrentCheckpoint)
			}
			r.Notes = append(r.Notes, note)
		}
	}
	r.Duration = time.Since(start)
	return r, j, nil
}

// dropTemps deletes the temporary checkpoints a killed import left (each announced in the
// journal first, as steering does), so that the import that finishes it starts clean.
func (j *journal) dropTemps(ctx context.Context, dom driver.Domain, l *live) error {
	j.start()
	for _, t := range j.st.temps {
		if !l.has(conf.Checkpoint.String(), t) {
			continue
		}
		if err := j.tmp("del", t, nil); err != nil {
			return err
		}
		if err := dom.Delete(ctx, conf.Checkpoint, t, driver.DeleteMetadataOnly); err != nil && !errors.Is(err, driver.ErrNotFound) {
			j.tmp("failed", t, nil)
			return fmt.Errorf("delete the temporary checkpoint %q a killed import left: %w", t, err)
		}
		j.st.confirmTmp()
		delete(l.lists[conf.Checkpoint], t)
	}
	return nil
}

// execute carries out the plan's steps, each kind's as one batch, recording each in the
// journal as it completes. It returns a *StepError (without the rollback's part) when a step
// fails or ctx ends.
func execute(ctx context.Context, dom driver.Domain, p *Plan, j *journal, opts ImportOptions) error {
	total := len(p.Steps)
	run := 0 // the index of the next step in the journal's list (Skips are not in it)
	var failed error
	for i := 0; i < total; {
		kind := p.Steps[i].Kind
		k := i
		for k < total && p.Steps[k].Kind == kind {
			k++
		}
		berr := driver.Batch(ctx, dom, kind, driver.BatchNoReadBack, func(b driver.Domain) error {
			for ; i < k; i++ {
				s := p.Steps[i]
				cerr := ctx.Err()
				err := cerr
				if err != nil {
					err = context.Cause(ctx)
				} else if opts.failAt != nil {
					err = opts.failAt(i, s)
				}
				if err == nil {
					// ctx is checked between the steps only: a step that has begun (the
					// steering is several libvirt calls) finishes.
					err = apply(context.WithoutCancel(ctx), b, s, opts.Validate, j)
				}
				if err == nil && s.Action != Skip {
					j.crashAt("step %d made", run)
					err = j.done(run)
					j.crashAt("step %d recorded", run)
					run++
				}
				if err == nil && opts.failAfter != nil {
					err = opts.failAfter(i, s)
				}
				if err != nil {
					failed = &StepError{Step: s, Err: err, ctxErr: cerr}
					return failed
				}
				opts.Progress.report("import", i+1, total)
			}
			return nil
		})
		if failed != nil {
			return failed
		}
		if berr != nil {
			// The batch could not begin (its refresh failed): nothing of this kind was done.
			if cerr := ctx.Err(); cerr != nil {
				return &StepError{Step: p.Steps[i], Err: context.Cause(ctx), ctxErr: cerr}
			}
			return &StepError{Step: p.Steps[i], Err: berr}
		}
	}
	// A signal during the last step: that step finished, and the import is undone all the
	// same, as it would be before any other step.
	if err := ctx.Err(); err != nil && total > 0 {
		return &StepError{Step: p.Steps[total-1], Err: context.Cause(ctx), ctxErr: err}
	}
	return nil
}

// apply carries out one step.
func apply(ctx context.Context, dom driver.Domain, s Step, validate bool, j *journal) error {
	switch s.Action {
	case Skip:
		return nil
	case Redefine, Replace:
		return redefine(ctx, dom, s.Kind, s.xml, false, validate)
	case SetCurrent:
		return redefine(ctx, dom, s.Kind, s.xml, true, false)
	case SteerCurrent:
		return steerCheckpoint(ctx, dom, s.Name, j)
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

// journalPath is the journal file the options give for an import into dom, "" for none.
func (o ImportOptions) journalPath(dom driver.Reader) (string, error) {
	if o.NoJournal {
		return "", nil
	}
	uri := dom.Driver().URI()
	dir := o.JournalDir
	if dir == "" {
		if isTestURI(uri) {
			return "", nil
		}
		var err error
		if dir, err = DefaultJournalDir(); err != nil {
			return "", err
		}
	}
	return JournalPath(dir, uri, dom.UUID()), nil
}

// isTestURI says whether uri is libvirt's test driver, whose state ends with the connection:
// after a crash there is nothing left to roll back.
func isTestURI(uri string) bool {
	return strings.HasPrefix(strings.ToLower(uri), "test:")
}

// toolVersion is v, or the module version.
func toolVersion(v string) string {
	if v == "" {
		return moduleVersion()
	}
	return v
}
