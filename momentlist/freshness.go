package momentlist

// Backup freshness per disk. libvirt's current checkpoint is where the next incremental backup of
// each disk starts by libvirt's pointer ([List.CurrentFor]); after a fresh load of a branched
// tree there is none, yet every disk still has checkpoints. The newest checkpoint that covers a
// disk is the usual base of its next incremental backup, and its age says when the disk was last
// backed up; a disk no checkpoint covers has no base at all. Both work for snapshots too (the
// newest snapshot of each disk).

// NewestFor returns, for each disk that some moment of the list covers ([conf.Def.Covers]), the
// newest moment covering it: the latest creation time (a moment without one counts as older
// than any that has one). Moments created in the same second are ordered by their depth in the
// tree, the deeper one newer (a child is always made after its parent), then by name, the
// greater one newer, so that the answer does not depend on the order libvirt listed them in.
// Disks no moment covers are absent. It costs O(n + covered disks).
func (l *List) NewestFor() map[string]*Moment {
	out := make(map[string]*Moment)
	var depth map[*Moment]int // computed on the first tie only
	newer := func(a, b *Moment) bool {
		ta, tb := createdUnix(a), createdUnix(b)
		if ta != tb {
			return ta > tb
		}
		if depth == nil {
			depth = l.depths()
		}
		if depth[a] != depth[b] {
			return depth[a] > depth[b]
		}
		return a.Name() > b.Name()
	}
	for m := l.first; m != nil; m = m.next {
		d := m.def
		for i := range d.Disks {
			name := d.Disks[i].Name
			if !d.Covers(name) {
				continue
			}
			if cur, ok := out[name]; !ok || newer(m, cur) {
				out[name] = m
			}
		}
	}
	return out
}

// Uncovered returns the disks among disks that no moment of the list covers, in the order
// given (duplicates once). With disks the checkpointable disks of a domain's current definition,
// those are the disks whose backups have no checkpoint to start from.
func (l *List) Uncovered(disks []string) []string {
	covered := make(map[string]bool)
	for m := l.first; m != nil; m = m.next {
		d := m.def
		for i := range d.Disks {
			if d.Covers(d.Disks[i].Name) {
				covered[d.Disks[i].Name] = true
			}
		}
	}
	var out []string
	for _, disk := range disks {
		if !covered[disk] {
			out = append(out, disk)
			covered[disk] = true // once
		}
	}
	return out
}

// createdUnix is the moment's creation time in seconds, or the smallest value when it has none.
func createdUnix(m *Moment) int64 {
	if !m.def.HasCreated {
		return -1 << 63
	}
	return m.def.Created.Unix()
}

// depths returns every moment's depth in the tree (1 for a root), in O(n).
func (l *List) depths() map[*Moment]int {
	depth := make(map[*Moment]int, len(l.byName))
	var chain []*Moment
	for m := l.first; m != nil; m = m.next {
		chain = chain[:0]
		p := m
		for p != nil && p.def != nil { // the metaroot (def nil) is above every root
			if _, ok := depth[p]; ok {
				break
			}
			chain = append(chain, p)
			p = p.parent
		}
		base := depth[p] // 0 for the metaroot, which is not in the map
		for i := len(chain) - 1; i >= 0; i-- {
			base++
			depth[chain[i]] = base
		}
	}
	return depth
}
