package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/vmoments/vmoments/conf"
	"github.com/vmoments/vmoments/driver"
	"github.com/vmoments/vmoments/driver/memory"
)

// pruneFixture is a memory server with two domains:
//
//   - web (running, disks vda and vdb): ten nightly snapshots n01..n10, one a day at 02:00 UTC
//     from 1 to 10 March 2025, each the child of the one before, n10 current, and a snapshot
//     "manual" below n05; six checkpoints c1..c6, one a day, c6 current (the leaf of the chain),
//     c5 the only one with a bitmap for vdb after c2, so vdb's current checkpoint is c5;
//   - db (shut off, disk vda): four checkpoints d1..d4 a day apart.
func pruneFixture(t *testing.T) *memory.Server {
	t.Helper()
	day := func(d int) int64 { return time.Date(2025, 3, d, 2, 0, 0, 0, time.UTC).Unix() }
	var snaps []string
	for i := 1; i <= 10; i++ {
		parent := ""
		if i > 1 {
			parent = fmt.Sprintf("<parent><name>n%02d</name></parent>", i-1)
		}
		snaps = append(snaps, fmt.Sprintf(`<domainsnapshot><name>n%02d</name><state>running</state>%s<creationTime>%d</creationTime>`+
			`<memory snapshot='internal'/><disks><disk name='vda' snapshot='internal'/><disk name='vdb' snapshot='internal'/></disks></domainsnapshot>`,
			i, parent, day(i)))
	}
	snaps = append(snaps, fmt.Sprintf(`<domainsnapshot><name>manual</name><state>running</state><parent><name>n05</name></parent>`+
		`<creationTime>%d</creationTime><memory snapshot='internal'/><disks><disk name='vda' snapshot='internal'/><disk name='vdb' snapshot='internal'/></disks></domainsnapshot>`,
		day(5)+3600))
	cp := func(name, parent string, created int64, vdb string) string {
		p := ""
		if parent != "" {
			p = "<parent><name>" + parent + "</name></parent>"
		}
		return fmt.Sprintf(`<domaincheckpoint><name>%s</name>%s<creationTime>%d</creationTime><disks>`+
			`<disk name='vda' checkpoint='bitmap' bitmap='%s'/><disk name='vdb' checkpoint='%s'/></disks></domaincheckpoint>`, name, p, created, name, vdb)
	}
	cps := []string{cp("c1", "", day(1), "bitmap"), cp("c2", "c1", day(2), "bitmap"), cp("c3", "c2", day(3), "no"),
		cp("c4", "c3", day(4), "no"), cp("c5", "c4", day(5), "bitmap"), cp("c6", "c5", day(6), "no")}
	var dbCps []string
	for i := 1; i <= 4; i++ {
		parent := ""
		if i > 1 {
			parent = fmt.Sprintf("<parent><name>d%d</name></parent>", i-1)
		}
		dbCps = append(dbCps, fmt.Sprintf(`<domaincheckpoint><name>d%d</name>%s<creationTime>%d</creationTime>`+
			`<disks><disk name='vda' checkpoint='bitmap'/></disks></domaincheckpoint>`, i, parent, day(i)))
	}
	// The memory driver keeps metadata only; declared as working on disk images (as libvirt's
	// QEMU driver does), its domains get QEMU's foreseen refusals in prune's plans.
	qemuLike := driver.Capabilities{SnapshotCreate: ^driver.SnapshotCreateFlags(0), SnapshotDelete: ^driver.DeleteFlags(0),
		SnapshotRevert: ^driver.RevertFlags(0), CheckpointCreate: ^driver.CheckpointCreateFlags(0),
		CheckpointDelete: ^driver.DeleteFlags(0), MixedKinds: true, InactiveCheckpoints: true, DiskImages: true}
	srv, err := memory.New(memory.Config{Capabilities: &qemuLike, Domains: []memory.DomainConfig{
		{Name: "web", Disks: []string{"vda", "vdb"}, Snapshots: snaps, CurrentSnapshot: "n10", Checkpoints: cps},
		{Name: "db", State: driver.DomainShutoff, Disks: []string{"vda"}, Checkpoints: dbCps},
	}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	return srv
}

// hookDriver wraps a driver so that a test can fail, or act during, a delete.
type hookDriver struct {
	driver.Driver
	// beforeDelete runs before each delete; an error fails it without deleting.
	beforeDelete func(kind conf.Kind, name string) error
	// afterDelete runs after each successful delete.
	afterDelete func(kind conf.Kind, name string)
}

func (h *hookDriver) Domain(ctx context.Context, ref string) (driver.Domain, error) {
	d, err := h.Driver.Domain(ctx, ref)
	if err != nil {
		return nil, err
	}
	return &hookDomain{Domain: d, h: h}, nil
}

type hookDomain struct {
	driver.Domain
	h *hookDriver
}

func (d *hookDomain) Delete(ctx context.Context, kind conf.Kind, name string, flags driver.DeleteFlags) error {
	if f := d.h.beforeDelete; f != nil {
		if err := f(kind, name); err != nil {
			return err
		}
	}
	if err := d.Domain.Delete(ctx, kind, name, flags); err != nil {
		return err
	}
	if f := d.h.afterDelete; f != nil {
		f(kind, name)
	}
	return nil
}

// pruneNowForTests is the clock of the prune tests: noon on 12 March 2025, UTC.
var pruneNowForTests = time.Date(2025, 3, 12, 12, 0, 0, 0, time.UTC)

// pruneHooks serializes the tests that set prune's clock.
var pruneHooks sync.Mutex

// runPruneWith runs vmoments on drv with prune's clock set: standard input stdin, taken for a
// terminal when tty is set; the run's context ctx (nil: background).
func runPruneWith(t *testing.T, ctx context.Context, drv driver.Driver, stdin string, tty bool, args ...string) result {
	t.Helper()
	return runPruneOpen(t, ctx, func(string) (driver.Driver, error) { return drv, nil }, stdin, tty, args...)
}

// runPruneOpen is runPruneWith with the connections open opens.
func runPruneOpen(t *testing.T, ctx context.Context, open func(uri string) (driver.Driver, error), stdin string, tty bool, args ...string) result {
	t.Helper()
	pruneHooks.Lock()
	defer pruneHooks.Unlock()
	saved := pruneNow
	defer func() { pruneNow = saved }()
	pruneNow = func() time.Time { return pruneNowForTests }
	var out, errb strings.Builder
	a := newApp(&out, &errb, func(string) (string, bool) { return "", false })
	a.stdin, a.stdinTTY = strings.NewReader(stdin), tty
	a.loc = time.UTC
	if ctx != nil {
		a.ctx = ctx
	}
	a.open = func(_ context.Context, uri string, _ driver.Mode) (driver.Driver, error) { return open(uri) }
	a.probe = func(context.Context, string, driver.Mode) (string, error) { return "memory:///prune", nil }
	rc := a.main(append([]string{"-q", "-c", "memory:///prune"}, args...))
	return result{out.String(), errb.String(), rc}
}

// openMemory opens a read-write connection to the fixture.
func openMemory(t *testing.T, srv *memory.Server) driver.Driver {
	t.Helper()
	drv := srv.Open(driver.ReadWrite)
	t.Cleanup(func() { drv.Close() })
	return drv
}

// pruneLeft lists a domain's moments of kind on a fresh handle, sorted.
func pruneLeft(t *testing.T, srv *memory.Server, dom string, kind conf.Kind) []string {
	t.Helper()
	drv := openMemory(t, srv)
	d, err := drv.Domain(context.Background(), dom)
	if err != nil {
		t.Fatal(err)
	}
	l, err := d.Moments(context.Background(), kind)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, m := range l.All() {
		out = append(out, m.Name())
	}
	slices.Sort(out)
	return out
}

// TestPruneDryRun: the plan of every domain, with every reason, and nothing changes.
func TestPruneDryRun(t *testing.T) {
	srv := pruneFixture(t)
	r := runPruneWith(t, nil, openMemory(t, srv), "", false, "prune", "--keep-daily", "3", "--keep-weekly", "2", "--dry-run")
	want := `Policy: keep the newest of each of the latest 3 days, the newest of each of the latest 2 weeks
Now:    2025-03-12 12:00:00 +0000 (calendar periods in UTC)
Delete: with their disk data

db snapshots: none

db checkpoints: 4, keep 4, delete 0
 Action   Name   Creation Time               Reasons
----------------------------------------------------------------------------------------------------------------------
 keep     d4     2025-03-04 02:00:00 +0000   daily 2025-03-04 (1/3); weekly 2025-W10 (1/2); current; current for vda
 keep     d3     2025-03-03 02:00:00 +0000   daily 2025-03-03 (2/3)
 keep     d2     2025-03-02 02:00:00 +0000   daily 2025-03-02 (3/3); weekly 2025-W09 (2/2)
 keep     d1     2025-03-01 02:00:00 +0000   libvirt refuses: cannot delete checkpoint for inactive domain

web snapshots: 11, keep 3, delete 8
 Action   Name     Creation Time               Reasons
-----------------------------------------------------------------------------------------------------------------------------
 keep     n10      2025-03-10 02:00:00 +0000   daily 2025-03-10 (1/3); weekly 2025-W11 (1/2); current; current for vda, vdb
 keep     n09      2025-03-09 02:00:00 +0000   daily 2025-03-09 (2/3); weekly 2025-W10 (2/2)
 keep     n08      2025-03-08 02:00:00 +0000   daily 2025-03-08 (3/3)
 delete   n07      2025-03-07 02:00:00 +0000   
 delete   n06      2025-03-06 02:00:00 +0000   
 delete   manual   2025-03-05 03:00:00 +0000   
 delete   n05      2025-03-05 02:00:00 +0000   
 delete   n04      2025-03-04 02:00:00 +0000   
 delete   n03      2025-03-03 02:00:00 +0000   
 delete   n02      2025-03-02 02:00:00 +0000   
 delete   n01      2025-03-01 02:00:00 +0000   

web checkpoints: 6, keep 4, delete 2
 Action   Name   Creation Time               Reasons
----------------------------------------------------------------------------------------------------------------------
 keep     c6     2025-03-06 02:00:00 +0000   daily 2025-03-06 (1/3); weekly 2025-W10 (1/2); current; current for vda
 keep     c5     2025-03-05 02:00:00 +0000   daily 2025-03-05 (2/3); current for vdb
 keep     c4     2025-03-04 02:00:00 +0000   daily 2025-03-04 (3/3)
 delete   c3     2025-03-03 02:00:00 +0000   
 keep     c2     2025-03-02 02:00:00 +0000   weekly 2025-W09 (2/2)
 delete   c1     2025-03-01 02:00:00 +0000   

Dry run: 10 of 21 moments in 2 domains would be deleted, 11 kept; nothing was deleted.
`
	if r.rc != 0 || r.stdout != want || r.stderr != "" {
		t.Errorf("rc %d\nstdout:\n%s\nstderr:\n%s\nwant stdout:\n%s", r.rc, r.stdout, r.stderr, want)
	}
	if got := pruneLeft(t, srv, "web", conf.Snapshot); len(got) != 11 {
		t.Errorf("a dry run changed the snapshots: %v", got)
	}
}

// TestPruneDeletes: --yes deletes what the plan says, leaves first, and the kept moments are
// exactly the plan's; a second run finds nothing to delete.
func TestPruneDeletes(t *testing.T) {
	srv := pruneFixture(t)
	var order []string
	drv := &hookDriver{Driver: openMemory(t, srv), afterDelete: func(k conf.Kind, n string) { order = append(order, n) }}
	r := runPruneWith(t, nil, drv, "", false, "prune", "web", "--keep-last", "2", "--yes")
	if r.rc != 0 || r.stderr != "" {
		t.Fatalf("rc %d, stderr %q\n%s", r.rc, r.stderr, r.stdout)
	}
	// Leaves first: manual, then the chain upwards from n08 (n09 and n10 stay).
	if want := "manual n08 n07 n06 n05 n04 n03 n02 n01 c4 c3 c2 c1"; strings.Join(order, " ") != want {
		t.Errorf("deleted in the order %v, want %s", order, want)
	}
	for _, line := range []string{"Deleted snapshot manual of web\n", "Deleted checkpoint c1 of web\n",
		"Deleted 13 of 17 moments in 1 domain; 4 kept.\n"} {
		if !strings.Contains(r.stdout, line) {
			t.Errorf("the output lacks %q:\n%s", line, r.stdout)
		}
	}
	// c5 stays: vdb's next incremental backup starts from it.
	if got, want := pruneLeft(t, srv, "web", conf.Checkpoint), []string{"c5", "c6"}; !slices.Equal(got, want) {
		t.Errorf("checkpoints left %v, want %v", got, want)
	}
	if got, want := pruneLeft(t, srv, "web", conf.Snapshot), []string{"n09", "n10"}; !slices.Equal(got, want) {
		t.Errorf("snapshots left %v, want %v", got, want)
	}
	again := runPruneWith(t, nil, openMemory(t, srv), "", false, "prune", "web", "--keep-last", "2", "--yes")
	if again.rc != 0 || !strings.HasSuffix(again.stdout, "Nothing to delete: 4 moments in 1 domain, all kept.\n") {
		t.Errorf("the second run: rc %d\n%s%s", again.rc, again.stdout, again.stderr)
	}
}

// TestPruneStopsAtFirstFailure: a failed delete stops the run, which says what was deleted, what
// failed with libvirt's words and what was not deleted; a run again goes on.
func TestPruneStopsAtFirstFailure(t *testing.T) {
	srv := pruneFixture(t)
	fail := "n05"
	drv := &hookDriver{Driver: openMemory(t, srv), beforeDelete: func(k conf.Kind, n string) error {
		if n == fail {
			return &driver.Error{URI: "memory:///prune", Domain: "web", Kind: k, Moment: n,
				Msg: "Operation not supported: disk image 'vda' for internal snapshot 'n05' is not the same as disk image currently used by VM"}
		}
		return nil
	}}
	r := runPruneWith(t, nil, drv, "", false, "prune", "web", "--snapshots", "--keep-last", "2", "--yes")
	wantOut := "Deleted snapshot manual of web\nDeleted snapshot n08 of web\nDeleted snapshot n07 of web\nDeleted snapshot n06 of web\n" +
		"Prune stopped at the first failure: 4 of the 9 planned deletes done.\n" +
		"Not deleted (5):\n  web snapshots: n05 (failed) n04 n03 n02 n01\n" +
		"Run prune again to go on: the plan is made afresh.\n"
	wantErr := "error: prune stopped at snapshot 'n05' of domain 'web': Operation not supported: disk image 'vda' for internal snapshot 'n05' is not the same as disk image currently used by VM\n"
	if r.rc != 1 || !strings.HasSuffix(r.stdout, wantOut) || r.stderr != wantErr {
		t.Errorf("rc %d\nstdout:\n%s\nstderr:\n%s\nwant the stdout to end with:\n%s\nand stderr:\n%s", r.rc, r.stdout, r.stderr, wantOut, wantErr)
	}
	if got := pruneLeft(t, srv, "web", conf.Snapshot); len(got) != 7 {
		t.Errorf("after the failure %v are left, want 7", got)
	}
	fail = ""
	drv.Driver = openMemory(t, srv)
	again := runPruneWith(t, nil, drv, "", false, "prune", "web", "--snapshots", "--keep-last", "2", "--yes")
	if again.rc != 0 || !strings.HasSuffix(again.stdout, "Deleted 5 of 7 moments in 1 domain; 2 kept.\n") {
		t.Errorf("the run again: rc %d\n%s%s", again.rc, again.stdout, again.stderr)
	}
	if got, want := pruneLeft(t, srv, "web", conf.Snapshot), []string{"n09", "n10"}; !slices.Equal(got, want) {
		t.Errorf("snapshots left %v, want %v", got, want)
	}
}

// TestPruneInterrupted: Ctrl-C during a delete lets that delete finish, deletes nothing more,
// says what was not deleted and exits 130.
func TestPruneInterrupted(t *testing.T) {
	srv := pruneFixture(t)
	ctx, cancel := context.WithCancelCause(context.Background())
	defer cancel(nil)
	var sawCanceled bool
	drv := &hookDriver{Driver: openMemory(t, srv), beforeDelete: func(k conf.Kind, n string) error {
		if n == "n06" {
			cancel(&interrupted{sig: syscall.SIGINT}) // the signal arrives while n06 is deleted
		}
		return nil
	}}
	drv.afterDelete = func(k conf.Kind, n string) { sawCanceled = sawCanceled || n == "n06" }
	r := runPruneWith(t, ctx, drv, "", false, "prune", "web", "--snapshots", "--keep-last", "2", "--yes")
	wantOut := "Deleted snapshot manual of web\nDeleted snapshot n08 of web\nDeleted snapshot n07 of web\nDeleted snapshot n06 of web\n" +
		"Prune interrupted: 4 of the 9 planned deletes done.\n" +
		"Not deleted (5):\n  web snapshots: n05 n04 n03 n02 n01\n" +
		"Run prune again to go on: the plan is made afresh.\n"
	if r.rc != 130 || !strings.HasSuffix(r.stdout, wantOut) || r.stderr != "error: interrupted by SIGINT\n" || !sawCanceled {
		t.Errorf("rc %d\nstdout:\n%s\nstderr:\n%s\nwant the stdout to end with:\n%s", r.rc, r.stdout, r.stderr, wantOut)
	}
	if got := pruneLeft(t, srv, "web", conf.Snapshot); len(got) != 7 {
		t.Errorf("%v are left, want 7: the delete in flight done, no other", got)
	}
}

// TestPruneConfirmation: without --yes, a terminal is asked and only "y" or "yes" deletes;
// without a terminal nothing is deleted and the error says why.
func TestPruneConfirmation(t *testing.T) {
	for _, tc := range []struct {
		stdin string
		tty   bool
		rc    int
		left  int
		tail  string
		err   string
	}{
		{"y\n", true, 0, 2, "Deleted 9 of 11 moments in 1 domain; 2 kept.\n", "Delete 9 moments? This cannot be undone. [y/N] "},
		{"YES\n", true, 0, 2, "Deleted 9 of 11 moments in 1 domain; 2 kept.\n", "Delete 9 moments? This cannot be undone. [y/N] "},
		{"n\n", true, 0, 11, "Nothing deleted.\n", "Delete 9 moments? This cannot be undone. [y/N] "},
		{"", true, 0, 11, "Nothing deleted.\n", "Delete 9 moments? This cannot be undone. [y/N] "},
		{"y\n", false, 1, 11, "\n", "error: not deleting 9 moments without --yes: standard input is not a terminal (--dry-run shows the plan alone)\n"},
	} {
		srv := pruneFixture(t)
		r := runPruneWith(t, nil, openMemory(t, srv), tc.stdin, tc.tty, "prune", "web", "--snapshots", "--keep-last", "2")
		if r.rc != tc.rc || !strings.HasSuffix(r.stdout, tc.tail) || r.stderr != tc.err {
			t.Errorf("stdin %q tty %v: rc %d\nstdout:\n%s\nstderr: %q", tc.stdin, tc.tty, r.rc, r.stdout, r.stderr)
		}
		if got := pruneLeft(t, srv, "web", conf.Snapshot); len(got) != tc.left {
			t.Errorf("stdin %q tty %v: %d snapshots left, want %d", tc.stdin, tc.tty, len(got), tc.left)
		}
	}
}

// TestPruneChangedSincePlan: moments changed between the plan and the deletes (someone deleted
// a snapshot the plan keeps while the question waited): nothing of that list is deleted.
func TestPruneChangedSincePlan(t *testing.T) {
	srv := pruneFixture(t)
	other := openMemory(t, srv)
	stdin := readerFunc(func(p []byte) (int, error) {
		d, err := other.Domain(context.Background(), "web")
		if err != nil {
			return 0, err
		}
		if err := d.Delete(context.Background(), conf.Snapshot, "n09", 0); err != nil {
			return 0, err
		}
		return copy(p, "y\n"), io.EOF
	})
	r := runPruneStdin(t, openMemory(t, srv), stdin, "prune", "web", "--snapshots", "--keep-last", "2")
	wantErr := "error: prune stopped at snapshot 'manual' of domain 'web': the snapshots of domain 'web' changed since the plan was made: nothing of them was deleted; run prune again for a new plan\n"
	if r.rc != 1 || r.stderr != "Delete 9 moments? This cannot be undone. [y/N] "+wantErr {
		t.Errorf("rc %d\nstdout:\n%s\nstderr:\n%s", r.rc, r.stdout, r.stderr)
	}
	if got := pruneLeft(t, srv, "web", conf.Snapshot); len(got) != 10 {
		t.Errorf("%d snapshots left, want the 10 the other connection left", len(got))
	}
}

type readerFunc func([]byte) (int, error)

func (f readerFunc) Read(p []byte) (int, error) { return f(p) }

// runPruneStdin is runPruneWith on a terminal whose input is stdin.
func runPruneStdin(t *testing.T, drv driver.Driver, stdin io.Reader, args ...string) result {
	t.Helper()
	pruneHooks.Lock()
	defer pruneHooks.Unlock()
	saved := pruneNow
	defer func() { pruneNow = saved }()
	pruneNow = func() time.Time { return pruneNowForTests }
	var out, errb strings.Builder
	a := newApp(&out, &errb, func(string) (string, bool) { return "", false })
	a.stdin, a.stdinTTY = stdin, true
	a.loc = time.UTC
	a.open = func(context.Context, string, driver.Mode) (driver.Driver, error) { return drv, nil }
	a.probe = func(context.Context, string, driver.Mode) (string, error) { return "memory:///prune", nil }
	rc := a.main(append([]string{"-q", "-c", "memory:///prune"}, args...))
	return result{out.String(), errb.String(), rc}
}

// TestPruneMetadata: --metadata deletes the checkpoints of a shut-off domain too (libvirt
// forgets them; QEMU would refuse to touch the bitmaps of an inactive domain).
func TestPruneMetadata(t *testing.T) {
	srv := pruneFixture(t)
	r := runPruneWith(t, nil, openMemory(t, srv), "", false, "prune", "db", "--keep-last", "1", "--metadata", "--yes")
	if r.rc != 0 || !strings.Contains(r.stdout, "Delete: metadata only (--metadata): disks and bitmaps stay\n") ||
		!strings.HasSuffix(r.stdout, "Deleted 3 of 4 moments in 1 domain; 1 kept.\n") {
		t.Errorf("rc %d\n%s%s", r.rc, r.stdout, r.stderr)
	}
	if got := pruneLeft(t, srv, "db", conf.Checkpoint); !slices.Equal(got, []string{"d4"}) {
		t.Errorf("left %v, want d4", got)
	}
}

// TestPruneJSON: the plan and the result as JSON.md documents them.
func TestPruneJSON(t *testing.T) {
	srv := pruneFixture(t)
	r := runPruneWith(t, nil, openMemory(t, srv), "", false, "prune", "web", "--checkpoints", "--keep-last", "1", "--match", "^c[1-4]$", "--json", "--yes")
	if r.rc != 0 || r.stderr != "" {
		t.Fatalf("rc %d, stderr %q", r.rc, r.stderr)
	}
	var got pruneJSON
	if err := json.Unmarshal([]byte(r.stdout), &got); err != nil {
		t.Fatalf("%v:\n%s", err, r.stdout)
	}
	want := `{
  "policy": {
    "text": "keep the newest; only names matching ^c[1-4]$",
    "keepLast": 1,
    "keepHourly": 0,
    "keepDaily": 0,
    "keepWeekly": 0,
    "keepMonthly": 0,
    "keepYearly": 0,
    "keepWithin": null,
    "match": "^c[1-4]$",
    "timeZone": "UTC"
  },
  "now": "2025-03-12T12:00:00Z",
  "dryRun": false,
  "metadataOnly": false,
  "plans": [
    {
      "uri": "` + got.Plans[0].URI + `",
      "domain": "web",
      "uuid": "` + got.Plans[0].UUID + `",
      "kind": "checkpoint",
      "error": null,
      "newest": "c4",
      "withinCutoff": null,
      "keep": 3,
      "delete": [
        "c3",
        "c2",
        "c1"
      ],
      "moments": [
        {
          "name": "c6",
          "creationTime": "2025-03-06T02:00:00Z",
          "action": "keep",
          "reasons": [
            {
              "reason": "not matched",
              "text": "not matched"
            },
            {
              "reason": "current",
              "text": "current"
            },
            {
              "reason": "current for disks",
              "text": "current for vda",
              "disks": [
                "vda"
              ]
            }
          ]
        },
        {
          "name": "c5",
          "creationTime": "2025-03-05T02:00:00Z",
          "action": "keep",
          "reasons": [
            {
              "reason": "not matched",
              "text": "not matched"
            },
            {
              "reason": "current for disks",
              "text": "current for vdb",
              "disks": [
                "vdb"
              ]
            }
          ]
        },
        {
          "name": "c4",
          "creationTime": "2025-03-04T02:00:00Z",
          "action": "keep",
          "reasons": [
            {
              "reason": "last",
              "text": "last 1/1",
              "rank": 1,
              "count": 1
            }
          ]
        },
        {
          "name": "c3",
          "creationTime": "2025-03-03T02:00:00Z",
          "action": "delete",
          "reasons": []
        },
        {
          "name": "c2",
          "creationTime": "2025-03-02T02:00:00Z",
          "action": "delete",
          "reasons": []
        },
        {
          "name": "c1",
          "creationTime": "2025-03-01T02:00:00Z",
          "action": "delete",
          "reasons": []
        }
      ]
    }
  ],
  "result": {
    "deleted": [
      {
        "uri": "` + got.Plans[0].URI + `",
        "domain": "web",
        "kind": "checkpoint",
        "name": "c3"
      },
      {
        "uri": "` + got.Plans[0].URI + `",
        "domain": "web",
        "kind": "checkpoint",
        "name": "c2"
      },
      {
        "uri": "` + got.Plans[0].URI + `",
        "domain": "web",
        "kind": "checkpoint",
        "name": "c1"
      }
    ],
    "failed": null,
    "notDeleted": [],
    "interrupted": false
  },
  "summary": {
    "domains": 1,
    "moments": 6,
    "keep": 3,
    "delete": 3,
    "deleted": 3,
    "errors": 0
  }
}
`
	if r.stdout != want {
		t.Errorf("stdout:\n%s\nwant:\n%s", r.stdout, want)
	}
}

// TestPruneOptionErrors: the refusals, before anything is read or deleted.
func TestPruneOptionErrors(t *testing.T) {
	srv := pruneFixture(t)
	for _, tc := range []struct {
		args []string
		err  string
	}{
		{[]string{"prune", "web"}, "error: prune needs a policy: give at least one of --keep-last, --keep-hourly, --keep-daily, --keep-weekly, --keep-monthly, --keep-yearly, --keep-within (an empty policy would delete everything)\n"},
		{[]string{"prune", "web", "--match", "x"}, "error: prune needs a policy: give at least one of --keep-last, --keep-hourly, --keep-daily, --keep-weekly, --keep-monthly, --keep-yearly, --keep-within (an empty policy would delete everything)\n"},
		{[]string{"prune", "web", "--keep-last", "0"}, "error: invalid --keep-last '0': want a number, 1 or more\n"},
		{[]string{"prune", "web", "--keep-daily", "-3"}, "error: invalid --keep-daily '-3': want a number, 1 or more\n"},
		{[]string{"prune", "web", "--keep-weekly", "two"}, "error: invalid --keep-weekly 'two': want a number, 1 or more\n"},
		{[]string{"prune", "web", "--keep-within", "2w"}, "error: invalid --keep-within '2w': unknown unit \"w\" (want numbers with the units y, m, d, h in that order, such as 1y6m, 30d or 36h; m is months)\n"},
		{[]string{"prune", "web", "--keep-within", "0h"}, "error: invalid --keep-within '0h': want a duration longer than 0\n"},
		{[]string{"prune", "web", "--keep-last", "1", "--match", "("}, "error: invalid --match '(': error parsing regexp: missing closing ): `(`\n"},
		{[]string{"prune", "web", "--keep-last", "1", "--snapshots", "--checkpoints"}, "error: Options --snapshots and --checkpoints are mutually exclusive\n"},
		{[]string{"prune", "web", "--keep-last", "1", "--dry-run", "--yes"}, "error: Options --dry-run and --yes are mutually exclusive\n"},
		{[]string{"prune", "web", "--keep-last", "1", "--json"}, "error: prune --json asks no confirmation: give --yes to delete, or --dry-run for the plan\n"},
		{[]string{"prune", "nosuch", "--keep-last", "1", "--yes"}, "error: no domain on memory:///prune matches 'nosuch'\n"},
		{[]string{"prune", "web", "/[/", "--keep-last", "1", "--yes"}, "error: domain pattern \"/[/\": error parsing regexp: missing closing ]: `[`\n"},
		{[]string{"prune", "web", "--keep-last", "1", "--yes", "--parallel", "0"}, "error: invalid --parallel '0': want a number of hosts, 1 or more\n"},
	} {
		r := runPruneWith(t, nil, openMemory(t, srv), "", true, tc.args...)
		if r.rc != 1 || r.stdout != "" || r.stderr != tc.err {
			t.Errorf("%v: rc %d, stdout %q, stderr %q; want %q", tc.args, r.rc, r.stdout, r.stderr, tc.err)
		}
	}
	if got := pruneLeft(t, srv, "web", conf.Snapshot); len(got) != 11 {
		t.Errorf("the refused runs changed the snapshots: %v", got)
	}
}

// TestPruneAnswerLeavesTheRest: the answer is read up to its newline and no further, so that
// what follows stays for the shell's next command.
func TestPruneAnswerLeavesTheRest(t *testing.T) {
	srv := pruneFixture(t)
	in := strings.NewReader("y\nsnapshot-list web\n")
	r := runPruneStdin(t, openMemory(t, srv), in, "prune", "web", "--snapshots", "--keep-last", "2")
	rest, _ := io.ReadAll(in)
	if r.rc != 0 || string(rest) != "snapshot-list web\n" {
		t.Errorf("rc %d, left in the input %q; want %q", r.rc, rest, "snapshot-list web\n")
	}
}

// TestPrunePlanErrors: a list the driver cannot delete as asked is shown as not planned, the
// others are pruned, and the exit status is 1 with the reason.
func TestPrunePlanErrors(t *testing.T) {
	srv := pruneFixture(t)
	caps := driver.Capabilities{SnapshotDelete: driver.DeleteChildren | driver.DeleteChildrenOnly,
		CheckpointDelete: driver.DeleteChildren | driver.DeleteChildrenOnly | driver.DeleteMetadataOnly, MixedKinds: true, InactiveCheckpoints: true}
	drv := &capsDriver{Driver: openMemory(t, srv), caps: caps}
	r := runPruneWith(t, nil, drv, "", false, "prune", "web", "--keep-last", "2", "--metadata", "--yes")
	wantErr := "error: prune could not plan the snapshots of domain 'web': the driver of memory:///prune" +
		" does not delete snapshots with --metadata; nothing of it was deleted\n"
	if r.rc != 1 || r.stderr != wantErr || !strings.Contains(r.stdout, "web snapshots: cannot plan: the driver of") ||
		!strings.HasSuffix(r.stdout, "Deleted 4 of 6 moments in 1 domain; 2 kept.\n") {
		t.Errorf("rc %d\nstdout:\n%s\nstderr:\n%s", r.rc, r.stdout, r.stderr)
	}
	if got := pruneLeft(t, srv, "web", conf.Snapshot); len(got) != 11 {
		t.Errorf("%d snapshots left, want all 11", len(got))
	}
}

// capsDriver declares other capabilities than its driver's.
type capsDriver struct {
	driver.Driver
	caps driver.Capabilities
}

func (c *capsDriver) Capabilities() driver.Capabilities { return c.caps }

func (c *capsDriver) Domain(ctx context.Context, ref string) (driver.Domain, error) {
	d, err := c.Driver.Domain(ctx, ref)
	if err != nil {
		return nil, err
	}
	return &capsDomain{Domain: d, drv: c}, nil
}

type capsDomain struct {
	driver.Domain
	drv *capsDriver
}

func (d *capsDomain) Driver() driver.Driver { return d.drv }

// TestPruneHosts: one plan and one summary over the domains the pattern selects on several
// connections; a connection that cannot be opened is an entry of its own and makes the exit
// status 1, the others are pruned.
func TestPruneHosts(t *testing.T) {
	srvA, srvB := pruneFixture(t), pruneFixture(t)
	open := func(uri string) (driver.Driver, error) {
		switch uri {
		case "memory:///a":
			return srvA.Open(driver.ReadWrite), nil
		case "memory:///b":
			return srvB.Open(driver.ReadWrite), nil
		}
		return nil, &driver.Error{URI: uri, Msg: "Failed to connect socket to '/run/down': No such file or directory", Class: driver.ErrConnection}
	}
	r := runPruneOpen(t, nil, open, "", false, "prune", "--connect", "memory:///a", "--connect", "memory:///down", "--connect", "memory:///b",
		"w*", "--snapshots", "--keep-last", "2", "--yes")
	for _, want := range []string{
		"\nweb on memory:///a snapshots: 11, keep 2, delete 9\n",
		"\nmemory:///down: cannot plan: Failed to connect socket to '/run/down': No such file or directory\n",
		"\nweb on memory:///b snapshots: 11, keep 2, delete 9\n",
		"Deleted snapshot n01 of web on memory:///a\nDeleted snapshot manual of web on memory:///b\n",
		"Deleted 18 of 22 moments in 2 domains; 4 kept.\n",
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("the output lacks %q:\n%s", want, r.stdout)
		}
	}
	if r.rc != 1 || r.stderr != "error: prune could not plan the connection memory:///down: Failed to connect socket to '/run/down': No such file or directory; nothing of it was deleted\n" {
		t.Errorf("rc %d, stderr %q", r.rc, r.stderr)
	}
	for _, srv := range []*memory.Server{srvA, srvB} {
		if got := pruneLeft(t, srv, "web", conf.Snapshot); !slices.Equal(got, []string{"n09", "n10"}) {
			t.Errorf("left %v, want n09 n10", got)
		}
		if got := pruneLeft(t, srv, "db", conf.Checkpoint); len(got) != 4 {
			t.Errorf("db, which the pattern leaves out, lost checkpoints: %v", got)
		}
	}
}
