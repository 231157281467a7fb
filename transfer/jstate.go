package transfer

import (
	"github.com/vmoments/vmoments/conf"
)

// jstate is what a journal's records say, replayed in order: the runs' steps and how far each
// got, the rollback and how far it got, the temporary checkpoints, and where libvirt's hidden
// current-checkpoint pointer is (cp), which libvirt never tells and which every checkpoint
// change moves by libvirt's rules:
//
//   - a redefined checkpoint becomes current iff none is current or its parent is
//     (redefinedPointer), also when it existed already (then, if it was current, it stays so);
//   - a deleted checkpoint that was current hands it to its parent, none for a root
//     (deletedPointer);
//
// so a process that reads the journal after a crash knows where the pointer is, and can put it
// back where it was before the import (steerCheckpoint), although libvirt cannot be asked.
type jstate struct {
	begin *jrecord
	// runs are the steps of begin and of each resume; doneN how many of each run are done.
	runs  [][]jstep
	doneN []int
	// rb is the latest rollback record (nil when none, or a resume came after it), undoneN
	// how many of its undo steps are done.
	rb      *jrecord
	undoneN int
	// temps are the temporary checkpoints ever put, tmpParent the parent each has now.
	temps     []string
	tmpParent map[string]string
	// pending is the last temporary-checkpoint change announced and not yet known to be done.
	pending *jrecord
	cp      string
	records int
}

func newState() *jstate { return &jstate{tmpParent: map[string]string{}} }

func redefinedPointer(cp, name, parent string) string {
	if cp == "" || parent != "" && parent == cp {
		return name
	}
	return cp
}

func deletedPointer(cp, name, parent string) string {
	if cp == name {
		return parent
	}
	return cp
}

// apply replays one record.
func (s *jstate) apply(r *jrecord) {
	s.records++
	switch r.T {
	case recBegin:
		s.begin = r
		s.runs, s.doneN = [][]jstep{r.Steps}, []int{0}
		s.cp = *r.CurCP
	case recResume:
		s.confirmTmp()
		s.runs, s.doneN = append(s.runs, r.Steps), append(s.doneN, 0)
		s.rb, s.undoneN = nil, 0
		s.cp = *r.CurCP
	case recDone:
		s.confirmTmp()
		run := len(s.runs) - 1
		if i := *r.Index; i < len(s.runs[run]) {
			s.applyStep(s.runs[run][i])
			s.doneN[run] = i + 1
		}
	case recRollback:
		s.confirmTmp()
		s.rb, s.undoneN = r, 0
		s.cp = *r.CurCP
	case recUndone:
		s.confirmTmp()
		if s.rb != nil && *r.Index < len(s.rb.Ops) {
			s.applyUndo(s.rb.Ops[*r.Index])
			s.undoneN = *r.Index + 1
		}
	case recTmp:
		if r.Op == "failed" {
			s.pending = nil // the change announced last did not happen
			return
		}
		s.confirmTmp()
		s.pending = r
	}
}

// confirmTmp applies the announced temporary-checkpoint change: a later record shows it was
// made.
func (s *jstate) confirmTmp() {
	r := s.pending
	if r == nil {
		return
	}
	s.pending = nil
	switch r.Op {
	case "put":
		parent := ""
		if r.Parent != nil {
			parent = *r.Parent
		}
		if _, seen := s.tmpParent[r.Name]; !seen {
			s.temps = append(s.temps, r.Name)
		}
		s.cp = redefinedPointer(s.cp, r.Name, parent)
		s.tmpParent[r.Name] = parent
	case "del":
		s.cp = deletedPointer(s.cp, r.Name, s.tmpParent[r.Name])
	}
}

// applyStep is what a forward step does to the pointer (a steer-current step moved it through
// its temporary-checkpoint records already).
func (s *jstate) applyStep(st jstep) {
	if st.Kind != conf.Checkpoint.String() {
		return
	}
	switch Action(st.Action) {
	case Redefine, Replace:
		s.cp = redefinedPointer(s.cp, st.Name, st.Parent)
	case actRemove:
		s.cp = deletedPointer(s.cp, st.Name, st.Parent)
	}
}

// applyUndo is what an undo step does to the pointer.
func (s *jstate) applyUndo(op jstep) {
	if op.Kind != conf.Checkpoint.String() {
		return
	}
	switch op.Action {
	case undoDelete:
		s.cp = deletedPointer(s.cp, op.Name, op.Parent)
	case undoRestore, undoRedef:
		s.cp = redefinedPointer(s.cp, op.Name, op.Parent)
	}
}

// info is what JournalInfo shows of the state.
func (s *jstate) info(path string) *JournalInfo {
	b := s.begin
	in := &JournalInfo{Path: path, Op: b.Op, URI: b.URI, Domain: *b.Domain, Export: *b.Export,
		VmomentsVersion: b.Version, Started: *b.Time, PID: b.PID, Host: b.Host}
	seen := map[string]bool{}
	for r, steps := range s.runs {
		for _, st := range steps {
			if k := st.Kind + "/" + st.Name + "/" + st.Action; !seen[k] {
				seen[k] = true
				in.Steps++
			}
		}
		in.Done += s.doneN[r]
	}
	if s.rb != nil {
		in.RollingBack, in.Undone = true, s.undoneN
	}
	return in
}

// live is the domain as it is now, to tell what the steps after the last record did.
type live struct {
	lists map[conf.Kind]map[string]string // kind → name → parent
	cur   map[conf.Kind]string            // the current moment the driver reports
	// xml returns a moment's definition now, as the journal's old definitions were fetched.
	xml func(kind conf.Kind, name string) ([]byte, error)
}

func (l *live) has(kind string, name string) bool {
	k, err := kindOf(kind)
	if err != nil {
		return false
	}
	_, ok := l.lists[k][name]
	return ok
}

func (l *live) parentOf(kind, name string) (string, bool) {
	k, err := kindOf(kind)
	if err != nil {
		return "", false
	}
	p, ok := l.lists[k][name]
	return p, ok
}

// sameAs says whether the moment's definition now is old.
func (l *live) sameAs(kind, name, old string) (bool, error) {
	if !l.has(kind, name) {
		return false, nil
	}
	k, _ := kindOf(kind)
	x, err := l.xml(k, name)
	if err != nil {
		return false, err
	}
	return sameXML(x, []byte(old)), nil
}

// resolveTail decides, from the domain as it is, which of the steps after the journal's last
// record happened: the one that was running when the process died (done records are written
// before the next step starts), or after a power cut the few whose records had not reached the
// disk. Steps run in order, so the first one that did not happen ends the tail. It applies
// those that did, as their records would have.
func (s *jstate) resolveTail(l *live) error {
	if r := s.pending; r != nil {
		s.pending = nil
		happened := false
		switch r.Op {
		case "put":
			p, ok := l.parentOf(conf.Checkpoint.String(), r.Name)
			happened = ok && r.Parent != nil && p == *r.Parent
		case "del":
			happened = !l.has(conf.Checkpoint.String(), r.Name)
		}
		if happened {
			s.pending = r
			s.confirmTmp()
		}
		return nil // a temporary-checkpoint change is the innermost step: nothing followed it
	}
	if s.rb != nil {
		for s.undoneN < len(s.rb.Ops) {
			op := s.rb.Ops[s.undoneN]
			var happened bool
			switch op.Action {
			case undoDelete:
				happened = !l.has(op.Kind, op.Name)
			case undoRedef:
				happened = l.has(op.Kind, op.Name)
			case undoRestore:
				same, err := l.sameAs(op.Kind, op.Name, op.Old)
				if err != nil {
					return err
				}
				happened = same
			}
			if !happened {
				return nil
			}
			s.applyUndo(op)
			s.undoneN++
		}
		return nil
	}
	run := len(s.runs) - 1
	for s.doneN[run] < len(s.runs[run]) {
		st := s.runs[run][s.doneN[run]]
		var happened bool
		switch Action(st.Action) {
		case Redefine:
			happened = l.has(st.Kind, st.Name)
		case actRemove:
			happened = !l.has(st.Kind, st.Name)
		case Replace:
			same, err := l.sameAs(st.Kind, st.Name, st.Old)
			if err != nil {
				return err
			}
			happened = l.has(st.Kind, st.Name) && !same
		case SetCurrent:
			happened = l.cur[conf.Snapshot] == st.Name
		}
		if !happened {
			return nil
		}
		s.applyStep(st)
		s.doneN[run]++
	}
	return nil
}
