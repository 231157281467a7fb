package drivertest

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/vmoments/vmoments/conf"
	"github.com/vmoments/vmoments/driver"
)

// Config tells [Run] how to test one driver: where a scenario may make changes, which preloaded
// states to read, and what the driver's [driver.Capabilities] do not say.
type Config struct {
	// Fresh prepares the place of one scenario: a state no other scenario sees, holding a
	// domain without moments (see [Place]). Run calls it inside the scenario's subtest, once
	// per scenario; cleanups it registers with t.Cleanup run when the scenario ends, after Run
	// has closed every driver it opened on the place.
	Fresh func(t *testing.T) Place
	// Running says that the domain of a fresh place runs. libvirt creates checkpoints only on
	// a running domain (and deletes their bitmaps only there); on a domain that does not run,
	// the suite redefines a checkpoint where it would create one (under the current one: the
	// parent a create gives), deletes checkpoints with DeleteMetadataOnly, and skips the
	// scenario that needs a created checkpoint.
	Running bool
	// States are preloaded states (a node file of libvirt's test driver, ...) that the suite
	// reads as they are and then changes.
	States []State
	// MaxFroms and ListEvery are the [Options] of the lists checked after every change of the
	// change scenarios (defaults 3 and 8). A live libvirtd answers every Domain.List with a
	// refresh: qemu:///system wants a larger ListEvery.
	MaxFroms, ListEvery int
	// Reference is, for a driver that has no libvirt behind it (its domains are no [Oracle],
	// or one that answers from the driver's own state), the Config of a libvirt-backed driver
	// that starts from the same states: alike domains in Fresh places (disks, running or not)
	// and States of the same names and contents. Every scenario then runs on both, step by
	// step, and libvirt's answers are read on the reference: after every step what the driver
	// serves (every list of every flag combination, the current moment, the per-disk current
	// set, the tree, a fresh handle's load, what each moment's XML says) is compared with them,
	// and every step must succeed or fail alike on both: the same message (libvirt's words),
	// class, kind and moment. A step that one of the two declares it cannot do is skipped on
	// both. The reference's own Reference must be nil.
	Reference *Config
}

// Place is where one scenario runs: connections to one state, and the domain to change.
type Place struct {
	// Open opens a connection to the place's state with mode (driver.ReadWrite or
	// driver.ReadOnly). Every connection opened on one place serves the same state: a change
	// through one is seen through the others, as two clients of one libvirtd see each other's
	// changes (test:///default does, while one of its connections stays open). Run closes
	// every driver Open returns when the scenario ends.
	Open func(mode driver.Mode) (driver.Driver, error)
	// Domain is the domain the scenario works on (a name, a UUID): it has no moments yet.
	Domain string
	// Disks are the domain's disk targets ("vda", ...); checkpoints that the suite redefines
	// capture some of them and not others. Empty: redefined checkpoints give no disks.
	Disks []string
}

// State is a preloaded state: domains that already have moments, such as libvirt's test
// driver reads from a node file (test:///ABS/PATH.xml).
type State struct {
	// Name names the state in the logs ("examples/demo.xml"); a reference run pairs the
	// states of the two configs by name.
	Name string
	// Open opens a connection to the state with mode. Each call may serve a copy of its own
	// (a test driver node file does): the suite reads through one connection and changes
	// through another.
	Open func(mode driver.Mode) (driver.Driver, error)
}

// Run runs the conformance suite on a driver. Each scenario is a subtest of t (their names
// are listed in the package documentation); each logs its number of cases, and Run logs the
// totals. A scenario that needs what the driver declares it cannot do (its Capabilities, or
// Config.Running) is skipped with the reason; so is a step of a scenario, with a log line.
func Run(t *testing.T, cfg Config) {
	t.Helper()
	r := &runner{cfg: cfg}
	if err := r.validate(); err != nil {
		t.Fatal(err)
	}
	for _, st := range cfg.States {
		var ref *State
		if cfg.Reference != nil {
			for i := range cfg.Reference.States {
				if cfg.Reference.States[i].Name == st.Name {
					ref = &cfg.Reference.States[i]
				}
			}
			if ref == nil {
				t.Errorf("drivertest: state %q has no state of that name in Config.Reference", st.Name)
				continue
			}
		}
		t.Run("state "+st.Name, func(t *testing.T) { r.runState(t, st, ref) })
	}
	for _, sc := range scenarios {
		t.Run(sc.name, func(t *testing.T) {
			w := r.newWorld(t)
			if why := w.cannot(sc.needs); why != "" {
				t.Skip(why)
			}
			sc.run(w)
			r.changes += w.n
			t.Logf("conformance cases in %q: %d", sc.name, w.n)
		})
	}
	t.Logf("conformance cases: preloaded states %d, change scenarios %d, total %d", r.states, r.changes, r.states+r.changes)
}

// runner is one Run.
type runner struct {
	cfg             Config
	states, changes int // cases checked
}

func (r *runner) validate() error {
	if r.cfg.Fresh == nil {
		return errors.New("drivertest: Config.Fresh is nil")
	}
	if ref := r.cfg.Reference; ref != nil {
		switch {
		case ref.Reference != nil:
			return errors.New("drivertest: Config.Reference has a Reference of its own")
		case ref.Fresh == nil:
			return errors.New("drivertest: Config.Reference.Fresh is nil")
		case ref.Running != r.cfg.Running:
			return fmt.Errorf("drivertest: Config.Running is %v, the reference's %v: their fresh places must be alike", r.cfg.Running, ref.Running)
		}
	}
	return nil
}

func (r *runner) maxFroms() int {
	if r.cfg.MaxFroms > 0 {
		return r.cfg.MaxFroms
	}
	return 3
}

func (r *runner) listEvery() int {
	if r.cfg.ListEvery > 0 {
		return r.cfg.ListEvery
	}
	return 8
}

// world is one scenario: the driver under test and, in a reference run, the reference, each
// with its own place, connection and domain, changed step by step alike.
type world struct {
	t     *testing.T
	r     *runner
	sides []*side // [0] is the driver under test, [1] the reference if any
	// track follows libvirt's internal current checkpoint (of the oracle's side; in a reference
	// run both sides make the same changes, so it is the same on both).
	track Tracker
	n     int // cases checked
	// noted remembers the log lines already written, so a repeated substitution is told once.
	noted map[string]bool
}

// side is one driver of a world.
type side struct {
	label string // "driver" or "reference"
	place Place
	drv   driver.Driver // opened read-write
	dom   driver.Domain
	caps  driver.Capabilities
}

var ctx = context.Background()

func (r *runner) newWorld(t *testing.T) *world {
	t.Helper()
	w := &world{t: t, r: r, noted: map[string]bool{}}
	w.sides = append(w.sides, openSide(t, "driver", r.cfg.Fresh(t)))
	if ref := r.cfg.Reference; ref != nil {
		w.sides = append(w.sides, openSide(t, "reference", ref.Fresh(t)))
	}
	return w
}

// openSide opens a read-write connection on p and looks its domain up.
func openSide(t *testing.T, label string, p Place) *side {
	t.Helper()
	if p.Open == nil || p.Domain == "" {
		t.Fatalf("drivertest: the %s's Fresh gave a Place without Open or Domain", label)
	}
	drv := openOn(t, label, p.Open, driver.ReadWrite)
	dom, err := drv.Domain(ctx, p.Domain)
	if err != nil {
		t.Fatalf("%s: Domain(%q): %v", label, p.Domain, err)
	}
	return &side{label: label, place: p, drv: drv, dom: dom, caps: drv.Capabilities()}
}

// openOn opens a connection with open and closes it when t ends.
func openOn(t *testing.T, label string, open func(driver.Mode) (driver.Driver, error), mode driver.Mode) driver.Driver {
	t.Helper()
	drv, err := open(mode)
	if err != nil {
		t.Fatalf("%s: opening a connection (mode %d): %v", label, mode, err)
	}
	t.Cleanup(func() { drv.Close() })
	return drv
}

// sub is the driver under test.
func (w *world) sub() *side { return w.sides[0] }

// oracle is where libvirt's answers come from: the reference's domain in a reference run,
// else the driver's own.
func (w *world) oracle() source {
	w.t.Helper()
	s := w.sides[len(w.sides)-1]
	if len(w.sides) == 1 {
		if _, err := OracleOf(s.dom); err != nil {
			w.t.Fatalf("%v: a driver without libvirt behind it runs the suite with Config.Reference", err)
		}
	}
	return sourceOf(w.t, s.dom)
}

// need is what a scenario or step requires of a driver; it returns why the driver cannot
// ("" if it can).
type need func(c driver.Capabilities, running bool) string

// cannot returns why some side cannot do what n requires ("" if all can).
func (w *world) cannot(n need) string {
	if n == nil {
		return ""
	}
	for _, s := range w.sides {
		if why := n(s.caps, w.r.running()); why != "" {
			if s.label == "reference" {
				return "the reference driver cannot compare it: " + why
			}
			return why
		}
	}
	return ""
}

func (r *runner) running() bool { return r.cfg.Running }

// note logs a line once per scenario.
func (w *world) note(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	if !w.noted[msg] {
		w.noted[msg] = true
		w.t.Log(msg)
	}
}

// skipStep tells that a step is skipped when some side cannot do it, and returns whether it is.
func (w *world) skipStep(what string, n need) bool {
	if why := w.cannot(n); why != "" {
		w.t.Logf("skipped %s: %s", what, why)
		return true
	}
	return false
}

// do runs op on every side and fails the scenario if it fails on any.
func (w *world) do(what string, op func(s *side) error) {
	w.t.Helper()
	for _, s := range w.sides {
		if err := op(s); err != nil {
			w.t.Fatalf("%s: %s: %v", what, s.label, err)
		}
	}
}

// change runs op on every side like do, then checks the state of each kind.
func (w *world) change(what string, op func(s *side) error, kinds ...conf.Kind) {
	w.t.Helper()
	w.do(what, op)
	w.check(what, kinds...)
}

// check compares the driver's lists of each kind with libvirt's state and a fresh load
// (CheckState) and every flag combination with libvirt's lists (CheckLists).
func (w *world) check(after string, kinds ...conf.Kind) {
	w.t.Helper()
	for _, kind := range kinds {
		src := w.oracle()
		cur := w.track.Current
		s := w.sub()
		w.n += checkState(w.t, s.drv, s.dom, src, kind, cur)
		w.n += checkLists(w.t, s.dom, src, kind, Options{CheckpointCurrent: &cur, MaxFroms: w.r.maxFroms(), ListEvery: w.r.listEvery()})
		if w.t.Failed() {
			w.t.Fatalf("after %s", after)
		}
	}
}

// checkState is check without the flag combinations.
func (w *world) checkState(after string, kinds ...conf.Kind) {
	w.t.Helper()
	for _, kind := range kinds {
		s := w.sub()
		w.n += checkState(w.t, s.drv, s.dom, w.oracle(), kind, w.track.Current)
		if w.t.Failed() {
			w.t.Fatalf("after %s", after)
		}
	}
}

// truth reads libvirt's state of kind from the oracle.
func (w *world) truth(kind conf.Kind) *truth {
	w.t.Helper()
	return mustTruth(w.t, ctx, w.oracle(), kind)
}

// want is what a failing call must return.
type want struct {
	// class is the error class the error must match (with what it implies: ErrDomainNotFound
	// implies ErrNotFound); it must match no other class. nil: no class at all.
	class error
	// domain is the Error's Domain when it is not the scenario's domain (a lookup's ref, or
	// noDomain).
	domain string
	// kind, moment and unnamed are the Error's fields.
	kind    conf.Kind
	moment  string
	unnamed bool
	// msg is the message (Error.Message, libvirt's words); "" when libvirt's own drivers word
	// it differently, so only a reference run compares it (with the reference's).
	msg string
	// anyMsg says the message is the driver's own (a limit's wording): a reference run does
	// not compare it either.
	anyMsg bool
}

// noDomain is want.domain of an error about the driver, which names no domain.
const noDomain = "\x00none"

// classes are the error classes of the driver package, with context.Canceled.
var classes = []error{driver.ErrNotFound, driver.ErrDomainNotFound, driver.ErrMomentNotFound, driver.ErrReadOnly,
	driver.ErrClosed, driver.ErrUnsupportedURI, driver.ErrConnection, context.Canceled}

// fails runs op on every side; each must fail as wt says, and in a reference run alike.
func (w *world) fails(what string, wt want, op func(s *side) error) {
	w.t.Helper()
	var got []*driver.Error
	for _, s := range w.sides {
		err := op(s)
		w.n++
		if de := w.checkErr(what, s.label, err, wt); de != nil {
			got = append(got, de)
		}
	}
	if len(got) == 2 && !wt.anyMsg && got[0].Message() != got[1].Message() {
		w.t.Errorf("%s: the driver says %q, libvirt's %q", what, got[0].Message(), got[1].Message())
	}
}

// checkErr checks err against wt and returns it as a *driver.Error (nil when it is none).
func (w *world) checkErr(what, label string, err error, wt want) *driver.Error {
	w.t.Helper()
	if err == nil {
		w.t.Errorf("%s: %s: no error, want one (%v)", what, label, wt.class)
		return nil
	}
	var de *driver.Error
	if !errors.As(err, &de) {
		w.t.Errorf("%s: %s: %T %v is not a *driver.Error", what, label, err, err)
		return nil
	}
	for _, c := range classes {
		is := errors.Is(err, c)
		expect := wt.class != nil && errors.Is(wt.class, c)
		if is != expect {
			w.t.Errorf("%s: %s: errors.Is(err, %q) = %v, want %v: %v", what, label, c, is, expect, err)
		}
	}
	if de.Kind != wt.kind || de.Moment != wt.moment || de.Unnamed != wt.unnamed {
		w.t.Errorf("%s: %s: error about %v %q (unnamed %v), want %v %q (unnamed %v): %v", what, label,
			de.Kind, de.Moment, de.Unnamed, wt.kind, wt.moment, wt.unnamed, err)
	}
	if wt.msg != "" && de.Message() != wt.msg {
		w.t.Errorf("%s: %s: message %q, want %q", what, label, de.Message(), wt.msg)
	}
	dom := wt.domain
	switch dom {
	case "":
		dom = w.domainOf(label)
	case noDomain:
		dom = ""
	}
	if de.Domain != dom {
		w.t.Errorf("%s: %s: error names domain %q, want %q", what, label, de.Domain, dom)
	}
	return de
}

// domainOf is the name of the domain of the side labeled label.
func (w *world) domainOf(label string) string {
	for _, s := range w.sides {
		if s.label == label {
			return s.dom.Name()
		}
	}
	return ""
}

// The XML of the moments the suite makes.

// createSnapshot creates the snapshot name from XML that gives only the name.
func (s *side) createSnapshot(name string) error {
	got, err := s.dom.CreateSnapshot(ctx, "<domainsnapshot><name>"+xmlText(name)+"</name></domainsnapshot>", 0)
	if err == nil && got != name {
		return fmt.Errorf("created snapshot %q, want %q", got, name)
	}
	return err
}

// snapshotXML is a snapshot for redefinition as name under parent: the XML libvirt gives for
// the snapshot name if it exists (a redefinition of it), else for the first snapshot by name,
// renamed. libvirt wants the domain definition that the XML embeds; the creation time is fixed.
func (s *side) snapshotXML(name, parent string) (string, error) {
	template := name
	if _, err := s.dom.Def(ctx, conf.Snapshot, name); err != nil {
		all, err := s.dom.List(ctx, conf.Snapshot, "", 0)
		if err != nil {
			return "", err
		}
		if len(all) == 0 {
			return "", fmt.Errorf("redefining snapshot %q needs an existing snapshot to take its XML from", name)
		}
		names := make([]string, len(all))
		for i, m := range all {
			names[i] = m.Name()
		}
		sort.Strings(names)
		template = names[0]
	}
	x, err := s.dom.XML(ctx, conf.Snapshot, template, driver.XMLSecure)
	if err != nil {
		return "", err
	}
	def, err := conf.ParseSnapshot([]byte(x), conf.ParseRedefine)
	if err != nil {
		return "", fmt.Errorf("parsing libvirt's XML of snapshot %q: %w", template, err)
	}
	def.Name, def.Parent = name, parent
	def.Created, def.HasCreated = time.Unix(1700000000, 0), true
	out, err := def.Format()
	return string(out), err
}

// redefineSnapshot redefines name under parent, current or not.
func (s *side) redefineSnapshot(name, parent string, current bool) error {
	x, err := s.snapshotXML(name, parent)
	if err != nil {
		return err
	}
	flags := driver.SnapshotCreateRedefine
	if current {
		flags |= driver.SnapshotCreateCurrent
	}
	_, err = s.dom.CreateSnapshot(ctx, x, flags)
	return err
}

// checkpointXML is a checkpoint for redefinition: every disk of the place captured (a bitmap
// named after the checkpoint), or with partial the last one left out.
func (s *side) checkpointXML(name, parent string, partial bool) string {
	var b strings.Builder
	b.WriteString("<domaincheckpoint><name>" + xmlText(name) + "</name>")
	if parent != "" {
		b.WriteString("<parent><name>" + xmlText(parent) + "</name></parent>")
	}
	b.WriteString("<creationTime>1700000000</creationTime>")
	if len(s.place.Disks) > 0 {
		b.WriteString("<disks>")
		for i, d := range s.place.Disks {
			if partial && i == len(s.place.Disks)-1 {
				fmt.Fprintf(&b, "<disk name='%s' checkpoint='no'/>", d)
			} else {
				fmt.Fprintf(&b, "<disk name='%s' checkpoint='bitmap' bitmap='%s'/>", d, name)
			}
		}
		b.WriteString("</disks>")
	}
	b.WriteString("</domaincheckpoint>")
	return b.String()
}

func xmlText(s string) string {
	r := strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", "'", "&apos;", `"`, "&quot;")
	return r.Replace(s)
}

// The checkpoint changes every scenario makes, following libvirt's pointer with the tracker.

// createCheckpoint creates the checkpoint name (on a domain that does not run: redefines it
// under the current checkpoint, which is the parent a create gives, so it becomes current).
func (w *world) createCheckpoint(name string) {
	w.t.Helper()
	if w.r.running() {
		w.do("create checkpoint "+name, func(s *side) error {
			got, err := s.dom.CreateCheckpoint(ctx, "<domaincheckpoint><name>"+xmlText(name)+"</name></domaincheckpoint>", 0)
			if err == nil && got != name {
				return fmt.Errorf("created checkpoint %q, want %q", got, name)
			}
			return err
		})
		w.track.Created(name)
	} else {
		w.note("the domain does not run: checkpoints are redefined under the current one instead of created")
		parent := w.track.Current
		w.do("create checkpoint "+name+" (redefined under "+parent+")", func(s *side) error {
			_, err := s.dom.CreateCheckpoint(ctx, s.checkpointXML(name, parent, false), driver.CheckpointCreateRedefine)
			return err
		})
		w.track.Redefined(name, parent)
	}
}

// redefineCheckpoint redefines name under parent.
func (w *world) redefineCheckpoint(name, parent string, partial bool) {
	w.t.Helper()
	w.do(fmt.Sprintf("redefine checkpoint %s under %q", name, parent), func(s *side) error {
		_, err := s.dom.CreateCheckpoint(ctx, s.checkpointXML(name, parent, partial), driver.CheckpointCreateRedefine)
		return err
	})
	w.track.Redefined(name, parent)
}

// deleteCheckpoint deletes name with flags (on a domain that does not run, with
// DeleteMetadataOnly: libvirt removes bitmaps only from a running guest).
func (w *world) deleteCheckpoint(name string, flags driver.DeleteFlags) {
	w.t.Helper()
	if !w.r.running() {
		w.note("the domain does not run: checkpoints are deleted with DeleteMetadataOnly")
		flags |= driver.DeleteMetadataOnly
	}
	w.track.delete(w.t, w.oracle(), name, flags)
	w.do(fmt.Sprintf("delete checkpoint %s (%s)", name, deleteWords(flags)), func(s *side) error {
		return s.dom.Delete(ctx, conf.Checkpoint, name, flags)
	})
}

// deleteWords says a delete's flags in words.
func deleteWords(f driver.DeleteFlags) string {
	var w []string
	for _, b := range []struct {
		f    driver.DeleteFlags
		word string
	}{{driver.DeleteChildren, "children"}, {driver.DeleteChildrenOnly, "children only"}, {driver.DeleteMetadataOnly, "metadata only"}} {
		if f&b.f != 0 {
			w = append(w, b.word)
		}
	}
	if len(w) == 0 {
		return "plain"
	}
	return strings.Join(w, ", ")
}

// canDelete is the need of a delete of kind with flags.
func canDelete(kind conf.Kind, flags driver.DeleteFlags) need {
	return func(c driver.Capabilities, running bool) string {
		f := flags
		if !running && kind == conf.Checkpoint {
			f |= driver.DeleteMetadataOnly
		}
		if !c.CanDelete(kind, f) {
			return fmt.Sprintf("the driver declares it cannot delete a %s with %s (Capabilities)", kind, deleteWords(f))
		}
		return ""
	}
}

// mixedKinds is the need of a domain with snapshots and checkpoints at once.
func mixedKinds(c driver.Capabilities, _ bool) string {
	if !c.MixedKinds {
		return "the driver declares that a domain cannot have snapshots and checkpoints at the same time (Capabilities.MixedKinds)"
	}
	return ""
}

// running is the need of a domain that runs.
func running(_ driver.Capabilities, running bool) string {
	if !running {
		return "the fresh places' domain does not run (Config.Running): libvirt creates checkpoints only on a running domain"
	}
	return ""
}
