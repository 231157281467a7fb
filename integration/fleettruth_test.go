//go:build integration

package integration

import (
	"encoding/json"
	"encoding/xml"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/vmoments/vmoments/exporter"
	"github.com/vmoments/vmoments/fleet"
)

// The truth of the fleet tests: what virsh itself lists for each domain (names, parents,
// creation times, current snapshot, external snapshots, checkpoints, disks, block statistics),
// turned into the summary and the series vmoments must give. Nothing here uses vmoments.

// truthMoment is one row of virsh's snapshot-list/checkpoint-list --parent.
type truthMoment struct {
	Name, Parent string
	Created      time.Time
}

// truthDomain is what virsh says about one domain.
type truthDomain struct {
	Name, UUID, State string
	Snapshots         []truthMoment
	CurrentSnapshot   string
	External          map[string]bool
	Internal          map[string]bool
	Checkpoints       []truthMoment
	// Covers is each checkpoint's covered disks (checkpoint-dumpxml), when asked for.
	Covers map[string]map[string]bool
	// Disks are the disks a checkpoint can cover: domblklist's device "disk" with a source;
	// Sources their files.
	Disks, Sources []string
}

// virshBatch runs one virsh process on uri with the commands, read-only and in UTC, and returns
// each command's standard output.
func virshBatch(t testing.TB, uri string, cmds []string) []string {
	t.Helper()
	var script strings.Builder
	for i, c := range cmds {
		if i > 0 {
			script.WriteString("; echo @@; ")
		}
		script.WriteString(c)
	}
	cmd := exec.Command("virsh", "-r", "-c", uri, script.String())
	cmd.Env = append(os.Environ(), "TZ=UTC", "LC_ALL=C.UTF-8")
	out, err := cmd.Output()
	if err != nil {
		var stderr string
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = string(ee.Stderr)
		}
		t.Fatalf("virsh -c %s: %v\n%s", uri, err, stderr)
	}
	parts := strings.Split(string(out), "\n@@\n")
	if len(parts) != len(cmds) {
		t.Fatalf("virsh -c %s: %d outputs for %d commands:\n%s", uri, len(parts), len(cmds), out)
	}
	return parts
}

// table parses a virsh table: each row as a map from header to cell, the columns cut where
// the header's words start (ASCII cells only, as the fleet tests' names are).
func table(t testing.TB, out string) []map[string]string {
	t.Helper()
	lines := strings.Split(strings.Trim(out, "\n"), "\n")
	if len(lines) < 2 || !strings.HasPrefix(lines[1], "---") {
		if strings.TrimSpace(out) == "" {
			return nil
		}
		t.Fatalf("not a virsh table:\n%s", out)
	}
	header := lines[0]
	var cols []string
	var starts []int
	for i := 0; i < len(header); {
		if header[i] == ' ' {
			i++
			continue
		}
		j := strings.Index(header[i:], "   ")
		if j < 0 {
			j = len(header) - i
		}
		cols = append(cols, strings.TrimSpace(header[i:i+j]))
		starts = append(starts, i)
		i += j
	}
	var rows []map[string]string
	for _, l := range lines[2:] {
		if strings.TrimSpace(l) == "" {
			continue
		}
		row := map[string]string{}
		for k, c := range cols {
			end := len(l)
			if k+1 < len(starts) && starts[k+1] < end {
				end = starts[k+1]
			}
			if starts[k] < len(l) {
				row[c] = strings.TrimSpace(l[starts[k]:end])
			}
		}
		rows = append(rows, row)
	}
	return rows
}

func moments(t testing.TB, out string) []truthMoment {
	var ms []truthMoment
	for _, r := range table(t, out) {
		created, err := time.Parse("2006-01-02 15:04:05 -0700", r["Creation Time"])
		if err != nil {
			t.Fatalf("creation time %q: %v", r["Creation Time"], err)
		}
		ms = append(ms, truthMoment{Name: r["Name"], Parent: r["Parent"], Created: created})
	}
	return ms
}

func nameSet(out string) map[string]bool {
	set := map[string]bool{}
	for _, l := range strings.Split(out, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			set[l] = true
		}
	}
	return set
}

// virshTruth reads the domains of uri (all of them when names is nil) with one virsh process;
// deep adds each checkpoint's disks (a second one).
func virshTruth(t testing.TB, uri string, names []string, deep bool) map[string]*truthDomain {
	t.Helper()
	if names == nil {
		names = slices.Collect(func(yield func(string) bool) {
			for n := range nameSet(virshBatch(t, uri, []string{"list --all --name"})[0]) {
				if !yield(n) {
					return
				}
			}
		})
		slices.Sort(names)
	}
	const per = 8
	var cmds []string
	for _, n := range names {
		q := "'" + n + "'"
		cmds = append(cmds, "domuuid "+q, "domstate "+q, "snapshot-list "+q+" --parent", "snapshot-current "+q+" --name",
			"snapshot-list "+q+" --external --name", "snapshot-list "+q+" --internal --name", "checkpoint-list "+q+" --parent",
			"domblklist "+q+" --details")
	}
	out := virshBatch(t, uri, cmds)
	doms := map[string]*truthDomain{}
	for i, n := range names {
		o := out[i*per : (i+1)*per]
		d := &truthDomain{Name: n, UUID: strings.TrimSpace(o[0]), State: strings.TrimSpace(o[1]),
			Snapshots: moments(t, o[2]), CurrentSnapshot: strings.TrimSpace(o[3]),
			External: nameSet(o[4]), Internal: nameSet(o[5]), Checkpoints: moments(t, o[6])}
		for _, r := range table(t, o[7]) {
			if r["Device"] == "disk" && r["Source"] != "-" {
				d.Disks = append(d.Disks, r["Target"])
				d.Sources = append(d.Sources, r["Source"])
			}
		}
		doms[n] = d
	}
	if deep {
		var cmds []string
		var who [][2]string
		for _, n := range names {
			for _, c := range doms[n].Checkpoints {
				cmds = append(cmds, fmt.Sprintf("checkpoint-dumpxml '%s' '%s' --no-domain", n, c.Name))
				who = append(who, [2]string{n, c.Name})
			}
		}
		if len(cmds) > 0 {
			for i, x := range virshBatch(t, uri, cmds) {
				var doc struct {
					Disks []struct {
						Name       string `xml:"name,attr"`
						Checkpoint string `xml:"checkpoint,attr"`
					} `xml:"disks>disk"`
				}
				if err := xml.Unmarshal([]byte(x), &doc); err != nil {
					t.Fatalf("checkpoint-dumpxml %v: %v", who[i], err)
				}
				d := doms[who[i][0]]
				if d.Covers == nil {
					d.Covers = map[string]map[string]bool{}
				}
				d.Covers[who[i][1]] = map[string]bool{}
				for _, disk := range doc.Disks {
					if disk.Checkpoint == "bitmap" {
						d.Covers[who[i][1]][disk.Name] = true
					}
				}
			}
		}
	}
	return doms
}

// The expected summary, from virsh's lists alone.

// oldestNewest returns the earliest and latest moments (equal times: by name).
func oldestNewest(ms []truthMoment) (oldest, newest *truthMoment) {
	for i := range ms {
		m := &ms[i]
		if oldest == nil || m.Created.Before(oldest.Created) || m.Created.Equal(oldest.Created) && m.Name < oldest.Name {
			oldest = m
		}
		if newest == nil || m.Created.After(newest.Created) || m.Created.Equal(newest.Created) && m.Name > newest.Name {
			newest = m
		}
	}
	return oldest, newest
}

// depths returns each moment's depth (1 for a root) and the tree's depth.
func depths(ms []truthMoment) (map[string]int, int) {
	parent := map[string]string{}
	for _, m := range ms {
		parent[m.Name] = m.Parent
	}
	depth := map[string]int{}
	var walk func(string) int
	walk = func(n string) int {
		if n == "" {
			return 0
		}
		if d, ok := depth[n]; ok {
			return d
		}
		depth[n] = walk(parent[n]) + 1
		return depth[n]
	}
	most := 0
	for _, m := range ms {
		most = max(most, walk(m.Name))
	}
	return depth, most
}

// loadRuleCurrent is libvirt's checkpoint rule at a load: the leaf of a single unbranched chain,
// else none; and the rule's name.
func loadRuleCurrent(ms []truthMoment) (string, string) {
	if len(ms) == 0 {
		return "", "none"
	}
	children := map[string]int{}
	roots := 0
	for _, m := range ms {
		if m.Parent == "" {
			roots++
		} else {
			children[m.Parent]++
		}
	}
	leaf := ""
	for _, m := range ms {
		if children[m.Name] > 1 {
			return "", "load-branched"
		}
		if children[m.Name] == 0 {
			leaf = m.Name
		}
	}
	if roots != 1 {
		return "", "load-branched"
	}
	return leaf, "loaded-leaf"
}

// wantDisk is one disk's expected backup freshness.
type wantDisk struct {
	Name, Current, Newest string
	NewestCreated         time.Time
	Uncovered             bool
}

// diskTruth computes each checkpointable disk's current checkpoint (walking up from the current
// one), newest covering checkpoint (creation time, then depth, then name) and coverage.
func diskTruth(d *truthDomain, current string) []wantDisk {
	byName := map[string]truthMoment{}
	for _, m := range d.Checkpoints {
		byName[m.Name] = m
	}
	depth, _ := depths(d.Checkpoints)
	var out []wantDisk
	for _, disk := range d.Disks {
		w := wantDisk{Name: disk, Uncovered: true}
		for c := current; c != ""; c = byName[c].Parent {
			if d.Covers[c][disk] {
				w.Current = c
				break
			}
		}
		var best *truthMoment
		for i := range d.Checkpoints {
			m := &d.Checkpoints[i]
			if !d.Covers[m.Name][disk] {
				continue
			}
			w.Uncovered = false
			if best == nil || m.Created.After(best.Created) || m.Created.Equal(best.Created) &&
				(depth[m.Name] > depth[best.Name] || depth[m.Name] == depth[best.Name] && m.Name > best.Name) {
				best = m
			}
		}
		if best != nil {
			w.Newest, w.NewestCreated = best.Name, best.Created
		}
		out = append(out, w)
	}
	return out
}

// wantBytes is the expected snapshot bytes: nil for unknown.
type wantBytes struct{ Overlays, Memory, Internal *uint64 }

func (w wantBytes) total() *uint64 {
	if w.Overlays == nil || w.Memory == nil || w.Internal == nil {
		return nil
	}
	n := *w.Overlays + *w.Memory + *w.Internal
	return &n
}

func u64(n uint64) *uint64 { return &n }

func sizeOf(s fleet.Size) *uint64 {
	if !s.Known {
		return nil
	}
	return &s.Bytes
}

func showSize(p *uint64) string {
	if p == nil {
		return "unknown"
	}
	return strconv.FormatUint(*p, 10)
}

// checkDomain compares one summary with virsh's truth. bytes, when not nil, is the expected
// snapshot bytes.
func checkDomain(t testing.TB, got *fleet.Domain, want *truthDomain, bytes *wantBytes) {
	t.Helper()
	var errs []string
	bad := func(format string, args ...any) { errs = append(errs, fmt.Sprintf(format, args...)) }
	if got.Err != nil {
		bad("error %v", got.Err)
	}
	if got.UUID != want.UUID || got.State.String() != want.State {
		bad("uuid/state %s/%s, virsh %s/%s", got.UUID, got.State, want.UUID, want.State)
	}
	for _, k := range []struct {
		kind string
		got  fleet.Kind
		want []truthMoment
	}{{"snapshots", got.Snapshots, want.Snapshots}, {"checkpoints", got.Checkpoints, want.Checkpoints}} {
		if k.got.Count != len(k.want) {
			bad("%s: %d, virsh %d", k.kind, k.got.Count, len(k.want))
		}
		o, n := oldestNewest(k.want)
		if (o == nil) != (k.got.Oldest == nil) || o != nil && (k.got.Oldest.Name != o.Name || !k.got.Oldest.Created.Equal(o.Created) ||
			k.got.Newest.Name != n.Name || !k.got.Newest.Created.Equal(n.Created)) {
			bad("%s oldest/newest %+v/%+v, virsh %+v/%+v", k.kind, k.got.Oldest, k.got.Newest, o, n)
		}
		if _, d := depths(k.want); k.got.Depth != d {
			bad("%s depth %d, virsh %d", k.kind, k.got.Depth, d)
		}
	}
	if got.CurrentSnapshot != want.CurrentSnapshot {
		bad("current snapshot %q, virsh %q", got.CurrentSnapshot, want.CurrentSnapshot)
	}
	if got.ExternalSnapshots != len(want.External) {
		bad("external %d, virsh %d", got.ExternalSnapshots, len(want.External))
	}
	cur, rule := loadRuleCurrent(want.Checkpoints)
	if got.CurrentCheckpoint != cur || len(want.Checkpoints) > 0 && fleet.RuleName(got.CurrentCheckpointRule) != rule {
		bad("current checkpoint %q (%s), by libvirt's load rule %q (%s)", got.CurrentCheckpoint,
			fleet.RuleName(got.CurrentCheckpointRule), cur, rule)
	}
	if want.Covers != nil || len(want.Checkpoints) == 0 {
		wd := diskTruth(want, cur)
		if len(got.Disks) != len(wd) {
			bad("disks %+v, virsh %+v", got.Disks, wd)
		} else {
			for i, w := range wd {
				g := got.Disks[i]
				gn, gt := "", time.Time{}
				if g.Newest != nil {
					gn, gt = g.Newest.Name, g.Newest.Created
				}
				if g.Name != w.Name || g.Current != w.Current || gn != w.Newest || !gt.Equal(w.NewestCreated) || g.Uncovered != w.Uncovered {
					bad("disk %s: current %q newest %q %v uncovered %v; want %+v", g.Name, g.Current, gn, gt, g.Uncovered, w)
				}
			}
		}
	}
	if bytes != nil {
		for _, p := range []struct {
			part      string
			got, want *uint64
		}{{"overlays", sizeOf(got.Bytes.Overlays), bytes.Overlays}, {"memory", sizeOf(got.Bytes.MemoryFiles), bytes.Memory},
			{"internal", sizeOf(got.Bytes.InternalVMState), bytes.Internal}, {"total", sizeOf(got.Bytes.Total), bytes.total()}} {
			if showSize(p.got) != showSize(p.want) {
				bad("%s bytes %s, want %s (%+v)", p.part, showSize(p.got), showSize(p.want), got.Bytes)
			}
		}
	}
	if len(errs) > 0 {
		t.Errorf("%s %s:\n  %s", got.URI, got.Name, strings.Join(errs, "\n  "))
	}
}

// domstats is virsh domstats --block --backing of one domain: each image's path and fields.
func domstats(t testing.TB, uri, name string) map[string]map[string]uint64 {
	t.Helper()
	out := virshBatch(t, uri, []string{fmt.Sprintf("domstats --block --backing '%s'", name)})[0]
	byIndex := map[string]map[string]string{}
	for _, l := range strings.Split(out, "\n") {
		k, v, ok := strings.Cut(strings.TrimSpace(l), "=")
		if !ok || !strings.HasPrefix(k, "block.") {
			continue
		}
		f := strings.SplitN(k, ".", 3)
		if len(f) != 3 {
			continue
		}
		if byIndex[f[1]] == nil {
			byIndex[f[1]] = map[string]string{}
		}
		byIndex[f[1]][f[2]] = v
	}
	paths := map[string]map[string]uint64{}
	for _, fields := range byIndex {
		p := fields["path"]
		if p == "" {
			continue
		}
		paths[p] = map[string]uint64{}
		for k, v := range fields {
			if n, err := strconv.ParseUint(v, 10, 64); err == nil {
				paths[p][k] = n
			}
		}
	}
	return paths
}

// overlayFiles returns the files the domain's external snapshots name (snapshot-dumpxml).
func overlayFiles(t testing.TB, uri string, d *truthDomain) []string {
	t.Helper()
	var cmds []string
	for _, m := range d.Snapshots {
		if d.External[m.Name] {
			cmds = append(cmds, fmt.Sprintf("snapshot-dumpxml '%s' '%s'", d.Name, m.Name))
		}
	}
	if len(cmds) == 0 {
		return nil
	}
	var files []string
	for _, x := range virshBatch(t, uri, cmds) {
		var doc struct {
			Disks []struct {
				Snapshot string `xml:"snapshot,attr"`
				Source   struct {
					File string `xml:"file,attr"`
				} `xml:"source"`
			} `xml:"disks>disk"`
		}
		if err := xml.Unmarshal([]byte(x), &doc); err != nil {
			t.Fatal(err)
		}
		for _, disk := range doc.Disks {
			if disk.Snapshot == "external" && !slices.Contains(files, disk.Source.File) {
				files = append(files, disk.Source.File)
			}
		}
	}
	return files
}

// allocatedFile is st_blocks × 512 of a file.
func allocatedFile(t testing.TB, path string) uint64 {
	var st syscall.Stat_t
	if err := syscall.Stat(path, &st); err != nil {
		t.Fatal(err)
	}
	return uint64(st.Blocks) * 512
}

// internalVMState sums qemu-img's vm-state-size of the domain's internal snapshots over the
// images of files (and their backing chains).
func internalVMState(t testing.TB, d *truthDomain, files []string) uint64 {
	t.Helper()
	var total uint64
	seen := map[string]bool{}
	for _, f := range files {
		out, err := exec.Command("qemu-img", "info", "-U", "--backing-chain", "--output=json", f).Output()
		if err != nil {
			t.Fatalf("qemu-img info %s: %v", f, err)
		}
		var chain []struct {
			Filename  string `json:"filename"`
			Snapshots []struct {
				Name    string `json:"name"`
				VMState uint64 `json:"vm-state-size"`
			} `json:"snapshots"`
		}
		if err := json.Unmarshal(out, &chain); err != nil {
			t.Fatal(err)
		}
		for _, img := range chain {
			for _, s := range img.Snapshots {
				if k := img.Filename + "\x00" + s.Name; d.Internal[s.Name] && !seen[k] {
					seen[k] = true
					total += s.VMState
				}
			}
		}
	}
	return total
}

// The series the exporter must serve for a domain, from virsh's truth: name{labels} -> value.
func wantSeries(uri string, d *truthDomain, bytes *wantBytes, checkDisks bool) map[string]float64 {
	s := map[string]float64{}
	key := func(name string, labels ...string) string {
		all := append([]string{"uri", uri}, labels...)
		var parts []string
		for i := 0; i < len(all); i += 2 {
			parts = append(parts, all[i]+"="+strconv.Quote(all[i+1]))
		}
		slices.Sort(parts)
		return name + "{" + strings.Join(parts, ",") + "}"
	}
	dl := []string{"domain", d.Name}
	s[key("vmoments_domain_info", "domain", d.Name, "uuid", d.UUID, "state", d.State)] = 1
	s[key("vmoments_domain_snapshots", dl...)] = float64(len(d.Snapshots))
	s[key("vmoments_domain_checkpoints", dl...)] = float64(len(d.Checkpoints))
	if o, n := oldestNewest(d.Snapshots); o != nil {
		s[key("vmoments_domain_snapshot_oldest_timestamp_seconds", dl...)] = float64(o.Created.Unix())
		s[key("vmoments_domain_snapshot_newest_timestamp_seconds", dl...)] = float64(n.Created.Unix())
	}
	if o, n := oldestNewest(d.Checkpoints); o != nil {
		s[key("vmoments_domain_checkpoint_oldest_timestamp_seconds", dl...)] = float64(o.Created.Unix())
		s[key("vmoments_domain_checkpoint_newest_timestamp_seconds", dl...)] = float64(n.Created.Unix())
	}
	_, depth := depths(d.Snapshots)
	s[key("vmoments_domain_snapshot_tree_depth", dl...)] = float64(depth)
	s[key("vmoments_domain_external_snapshots", dl...)] = float64(len(d.External))
	if d.CurrentSnapshot != "" {
		s[key("vmoments_domain_current_snapshot_info", "domain", d.Name, "snapshot", d.CurrentSnapshot)] = 1
	}
	cur, rule := loadRuleCurrent(d.Checkpoints)
	if len(d.Checkpoints) > 0 {
		s[key("vmoments_domain_current_checkpoint_info", "domain", d.Name, "checkpoint", cur, "rule", rule)] = 1
	}
	if checkDisks {
		for _, w := range diskTruth(d, cur) {
			if w.Current != "" {
				s[key("vmoments_disk_current_checkpoint_info", "domain", d.Name, "disk", w.Name, "checkpoint", w.Current)] = 1
			}
			if w.Newest != "" {
				s[key("vmoments_disk_newest_checkpoint_timestamp_seconds", "domain", d.Name, "disk", w.Name, "checkpoint", w.Newest)] = float64(w.NewestCreated.Unix())
			}
			u := 0.0
			if w.Uncovered {
				u = 1
			}
			s[key("vmoments_disk_uncovered", "domain", d.Name, "disk", w.Name)] = u
		}
	}
	if bytes != nil {
		if t := bytes.total(); t != nil {
			s[key("vmoments_domain_snapshot_bytes", dl...)] = float64(*t)
		}
	}
	return s
}

// checkedFamilies are the families wantSeries predicts (with disks and bytes when given).
var checkedFamilies = []string{"vmoments_domain_info", "vmoments_domain_snapshots", "vmoments_domain_checkpoints",
	"vmoments_domain_snapshot_oldest_timestamp_seconds", "vmoments_domain_snapshot_newest_timestamp_seconds",
	"vmoments_domain_checkpoint_oldest_timestamp_seconds", "vmoments_domain_checkpoint_newest_timestamp_seconds",
	"vmoments_domain_snapshot_tree_depth", "vmoments_domain_external_snapshots", "vmoments_domain_current_snapshot_info",
	"vmoments_domain_current_checkpoint_info"}

var diskFamilies = []string{"vmoments_disk_current_checkpoint_info", "vmoments_disk_newest_checkpoint_timestamp_seconds", "vmoments_disk_uncovered"}

// gathered collects the exporter's series of the given families: name{labels} -> value.
func gathered(t testing.TB, e *exporter.Exporter, families []string) map[string]float64 {
	t.Helper()
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(e)
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatalf("gather: %v", err)
	}
	out := map[string]float64{}
	for _, mf := range mfs {
		if !slices.Contains(families, mf.GetName()) {
			continue
		}
		for _, m := range mf.GetMetric() {
			var parts []string
			for _, l := range m.GetLabel() {
				parts = append(parts, l.GetName()+"="+strconv.Quote(l.GetValue()))
			}
			slices.Sort(parts)
			out[mf.GetName()+"{"+strings.Join(parts, ",")+"}"] = m.GetGauge().GetValue()
		}
	}
	return out
}

// diffSeries describes how got differs from want (the first 20 differences).
func diffSeries(got, want map[string]float64) string {
	var d []string
	for k, v := range want {
		if g, ok := got[k]; !ok {
			d = append(d, "missing "+k)
		} else if g != v {
			d = append(d, fmt.Sprintf("%s = %v, want %v", k, g, v))
		}
	}
	for k := range got {
		if _, ok := want[k]; !ok {
			d = append(d, "extra "+k)
		}
	}
	slices.Sort(d)
	if len(d) > 20 {
		d = append(d[:20], fmt.Sprintf("... %d more", len(d)-20))
	}
	return strings.Join(d, "\n")
}
