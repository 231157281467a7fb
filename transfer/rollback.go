package transfer

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sort"
	"time"

	"github.com/vmoments/vmoments/conf"
	"github.com/vmoments/vmoments/driver"
)

// The rollback is one procedure for every case: a step libvirt refused, a canceled context
// (a signal), and a journal left by a process that died (Rollback). It does not replay the
// journal's steps backwards; it compares what the journal says the import set out to change
// with the domain as it is now and undoes exactly what is there to undo:
//
//   - moments an import redefined (absent before it) and that exist now are deleted, metadata
//     only, every child before its parent;
//   - moments it replaced whose definition is not the old one are redefined from the old one;
//   - moments a removal removed (copy's source) that are missing are redefined from the
//     journal, parents first;
//   - temporary checkpoints that still exist are deleted;
//   - libvirt's current checkpoint is steered back where it was (from where the journal's
//     replay says it is now) and the current snapshot made current again.
//
// So it does the right thing whatever the last step did before the process died, and running
// it twice changes nothing the second time. The undo steps are recorded in the journal before
// the first one (a rollback record) and as each completes, so that a rollback that was itself
// interrupted is finished by the next one.

// RollbackOptions tune Rollback.
type RollbackOptions struct {
	// JournalDir is where the journal is (DefaultJournalDir when "").
	JournalDir string
	// Progress, if set, is told how the rollback goes (phase "rollback").
	Progress ProgressFunc

	// trace and crash, for tests: see journal.
	trace func(event string)
	crash func(point string) bool
}

// RollbackResult is what Rollback did.
type RollbackResult struct {
	// Journal is what the journal recorded before the rollback.
	Journal *JournalInfo
	// Undone counts the changes undone.
	Undone   int
	Duration time.Duration
}

// ErrNoJournal is matched by Rollback's error when the domain has no unfinished import.
var ErrNoJournal = errors.New("no unfinished import")

// Rollback undoes the unfinished import (or copy) into dom that its journal in
// opts.JournalDir records, whatever ended it (a SIGKILL, an OOM kill, a power cut, an
// abandoned rollback), and removes the journal: the domain is then as it was before that import
// began. ctx stops it between two undo steps; the journal then stays, with what is left, for
// the next Rollback.
func Rollback(ctx context.Context, dom driver.Domain, opts RollbackOptions) (*RollbackResult, error) {
	start := time.Now()
	dir, err := journalDir(opts.JournalDir)
	if err != nil {
		return nil, err
	}
	uri := dom.Driver().URI()
	path := JournalPath(dir, uri, dom.UUID())
	j, info, busy, err := openPending(path)
	if err != nil {
		return nil, err
	}
	if busy {
		return nil, &UnfinishedError{Journal: info, Domain: dom.Name(), URI: uri, Busy: true}
	}
	if j == nil {
		return nil, fmt.Errorf("%w into domain %q on %s: there is no journal %s", ErrNoJournal, dom.Name(), uri, path)
	}
	if err := j.checkDomain(uri, dom.UUID(), dom.Name()); err != nil {
		j.close()
		return nil, err
	}
	j.start()
	j.trace, j.crash = opts.trace, opts.crash
	res := &RollbackResult{Journal: info}
	if cerr := j.run(func() error {
		res.Undone, err = j.rollback(ctx, dom, opts.Progress)
		return nil
	}); cerr != nil {
		return nil, cerr
	}
	res.Duration = time.Since(start)
	if err != nil {
		j.close()
		return res, err
	}
	return res, nil
}

// AbandonedError is the error of a rollback that its context stopped: the journal keeps what
// is left.
type AbandonedError struct {
	Journal string
	// Undone and Remaining count the undo steps done and left.
	Undone, Remaining int
	Err               error
}

func (e *AbandonedError) Error() string {
	where := "nothing records what is left"
	if e.Journal != "" {
		where = fmt.Sprintf("the journal %s keeps them for the next Rollback", e.Journal)
	}
	return fmt.Sprintf("rollback abandoned (%v) after undoing %d changes, %d undo steps remain; %s", e.Err, e.Undone, e.Remaining, where)
}

func (e *AbandonedError) Unwrap() error { return e.Err }

// journalDir is dir, or the default.
func journalDir(dir string) (string, error) {
	if dir != "" {
		return dir, nil
	}
	return DefaultJournalDir()
}

// readLive reads the domain's lists of the kinds the journal touches.
func (j *journal) readLive(ctx context.Context, dom driver.Domain) (*live, error) {
	l := &live{lists: map[conf.Kind]map[string]string{}, cur: map[conf.Kind]string{}}
	raw := map[conf.Kind]map[string][]byte{}
	for _, k := range j.kinds() {
		ml, err := dom.Moments(ctx, k)
		if err != nil {
			return nil, err
		}
		names := make(map[string]string, ml.Len())
		raws := make(map[string][]byte, ml.Len())
		for _, m := range ml.All() {
			p := ""
			if m.Parent() != nil {
				p = m.Parent().Name()
			}
			names[m.Name()] = p
			raws[m.Name()] = m.Def().Raw()
		}
		l.lists[k], raw[k] = names, raws
		l.cur[k] = nameOf(ml.Current())
	}
	secure := j.st.begin.Secure
	l.xml = func(k conf.Kind, name string) ([]byte, error) {
		if r := raw[k][name]; r != nil && !secure {
			return r, nil
		}
		var f driver.XMLFlags
		if secure {
			f = driver.XMLSecure
		}
		x, err := dom.XML(ctx, k, name, f)
		return []byte(x), err
	}
	return l, nil
}

// kinds are the kinds the journal's steps (and temporary checkpoints) touch, in the order the
// forward steps first touched them.
func (j *journal) kinds() []conf.Kind {
	var out []conf.Kind
	seen := map[string]bool{}
	add := func(k string) {
		if kk, err := kindOf(k); err == nil && !seen[k] {
			seen[k] = true
			out = append(out, kk)
		}
	}
	for _, steps := range j.st.runs {
		for _, s := range steps {
			add(s.Kind)
		}
	}
	if len(j.st.temps) > 0 || j.st.pending != nil {
		add(conf.Checkpoint.String())
	}
	return out
}

// undoOps lists the undo steps that put the domain back as the begin record found it, from
// the domain as it is (see the comment at the top).
func (s *jstate) undoOps(l *live) ([]jstep, error) {
	type key struct{ kind, name string }
	first := map[key]jstep{}
	var order []key
	forward := []string{} // kinds in the order the steps first touched them
	seenKind := map[string]bool{}
	for _, steps := range s.runs {
		for _, st := range steps {
			k := key{st.Kind, st.Name}
			if !seenKind[st.Kind] {
				seenKind[st.Kind] = true
				forward = append(forward, st.Kind)
			}
			if _, ok := first[k]; ok || st.Action == string(SetCurrent) || st.Action == string(SteerCurrent) {
				continue
			}
			first[k] = st
			order = append(order, k)
		}
	}
	var ops []jstep
	cpKind := conf.Checkpoint.String()
	for _, t := range s.temps {
		if p, ok := l.parentOf(cpKind, t); ok {
			ops = append(ops, jstep{Kind: cpKind, Name: t, Parent: p, Action: undoDelete})
		}
	}
	if !seenKind[cpKind] && len(ops) > 0 {
		forward = append(forward, cpKind)
		seenKind[cpKind] = true
	}
	oldParent := func(kind, old string) (string, error) {
		k, err := kindOf(kind)
		if err != nil {
			return "", err
		}
		d, err := conf.ParseFast(k, []byte(old))
		if err != nil {
			return "", fmt.Errorf("the journal's old definition: %w", err)
		}
		return d.Parent, nil
	}
	for i := len(forward) - 1; i >= 0; i-- {
		kind := forward[i]
		var dels []string
		for o := len(order) - 1; o >= 0; o-- {
			k := order[o]
			if k.kind != kind {
				continue
			}
			st := first[k]
			switch Action(st.Action) {
			case Replace:
				same, err := l.sameAs(kind, st.Name, st.Old)
				if err != nil {
					return nil, err
				}
				if !same {
					p, err := oldParent(kind, st.Old)
					if err != nil {
						return nil, err
					}
					ops = append(ops, jstep{Kind: kind, Name: st.Name, Parent: p, Action: undoRestore, Old: st.Old})
				}
			case actRemove:
				// Removed children first: put back in reverse, parents first.
				if !l.has(kind, st.Name) {
					p, err := oldParent(kind, st.Old)
					if err != nil {
						return nil, err
					}
					ops = append(ops, jstep{Kind: kind, Name: st.Name, Parent: p, Action: undoRedef, Old: st.Old})
				}
			case Redefine:
				if l.has(kind, st.Name) {
					dels = append(dels, st.Name)
				}
			}
		}
		ops = append(ops, leavesFirst(l, kind, dels)...)
		if kind == cpKind {
			ops = append(ops, jstep{Kind: kind, Name: *s.begin.CurCP, Action: undoCurCP})
		} else {
			ops = append(ops, jstep{Kind: kind, Name: *s.begin.CurSnap, Action: undoCurSnap})
		}
	}
	return ops, nil
}

// leavesFirst orders the deletes so that every moment goes after its descendants among them
// (deeper ones first), each with the parent it has now.
func leavesFirst(l *live, kind string, names []string) []jstep {
	k, _ := kindOf(kind)
	parents := l.lists[k]
	depth := map[string]int{}
	depthOf := func(n string) int {
		// Iterative, for chains of tens of thousands.
		var path []string
		d := 0
		for cur := n; cur != ""; {
			if v, ok := depth[cur]; ok {
				d = v
				break
			}
			path = append(path, cur)
			p, ok := parents[cur]
			if !ok || len(path) > len(parents) {
				break
			}
			cur = p
		}
		for i := len(path) - 1; i >= 0; i-- {
			d++
			depth[path[i]] = d
		}
		return depth[n]
	}
	sort.SliceStable(names, func(a, b int) bool { return depthOf(names[a]) > depthOf(names[b]) })
	out := make([]jstep, len(names))
	for i, n := range names {
		out[i] = jstep{Kind: kind, Name: n, Parent: parents[n], Action: undoDelete}
	}
	return out
}

// rollback undoes what the journal's import did (see the top of this file) and removes the
// journal. stop, when done, ends it between two undo steps with an *AbandonedError (the
// journal stays). A failed undo step does not end it: it goes on to leave as little as
// possible behind, keeps the journal, and returns the failures.
func (j *journal) rollback(stop context.Context, dom driver.Domain, progress ProgressFunc) (int, error) {
	ctx := context.WithoutCancel(stop)
	l, err := j.readLive(ctx, dom)
	if err != nil {
		return 0, fmt.Errorf("read the domain's moments: %w", err)
	}
	if err := j.st.resolveTail(l); err != nil {
		return 0, err
	}
	ops, err := j.st.undoOps(l)
	if err != nil {
		return 0, err
	}
	now := time.Now().UTC()
	if err := j.append(&jrecord{T: recRollback, Time: &now, PID: os.Getpid(), CurCP: strp(j.st.cp), Ops: ops}, true); err != nil {
		return 0, err
	}
	isTemp := map[string]bool{}
	for _, t := range j.st.temps {
		isTemp[t] = true
	}
	undone := 0
	var errs []error
	for i := 0; i < len(ops); {
		kind, _ := kindOf(ops[i].Kind)
		k := i
		for k < len(ops) && ops[k].Kind == ops[i].Kind {
			k++
		}
		var abandoned error
		berr := driver.Batch(ctx, dom, kind, 0, func(b driver.Domain) error {
			for ; i < k; i++ {
				if err := stop.Err(); err != nil {
					abandoned = &AbandonedError{Journal: j.path, Undone: undone, Remaining: len(ops) - i, Err: context.Cause(stop)}
					return abandoned
				}
				op := ops[i]
				if err := j.undo(ctx, b, kind, op); err != nil {
					errs = append(errs, err)
				} else {
					j.crashAt("undo %d made", i)
					if op.Action != undoCurCP && op.Action != undoCurSnap && !(op.Kind == conf.Checkpoint.String() && isTemp[op.Name]) {
						undone++
					}
					if err := j.undone(i); err != nil {
						return err
					}
				}
				progress.report("rollback", i+1, len(ops))
			}
			return nil
		})
		if abandoned != nil {
			return undone, abandoned
		}
		if berr != nil {
			errs = append(errs, berr)
			i = k
		}
	}
	if len(errs) > 0 {
		return undone, errors.Join(errs...)
	}
	if err := j.remove(); err != nil {
		return undone, err
	}
	return undone, nil
}

// undo carries out one undo step.
func (j *journal) undo(ctx context.Context, dom driver.Domain, kind conf.Kind, op jstep) error {
	switch op.Action {
	case undoDelete:
		err := deleteMetadata(ctx, dom, kind, op.Name)
		if err != nil && !errors.Is(err, driver.ErrNotFound) {
			return fmt.Errorf("undo: delete %s %q: %w", kind, op.Name, err)
		}
	case undoRestore, undoRedef:
		if err := redefine(ctx, dom, kind, []byte(op.Old), false, false); err != nil {
			return fmt.Errorf("undo: redefine %s %q as it was: %w", kind, op.Name, err)
		}
	case undoCurCP:
		if err := steerCheckpoint(ctx, dom, op.Name, j); err != nil {
			return fmt.Errorf("make checkpoint %q current again: %w", op.Name, err)
		}
	case undoCurSnap:
		cur, _, err := dom.Current(ctx, conf.Snapshot)
		switch {
		case err != nil:
		case op.Name == "" && cur != nil:
			// Only when the destination had snapshots but none current, and the exported
			// current one hangs below one of them: deleting moved current up to it.
			err = fmt.Errorf("snapshot %q is current, none was before the import, and libvirt has no call that clears the current snapshot", cur.Name())
		case op.Name != "" && (cur == nil || cur.Name() != op.Name):
			err = dom.SetCurrent(ctx, op.Name)
		}
		if err != nil {
			return fmt.Errorf("make snapshot %q current again: %w", op.Name, err)
		}
	}
	return nil
}
