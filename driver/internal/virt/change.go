package virt

import (
	"context"
	xmlpkg "encoding/xml"
	"errors"
	"fmt"
	"strings"

	"libvirt.org/go/libvirt"

	"github.com/vmoments/vmoments/conf"
	"github.com/vmoments/vmoments/driver"
	"github.com/vmoments/vmoments/driver/internal/load"
	"github.com/vmoments/vmoments/momentlist"
)

// change runs one change of the moments of kind: it brings the loaded list up to date, makes
// the libvirt call do (on the read-write connection), and applies what do returns to a copy of
// the list, which is then published. A snapshot change finally checks libvirt's current
// snapshot against the list's, and reloads if they differ (someone else changed it meanwhile).
//
// Before the change the list is refreshed as how says: refreshNames for a change whose call
// does not depend on the list (the list it is applied to may lack a redefinition made
// elsewhere, which the next read finds), refreshRead for one that plans its calls from the
// list (a one-by-one delete walks the subtree it deletes).
//
// In a batch (ctx carries it: batch.go), the batch holds the lock and owns the list: change
// makes the same libvirt call, applies it to the batch's list in place, and leaves the refresh,
// the change log and the current check to the batch's start and end.
func (d *Domain) change(ctx context.Context, kind conf.Kind, moment, op string, how refreshHow,
	do func(dom *libvirt.Domain) (apply func(l *momentlist.List) error, err error)) error {
	st, err := d.state(kind)
	if err != nil {
		return err
	}
	if d.drv.readOnly {
		return d.drv.wrap(d.name, kind, moment, op, driver.ErrReadOnly)
	}
	inBatch := batchOf(ctx, d, kind) != nil
	if inBatch {
		if err := d.drv.ctxErr(ctx, d.name); err != nil {
			return d.drv.wrap(d.name, kind, moment, op, err)
		}
		if st.list == nil { // a failed change dropped it: load it again
			if err := d.refresh(ctx, kind, st, refreshFull); err != nil {
				return nameMoment(err, moment)
			}
		}
	} else {
		st.mu.Lock()
		defer st.mu.Unlock()
		if err := d.refresh(ctx, kind, st, how); err != nil {
			return nameMoment(err, moment)
		}
	}
	s, dom, err := d.handle(true)
	if err != nil {
		return d.drv.wrap(d.name, kind, moment, op, err)
	}
	defer dom.Free()
	apply, err := do(dom)
	if err != nil {
		err = d.drv.wrap(d.name, kind, moment, op, classify(s.conn, err))
		if load.ClassOf(err) == load.ConnLost && !d.drv.opts.Single {
			// The change may or may not have reached libvirt: reconnect and reload, so the
			// next call works and the list says what happened.
			if _, rerr := d.drv.reconnect(ctx, s, ReconnectWait); rerr == nil {
				st.list = nil
				if e, ok := err.(*driver.Error); ok {
					e.Hint = joinHints("The connection broke during the change, which may or may not have happened; the list will be loaded afresh", e.Hint)
				}
				return err
			}
		}
		var step *deleteStepError
		if errors.As(err, &step) && len(step.Deleted) > 0 {
			// Part of the change happened: load the list afresh now (or on the next read).
			if rerr := d.refresh(ctx, kind, st, refreshFull); rerr != nil {
				st.list = nil
			}
		}
		return err
	}
	if apply == nil {
		return nil
	}
	before := st.list
	l := before
	if !inBatch {
		l = l.Clone()
	}
	if err := apply(l); err != nil {
		// The list was out of step with libvirt: load it afresh.
		return d.refresh(ctx, kind, st, refreshFull)
	}
	st.list = l
	if !inBatch {
		d.drv.changed(st, kind, before, l)
	}
	if kind == conf.Snapshot && !inBatch {
		cur, err := currentSnapshot(s.conn, dom)
		if err != nil {
			return d.drv.wrap(d.name, kind, "", op, err)
		}
		if c := st.list.Current(); (c == nil) != (cur == "") || c != nil && c.Name() != cur {
			return d.refresh(ctx, kind, st, refreshFull)
		}
	}
	return nil
}

// nameMoment makes the error of the refresh before a change (a closed driver, a canceled
// context, a broken connection) name the moment the change was about, as the change's own
// errors do; an error that names a moment of the load already keeps it.
func nameMoment(err error, moment string) error {
	if e, ok := err.(*driver.Error); ok && e.Moment == "" && !e.Unnamed {
		if moment == newMoment {
			e.Unnamed = true
		} else {
			e.Moment = moment
		}
	}
	return err
}

// CreateSnapshot creates (or redefines) a snapshot from XML.
func (d *Domain) CreateSnapshot(ctx context.Context, xml string, flags driver.SnapshotCreateFlags) (string, error) {
	var name string
	op, mode := "create snapshot", conf.ParseNew
	if flags&driver.SnapshotCreateRedefine != 0 {
		op, mode = "redefine snapshot", conf.ParseRedefine
	}
	err := d.change(ctx, conf.Snapshot, requestName(conf.Snapshot, xml, mode), op, refreshNames, func(dom *libvirt.Domain) (func(*momentlist.List) error, error) {
		h, err := dom.CreateSnapshotXML(xml, libvirt.DomainSnapshotCreateFlags(flags))
		if err != nil {
			return nil, err
		}
		defer h.Free()
		if name, err = h.GetName(); err != nil {
			return nil, err
		}
		if flags&driver.SnapshotCreateNoMetadata != 0 {
			return nil, nil // libvirt keeps no metadata: the list does not change
		}
		def, err := readBack(ctx, d, conf.Snapshot, name, xml, flags&driver.SnapshotCreateRedefine != 0, h.GetXMLDesc)
		if err != nil {
			return nil, err
		}
		return func(l *momentlist.List) error {
			if flags&driver.SnapshotCreateRedefine != 0 {
				opt := momentlist.KeepCurrent
				if flags&driver.SnapshotCreateCurrent != 0 {
					opt = momentlist.AsCurrent
				}
				_, err := l.Redefine(def, opt)
				return err
			}
			return create(l, def)
		}, nil
	})
	return name, err
}

// CreateCheckpoint creates (or redefines) a checkpoint from XML.
func (d *Domain) CreateCheckpoint(ctx context.Context, xml string, flags driver.CheckpointCreateFlags) (string, error) {
	var name string
	op, mode := "create checkpoint", conf.ParseNew
	if flags&driver.CheckpointCreateRedefine != 0 {
		op, mode = "redefine checkpoint", conf.ParseRedefine
	}
	err := d.change(ctx, conf.Checkpoint, requestName(conf.Checkpoint, xml, mode), op, refreshNames, func(dom *libvirt.Domain) (func(*momentlist.List) error, error) {
		h, err := dom.CreateCheckpointXML(xml, libvirt.DomainCheckpointCreateFlags(flags))
		if err != nil {
			return nil, err
		}
		defer h.Free()
		if name, err = h.GetName(); err != nil {
			return nil, err
		}
		def, err := readBack(ctx, d, conf.Checkpoint, name, xml, flags&driver.CheckpointCreateRedefine != 0, func(f libvirt.DomainSnapshotXMLFlags) (string, error) {
			return h.GetXMLDesc(libvirt.DomainCheckpointXMLFlags(f))
		})
		if err != nil {
			return nil, err
		}
		return func(l *momentlist.List) error {
			if flags&driver.CheckpointCreateRedefine != 0 {
				_, err := l.Redefine(def, momentlist.KeepCurrent)
				return err
			}
			return create(l, def)
		}, nil
	})
	return name, err
}

// requestName returns the name of the moment a create request's XML defines, for errors:
// conf parses the XML, or, where conf refuses it (libvirt will too, and the error should
// still say which moment), the top-level <name> is read alone. It is newMoment when the XML
// gives no name (libvirt makes one up for a new snapshot or checkpoint).
func requestName(kind conf.Kind, xml string, mode conf.ParseMode) string {
	parse := func() (*conf.Def, error) { return conf.Parse([]byte(xml), mode) }
	if mode == conf.ParseRedefine {
		// The fast path gives what the full parser gives in this mode, at a fraction of the
		// cost (it skips the embedded <domain>): a redefinition in an import's batch pays it
		// once per moment.
		parse = func() (*conf.Def, error) { return conf.ParseFast(kind, []byte(xml)) }
	}
	if d, err := parse(); err == nil && d.Kind == kind {
		if d.Name == "" {
			return newMoment
		}
		return d.Name
	}
	var doc struct {
		Name string `xml:"name"`
	}
	if err := xmlpkg.Unmarshal([]byte(xml), &doc); err == nil && strings.TrimSpace(doc.Name) != "" {
		return strings.TrimSpace(doc.Name)
	}
	return newMoment
}

// newMoment stands for the name of a moment whose create request has none: wrap turns it
// into an error that says "new snapshot" / "new checkpoint".
const newMoment = "\x00new"

// create applies a created moment. libvirt made the moment's parent out of its current
// pointer, so the parent it reports says where libvirt's pointer was: if the list thought
// otherwise (someone else moved it), the list's current is first put where libvirt's was.
func create(l *momentlist.List, def *conf.Def) error {
	cur := ""
	if c := l.Current(); c != nil {
		cur = c.Name()
	}
	if def.Parent != cur {
		p := l.Find(def.Parent)
		if p == nil && def.Parent != "" {
			return fmt.Errorf("created %s %q has parent %q, which the list lacks", def.Kind, def.Name, def.Parent)
		}
		l.SetCurrent(p)
	}
	_, err := l.Create(def)
	return err
}

// readBack is the definition of a moment just created or redefined: libvirt's XML of it
// (fetchDef), or, for a redefinition in a batch with driver.BatchNoReadBack, the XML the caller
// passed, parsed as libvirt parses a redefinition, without its raw text (see
// driver.BatchNoReadBack).
func readBack(ctx context.Context, d *Domain, kind conf.Kind, name, xml string, redefine bool,
	get func(libvirt.DomainSnapshotXMLFlags) (string, error)) (*conf.Def, error) {
	if b := batchOf(ctx, d, kind); redefine && b != nil && b.flags&driver.BatchNoReadBack != 0 {
		def, err := conf.ParseFast(kind, []byte(xml))
		if err == nil && def.Name == name {
			def.SetRaw(nil)
			return def, nil
		}
	}
	return fetchDef(get, kind, name)
}

// fetchDef reads back a moment's XML from libvirt and parses it with the fast path.
func fetchDef(get func(libvirt.DomainSnapshotXMLFlags) (string, error), kind conf.Kind, name string) (*conf.Def, error) {
	xml, err := get(0)
	if err != nil {
		return nil, err
	}
	def, err := conf.ParseFast(kind, []byte(xml))
	if err != nil {
		return nil, fmt.Errorf("parsing the XML libvirt returned for %s %q: %w", kind, name, err)
	}
	return def, nil
}

// Revert reverts the domain to a snapshot.
func (d *Domain) Revert(ctx context.Context, name string, flags driver.RevertFlags) error {
	return d.change(ctx, conf.Snapshot, name, "revert", refreshNames, func(dom *libvirt.Domain) (func(*momentlist.List) error, error) {
		h, err := dom.SnapshotLookupByName(name, 0)
		if err != nil {
			return nil, err
		}
		defer h.Free()
		if err := h.RevertToSnapshot(libvirt.DomainSnapshotRevertFlags(flags)); err != nil {
			return nil, err
		}
		return func(l *momentlist.List) error {
			m := l.Find(name)
			if m == nil {
				return fmt.Errorf("reverted-to snapshot %q is not in the list", name)
			}
			l.Revert(m)
			return nil
		}, nil
	})
}

// SetCurrent makes a snapshot current by redefining it from its own XML with CURRENT, as
// `virsh snapshot-current NAME` does.
func (d *Domain) SetCurrent(ctx context.Context, name string) error {
	return d.change(ctx, conf.Snapshot, name, "set current snapshot", refreshNames, func(dom *libvirt.Domain) (func(*momentlist.List) error, error) {
		h, err := dom.SnapshotLookupByName(name, 0)
		if err != nil {
			return nil, err
		}
		defer h.Free()
		xml, err := h.GetXMLDesc(libvirt.DOMAIN_SNAPSHOT_XML_SECURE)
		if err != nil {
			return nil, err
		}
		h2, err := dom.CreateSnapshotXML(xml, libvirt.DOMAIN_SNAPSHOT_CREATE_REDEFINE|libvirt.DOMAIN_SNAPSHOT_CREATE_CURRENT)
		if err != nil {
			return nil, err
		}
		defer h2.Free()
		def, err := fetchDef(h2.GetXMLDesc, conf.Snapshot, name)
		if err != nil {
			return nil, err
		}
		return func(l *momentlist.List) error {
			_, err := l.Redefine(def, momentlist.AsCurrent)
			return err
		}, nil
	})
}
