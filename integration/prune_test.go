//go:build integration

package integration

import (
	"context"
	"encoding/json"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vmoments/vmoments/conf"
	"github.com/vmoments/vmoments/driver"
	"github.com/vmoments/vmoments/driver/qemu/qemutest"
	"github.com/vmoments/vmoments/momentlist"
	"github.com/vmoments/vmoments/policy"
)

// prune on qemu:///system: `vmoments prune` (the program, as a user runs it) on redefined trees
// of hundreds of moments spread over two years, metadata only, and on real internal snapshots
// and checkpoints of a running guest, deleted with their disk data; each time the plan is made
// independently in the test with package policy and libvirt's tree afterwards is checked
// against libvirt's own delete rules (momentlist).

// pruneResult is the part of prune --json the tests read (cmd/vmoments/JSON.md, "prune").
type pruneResult struct {
	Plans []struct {
		Domain, Kind string
		Error        *string
		Delete       []string
		Keep         int
		Moments      []struct {
			Name, Action string
			Reasons      []struct{ Reason, Text string }
		}
	}
	Result *struct {
		Deleted []struct{ Domain, Kind, Name string }
		Failed  *struct{ Name, Error string }
	}
	Summary struct{ Moments, Keep, Delete, Deleted, Errors int }
}

// spreadTimes gives the tree's moments creation times spread over the two years before end,
// in the tree's order (parents before children, so no child is older than its parent), a few
// in the same second as the one before.
func spreadTimes(tr *tree, end time.Time, seed uint64) {
	rng := rand.New(rand.NewPCG(seed, 0x7072756e65))
	span := int64(2 * 365 * 24 * time.Hour / time.Second)
	times := make([]int64, len(tr.Nodes))
	for i := range times {
		times[i] = rng.Int64N(span)
	}
	slices.Sort(times)
	for i := range times {
		if i > 0 && rng.IntN(20) == 0 {
			times[i] = times[i-1]
		}
		tr.Nodes[i].Created = end.Add(-time.Duration(span-times[i]) * time.Second)
	}
}

// cliEnv is the environment of the program under test: the clock's zone UTC, so that calendar
// periods are the test's.
func cliEnv() []string {
	env := []string{"TZ=UTC", "LC_ALL=C.UTF-8"}
	for _, kv := range os.Environ() {
		if k, _, _ := strings.Cut(kv, "="); k == "PATH" || k == "HOME" {
			env = append(env, kv)
		}
	}
	return env
}

// loadLists loads a domain's snapshots and checkpoints through a fresh read-only driver.
func loadLists(t *testing.T, name string) (snaps, cps *momentlist.List) {
	t.Helper()
	ctx := context.Background()
	drv, err := driver.Open(ctx, systemURI, driver.ReadOnly)
	if err != nil {
		t.Fatal(err)
	}
	defer drv.Close()
	dom, err := drv.Domain(ctx, name)
	if err != nil {
		t.Fatal(err)
	}
	if snaps, err = dom.Moments(ctx, conf.Snapshot); err != nil {
		t.Fatal(err)
	}
	if cps, err = dom.Moments(ctx, conf.Checkpoint); err != nil {
		t.Fatal(err)
	}
	return snaps, cps
}

// afterPlan is l with the plan's deletes made by libvirt's rules (plain deletes, in order).
func afterPlan(t *testing.T, l *momentlist.List, res *policy.Result) *momentlist.List {
	t.Helper()
	c := l.Clone()
	for _, n := range res.Delete {
		if err := c.Delete(c.Find(n), momentlist.DeletePlain); err != nil {
			t.Fatal(err)
		}
	}
	return c
}

// keptNames are the plan's kept moments, sorted.
func keptNames(res *policy.Result) []string {
	var out []string
	for _, d := range res.Moments {
		if d.Keep {
			out = append(out, d.Name())
		}
	}
	slices.Sort(out)
	return out
}

// perDisk is a list's per-disk current moments as "disk=name" words.
func perDisk(l *momentlist.List) string {
	var out []string
	for disk, m := range l.CurrentFor() {
		out = append(out, disk+"="+m.Name())
	}
	sort.Strings(out)
	return strings.Join(out, " ")
}

// TestPruneRedefinedTrees: 360 snapshots (3 roots, branches, a current snapshot with children,
// internal and external, partial ones, odd names) and a chain of 130 checkpoints with partial
// disks, redefined with creation times spread over two years, pruned with --metadata by the
// program. The program's plan equals the test's own (package policy on a fresh load), the
// moments left are exactly the plan's kept ones, every parent is where libvirt's delete rules
// put it, the current snapshot and every disk's current checkpoint stay, and a second run
// deletes nothing.
func TestPruneRedefinedTrees(t *testing.T) {
	bin := buildCLI(t)
	c := qemutest.Connect(t, systemURI)
	g := c.NewGuest(t, group, "prune")
	end := time.Now().Add(-24 * time.Hour).Truncate(time.Second)
	snaps := genTree(true, treeShape{N: 360, Roots: 3, Branch: 0.15, Offline: 0.3, Seed: 14})
	spreadTimes(&snaps, end, 14)
	cps := genTree(false, treeShape{N: 130, Roots: 1, Seed: 15})
	spreadTimes(&cps, end, 15)
	t.Logf("snapshots: %s; checkpoints: %s", snaps.stats(), cps.stats())
	// Snapshots before checkpoints: libvirt refuses even a snapshot redefine on a shut-off guest
	// that has a checkpoint (docs/libvirt-bugs.md B7).
	timed(t, "redefine 360 snapshots and 130 checkpoints", func() { redefine(g, snaps); redefine(g, cps) })
	g.WantSnapshots(snaps.Relations().Parent, snaps.Current)

	beforeS, beforeC := loadLists(t, g.Name)
	args := []string{"--keep-daily", "10", "--keep-weekly", "6", "--keep-monthly", "9", "--keep-yearly", "2",
		"--keep-within", "14d", "--match", "^[sc][0-9]"}
	p := policy.Policy{Daily: 10, Weekly: 6, Monthly: 9, Yearly: 2, Within: policy.Duration{Days: 14},
		Match: regexp.MustCompile("^[sc][0-9]"), Location: time.UTC}
	now := time.Now()
	how := policy.Deletion{MetadataOnly: true}
	planS, err := policy.Plan(beforeS, p, now, how)
	if err != nil {
		t.Fatal(err)
	}
	planC, err := policy.Plan(beforeC, p, now, how)
	if err != nil {
		t.Fatal(err)
	}
	if len(planS.Delete) < 250 || len(planC.Delete) < 80 {
		t.Fatalf("the policy deletes only %d snapshots and %d checkpoints: the test wants most of them gone", len(planS.Delete), len(planC.Delete))
	}
	if beforeC.Current() == nil || len(beforeC.CurrentFor()) != 2 {
		t.Fatalf("the checkpoint chain has current %v and per-disk %s: want a current checkpoint and both disks", beforeC.Current(), perDisk(beforeC))
	}

	var r cliResult
	timed(t, "prune --metadata, the program", func() {
		r = runCLI(t, cliEnv(), bin, append([]string{"-c", systemURI, "prune", g.Name, "--metadata", "--yes", "--json"}, args...)...)
	})
	if r.rc != 0 {
		t.Fatalf("prune: exit %d\nstderr:\n%s", r.rc, r.stderr)
	}
	var got pruneResult
	if err := json.Unmarshal([]byte(r.stdout), &got); err != nil {
		t.Fatalf("prune --json: %v\n%s", err, r.stdout)
	}
	if len(got.Plans) != 2 || got.Result == nil || got.Result.Failed != nil {
		t.Fatalf("prune --json: %d plans, result %+v", len(got.Plans), got.Result)
	}
	for i, want := range []*policy.Result{planS, planC} {
		if pl := got.Plans[i]; !slices.Equal(pl.Delete, want.Delete) {
			t.Errorf("the program's %s plan deletes %d (%v...), the test's %d (%v...)", pl.Kind, len(pl.Delete), head(pl.Delete), len(want.Delete), head(want.Delete))
		}
	}
	if got.Summary.Deleted != len(planS.Delete)+len(planC.Delete) {
		t.Errorf("deleted %d, planned %d", got.Summary.Deleted, len(planS.Delete)+len(planC.Delete))
	}
	t.Logf("pruned %d of %d snapshots and %d of %d checkpoints; kept %d and %d",
		len(planS.Delete), beforeS.Len(), len(planC.Delete), beforeC.Len(), planS.Kept(), planC.Kept())

	// libvirt's tree afterwards: the kept moments, re-linked as libvirt's plain deletes do.
	wantS, wantC := afterPlan(t, beforeS, planS), afterPlan(t, beforeC, planC)
	if gotS := g.SnapshotTree(); !gotS.Equal(listTree(wantS)) {
		t.Errorf("libvirt's snapshots after prune differ from the plan's:\n%s", gotS.Diff(listTree(wantS)))
	}
	wantCTree := listTree(wantC)
	wantCTree.Current = ""
	if gotC := g.CheckpointTree(); !gotC.Equal(wantCTree) {
		t.Errorf("libvirt's checkpoints after prune differ from the plan's:\n%s", gotC.Diff(wantCTree))
	}
	if names := g.SnapshotTree().Names(); !slices.Equal(names, keptNames(planS)) {
		t.Errorf("%d snapshots left, the plan keeps %d", len(names), len(keptNames(planS)))
	}
	if cur := g.CurrentSnapshot(); cur != snaps.Current {
		t.Errorf("current snapshot %q after prune, was %q", cur, snaps.Current)
	}
	afterS, afterC := loadLists(t, g.Name)
	if a, b := perDisk(beforeC), perDisk(afterC); a != b {
		t.Errorf("per-disk current checkpoints %s after prune, were %s", b, a)
	}
	if a, b := perDisk(beforeS), perDisk(afterS); a != b {
		t.Errorf("per-disk current snapshots %s after prune, were %s", b, a)
	}
	if afterC.Current() == nil || afterC.Current().Name() != beforeC.Current().Name() {
		t.Errorf("current checkpoint %v after prune, was %s", afterC.Current(), beforeC.Current().Name())
	}

	again := runCLI(t, cliEnv(), bin, append([]string{"-c", systemURI, "prune", g.Name, "--metadata", "--yes"}, args...)...)
	if again.rc != 0 || !strings.Contains(again.stdout, "Nothing to delete:") {
		t.Errorf("the second prune: exit %d\n%s%s", again.rc, again.stdout, again.stderr)
	}
}

func head(s []string) []string { return s[:min(len(s), 5)] }

// TestPruneRealGuest: internal snapshots with memory and checkpoints of a running guest, pruned
// by the program without --metadata: the deleted internal snapshots are gone from the qcow2
// images and the deleted checkpoints' bitmaps from QEMU, the kept checkpoints still validate
// against the images (REDEFINE_VALIDATE), an incremental backup begun from the kept checkpoint
// completes. (A revert to a kept internal snapshot is no test here: QEMU 7.2 refuses to load an
// internal snapshot while the images have dirty bitmaps, "Device has active dirty bitmaps".)
func TestPruneRealGuest(t *testing.T) {
	bin := buildCLI(t)
	c := qemutest.Connect(t, systemURI)
	g := c.NewGuest(t, group, "prunereal")
	g.Start()
	snaps := []string{"s1", "s2", "s3", "s4", "s5", "s6"}
	cps := []string{"c1", "c2", "c3", "c4", "c5", "c6"}
	timed(t, "6 internal snapshots with memory", func() {
		for _, n := range snaps {
			g.Snapshot(n, 0)
		}
	})
	for _, n := range cps {
		g.Checkpoint(n)
	}
	oldXML := map[string]string{}
	for _, n := range cps {
		oldXML[n] = g.DumpXML(conf.Checkpoint, n)
	}
	if tags := imageSnapshots(t, g, "vda"); !slices.Equal(tags, snaps) {
		t.Fatalf("the image holds the internal snapshots %v, want %v", tags, snaps)
	}

	r := runCLI(t, cliEnv(), bin, "-c", systemURI, "prune", g.Name, "--keep-last", "2", "--yes")
	t.Logf("prune:\n%s%s", r.stdout, r.stderr)
	if r.rc != 0 {
		t.Fatalf("prune: exit %d", r.rc)
	}
	g.WantSnapshots(map[string]string{"s5": "", "s6": "s5"}, "s6")
	g.WantCheckpoints(map[string]string{"c5": "", "c6": "c5"})
	for _, disk := range g.Disks {
		if tags := imageSnapshots(t, g, disk); !slices.Equal(tags, []string{"s5", "s6"}) {
			t.Errorf("after prune %s holds the internal snapshots %v, want s5 s6: the deletes must reach the image", disk, tags)
		}
	}
	// The kept checkpoints' bitmaps are in the images: a redefinition with REDEFINE_VALIDATE
	// (libvirt checks each bitmap) is accepted. The deleted ones' are gone: the same
	// redefinition of c1 is refused.
	for _, n := range []string{"c5", "c6"} {
		if err := g.TryCheckpoint(g.DumpXML(conf.Checkpoint, n), driver.CheckpointCreateRedefine|driver.CheckpointCreateRedefineValidate); err != nil {
			t.Errorf("kept checkpoint %s does not validate after prune: %v", n, err)
		}
	}
	if err := g.TryCheckpoint(oldXML["c1"], driver.CheckpointCreateRedefine|driver.CheckpointCreateRedefineValidate); err == nil {
		t.Errorf("deleted checkpoint c1 validates after prune: its bitmap was not deleted")
	} else {
		t.Logf("redefining the deleted c1 with validation: %v", err)
	}
	// An incremental backup from the kept checkpoint c5, through virsh.
	for _, from := range []string{"c5", "c6"} {
		backupFrom(t, g, from)
	}
	if out, err := virsh(g, "backup-begin", g.Name, writeBackupXML(t, g, "c2")); err == nil {
		t.Errorf("a backup from the deleted c2 began: %s", out)
	} else {
		t.Logf("backup from the deleted c2: %s", strings.TrimSpace(out))
	}
}

// imageSnapshots lists the internal snapshots in a disk image of the guest (qemu-img snapshot
// -l, sharing the image with the running QEMU), by tag.
func imageSnapshots(t *testing.T, g *qemutest.Guest, disk string) []string {
	t.Helper()
	out, err := exec.Command("qemu-img", "snapshot", "-U", "-l", filepath.Join(g.Dir, disk+".qcow2")).CombinedOutput()
	if err != nil {
		t.Fatalf("qemu-img snapshot -l: %v\n%s", err, out)
	}
	var tags []string
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.Fields(line)
		if len(f) > 1 && f[0] != "ID" && f[0] != "Snapshot" {
			tags = append(tags, f[1])
		}
	}
	slices.Sort(tags)
	return tags
}

// writeBackupXML writes a push-mode backup of both disks, incremental from checkpoint from,
// into the guest's directory, and returns the file's name.
func writeBackupXML(t *testing.T, g *qemutest.Guest, from string) string {
	t.Helper()
	var b strings.Builder
	b.WriteString("<domainbackup mode='push'><incremental>" + from + "</incremental><disks>")
	for _, d := range g.Disks {
		target := filepath.Join(g.Dir, "backup-"+from+"-"+d+".qcow2")
		b.WriteString("<disk name='" + d + "' type='file'><target file='" + target + "'/><driver type='qcow2'/></disk>")
	}
	b.WriteString("</disks></domainbackup>")
	path := filepath.Join(g.Dir, "backup-"+from+".xml")
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func virsh(g *qemutest.Guest, args ...string) (string, error) {
	out, err := exec.Command("virsh", append([]string{"-c", g.URI}, args...)...).CombinedOutput()
	return string(out), err
}

// backupFrom begins an incremental backup from checkpoint from and waits until libvirt says it
// completed.
func backupFrom(t *testing.T, g *qemutest.Guest, from string) {
	t.Helper()
	if out, err := virsh(g, "backup-begin", g.Name, writeBackupXML(t, g, from)); err != nil {
		t.Fatalf("an incremental backup from the kept checkpoint %s did not begin: %v\n%s", from, err, out)
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		out, err := virsh(g, "domjobinfo", g.Name)
		if err == nil && regexp.MustCompile(`Job type:\s+None`).MatchString(out) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the backup from %s did not end within 60 s: %s", from, out)
		}
		time.Sleep(200 * time.Millisecond)
	}
	out, err := virsh(g, "domjobinfo", g.Name, "--completed")
	if err != nil || !regexp.MustCompile(`Job type:\s+Completed`).MatchString(out) || !strings.Contains(out, "Backup") {
		t.Fatalf("the backup from %s did not complete: %v\n%s", from, err, out)
	}
	t.Logf("incremental backup from %s:\n%s", from, strings.TrimSpace(out))
	for _, d := range g.Disks {
		if _, err := os.Stat(filepath.Join(g.Dir, "backup-"+from+"-"+d+".qcow2")); err != nil {
			t.Errorf("the backup from %s wrote no image of %s: %v", from, d, err)
		}
	}
}

// TestPruneUnforeseenRefusal: a refusal no metadata tells beforehand stops the run where it
// happens, with libvirt's words, and says what was deleted and what was not; a run again with
// --metadata goes on. The checkpoint g1 is redefined from c1's definition with bitmaps that were
// never made, as a copy from another host would be: QEMU cannot delete bitmaps it does not have.
func TestPruneUnforeseenRefusal(t *testing.T) {
	bin := buildCLI(t)
	c := qemutest.Connect(t, systemURI)
	g := c.NewGuest(t, group, "prunerefused")
	g.Start()
	for _, n := range []string{"s1", "s2", "s3"} {
		g.Snapshot(n, 0)
	}
	g.Checkpoint("c1")
	ghost := g.DumpXML(conf.Checkpoint, "c1")
	ghost = strings.Replace(ghost, "<name>c1</name>", "<name>g1</name>", 1)
	ghost = strings.ReplaceAll(ghost, "bitmap='c1'", "bitmap='g1'")
	ghost = regexp.MustCompile(`<creationTime>\d+</creationTime>`).ReplaceAllString(ghost,
		"<creationTime>"+strconv.FormatInt(time.Now().Add(-time.Hour).Unix(), 10)+"</creationTime>")
	if err := g.TryCheckpoint(ghost, driver.CheckpointCreateRedefine); err != nil {
		t.Fatal(err)
	}
	g.WantCheckpoints(map[string]string{"c1": "", "g1": ""})

	r := runCLI(t, cliEnv(), bin, "-c", systemURI, "prune", g.Name, "--keep-last", "1", "--yes")
	t.Logf("prune:\n%s%s", r.stdout, r.stderr)
	wantErr := "error: prune stopped at checkpoint 'g1' of domain '" + g.Name + "': internal error: bitmap 'g1' not found in backing chain of 'vda'\n"
	if r.rc != 1 || r.stderr != wantErr {
		t.Errorf("exit %d, stderr %q; want 1 and %q", r.rc, r.stderr, wantErr)
	}
	for _, line := range []string{
		"Deleted snapshot s2 of " + g.Name + "\n", "Deleted snapshot s1 of " + g.Name + "\n",
		"Prune stopped at the first failure: 2 of the 3 planned deletes done.\n",
		"Not deleted (1):\n  " + g.Name + " checkpoints: g1 (failed)\n",
		// Two roots loaded afresh: no current checkpoint known, so the newest one of each disk stays.
		"c1     ", "newest for vda, vdb (no current checkpoint known)",
	} {
		if !strings.Contains(r.stdout, line) {
			t.Errorf("the output lacks %q", line)
		}
	}
	g.WantSnapshots(map[string]string{"s3": ""}, "s3")
	g.WantCheckpoints(map[string]string{"c1": "", "g1": ""})

	again := runCLI(t, cliEnv(), bin, "-c", systemURI, "prune", g.Name, "--checkpoints", "--keep-last", "1", "--metadata", "--yes")
	if again.rc != 0 || !strings.Contains(again.stdout, "Deleted checkpoint g1 of "+g.Name+"\n") {
		t.Errorf("the run again with --metadata: exit %d\n%s%s", again.rc, again.stdout, again.stderr)
	}
	g.WantCheckpoints(map[string]string{"c1": ""})
}

// TestPruneHosts: one prune over two libvirtds, qemu:///system and a private one over TCP, as
// report reads them: the pattern selects the test's guests on both, one plan covers them, and
// each ends with what its plan keeps, re-linked as libvirt does.
func TestPruneHosts(t *testing.T) {
	bin := buildCLI(t)
	d := qemutest.StartDaemon(t)
	guests := []*qemutest.Guest{
		qemutest.Connect(t, systemURI).NewGuest(t, group, "prunehosts"),
		d.Connect(t).NewGuest(t, group, "prunehosts"),
	}
	end := time.Now().Add(-time.Hour).Truncate(time.Second)
	trees := make([]tree, len(guests))
	for i, g := range guests {
		trees[i] = genTree(true, treeShape{N: 60, Roots: 2, Branch: 0.2, Offline: 0.5, Seed: uint64(40 + i)})
		spreadTimes(&trees[i], end, uint64(40+i))
		redefine(g, trees[i])
	}
	pattern := "vmoments-test-" + group + "-" + strconv.Itoa(os.Getpid()) + "-prunehosts-*"
	r := runCLI(t, cliEnv(), bin, "prune", "--connect", systemURI, "--connect", d.URI, pattern,
		"--snapshots", "--keep-last", "5", "--keep-monthly", "6", "--metadata", "--yes", "--json")
	if r.rc != 0 {
		t.Fatalf("prune: exit %d\n%s", r.rc, r.stderr)
	}
	var got pruneResult
	if err := json.Unmarshal([]byte(r.stdout), &got); err != nil {
		t.Fatal(err)
	}
	if len(got.Plans) != 2 || got.Plans[0].Domain != guests[0].Name || got.Plans[1].Domain != guests[1].Name {
		t.Fatalf("plans for %d domains (%+v), want the two guests, system's first", len(got.Plans), got.Plans)
	}
	p := policy.Policy{Last: 5, Monthly: 6, Location: time.UTC}
	for i, g := range guests {
		l := momentlist.New(conf.Snapshot)
		var defs []*conf.Def
		for _, n := range trees[i].Nodes {
			defs = append(defs, &conf.Def{Kind: conf.Snapshot, Name: n.Name, Parent: n.Parent, Created: n.Created, HasCreated: true, State: n.State})
		}
		if err := l.Load(defs, trees[i].Current); err != nil {
			t.Fatal(err)
		}
		want, err := policy.Plan(l, p, time.Now(), policy.Deletion{MetadataOnly: true})
		if err != nil {
			t.Fatal(err)
		}
		// As sets: the order of siblings, and so the leaves-first order, is the tree's as each
		// list was built (libvirt's hash order on the daemon's side).
		if a, b := slices.Sorted(slices.Values(got.Plans[i].Delete)), slices.Sorted(slices.Values(want.Delete)); !slices.Equal(a, b) {
			t.Errorf("%s: the program deletes %d (%v...), the test's plan %d (%v...)", g.Name, len(a), head(a), len(b), head(b))
		}
		if gotTree, wantTree := g.SnapshotTree(), listTree(afterPlan(t, l, want)); !gotTree.Equal(wantTree) {
			t.Errorf("%s after prune:\n%s", g.Name, gotTree.Diff(wantTree))
		}
	}
	t.Logf("pruned %d snapshots on two hosts; %d kept", got.Summary.Deleted, got.Summary.Keep)
}

// TestPruneForeseenRefusals: on a running guest whose disks moved to overlays (external
// snapshots after internal ones), the plan keeps what libvirt would refuse, with libvirt's
// words, and deletes nothing libvirt refuses: each refusal is then asked of libvirt itself and
// must be the one the plan gave.
func TestPruneForeseenRefusals(t *testing.T) {
	bin := buildCLI(t)
	g := qemutest.Connect(t, systemURI).NewGuest(t, group, "pruneforeseen")
	g.Start()
	ext := []qemutest.Disk{{Name: "vda", Mode: "external"}, {Name: "vdb", Mode: "external"}}
	g.Snapshot("s1", 0)
	g.Snapshot("s2", 0)
	g.Snapshot("e1", driver.SnapshotCreateDiskOnly, ext...)
	g.Snapshot("e2", driver.SnapshotCreateDiskOnly, ext...)
	g.Snapshot("e3", driver.SnapshotCreateDiskOnly, ext...)
	r := runCLI(t, cliEnv(), bin, "-c", systemURI, "prune", g.Name, "--snapshots", "--keep-last", "1", "--dry-run", "--json")
	if r.rc != 0 {
		t.Fatalf("prune: exit %d\n%s", r.rc, r.stderr)
	}
	var got pruneResult
	if err := json.Unmarshal([]byte(r.stdout), &got); err != nil {
		t.Fatal(err)
	}
	refused := map[string]string{}
	for _, m := range got.Plans[0].Moments {
		for _, why := range m.Reasons {
			if why.Reason == "refused" {
				refused[m.Name] = strings.TrimPrefix(why.Text, "libvirt refuses: ")
			}
		}
	}
	// e2 can go (its parent e1 is external); s1, s2 (their images are not the ones the guest
	// uses now) and e1 (its parent s2 is internal) cannot.
	if want := []string{"e2"}; !slices.Equal(got.Plans[0].Delete, want) {
		t.Errorf("the plan deletes %v, want %v", got.Plans[0].Delete, want)
	}
	for _, n := range []string{"s1", "s2", "e1"} {
		err := g.TryDeleteSnapshot(n, 0)
		le, ok := qemutest.AsLibvirtError(err)
		if !ok || refused[n] == "" || !strings.HasSuffix(le.Message, refused[n]) {
			t.Errorf("%s: the plan foresaw %q, libvirt says %v", n, refused[n], err)
		} else {
			t.Logf("%s: foreseen and refused: %s", n, le.Message)
		}
	}
	g.WantSnapshots(map[string]string{"s1": "", "s2": "s1", "e1": "s2", "e2": "e1", "e3": "e2"}, "e3")
	r = runCLI(t, cliEnv(), bin, "-c", systemURI, "prune", g.Name, "--snapshots", "--keep-last", "1", "--yes")
	if r.rc != 0 || !strings.Contains(r.stdout, "Deleted 1 of 5 moments in 1 domain; 4 kept.\n") {
		t.Errorf("prune: exit %d\n%s%s", r.rc, r.stdout, r.stderr)
	}
	g.WantSnapshots(map[string]string{"s1": "", "s2": "s1", "e1": "s2", "e3": "e1"}, "e3")
}
