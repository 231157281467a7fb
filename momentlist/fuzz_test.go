package momentlist

import (
	"fmt"
	"testing"

	"github.com/vmoments/vmoments/conf"
)

// FuzzOps reads the input as a program of list operations (two bytes each: operation and
// argument), runs it on a snapshot or checkpoint list, and after every step checks the list's
// invariants and one Select against the brute-force reference.
func FuzzOps(f *testing.F) {
	f.Add([]byte{0, 0, 0, 0, 0, 0})
	f.Add([]byte{0, 0, 0, 1, 5, 0, 0, 2, 3, 1, 1, 7})
	f.Add([]byte{1, 0, 0, 0, 0, 0, 2, 1, 4, 0, 6, 200, 7, 3})
	f.Add([]byte{0, 9, 0, 9, 0, 9, 3, 1, 3, 2, 2, 0, 8, 8, 8, 9})
	f.Fuzz(func(t *testing.T, prog []byte) {
		if len(prog) == 0 || len(prog) > 400 {
			return
		}
		kind := conf.Kinds[prog[0]&1]
		allowed := snapshotFilters
		if kind == conf.Checkpoint {
			allowed = checkpointFilters
		}
		l := New(kind)
		pick := func(b byte) *Moment {
			all := l.All()
			if len(all) == 0 {
				return nil
			}
			return all[int(b)%len(all)]
		}
		def := func(name, parent string, b byte) *conf.Def {
			d := &conf.Def{Kind: kind, Name: name, Parent: parent}
			modes := ckptModes
			if kind == conf.Snapshot {
				modes = snapModes
				d.State = states[int(b)%len(states)]
				d.Memory.Mode = memModes[int(b>>2)%len(memModes)]
			}
			for i, disk := range diskNames {
				if b>>(i+4)&1 == 1 {
					d.Disks = append(d.Disks, conf.DiskSpec{Name: disk, Mode: modes[(int(b)+i)%len(modes)]})
				}
			}
			return d
		}
		for i := 1; i+1 < len(prog); i += 2 {
			op, arg := prog[i]%9, prog[i+1]
			name := fmt.Sprintf("m%d", i)
			switch op {
			case 0:
				ok(l.Create(def(name, "", arg)))
			case 1, 2: // redefine new / existing, parent picked by arg
				parent := ""
				if p := pick(arg / 3); p != nil && arg%3 != 0 {
					parent = p.Name()
				}
				if op == 2 {
					if m := pick(arg); m != nil {
						name = m.Name()
					}
				}
				_, _ = l.Redefine(def(name, parent, arg), RedefineOption(arg&1))
			case 3:
				if m := pick(arg); m != nil {
					if err := l.Delete(m, DeleteMode(arg%3)); err != nil {
						t.Fatal(err)
					}
				}
			case 4:
				if m := pick(arg); m != nil {
					l.Revert(m)
				}
			case 5:
				l.SetCurrent(nil)
			case 6: // reload from copies of the definitions (a consistent tree reloads cleanly)
				c := l.Clone()
				var defs []*conf.Def
				for _, m := range c.All() {
					defs = append(defs, m.Def())
				}
				if err := l.Load(defs, currentName(c)); err != nil {
					t.Fatalf("reload: %v", err)
				}
			case 7:
				if m := pick(arg); m != nil {
					l.remove(m)
					// Remove leaves children with a parent name that is gone: rebuild as a
					// load would, then the names must be fixed the way libvirt's callers do.
					for _, r := range l.roots() {
						r.def.Parent = ""
					}
				}
			case 8:
				l.removeAll()
			}
			checkInvariants(t, l)
			f := Filter(arg) << (arg % 5) & allowed
			newReference(l).check(t, l, pick(arg^0x5a), f)
		}
	})
}
