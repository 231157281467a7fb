package transfer

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"

	"github.com/vmoments/vmoments/conf"
	"github.com/vmoments/vmoments/driver"
	"github.com/vmoments/vmoments/momentlist"
)

// Action is what an import does with one moment.
type Action string

// The actions of a plan.
const (
	// Redefine defines a moment the destination lacks (metadata only).
	Redefine Action = "redefine"
	// Skip leaves a moment the destination already has with the same definition.
	Skip Action = "skip"
	// Replace redefines a moment the destination has with another definition (--replace).
	Replace Action = "replace"
	// Conflict is a moment the destination has with another definition, without --replace:
	// the import refuses to start.
	Conflict Action = "conflict"
	// SetCurrent redefines the exported current snapshot once more with CURRENT, last.
	SetCurrent Action = "set-current"
)

// Step is one step of an import plan.
type Step struct {
	Kind   conf.Kind
	Name   string
	Parent string
	Action Action
	// File is the moment's file in the export.
	File string
	xml  []byte
	def  *conf.Def // parsed from xml
	old  []byte    // Replace: the destination's definition before, to restore on failure
}

func (s Step) String() string {
	return fmt.Sprintf("%s %s %q", s.Action, s.Kind, s.Name)
}

// ImportOptions tune Plan and Import.
type ImportOptions struct {
	// Replace redefines moments the destination has with a different definition; without it
	// such a moment stops the import before any change.
	Replace bool
	// Validate redefines checkpoints with REDEFINE_VALIDATE: libvirt checks that each disk's
	// bitmap exists.
	Validate bool
	// Progress, if set, is told how the import goes.
	Progress ProgressFunc

	// JournalDir is the directory of the import journals (see journal.go): "" is
	// DefaultJournalDir, except for libvirt's test driver (test:///...), whose state ends with
	// its connection, where "" keeps no journal. NoJournal keeps none anywhere: a killed import
	// can then not be rolled back (a failed or interrupted one still is).
	JournalDir string
	NoJournal  bool
	// From names the export in the journal and in the error of an import refused because of
	// it ("the export it came from"); Import sets it to the path.
	From string
	// ToolVersion is recorded in the journal; "" uses the module version of the binary.
	ToolVersion string
	// RollbackContext, if set, can stop the rollback of a failed or interrupted import: when
	// it is done, the rollback ends between two undo steps, the journal keeps what is left
	// (Rollback finishes it) and the *StepError's RollbackErr is an *AbandonedError. Without it
	// nothing stops a rollback (the import's own ctx cannot: a canceled ctx is what starts it).
	RollbackContext context.Context

	// failAt, for tests: the step (index into Plan.Steps) that fails as if libvirt refused it;
	// failAfter: the step after which the import stops (as if ctx ended once it was done).
	failAt, failAfter func(i int, s Step) error
	// trace, for tests, is told of the journal's writes and syncs; crash may simulate a SIGKILL
	// at a point it is asked about (journal.crashAt).
	trace func(event string)
	crash func(point string) bool
}

// Plan is what Import will do, worked out and checked before anything changes: every file is
// read and its checksum and definition verified, the order is derived from the parents (the
// manifest's order is checked, not trusted), and the redefinitions are run first on copies of
// the destination's lists with libvirt's own rules, so that a parent missing or a cycle stops
// the import before any change, and so the resulting current moments are known.
type Plan struct {
	Manifest *Manifest
	// Domain is the destination domain.
	Domain DomainRef
	// Steps in execution order: snapshots (parents first), the exported current snapshot made
	// current, then checkpoints (parents first; the chain down to the exported current first)
	// and the checkpoint current steered if needed.
	Steps []Step
	// Conflicts lists the moments that differ on the destination (Replace not set).
	Conflicts []Step
	// CurrentSnapshot and CurrentCheckpoint are the current moments the destination will have.
	CurrentSnapshot   string
	CurrentCheckpoint string
	// CheckpointNote says why the redefinitions alone would not leave the exported checkpoint
	// current (the plan then has a SteerCurrent step), "" when they do.
	CheckpointNote string

	before map[conf.Kind]string // current moments before the import
}

// Count returns the number of steps with the action.
func (p *Plan) Count(a Action) int {
	n := 0
	for _, s := range p.Steps {
		if s.Action == a {
			n++
		}
	}
	return n
}

// loaded is one verified moment of an export.
type loaded struct {
	e    Entry
	kind conf.Kind
	xml  []byte
	def  *conf.Def // parsed from xml
}

// readExport reads and verifies manifest.json and every file it lists: present, checksum equal,
// a definition libvirt's redefine parser accepts, of the kind, name and parent the manifest
// says. Nothing is read from libvirt.
func readExport(src Source, progress ProgressFunc) (*Manifest, []loaded, error) {
	data, err := src.ReadFile(ManifestName)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, nil, fmt.Errorf("not an export: %s is missing", ManifestName)
		}
		return nil, nil, fmt.Errorf("read %s: %w", ManifestName, err)
	}
	m, err := parseManifest(data)
	if err != nil {
		return nil, nil, err
	}
	out := make([]loaded, 0, len(m.Moments))
	for i, e := range m.Moments {
		kind, _ := kindOf(e.Kind)
		data, err := src.ReadFile(e.File)
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil, nil, fmt.Errorf("%s %q: file %s is missing from the export", e.Kind, e.Name, e.File)
			}
			return nil, nil, fmt.Errorf("%s %q: read %s: %w", e.Kind, e.Name, e.File, err)
		}
		sum := sha256.Sum256(data)
		if got := hex.EncodeToString(sum[:]); got != e.SHA256 {
			return nil, nil, fmt.Errorf("%s %q: file %s was altered after the export: its SHA-256 is %s, the manifest says %s",
				e.Kind, e.Name, e.File, got, e.SHA256)
		}
		// The fast path gives the full parser's result in redefine mode (same checks, same
		// messages) without tokenizing the embedded <domain>, which libvirt parses and checks
		// itself: at 20,000 moments the full parse cost a tenth of the import.
		def, err := conf.ParseFast(kind, data)
		if err != nil {
			return nil, nil, fmt.Errorf("%s %q: file %s: %w", e.Kind, e.Name, e.File, err)
		}
		if def.Kind != kind || def.Name != e.Name || def.Parent != e.Parent {
			return nil, nil, fmt.Errorf("%s %q: file %s defines %s %q with parent %q, the manifest says parent %q",
				e.Kind, e.Name, e.File, def.Kind, def.Name, def.Parent, e.Parent)
		}
		out = append(out, loaded{e: e, kind: kind, xml: data, def: def})
		progress.report("verify", i+1, len(m.Moments))
	}
	return m, out, nil
}

// topoOrder orders the moments of one kind parents first, keeping the given order where the
// parents allow it (the manifest's order is checked, not trusted). A parent must be among the
// moments or on the destination (exists); a cycle is refused.
func topoOrder(kind conf.Kind, ms []loaded, exists func(string) bool) ([]loaded, error) {
	idx := make(map[string]int, len(ms))
	for i, m := range ms {
		idx[m.e.Name] = i
	}
	children := make(map[string][]int, len(ms))
	var ready []int
	for i, m := range ms {
		p := m.e.Parent
		if _, ok := idx[p]; ok && p != "" {
			if p == m.e.Name {
				return nil, fmt.Errorf("%s %q is its own parent", kind, p)
			}
			children[p] = append(children[p], i)
			continue
		}
		if p != "" && !exists(p) {
			return nil, fmt.Errorf("parent %s %q of %s %q is neither in the export nor on the destination", kind, p, kind, m.e.Name)
		}
		ready = append(ready, i)
	}
	out := make([]loaded, 0, len(ms))
	// Depth first from the roots in manifest order: each moment right after its parent's
	// earlier-listed subtrees, which is the manifest's own order when that order is topological.
	var visit func(i int)
	visit = func(i int) {
		out = append(out, ms[i])
		for _, c := range children[ms[i].e.Name] {
			visit(c)
		}
	}
	for _, i := range ready {
		visit(i)
	}
	if len(out) != len(ms) {
		var in []string
		done := make(map[string]bool, len(out))
		for _, m := range out {
			done[m.e.Name] = true
		}
		for _, m := range ms {
			if !done[m.e.Name] {
				in = append(in, m.e.Name)
			}
		}
		return nil, fmt.Errorf("the parents of %ss %q form a cycle", kind, in)
	}
	return out, nil
}

// MakePlan verifies the export in src against the destination domain and returns the plan an
// Import would follow. It changes nothing.
func MakePlan(ctx context.Context, dom driver.Reader, src Source, opts ImportOptions) (*Plan, error) {
	m, files, err := readExport(src, opts.Progress)
	if err != nil {
		return nil, err
	}
	return makePlan(ctx, dom, m, files, opts, nil)
}

// checkExportDomain refuses an export of another domain.
func checkExportDomain(m *Manifest, dom driver.Reader) error {
	if m.Domain.UUID != dom.UUID() {
		return fmt.Errorf("the export is of domain %q (uuid %s), domain %q has uuid %s: libvirt accepts moment definitions only for the domain they were taken of",
			m.Domain.Name, m.Domain.UUID, dom.Name(), dom.UUID())
	}
	return nil
}

// makePlan plans the import of the verified export m, files. cpNow, when set, is where
// libvirt's current-checkpoint pointer is (from a journal), which the driver of a new process
// cannot know.
func makePlan(ctx context.Context, dom driver.Reader, m *Manifest, files []loaded, opts ImportOptions, cpNow *string) (*Plan, error) {
	if err := checkExportDomain(m, dom); err != nil {
		return nil, err
	}
	p := &Plan{Manifest: m, Domain: DomainRef{Name: dom.Name(), UUID: dom.UUID()}, before: map[conf.Kind]string{}}
	var setCurrent *Step
	fx := &fetcher{dom: dom, secure: m.Secure}
	// Snapshots go first: libvirt's QEMU driver refuses snapshot changes on a domain that has
	// checkpoints when QEMU lacks incremental-backup support (an inactive domain: "cannot
	// perform block operations while checkpoint exists"), redefinitions included.
	for _, kind := range []conf.Kind{conf.Snapshot, conf.Checkpoint} {
		if !m.hasKind(kind) {
			continue
		}
		l, err := dom.Moments(ctx, kind)
		if err != nil {
			return nil, err
		}
		if kind == conf.Checkpoint && cpNow != nil {
			l.SetCurrent(l.Find(*cpNow))
		}
		p.before[kind] = nameOf(l.Current()) // from the same refresh as the list
		var ms []loaded
		for _, f := range files {
			if f.kind == kind {
				ms = append(ms, f)
			}
		}
		ordered, err := topoOrder(kind, ms, func(n string) bool { return l.Find(n) != nil })
		if err != nil {
			return nil, err
		}
		steps := make([]Step, 0, len(ordered))
		for _, f := range ordered {
			st := Step{Kind: kind, Name: f.e.Name, Parent: f.e.Parent, Action: Redefine, File: f.e.File, xml: f.xml, def: f.def}
			if ex := l.Find(f.e.Name); ex != nil {
				old, err := fx.xml(ctx, kind, ex)
				if err != nil {
					return nil, err
				}
				switch {
				case sameXML(old, f.xml):
					st.Action = Skip
				case opts.Replace:
					st.Action, st.old = Replace, old
				default:
					st.Action = Conflict
					p.Conflicts = append(p.Conflicts, st)
				}
			}
			steps = append(steps, st)
		}
		target := m.CurrentSnapshot
		if kind == conf.Checkpoint {
			target = m.CurrentCheckpoint
			steps = checkpointOrder(steps, target)
		}
		final, err := simulate(l, steps, kind == conf.Snapshot && target != "", target)
		if err != nil {
			return nil, err
		}
		if kind == conf.Checkpoint {
			p.CurrentCheckpoint = target
			if final != target {
				p.CheckpointNote = checkpointNote(target, final, p.before[kind])
				steps = append(steps, Step{Kind: kind, Name: target, Action: SteerCurrent})
			}
		} else {
			p.CurrentSnapshot = final
			if target != "" && p.before[kind] != target {
				setCurrent = &Step{Kind: kind, Name: target, Action: SetCurrent}
				for _, s := range steps {
					if s.Name == target {
						setCurrent.Parent, setCurrent.File, setCurrent.xml, setCurrent.def = s.Parent, s.File, s.xml, s.def
					}
				}
			}
			if target == "" {
				p.CurrentSnapshot = p.before[kind]
			}
		}
		p.Steps = append(p.Steps, steps...)
		if setCurrent != nil {
			p.Steps = append(p.Steps, *setCurrent)
			setCurrent = nil
		}
	}
	return p, nil
}

func sameXML(a, b []byte) bool {
	return bytes.Equal(bytes.TrimSpace(a), bytes.TrimSpace(b))
}

// checkpointOrder reorders the steps so that the exported current checkpoint ends current, where
// libvirt's rule allows (a redefined checkpoint becomes current iff its parent is current or none
// is): the chain from the root down to the target is redefined first, then the rest. With the
// target a leaf, the rest can no longer move the pointer, since none of them has the target as
// parent. The steps stay parents-first.
func checkpointOrder(steps []Step, target string) []Step {
	if target == "" {
		return steps
	}
	parent := make(map[string]string, len(steps))
	for _, s := range steps {
		parent[s.Name] = s.Parent
	}
	onPath := map[string]bool{}
	for n := target; n != ""; n = parent[n] {
		if _, ok := parent[n]; !ok || onPath[n] {
			break
		}
		onPath[n] = true
	}
	out := make([]Step, 0, len(steps))
	for _, s := range steps {
		if onPath[s.Name] {
			out = append(out, s)
		}
	}
	for _, s := range steps {
		if !onPath[s.Name] {
			out = append(out, s)
		}
	}
	return out
}

// simulate runs the steps on the destination's list l with libvirt's rules
// (momentlist.List.Redefine) and returns the name of the current moment afterwards. Conflicts
// and skips change nothing. It changes l, which must be the caller's own copy (MakePlan's is
// the private one from driver.Domain.Moments, read for nothing after this).
func simulate(l *momentlist.List, steps []Step, setCurrent bool, target string) (string, error) {
	for _, s := range steps {
		if s.Action != Redefine && s.Action != Replace {
			continue
		}
		def := s.def
		if def == nil {
			var err error
			if def, err = conf.ParseFast(s.Kind, s.xml); err != nil {
				return "", fmt.Errorf("%s %q: %w", s.Kind, s.Name, err)
			}
		}
		// Shared with the step: a redefinition does not change a definition.
		if _, err := l.Redefine(def, momentlist.KeepCurrent); err != nil {
			return "", fmt.Errorf("%s %q cannot be redefined: %w", s.Kind, s.Name, err)
		}
	}
	if setCurrent {
		l.SetCurrent(l.Find(target))
	}
	if cur := l.Current(); cur != nil {
		return cur.Name(), nil
	}
	return "", nil
}

// checkpointNote explains why the order of the redefinitions alone does not leave the exported
// current checkpoint current, so that the import steers libvirt's pointer (steerCheckpoint).
func checkpointNote(target, final, before string) string {
	name := func(n string) string {
		if n == "" {
			return "none"
		}
		return fmt.Sprintf("%q", n)
	}
	why := "libvirt makes a redefined checkpoint current only when its parent is current or none is"
	switch {
	case target == "":
		why = "the source had no current checkpoint, but " + why
	case before != "":
		why = fmt.Sprintf("the destination's current checkpoint was %s and %s", name(before), why)
	default:
		why = fmt.Sprintf("checkpoint %q has children and %s", target, why)
	}
	return fmt.Sprintf("%s, so the redefinitions alone would leave %s current; a temporary checkpoint (metadata only) moves libvirt's pointer to %s", why, name(final), name(target))
}
