package drivertest

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"testing"

	"github.com/vmoments/vmoments/conf"
	"github.com/vmoments/vmoments/driver"
	"github.com/vmoments/vmoments/momentlist"
)

// scenario is one subtest of Run on a fresh place.
type scenario struct {
	name  string
	needs need // nil: every driver can
	run   func(w *world)
}

// scenarios are the subtests Run runs on fresh places, in order (the package documentation
// lists them).
var scenarios = []scenario{
	{"snapshots", nil, snapshotChanges},
	{"checkpoints", nil, checkpointChanges},
	{"mixed kinds", mixedKinds, mixedChanges},
	{"someone else", nil, someoneElse},
	{"checkpoint pointer", running, checkpointPointer},
	{"deleted during load", nil, deletedDuringLoad},
	{"concurrent", nil, concurrent},
	{"errors", nil, errorWording},
	{"read-only", nil, readOnly},
	{"closed and canceled", nil, closedAndCanceled},
	{"lookup", nil, lookup},
	{"capabilities", nil, capabilityRefusals},
}

// snapshot steps shared by the scenarios.

func (w *world) createSnapshot(name string, kinds ...conf.Kind) {
	w.t.Helper()
	w.change("create snapshot "+name, func(s *side) error { return s.createSnapshot(name) }, kinds...)
}

func (w *world) redefineSnapshot(name, parent string, current bool, kinds ...conf.Kind) {
	w.t.Helper()
	w.change(fmt.Sprintf("redefine snapshot %s under %q (current: %v)", name, parent, current),
		func(s *side) error { return s.redefineSnapshot(name, parent, current) }, kinds...)
}

func (w *world) deleteSnapshot(name string, flags driver.DeleteFlags, kinds ...conf.Kind) {
	w.t.Helper()
	what := fmt.Sprintf("delete snapshot %s (%s)", name, deleteWords(flags))
	if w.skipStep(what, canDelete(conf.Snapshot, flags)) {
		return
	}
	w.change(what, func(s *side) error { return s.dom.Delete(ctx, conf.Snapshot, name, flags) }, kinds...)
}

// snapshotChanges: creates (current moves, the parent is the previous current, not a leaf),
// a revert, redefines with and without CURRENT (a new root, a re-parented snapshot that keeps
// its children), set-current, and deletes of every kind, each checked against libvirt.
func snapshotChanges(w *world) {
	for _, n := range []string{"s1", "s2", "s3"} {
		w.createSnapshot(n, conf.Snapshot)
	}
	w.change("revert to s1", func(s *side) error { return s.dom.Revert(ctx, "s1", 0) }, conf.Snapshot)
	w.createSnapshot("s4", conf.Snapshot) // under s1, beside s2
	w.createSnapshot("s5", conf.Snapshot)
	w.redefineSnapshot("r1", "s2", false, conf.Snapshot)
	w.redefineSnapshot("r2", "r1", true, conf.Snapshot)
	w.redefineSnapshot("r3", "", false, conf.Snapshot) // a second root
	w.change("set current s3", func(s *side) error { return s.dom.SetCurrent(ctx, "s3") }, conf.Snapshot)
	w.redefineSnapshot("s3", "s4", false, conf.Snapshot) // re-parented; current stays
	w.createSnapshot("s6", conf.Snapshot)
	w.deleteSnapshot("s1", 0, conf.Snapshot)                         // plain: its children become roots
	w.deleteSnapshot("s4", driver.DeleteChildrenOnly, conf.Snapshot) // current s6 below it: moves to s4
	w.createSnapshot("s7", conf.Snapshot)
	w.createSnapshot("s8", conf.Snapshot)
	w.deleteSnapshot("s7", driver.DeleteChildren, conf.Snapshot) // current s8 inside: ends on s7's parent
	w.deleteSnapshot("r3", 0, conf.Snapshot)
	// METADATA_ONLY: libvirt forgets the snapshots and leaves the disks; the lists change as
	// without it.
	if w.skipStep("the metadata-only deletes", canDelete(conf.Snapshot, driver.DeleteMetadataOnly)) {
		return
	}
	w.createSnapshot("s9", conf.Snapshot)
	w.deleteSnapshot("r1", driver.DeleteMetadataOnly, conf.Snapshot)
	w.deleteSnapshot("s4", driver.DeleteChildrenOnly|driver.DeleteMetadataOnly, conf.Snapshot)
	w.deleteSnapshot("s2", driver.DeleteChildren|driver.DeleteMetadataOnly, conf.Snapshot)
}

// checkpointChanges: creates, redefines that become current (parent current, or no current)
// and that do not, partial checkpoints (a disk left out), and deletes of every kind, with
// libvirt's internal current followed by the Tracker.
func checkpointChanges(w *world) {
	create := func(n string) {
		w.createCheckpoint(n)
		w.check("create checkpoint "+n, conf.Checkpoint)
	}
	redefine := func(n, parent string, partial bool) {
		w.redefineCheckpoint(n, parent, partial)
		w.check("redefine checkpoint "+n, conf.Checkpoint)
	}
	del := func(n string, flags driver.DeleteFlags) {
		what := fmt.Sprintf("delete checkpoint %s (%s)", n, deleteWords(flags))
		if w.skipStep(what, canDelete(conf.Checkpoint, flags)) {
			return
		}
		w.deleteCheckpoint(n, flags)
		w.check(what, conf.Checkpoint)
	}
	create("c1")
	create("c2")
	create("c3")
	redefine("d1", "c1", true)  // parent not current: not current
	create("c4")                // parent c3
	redefine("d2", "c4", false) // parent current: current
	redefine("d3", "", true)    // a second root; there is a current: not current
	del("c2", 0)
	del("d2", 0) // current: moves to its parent c4
	del("c3", driver.DeleteChildrenOnly)
	create("c5")
	del("c1", driver.DeleteChildren)
	del("d3", driver.DeleteMetadataOnly)
}

// mixedChanges: snapshots and checkpoints on one domain, each kind's list unaffected by the
// other's. Snapshots change before the first checkpoint and after the last one is gone: QEMU
// without incremental backup (a guest that has not run) refuses every snapshot change while a
// checkpoint exists ("cannot perform block operations while checkpoint exists").
func mixedChanges(w *world) {
	both := []conf.Kind{conf.Snapshot, conf.Checkpoint}
	w.createSnapshot("s1", both...)
	w.createSnapshot("s2", both...)
	w.redefineSnapshot("r1", "s1", true, both...)
	w.change("set current s2", func(s *side) error { return s.dom.SetCurrent(ctx, "s2") }, both...)
	w.createCheckpoint("c1")
	w.check("create checkpoint c1", both...)
	w.redefineCheckpoint("d1", "c1", true)
	w.check("redefine checkpoint d1", both...)
	w.createCheckpoint("c2")
	w.check("create checkpoint c2", both...)
	for _, d := range []struct {
		name  string
		flags driver.DeleteFlags
	}{{"c1", driver.DeleteChildrenOnly}, {"c1", 0}} {
		what := fmt.Sprintf("delete checkpoint %s (%s)", d.name, deleteWords(d.flags))
		if w.skipStep(what, canDelete(conf.Checkpoint, d.flags)) {
			return
		}
		w.deleteCheckpoint(d.name, d.flags)
		w.check(what, both...)
	}
	w.deleteSnapshot("s1", driver.DeleteChildren, both...)
}

// fetches runs f with a progress function and returns the total of the last fetch it reports
// (0 if none): how many moment XMLs a load or refresh fetched.
func fetches(f func(ctx context.Context) error) (int, error) {
	var mu sync.Mutex
	n := 0
	pctx := driver.WithProgress(ctx, func(_, total int) {
		mu.Lock()
		n = total
		mu.Unlock()
	})
	err := f(pctx)
	mu.Lock()
	defer mu.Unlock()
	return n, err
}

// second opens another connection on s's place and looks the domain up there: someone else.
func (w *world) second(s *side) driver.Domain {
	w.t.Helper()
	drv := openOn(w.t, s.label, s.place.Open, driver.ReadWrite)
	dom, err := drv.Domain(ctx, s.dom.UUID())
	if err != nil {
		w.t.Fatalf("%s: a second connection: Domain(%s): %v", s.label, s.dom.UUID(), err)
	}
	return dom
}

// someoneElse: changes made through a second connection reach a kept handle on its next
// read, which fetches only the new moments and drops the gone ones; Reload fetches all.
func someoneElse(w *world) {
	others := map[*side]driver.Domain{}
	for _, s := range w.sides {
		others[s] = w.second(s)
	}
	list := func(s *side) func(ctx context.Context) error {
		return func(ctx context.Context) error { _, err := s.dom.List(ctx, conf.Snapshot, "", 0); return err }
	}
	expect := func(what string, want int, f func(s *side) func(ctx context.Context) error) {
		w.t.Helper()
		w.do(what, func(s *side) error {
			n, err := fetches(f(s))
			w.n++
			if err == nil && n != want {
				err = fmt.Errorf("fetched %d moments, want %d", n, want)
			}
			return err
		})
	}
	w.do("someone else creates a, redefines b and c", func(s *side) error {
		o := &side{label: s.label, place: s.place, dom: others[s]}
		if err := o.createSnapshot("a"); err != nil {
			return err
		}
		for _, n := range []string{"b", "c"} {
			if err := o.redefineSnapshot(n, "", false); err != nil {
				return err
			}
		}
		return nil
	})
	expect("the first load", 3, list)
	w.do("someone else makes b current", func(s *side) error { return others[s].SetCurrent(ctx, "b") })
	w.checkState("someone else's set-current", conf.Snapshot) // the kept handle's current follows libvirt's
	w.do("someone else redefines d and e under a and deletes b", func(s *side) error {
		o := &side{label: s.label, place: s.place, dom: others[s]}
		for _, n := range []string{"d", "e"} {
			if err := o.redefineSnapshot(n, "a", false); err != nil {
				return err
			}
		}
		return o.dom.Delete(ctx, conf.Snapshot, "b", 0)
	})
	expect("the refresh", 2, list)
	w.do("the kept handle's view", func(s *side) error {
		got, err := s.dom.List(ctx, conf.Snapshot, "a", 0)
		w.n++
		if err == nil && len(got) != 2 {
			err = fmt.Errorf("children of a after the refresh: %v, want d and e", names(got))
		}
		return err
	})
	w.fails("Def of b, deleted by someone else", want{class: driver.ErrMomentNotFound, kind: conf.Snapshot, moment: "b",
		msg: "no domain snapshot with matching name 'b'"}, func(s *side) error {
		_, err := s.dom.Def(ctx, conf.Snapshot, "b")
		return err
	})
	expect("Reload", 4, func(s *side) func(ctx context.Context) error {
		return func(ctx context.Context) error { return s.dom.Reload(ctx, conf.Snapshot) }
	})
	w.check("someone else's changes", conf.Snapshot)
}

// checkpointPointer: when someone else moved libvirt's checkpoint pointer, the kept handle
// has lost it (the fresh-load rule applies); the next checkpoint created through it tells
// where the pointer was (its parent) and becomes current as libvirt's does.
func checkpointPointer(w *world) {
	others := map[*side]driver.Domain{}
	for _, s := range w.sides {
		others[s] = w.second(s)
	}
	w.createCheckpoint("c1")
	w.createCheckpoint("c2")
	w.do("someone else creates c3 and redefines d1 under c1", func(s *side) error {
		if _, err := others[s].CreateCheckpoint(ctx, "<domaincheckpoint><name>c3</name></domaincheckpoint>", 0); err != nil {
			return err
		}
		o := &side{label: s.label, place: s.place, dom: others[s]}
		_, err := o.dom.CreateCheckpoint(ctx, o.checkpointXML("d1", "c1", false), driver.CheckpointCreateRedefine)
		return err
	})
	w.track.Created("c3")
	w.track.Redefined("d1", "c1")
	w.do("the kept handle's current", func(s *side) error {
		cur, rule, err := s.dom.Current(ctx, conf.Checkpoint)
		w.n++
		if err == nil && (cur != nil || rule != momentlist.CurrentLoadBranched) {
			err = fmt.Errorf("current %q (%v), want none by the fresh-load rule (libvirt's pointer moved unseen)", nameOf(cur), rule)
		}
		return err
	})
	w.createCheckpoint("c4")
	w.do("c4's parent", func(s *side) error {
		def, err := s.dom.Def(ctx, conf.Checkpoint, "c4")
		w.n++
		if err == nil && def.Parent != "c3" {
			err = fmt.Errorf("c4's parent is %q, want c3 (libvirt's pointer)", def.Parent)
		}
		return err
	})
	w.check("create checkpoint c4", conf.Checkpoint)
	w.do("the rule", func(s *side) error {
		_, rule, err := s.dom.Current(ctx, conf.Checkpoint)
		w.n++
		if err == nil && rule != momentlist.CurrentCreated {
			err = fmt.Errorf("rule %v, want %v", rule, momentlist.CurrentCreated)
		}
		return err
	})
}

// deletedDuringLoad: moments deleted by someone else while their XML is being fetched are
// skipped, and the next read drops those fetched before they went.
func deletedDuringLoad(w *world) {
	const leaves = 60
	others := map[*side]driver.Domain{}
	for _, s := range w.sides {
		others[s] = w.second(s)
	}
	w.do("someone else makes root and 60 leaves below it", func(s *side) error {
		o := &side{label: s.label, place: s.place, dom: others[s]}
		if err := o.createSnapshot("root"); err != nil {
			return err
		}
		for i := range leaves {
			if err := o.redefineSnapshot(fmt.Sprintf("leaf%02d", i), "root", false); err != nil {
				return err
			}
		}
		return nil
	})
	w.do("a load while someone else deletes 20 leaves", func(s *side) error {
		var once sync.Once
		var derr error
		pctx := driver.WithProgress(ctx, func(done, _ int) {
			if done == 5 {
				once.Do(func() {
					for i := 0; i < leaves; i += 3 {
						if err := others[s].Delete(ctx, conf.Snapshot, fmt.Sprintf("leaf%02d", i), 0); err != nil && derr == nil {
							derr = err
						}
					}
				})
			}
		})
		got, err := s.dom.List(pctx, conf.Snapshot, "", 0)
		w.n += 2
		switch {
		case err != nil:
			return fmt.Errorf("a load during deletes failed: %w", err)
		case derr != nil:
			return derr
		case len(got) < leaves+1-leaves/3 || len(got) > leaves+1:
			return fmt.Errorf("loaded %d snapshots, want between %d and %d", len(got), leaves+1-leaves/3, leaves+1)
		}
		w.t.Logf("%s: the load during deletes served %d snapshots (%d skipped as gone)", s.label, len(got), leaves+1-len(got))
		got, err = s.dom.List(ctx, conf.Snapshot, "", 0)
		if err == nil && len(got) != leaves+1-leaves/3 {
			err = fmt.Errorf("the next read serves %d snapshots, want %d", len(got), leaves+1-leaves/3)
		}
		return err
	})
	w.check("the deletes", conf.Snapshot)
}

// concurrent: readers of one handle run against a writer on the same handle (run with
// -race); the moments handed out stay readable while the writer goes on.
func concurrent(w *world) {
	w.do("4 readers and a writer", func(s *side) error {
		var wg sync.WaitGroup
		stop := make(chan struct{})
		errs := make(chan error, 4)
		for range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					select {
					case <-stop:
						return
					default:
					}
					ms, err := s.dom.List(ctx, conf.Snapshot, "", momentlist.Topological)
					if err != nil {
						errs <- err
						return
					}
					for _, m := range ms { // read what we were handed while the writer goes on
						_ = m.Def().Name
						if p := m.Parent(); p != nil {
							_ = p.Name()
						}
					}
					if l, err := s.dom.Moments(ctx, conf.Snapshot); err == nil && l.Len() > 0 {
						_ = l.Delete(l.All()[0], 0) // a private copy: ours to change
					}
					if _, _, err := s.dom.Current(ctx, conf.Snapshot); err != nil {
						errs <- err
						return
					}
				}
			}()
		}
		var werr error
		for i := range 30 {
			if werr = s.createSnapshot(fmt.Sprintf("s%d", i)); werr != nil {
				break
			}
			if i%5 == 4 {
				if werr = s.dom.Delete(ctx, conf.Snapshot, fmt.Sprintf("s%d", i-2), 0); werr != nil {
					break
				}
			}
		}
		close(stop)
		wg.Wait()
		close(errs)
		if werr != nil {
			return werr
		}
		return <-errs
	})
	w.check("the concurrent changes", conf.Snapshot)
}

// errorWording: the failures of every call carry their class, the moment they concern and
// libvirt's own words.
func errorWording(w *world) {
	notFound := func(kind conf.Kind, name string) want {
		return want{class: driver.ErrMomentNotFound, kind: kind, moment: name, msg: fmt.Sprintf("no domain %s with matching name '%s'", kind, name)}
	}
	libvirtNotFound := func(kind conf.Kind, name string) want {
		title := map[conf.Kind]string{conf.Snapshot: "Domain snapshot", conf.Checkpoint: "Domain checkpoint"}[kind]
		return want{class: driver.ErrMomentNotFound, kind: kind, moment: name,
			msg: fmt.Sprintf("%s not found: no domain %s with matching name '%s'", title, kind, name)}
	}
	// Checkpoints first: a driver without MixedKinds has no snapshots then.
	w.createCheckpoint("q1")
	for _, kind := range conf.Kinds {
		w.fails("Def of a missing "+kind.String(), notFound(kind, "nope"), func(s *side) error {
			_, err := s.dom.Def(ctx, kind, "nope")
			return err
		})
		w.fails("List below a missing "+kind.String(), notFound(kind, "nope"), func(s *side) error {
			_, err := s.dom.List(ctx, kind, "nope", 0)
			return err
		})
		w.fails("XML of a missing "+kind.String(), libvirtNotFound(kind, "nope"), func(s *side) error {
			_, err := s.dom.XML(ctx, kind, "nope", 0)
			return err
		})
		w.fails("Delete of a missing "+kind.String(), libvirtNotFound(kind, "nope"), func(s *side) error {
			return s.dom.Delete(ctx, kind, "nope", 0)
		})
	}
	if w.r.running() {
		w.fails("create of a checkpoint whose name is taken", want{kind: conf.Checkpoint, moment: "q1", msg: "operation failed: domain moment q1 already exists"},
			func(s *side) error {
				_, err := s.dom.CreateCheckpoint(ctx, "<domaincheckpoint><name>q1</name></domaincheckpoint>", 0)
				return err
			})
	}
	w.fails("redefine of a checkpoint under a missing parent", want{kind: conf.Checkpoint, moment: "q3", msg: "invalid argument: parent nope for moment q3 not found"},
		func(s *side) error {
			_, err := s.dom.CreateCheckpoint(ctx, s.checkpointXML("q3", "nope", false), driver.CheckpointCreateRedefine)
			return err
		})
	w.fails("redefine of a checkpoint as its own parent", want{kind: conf.Checkpoint, moment: "q1", msg: "invalid argument: cannot set moment q1 as its own parent"},
		func(s *side) error {
			_, err := s.dom.CreateCheckpoint(ctx, s.checkpointXML("q1", "q1", false), driver.CheckpointCreateRedefine)
			return err
		})
	w.fails("REDEFINE_VALIDATE without REDEFINE", want{kind: conf.Checkpoint, moment: "q4",
		msg: "Flag 'VIR_DOMAIN_CHECKPOINT_CREATE_REDEFINE' is required by flag 'VIR_DOMAIN_CHECKPOINT_CREATE_REDEFINE_VALIDATE'"},
		func(s *side) error {
			_, err := s.dom.CreateCheckpoint(ctx, s.checkpointXML("q4", "", false), driver.CheckpointCreateRedefineValidate)
			return err
		})
	w.fails("REDEFINE with QUIESCE", want{kind: conf.Checkpoint, moment: "q4",
		msg: "Flags 'VIR_DOMAIN_CHECKPOINT_CREATE_REDEFINE' and 'VIR_DOMAIN_CHECKPOINT_CREATE_QUIESCE' are mutually exclusive"},
		func(s *side) error {
			_, err := s.dom.CreateCheckpoint(ctx, s.checkpointXML("q4", "", false), driver.CheckpointCreateRedefine|driver.CheckpointCreateQuiesce)
			return err
		})
	w.fails("a checkpoint delete with CHILDREN and CHILDREN_ONLY", want{kind: conf.Checkpoint, moment: "q1",
		msg: "Flags 'VIR_DOMAIN_CHECKPOINT_DELETE_CHILDREN' and 'VIR_DOMAIN_CHECKPOINT_DELETE_CHILDREN_ONLY' are mutually exclusive"},
		func(s *side) error {
			return s.dom.Delete(ctx, conf.Checkpoint, "q1", driver.DeleteChildren|driver.DeleteChildrenOnly)
		})
	w.check("the checkpoint errors", conf.Checkpoint)
	if !w.skipStep("deleting q1 for the snapshot errors", canDelete(conf.Checkpoint, 0)) {
		w.deleteCheckpoint("q1", 0)
	}

	w.createSnapshot("p1")
	for _, op := range []struct {
		what string
		do   func(d driver.Domain) error
	}{
		{"Revert to", func(d driver.Domain) error { return d.Revert(ctx, "nope", 0) }},
		{"SetCurrent of", func(d driver.Domain) error { return d.SetCurrent(ctx, "nope") }},
	} {
		w.fails(op.what+" a missing snapshot", libvirtNotFound(conf.Snapshot, "nope"), func(s *side) error { return op.do(s.dom) })
	}
	w.fails("create of a snapshot whose name is taken", want{kind: conf.Snapshot, moment: "p1", msg: "operation failed: domain moment p1 already exists"},
		func(s *side) error {
			_, err := s.dom.CreateSnapshot(ctx, "<domainsnapshot><name>p1</name><description>again</description></domainsnapshot>", 0)
			return err
		})
	w.fails("create from XML libvirt refuses", want{kind: conf.Snapshot, moment: "p2",
		msg: "XML error: Invalid value for attribute 'snapshot' in element 'memory': 'bogus'."},
		func(s *side) error {
			_, err := s.dom.CreateSnapshot(ctx, "<domainsnapshot><name>p2</name><memory snapshot='bogus'/></domainsnapshot>", 0)
			return err
		})
	w.fails("create from XML without a name that libvirt refuses", want{kind: conf.Snapshot, unnamed: true,
		msg: "XML error: Invalid value for attribute 'snapshot' in element 'memory': 'bogus'."},
		func(s *side) error {
			_, err := s.dom.CreateSnapshot(ctx, "<domainsnapshot><memory snapshot='bogus'/></domainsnapshot>", 0)
			return err
		})
	w.fails("redefine of a snapshot under a missing parent", want{kind: conf.Snapshot, moment: "p3", msg: "invalid argument: parent nope for moment p3 not found"},
		func(s *side) error {
			x, err := s.snapshotXML("p3", "nope")
			if err != nil {
				return fmt.Errorf("%w (no error of the redefine)", err)
			}
			_, err = s.dom.CreateSnapshot(ctx, x, driver.SnapshotCreateRedefine)
			return err
		})
	w.fails("redefine of a snapshot as its own parent", want{kind: conf.Snapshot, moment: "p1", msg: "invalid argument: cannot set moment p1 as its own parent"},
		func(s *side) error {
			x, err := s.snapshotXML("p1", "p1")
			if err != nil {
				return fmt.Errorf("%w (no error of the redefine)", err)
			}
			_, err = s.dom.CreateSnapshot(ctx, x, driver.SnapshotCreateRedefine)
			return err
		})
	w.fails("redefine of a new snapshot without the domain", want{kind: conf.Snapshot, moment: "p5", msg: "internal error: missing domain in snapshot"},
		func(s *side) error {
			_, err := s.dom.CreateSnapshot(ctx, "<domainsnapshot><name>p5</name><state>running</state><creationTime>1700000000</creationTime></domainsnapshot>",
				driver.SnapshotCreateRedefine)
			return err
		})
	for _, f := range []struct {
		what  string
		msg   string
		do    func(d driver.Domain) error
		moved string
	}{
		{"CURRENT without REDEFINE", "Flag 'VIR_DOMAIN_SNAPSHOT_CREATE_REDEFINE' is required by flag 'VIR_DOMAIN_SNAPSHOT_CREATE_CURRENT'",
			func(d driver.Domain) error {
				_, err := d.CreateSnapshot(ctx, "<domainsnapshot><name>p4</name></domainsnapshot>", driver.SnapshotCreateCurrent)
				return err
			}, "p4"},
		{"REDEFINE with HALT", "Flags 'VIR_DOMAIN_SNAPSHOT_CREATE_REDEFINE' and 'VIR_DOMAIN_SNAPSHOT_CREATE_HALT' are mutually exclusive",
			func(d driver.Domain) error {
				_, err := d.CreateSnapshot(ctx, "<domainsnapshot><name>p4</name></domainsnapshot>", driver.SnapshotCreateRedefine|driver.SnapshotCreateHalt)
				return err
			}, "p4"},
		{"a revert with RUNNING and PAUSED", "Flags 'VIR_DOMAIN_SNAPSHOT_REVERT_RUNNING' and 'VIR_DOMAIN_SNAPSHOT_REVERT_PAUSED' are mutually exclusive",
			func(d driver.Domain) error { return d.Revert(ctx, "p1", driver.RevertRunning|driver.RevertPaused) }, "p1"},
		{"a snapshot delete with CHILDREN and CHILDREN_ONLY", "Flags 'VIR_DOMAIN_SNAPSHOT_DELETE_CHILDREN' and 'VIR_DOMAIN_SNAPSHOT_DELETE_CHILDREN_ONLY' are mutually exclusive",
			func(d driver.Domain) error {
				return d.Delete(ctx, conf.Snapshot, "p1", driver.DeleteChildren|driver.DeleteChildrenOnly)
			}, "p1"},
	} {
		w.fails(f.what, want{kind: conf.Snapshot, moment: f.moved, msg: f.msg}, func(s *side) error { return f.do(s.dom) })
	}
	w.fails("List of no kind", want{msg: "unknown moment kind 0 (want conf.Snapshot or conf.Checkpoint)"}, func(s *side) error {
		_, err := s.dom.List(ctx, conf.NoKind, "", 0)
		return err
	})
	w.fails("List with a filter bit momentlist lacks", want{kind: conf.Snapshot, msg: "unsupported flags (0x100000) in function momentlist.List.Select"},
		func(s *side) error {
			_, err := s.dom.List(ctx, conf.Snapshot, "", 1<<20)
			return err
		})
	// libvirt's drivers word an unknown domain differently ("Domain not found" from the test
	// driver, "... no domain with matching name" from the QEMU driver): only the class counts.
	w.fails("Domain of a missing domain", want{class: driver.ErrDomainNotFound, domain: "vmoments-no-such-domain", anyMsg: true}, func(s *side) error {
		_, err := s.drv.Domain(ctx, "vmoments-no-such-domain")
		return err
	})
	w.check("the snapshot errors", conf.Snapshot)
}

// readOnly: a read-only connection sees the state and refuses every change, and the
// security-sensitive XML, with ErrReadOnly; naming the moment each was about.
func readOnly(w *world) {
	w.createSnapshot("s1")
	ros := map[*side]driver.Domain{}
	for _, s := range w.sides {
		drv := openOn(w.t, s.label, s.place.Open, driver.ReadOnly)
		dom, err := drv.Domain(ctx, s.dom.UUID())
		if err != nil {
			w.t.Fatalf("%s: Domain on a read-only connection: %v", s.label, err)
		}
		ms, err := dom.List(ctx, conf.Snapshot, "", 0)
		if err != nil || !slices.Contains(names(ms), "s1") {
			w.t.Fatalf("%s: a read-only connection serves %v (%v), want s1: every connection Place.Open opens must serve the same state",
				s.label, names(ms), err)
		}
		ros[s] = dom
	}
	ro := func(kind conf.Kind, moment string) want {
		return want{class: driver.ErrReadOnly, kind: kind, moment: moment, msg: driver.ErrReadOnly.Error()}
	}
	for _, c := range []struct {
		what string
		want want
		do   func(d driver.Domain) error
	}{
		{"CreateSnapshot", ro(conf.Snapshot, "x"), func(d driver.Domain) error {
			_, err := d.CreateSnapshot(ctx, "<domainsnapshot><name>x</name></domainsnapshot>", 0)
			return err
		}},
		{"CreateCheckpoint", ro(conf.Checkpoint, "y"), func(d driver.Domain) error {
			_, err := d.CreateCheckpoint(ctx, "<domaincheckpoint><name>y</name></domaincheckpoint>", 0)
			return err
		}},
		{"Delete of a snapshot", ro(conf.Snapshot, "s1"), func(d driver.Domain) error { return d.Delete(ctx, conf.Snapshot, "s1", 0) }},
		{"Delete of a checkpoint", ro(conf.Checkpoint, "y"), func(d driver.Domain) error { return d.Delete(ctx, conf.Checkpoint, "y", 0) }},
		{"Revert", ro(conf.Snapshot, "s1"), func(d driver.Domain) error { return d.Revert(ctx, "s1", 0) }},
		{"SetCurrent", ro(conf.Snapshot, "s1"), func(d driver.Domain) error { return d.SetCurrent(ctx, "s1") }},
		{"XML with XMLSecure", want{class: driver.ErrReadOnly, kind: conf.Snapshot, moment: "s1",
			msg: "operation forbidden: virDomainSnapshotGetXMLDesc with secure flag"}, func(d driver.Domain) error {
			_, err := d.XML(ctx, conf.Snapshot, "s1", driver.XMLSecure)
			return err
		}},
	} {
		w.fails(c.what+" on a read-only connection", c.want, func(s *side) error { return c.do(ros[s]) })
	}
	w.do("XML without XMLSecure on a read-only connection", func(s *side) error {
		_, err := ros[s].XML(ctx, conf.Snapshot, "s1", 0)
		return err
	})
	w.check("the refused changes", conf.Snapshot)
}

// closedAndCanceled: calls on a closed driver, and its domains, fail with ErrClosed (the
// place's other connections keep working); calls with a canceled context with its error.
func closedAndCanceled(w *world) {
	w.createSnapshot("s1")
	closed := map[*side]driver.Driver{}
	closedDoms := map[*side]driver.Domain{}
	for _, s := range w.sides {
		drv, err := s.place.Open(driver.ReadWrite)
		if err != nil {
			w.t.Fatalf("%s: opening a connection: %v", s.label, err)
		}
		dom, err := drv.Domain(ctx, s.dom.UUID())
		if err != nil {
			w.t.Fatal(err)
		}
		if err := drv.Close(); err != nil {
			w.t.Errorf("%s: Close: %v", s.label, err)
		}
		if err := drv.Close(); err != nil {
			w.t.Errorf("%s: a second Close: %v", s.label, err)
		}
		closed[s], closedDoms[s] = drv, dom
	}
	cl := func(kind conf.Kind, moment string) want {
		return want{class: driver.ErrClosed, kind: kind, moment: moment, msg: driver.ErrClosed.Error()}
	}
	canceled, cancel := context.WithCancel(ctx)
	cancel()
	cn := func(kind conf.Kind, moment string) want {
		return want{class: context.Canceled, kind: kind, moment: moment, msg: context.Canceled.Error()}
	}
	for _, c := range []struct {
		what string
		want want
		do   func(s *side) error
	}{
		{"Domain on a closed driver", driverLevel(cl(conf.NoKind, "")), func(s *side) error { _, err := closed[s].Domain(ctx, s.dom.Name()); return err }},
		{"Domains on a closed driver", driverLevel(cl(conf.NoKind, "")), func(s *side) error { _, err := closed[s].Domains(ctx); return err }},
		{"List on a closed driver", cl(conf.Checkpoint, ""), func(s *side) error {
			_, err := closedDoms[s].List(ctx, conf.Checkpoint, "", 0)
			return err
		}},
		{"XML on a closed driver", cl(conf.Snapshot, "s1"), func(s *side) error {
			_, err := closedDoms[s].XML(ctx, conf.Snapshot, "s1", 0)
			return err
		}},
		{"CreateSnapshot on a closed driver", cl(conf.Snapshot, "x"), func(s *side) error {
			_, err := closedDoms[s].CreateSnapshot(ctx, "<domainsnapshot><name>x</name></domainsnapshot>", 0)
			return err
		}},
		{"Delete on a closed driver", cl(conf.Checkpoint, "c"), func(s *side) error {
			return closedDoms[s].Delete(ctx, conf.Checkpoint, "c", 0)
		}},
		{"List with a canceled context", cn(conf.Snapshot, ""), func(s *side) error {
			_, err := s.dom.List(canceled, conf.Snapshot, "", 0)
			return err
		}},
		{"Current with a canceled context", cn(conf.Checkpoint, ""), func(s *side) error {
			_, _, err := s.dom.Current(canceled, conf.Checkpoint)
			return err
		}},
		{"XML with a canceled context", cn(conf.Snapshot, "s1"), func(s *side) error {
			_, err := s.dom.XML(canceled, conf.Snapshot, "s1", 0)
			return err
		}},
		{"CreateSnapshot with a canceled context", cn(conf.Snapshot, "x"), func(s *side) error {
			_, err := s.dom.CreateSnapshot(canceled, "<domainsnapshot><name>x</name></domainsnapshot>", 0)
			return err
		}},
		{"Domains with a canceled context", driverLevel(cn(conf.NoKind, "")), func(s *side) error { _, err := s.drv.Domains(canceled); return err }},
		{"Domain with a canceled context", cn(conf.NoKind, ""), func(s *side) error { _, err := s.drv.Domain(canceled, s.dom.Name()); return err }},
	} {
		w.fails(c.what, c.want, c.do)
	}
	w.check("closing a connection", conf.Snapshot)
}

// driverLevel makes w the want of an error about the driver, which names no domain.
func driverLevel(w want) want {
	w.domain = noDomain
	return w
}

// lookup: Domains lists the place's domain; Domain finds each listed domain by name, UUID and
// (running) numeric ID; a domain's Driver is the driver it came from.
func lookup(w *world) {
	var mine []driver.DomainInfo // the place's domain, as each side lists it
	for _, s := range w.sides {
		infos := domainsOf(w.t, s)
		i := slices.IndexFunc(infos, func(i driver.DomainInfo) bool { return i.UUID == s.dom.UUID() })
		if i < 0 {
			w.t.Errorf("%s: Domains %+v lacks the place's domain %s", s.label, infos, s.dom.UUID())
		} else {
			mine = append(mine, infos[i])
			if infos[i].Name != s.dom.Name() {
				w.t.Errorf("%s: Domains names the place's domain %q, its handle %q", s.label, infos[i].Name, s.dom.Name())
			}
		}
		if s.dom.Driver() != s.drv {
			w.t.Errorf("%s: the domain's Driver() is %v, not the driver it was looked up on", s.label, s.dom.Driver())
		}
		if s.drv.URI() == "" {
			w.t.Errorf("%s: URI() is empty", s.label)
		}
		if v, err := s.drv.Versions(ctx); err != nil || v.Library == "" {
			w.t.Errorf("%s: Versions() = %+v, %v", s.label, v, err)
		}
		var r driver.Reader = s.dom
		if _, err := r.List(ctx, conf.Snapshot, "", momentlist.Roots); err != nil {
			w.t.Errorf("%s: the Reader half: %v", s.label, err)
		}
		if i >= 0 {
			// Only the place's domain: a daemon's other domains may go away meanwhile.
			w.n += lookupEach(w.t, s.label, s.drv, infos, infos[i:i+1])
		}
	}
	// The places of a reference run hold alike domains (a daemon may hold others besides).
	if len(mine) == 2 && (mine[0].State != mine[1].State || (mine[0].ID < 0) != (mine[1].ID < 0)) {
		w.t.Errorf("Domains: the driver lists its domain as %+v, the reference as %+v", mine[0], mine[1])
	}
}

// domainsOf returns s's driver's domains, checking they are sorted by name.
func domainsOf(t *testing.T, s *side) []driver.DomainInfo {
	t.Helper()
	infos, err := s.drv.Domains(ctx)
	if err != nil {
		t.Fatalf("%s: Domains: %v", s.label, err)
	}
	if !slices.IsSortedFunc(infos, func(a, b driver.DomainInfo) int { return cmpString(a.Name, b.Name) }) {
		t.Errorf("%s: Domains not sorted by name: %+v", s.label, infos)
	}
	return infos
}

func cmpString(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// lookupEach looks the domains of pick up by name, UUID and ID (all is every domain listed);
// it returns the cases checked.
func lookupEach(t *testing.T, label string, drv driver.Driver, all, pick []driver.DomainInfo) int {
	t.Helper()
	n := 0
	ids := map[string]bool{}
	for _, info := range all {
		if info.ID >= 0 {
			ids[strconv.Itoa(info.ID)] = true
		}
	}
	for _, info := range pick {
		refs := []string{info.UUID}
		if !ids[info.Name] { // a running domain's ID wins over a domain named like it, as in virsh
			refs = append(refs, info.Name)
		}
		if info.ID >= 0 {
			refs = append(refs, strconv.Itoa(info.ID))
		}
		for _, ref := range refs {
			n++
			dom, err := drv.Domain(ctx, ref)
			if err != nil {
				t.Errorf("%s: Domain(%q): %v", label, ref, err)
				continue
			}
			if dom.Name() != info.Name || dom.UUID() != info.UUID {
				t.Errorf("%s: Domain(%q) = %s %s, want %s %s", label, ref, dom.Name(), dom.UUID(), info.Name, info.UUID)
			}
		}
	}
	return n
}

// capabilityRefusals: every flag a driver declares it does not accept is refused, and the
// refusal changes nothing; a driver without MixedKinds refuses the other kind.
func capabilityRefusals(w *world) {
	tried := 0
	// refused reports whether every side refuses what lacks says (a reference run tries only
	// what both refuse).
	refused := func(what string, lacks func(c driver.Capabilities) bool) bool {
		n := 0
		for _, s := range w.sides {
			if lacks(s.caps) {
				n++
			}
		}
		switch {
		case n == len(w.sides):
			tried++
			return true
		case n > 0:
			w.t.Logf("skipped %s: only one of the driver and the reference declares it refused", what)
		}
		return false
	}
	refusal := func(kind conf.Kind, moment string) want { return want{kind: kind, moment: moment, anyMsg: true} }
	for _, f := range bitsOf(uint32(driver.SnapshotCreateValidate)) {
		flag := driver.SnapshotCreateFlags(f)
		if refused(fmt.Sprintf("snapshot create flag 0x%x", f), func(c driver.Capabilities) bool { return c.SnapshotCreate&flag == 0 }) {
			w.fails(fmt.Sprintf("a snapshot create with flag 0x%x, declared refused", f), refusal(conf.Snapshot, "cap"), func(s *side) error {
				_, err := s.dom.CreateSnapshot(ctx, "<domainsnapshot><name>cap</name></domainsnapshot>", flag)
				return err
			})
		}
	}
	w.check("the refused snapshot creates", conf.Snapshot)
	w.createSnapshot("cap")
	for _, f := range bitsOf(uint32(driver.DeleteChildrenOnly)) {
		flag := driver.DeleteFlags(f)
		if refused(fmt.Sprintf("snapshot delete flag 0x%x", f), func(c driver.Capabilities) bool { return !c.CanDelete(conf.Snapshot, flag) }) {
			w.fails(fmt.Sprintf("a snapshot delete with flag 0x%x, declared refused", f), refusal(conf.Snapshot, "cap"), func(s *side) error {
				return s.dom.Delete(ctx, conf.Snapshot, "cap", flag)
			})
		}
	}
	for _, f := range bitsOf(uint32(driver.RevertResetNVRAM)) {
		flag := driver.RevertFlags(f)
		if refused(fmt.Sprintf("revert flag 0x%x", f), func(c driver.Capabilities) bool { return c.SnapshotRevert&flag == 0 }) {
			w.fails(fmt.Sprintf("a revert with flag 0x%x, declared refused", f), refusal(conf.Snapshot, "cap"), func(s *side) error {
				return s.dom.Revert(ctx, "cap", flag)
			})
		}
	}
	if refused("checkpoints next to snapshots", func(c driver.Capabilities) bool { return !c.MixedKinds }) {
		w.fails("a checkpoint next to a snapshot, declared refused", refusal(conf.Checkpoint, "capc"), func(s *side) error {
			_, err := s.dom.CreateCheckpoint(ctx, s.checkpointXML("capc", "", false), driver.CheckpointCreateRedefine)
			return err
		})
	}
	w.check("the refused snapshot changes", conf.Snapshot, conf.Checkpoint)
	if w.skipStep("the checkpoint refusals", canDelete(conf.Snapshot, 0)) {
		return
	}
	w.deleteSnapshot("cap", 0, conf.Snapshot)
	for _, f := range bitsOf(uint32(driver.CheckpointCreateRedefineValidate)) {
		flag := driver.CheckpointCreateFlags(f)
		if flag == driver.CheckpointCreateRedefine {
			continue
		}
		if refused(fmt.Sprintf("checkpoint create flag 0x%x", f), func(c driver.Capabilities) bool { return c.CheckpointCreate&flag == 0 }) {
			w.fails(fmt.Sprintf("a checkpoint redefine with flag 0x%x, declared refused", f), refusal(conf.Checkpoint, "capc"), func(s *side) error {
				_, err := s.dom.CreateCheckpoint(ctx, s.checkpointXML("capc", "", false), driver.CheckpointCreateRedefine|flag)
				return err
			})
		}
	}
	w.redefineCheckpoint("capc", "", false)
	for _, f := range bitsOf(uint32(driver.DeleteChildrenOnly)) {
		flag := driver.DeleteFlags(f)
		if refused(fmt.Sprintf("checkpoint delete flag 0x%x", f), func(c driver.Capabilities) bool { return !c.CanDelete(conf.Checkpoint, flag) }) {
			w.fails(fmt.Sprintf("a checkpoint delete with flag 0x%x, declared refused", f), refusal(conf.Checkpoint, "capc"), func(s *side) error {
				return s.dom.Delete(ctx, conf.Checkpoint, "capc", flag)
			})
		}
	}
	if refused("snapshots next to checkpoints", func(c driver.Capabilities) bool { return !c.MixedKinds }) {
		w.fails("a snapshot next to a checkpoint, declared refused", refusal(conf.Snapshot, "caps"), func(s *side) error {
			_, err := s.dom.CreateSnapshot(ctx, "<domainsnapshot><name>caps</name></domainsnapshot>", 0)
			return err
		})
	}
	w.check("the refused checkpoint changes", conf.Snapshot, conf.Checkpoint)
	if tried == 0 {
		w.t.Log("the driver declares every flag and combination accepted: nothing to refuse")
	}
}

// bitsOf returns the single bits up to and including top.
func bitsOf(top uint32) []uint32 {
	var out []uint32
	for b := uint32(1); b != 0 && b <= top; b <<= 1 {
		out = append(out, b)
	}
	return out
}

// stateChanges changes a preloaded state: set-current, a revert (to an external snapshot if
// there is one), a create under it, a plain delete of a snapshot with children, a children-only
// delete with the current among the children, and a delete with children; each checked
// against libvirt and a fresh load, and every flag combination at the end.
func stateChanges(w *world) {
	tr := w.truth(conf.Snapshot)
	if len(tr.names) == 0 {
		w.t.Log("skipped the changes: the state's domains have no snapshots")
		return
	}
	step := func(what string, op func(d driver.Domain) error) {
		w.t.Helper()
		w.do(what, func(s *side) error { return op(s.dom) })
		w.checkState(what, conf.Snapshot)
		tr = w.truth(conf.Snapshot)
	}
	// most returns the name with the highest score among those keep accepts ("" if none).
	most := func(score func(string) int, keep func(string) bool) string {
		best, bs := "", -1
		for _, n := range tr.names {
			if keep(n) {
				if s := score(n); s > bs {
					best, bs = n, s
				}
			}
		}
		return best
	}
	isAncestorOrSelf := func(a, n string) bool {
		for ; n != ""; n = tr.parent[n] {
			if n == a {
				return true
			}
		}
		return false
	}
	if n := most(tr.descendants, func(n string) bool { return n != tr.current }); n != "" {
		step("set current "+n, func(d driver.Domain) error { return d.SetCurrent(ctx, n) })
	}
	target := ""
	for _, n := range tr.names {
		if tr.external[n] && n != tr.current {
			target = n
			break
		}
	}
	if target == "" {
		target = most(tr.depth, func(n string) bool { return len(tr.children(n)) == 0 })
	}
	step("revert to "+target, func(d driver.Domain) error { return d.Revert(ctx, target, 0) })
	step("create a snapshot under it", func(d driver.Domain) error {
		_, err := d.CreateSnapshot(ctx, "<domainsnapshot><name>after revert ✓</name></domainsnapshot>", 0)
		return err
	})
	if n := most(func(n string) int { return len(tr.children(n)) }, func(n string) bool {
		return tr.parent[n] != "" && n != tr.current && len(tr.children(n)) > 0
	}); n != "" && w.cannot(canDelete(conf.Snapshot, 0)) == "" {
		step("delete "+n+" (its children move to its parent)", func(d driver.Domain) error { return d.Delete(ctx, conf.Snapshot, n, 0) })
	}
	if p := tr.parent[tr.current]; p != "" && w.cannot(canDelete(conf.Snapshot, driver.DeleteChildrenOnly)) == "" {
		if gp := tr.parent[p]; gp != "" {
			p = gp
		}
		step("delete the children of "+p+" (the current among them)", func(d driver.Domain) error {
			return d.Delete(ctx, conf.Snapshot, p, driver.DeleteChildrenOnly)
		})
	}
	if n := most(tr.descendants, func(n string) bool {
		return tr.parent[n] != "" && len(tr.children(n)) > 0 && !isAncestorOrSelf(n, tr.current)
	}); n != "" && w.cannot(canDelete(conf.Snapshot, driver.DeleteChildren)) == "" {
		step("delete "+n+" with its children", func(d driver.Domain) error { return d.Delete(ctx, conf.Snapshot, n, driver.DeleteChildren) })
	}
	s := w.sub()
	w.n += checkLists(w.t, s.dom, w.oracle(), conf.Snapshot, Options{MaxFroms: 3, ListEvery: 4})
}

// runState reads a preloaded state (every domain, both kinds, every flag combination) and
// changes its domain with the most snapshots.
func (r *runner) runState(t *testing.T, st State, ref *State) {
	open := func(label string, st *State, mode driver.Mode) driver.Driver {
		if st.Open == nil {
			t.Fatalf("drivertest: state %q has no Open", st.Name)
		}
		return openOn(t, label, st.Open, mode)
	}
	// The read: through read-only connections.
	drv := open("driver", &st, driver.ReadOnly)
	var refDrv driver.Driver
	infos := domainsOf(t, &side{label: "driver", drv: drv})
	if ref != nil {
		refDrv = open("reference", ref, driver.ReadOnly)
		if refInfos := domainsOf(t, &side{label: "reference", drv: refDrv}); !slices.Equal(infos, refInfos) {
			t.Errorf("Domains: the driver lists %+v, the reference %+v", infos, refInfos)
		}
	}
	n := lookupEach(t, "driver", drv, infos, infos)
	busiest, most := "", -1
	for _, info := range infos {
		dom, err := drv.Domain(ctx, info.UUID)
		if err != nil {
			t.Fatal(err)
		}
		src := source{}
		if refDrv != nil {
			refDom, err := refDrv.Domain(ctx, info.UUID)
			if err != nil {
				t.Fatalf("reference: %v", err)
			}
			src = sourceOf(t, refDom)
		} else {
			src = sourceOf(t, dom)
		}
		n += checkLists(t, dom, src, conf.Snapshot, Options{MaxFroms: 5})
		n += checkState(t, drv, dom, src, conf.Snapshot, "")
		n += checkLists(t, dom, src, conf.Checkpoint, Options{})
		if c := len(mustTruth(t, ctx, src, conf.Snapshot).names); c > most {
			busiest, most = info.UUID, c
		}
	}
	t.Logf("conformance cases on %s: %d", st.Name, n)
	r.states += n
	if busiest == "" || t.Failed() {
		return
	}
	// The changes: through read-write connections, on a copy of their own where the state
	// gives one.
	w := &world{t: t, r: r, noted: map[string]bool{}}
	w.sides = append(w.sides, openSide(t, "driver", Place{Open: st.Open, Domain: busiest}))
	if ref != nil {
		w.sides = append(w.sides, openSide(t, "reference", Place{Open: ref.Open, Domain: busiest}))
	}
	stateChanges(w)
	t.Logf("conformance cases on %s changes: %d", st.Name, w.n)
	r.states += w.n
}
