package momentlist

// CurrentRule says which rule made the current moment what it is: libvirt's rules for
// snapshots and its internal (never exposed) rules for checkpoints (docs/libvirt.md §2, §3, docs/design.md
// point 3). Output shows it so users know why a checkpoint is, or is not, current.
type CurrentRule int

const (
	// CurrentNone: there is no current moment and nothing else explains why (empty list, or
	// the current moment was removed).
	CurrentNone CurrentRule = iota
	// CurrentCreated: the moment was the last one created; libvirt makes every created
	// moment current.
	CurrentCreated
	// CurrentRedefined: the moment became current when redefined: a snapshot redefined with
	// VIR_DOMAIN_SNAPSHOT_CREATE_CURRENT, or a checkpoint redefined while its parent was the
	// current checkpoint or while there was no current checkpoint.
	CurrentRedefined
	// CurrentLoaded: libvirt named the moment current when the list was loaded (a snapshot's
	// <active>1</active>, virDomainSnapshotCurrent).
	CurrentLoaded
	// CurrentLoadedLeaf: at load the checkpoints formed one unbranched chain and its leaf
	// became current (libvirt's checkpoint load rule).
	CurrentLoadedLeaf
	// CurrentLoadBranched: at load the checkpoints did not form one unbranched chain, so
	// libvirt's checkpoint load rule leaves no current checkpoint.
	CurrentLoadBranched
	// CurrentRelationsBroken: some parent was missing or the parents formed a cycle when the
	// relations were rebuilt, and libvirt then clears current.
	CurrentRelationsBroken
	// CurrentSet: the moment was made current explicitly ([List.SetCurrent]).
	CurrentSet
	// CurrentReverted: the domain was reverted to the snapshot.
	CurrentReverted
	// CurrentAfterDelete: the current moment was deleted and current moved here (to the
	// deleted moment's parent, or to the target of a children delete), as libvirt moves it.
	CurrentAfterDelete
)

// String says the rule in words.
func (r CurrentRule) String() string {
	switch r {
	case CurrentNone:
		return "no current moment"
	case CurrentCreated:
		return "created last (a created moment becomes current)"
	case CurrentRedefined:
		return "made current when redefined"
	case CurrentLoaded:
		return "recorded as current by libvirt"
	case CurrentLoadedLeaf:
		return "leaf of the single unbranched chain at load"
	case CurrentLoadBranched:
		return "none: the tree was not a single unbranched chain at load"
	case CurrentRelationsBroken:
		return "none: inconsistent parent relations cleared it"
	case CurrentSet:
		return "set as current"
	case CurrentReverted:
		return "reverted to"
	case CurrentAfterDelete:
		return "became current when the current moment was deleted"
	}
	return "unknown current rule"
}

// Current returns the current moment, or nil.
func (l *List) Current() *Moment { return l.current }

// CurrentRule returns the rule that decided the current moment (or its absence).
func (l *List) CurrentRule() CurrentRule { return l.rule }

// SetCurrent makes m the current moment (libvirt's virDomainMomentSetCurrent); nil clears it.
// The rule becomes [CurrentSet] (or [CurrentNone]). m must be in the list.
func (l *List) SetCurrent(m *Moment) {
	if m == nil {
		l.setCurrent(nil, CurrentNone)
		return
	}
	l.owns(m, "SetCurrent")
	l.setCurrent(m, CurrentSet)
}

func (l *List) setCurrent(m *Moment, rule CurrentRule) {
	l.current, l.rule = m, rule
}

// CurrentFor returns, for each disk, its current moment (docs/design.md §2): the
// nearest moment, walking from the current moment up through its parents (itself included),
// that covers the disk ([conf.Def.Covers]). Disks that no moment on that chain covers are
// absent; with no current moment the map is empty. It costs O(depth × disks per moment).
func (l *List) CurrentFor() map[string]*Moment {
	out := make(map[string]*Moment)
	l.walkCurrentChain(func(disk string, m *Moment) { out[disk] = m }, func(disk string) bool {
		_, ok := out[disk]
		return ok
	})
	return out
}

// CurrentSet returns the current set: every moment that is the current moment of some disk
// (the values of [List.CurrentFor], each once), nearest to the current moment first.
func (l *List) CurrentSet() []*Moment {
	var set []*Moment
	seen := make(map[string]struct{})
	l.walkCurrentChain(func(disk string, m *Moment) {
		seen[disk] = struct{}{}
		if len(set) == 0 || set[len(set)-1] != m {
			set = append(set, m)
		}
	}, func(disk string) bool {
		_, ok := seen[disk]
		return ok
	})
	return set
}

// walkCurrentChain walks from current up to its root and calls found(disk, m) for the first
// (nearest) moment m covering each disk; done reports the disks already found. Moments on the
// chain are visited in order, so found is called for one moment's disks consecutively.
func (l *List) walkCurrentChain(found func(string, *Moment), done func(string) bool) {
	for m := l.current; m != nil && m.def != nil; m = m.parent {
		d := m.def
		for i := range d.Disks {
			name := d.Disks[i].Name
			if !done(name) && d.Covers(name) {
				found(name, m)
			}
		}
	}
}
