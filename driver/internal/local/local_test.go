package local

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/vmoments/vmoments/conf"
)

const testUUID = "e2b0093a-35d9-42c9-a37b-d24c214ca758"

// snapshotFile is a snapshot file as libvirt 9.0 writes it (qemuDomainSnapshotWriteMetadata:
// the header comment, the definition, the embedded domain with its secrets, <active>).
func snapshotFile(name, parent, description string, active bool, uuid string) string {
	p, desc := "", ""
	if parent != "" {
		p = "  <parent>\n    <name>" + parent + "</name>\n  </parent>\n"
	}
	if description != "" {
		desc = "  <description>" + description + "</description>\n"
	}
	a := "0"
	if active {
		a = "1"
	}
	return `<!--
WARNING: THIS IS AN AUTO-GENERATED FILE. CHANGES TO IT ARE LIKELY TO BE
OVERWRITTEN AND LOST. Changes to this xml configuration should be made using:
  virsh snapshot-edit
or other application using the libvirt API.
-->

<domainsnapshot>
  <name>` + name + `</name>
` + desc + `  <state>shutoff</state>
` + p + `  <creationTime>1796117296</creationTime>
  <memory snapshot='no'/>
  <disks>
    <disk name='vda' snapshot='internal'/>
  </disks>
  <domain type='qemu'>
    <name>guest</name>
    <uuid>` + uuid + `</uuid>
    <memory unit='KiB'>65536</memory>
    <devices>
      <graphics type='vnc' port='-1' autoport='yes' passwd='s3cretVN'>
        <listen type='address'/>
      </graphics>
    </devices>
  </domain>
  <active>` + a + `</active>
</domainsnapshot>
`
}

func checkpointFile(name, parent string) string {
	p := ""
	if parent != "" {
		p = "  <parent>\n    <name>" + parent + "</name>\n  </parent>\n"
	}
	return "<domaincheckpoint>\n  <name>" + name + "</name>\n" + p + "  <creationTime>1700000000</creationTime>\n" +
		"  <disks>\n    <disk name='vda' checkpoint='bitmap' bitmap='" + name + "'/>\n  </disks>\n</domaincheckpoint>\n"
}

// write writes a file as libvirt does: NAME.xml.new, then a rename over NAME.xml.
func write(t *testing.T, dir, name, content string) {
	t.Helper()
	path := filepath.Join(dir, name+".xml")
	if err := os.WriteFile(path+".new", []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(path+".new", path); err != nil {
		t.Fatal(err)
	}
}

// clock is a Dir's clock that tests move: far in the future by default, so every identity
// looks settled.
type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func newDir(t *testing.T, kind conf.Kind) (*Dir, string, *clock) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "guest")
	c := &clock{t: time.Now().Add(time.Hour)}
	d := New(kind, path, testUUID)
	d.now = c.now
	return d, path, c
}

func mustScan(t *testing.T, d *Dir) (*Content, bool) {
	t.Helper()
	c, changed, err := d.Scan(context.Background())
	if err != nil {
		t.Fatalf("Scan: %v", err)
	}
	return c, changed
}

func TestScanReadsOnlyWhatChanged(t *testing.T) {
	d, path, _ := newDir(t, conf.Snapshot)
	c, changed := mustScan(t, d)
	if !c.Missing || len(c.Defs) != 0 || !changed {
		t.Fatalf("no directory: got %+v changed %v, want Missing and empty", c, changed)
	}
	if err := os.Mkdir(path, 0o755); err != nil {
		t.Fatal(err)
	}
	write(t, path, "s1", snapshotFile("s1", "", "first", false, testUUID))
	write(t, path, "s2", snapshotFile("s2", "s1", "", true, testUUID))
	if err := os.WriteFile(filepath.Join(path, "s3.xml.new"), []byte("half written"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(path, ".hidden.xml"), []byte("not libvirt's"), 0o600); err != nil {
		t.Fatal(err)
	}
	c, changed = mustScan(t, d)
	if c.Missing || len(c.Defs) != 2 || !changed {
		t.Fatalf("got %d defs (missing %v, changed %v), want s1 and s2", len(c.Defs), c.Missing, changed)
	}
	if got := c.Defs["s2"]; got.Parent != "s1" || got.Raw() != nil || got.Active != nil {
		t.Errorf("s2 = parent %q, raw %d bytes, active %v; want parent s1, no raw XML, no active", got.Parent, len(got.Raw()), got.Active)
	}
	if c.Defs["s1"].Description != "first" {
		t.Errorf("s1's description = %q", c.Defs["s1"].Description)
	}
	if fmt.Sprint(c.Active) != "[s2]" {
		t.Errorf("Active = %v, want [s2]", c.Active)
	}
	st := d.Stats()
	if st.Read != 2 {
		t.Errorf("read %d files, want 2", st.Read)
	}

	// Nothing changed: the directory is unchanged and settled, nothing is looked at.
	c2, changed := mustScan(t, d)
	if c2 != c || changed {
		t.Errorf("an unchanged directory gave a new content (changed %v)", changed)
	}
	if st2 := d.Stats(); st2.Read != st.Read || st2.Stat != st.Stat || st2.Skipped != 1 {
		t.Errorf("unchanged scan: %+v after %+v, want one skip and no stat or read", st2, st)
	}

	// A redefinition in place (what virsh snapshot-edit does): only that file is read again.
	write(t, path, "s1", snapshotFile("s1", "", "edited", false, testUUID))
	c3, changed := mustScan(t, d)
	if !changed || c3.Defs["s1"].Description != "edited" {
		t.Fatalf("after the edit: changed %v, description %q", changed, c3.Defs["s1"].Description)
	}
	if c3.Defs["s2"] != c.Defs["s2"] {
		t.Error("s2's definition was not kept")
	}
	if st3 := d.Stats(); st3.Read != st.Read+1 {
		t.Errorf("read %d files for one edit, want 1", st3.Read-st.Read)
	}

	// Delete and create.
	if err := os.Remove(filepath.Join(path, "s1.xml")); err != nil {
		t.Fatal(err)
	}
	write(t, path, "s4", snapshotFile("s4", "s2", "", false, testUUID))
	c4, _ := mustScan(t, d)
	if _, ok := c4.Defs["s1"]; ok || c4.Defs["s4"] == nil || len(c4.Defs) != 2 {
		t.Errorf("after delete s1, create s4: %v", keys(c4))
	}
	if c4.Newest != "s4" {
		t.Errorf("Newest = %q, want s4", c4.Newest)
	}

	// Reset reads everything again.
	before := d.Stats().Read
	d.Reset()
	mustScan(t, d)
	if got := d.Stats().Read - before; got != 2 {
		t.Errorf("after Reset: read %d files, want 2", got)
	}
}

// TestScanUnsettled: an identity seen less than Settle after it was made is checked again, so
// a rewrite within the same clock tick (same stamps, same size, the inode reused) is seen.
func TestScanUnsettled(t *testing.T) {
	d, path, c := newDir(t, conf.Snapshot)
	if err := os.Mkdir(path, 0o755); err != nil {
		t.Fatal(err)
	}
	write(t, path, "s1", snapshotFile("s1", "", "aaaa", true, testUUID))
	c.t = time.Now() // the files were just written: nothing is settled
	mustScan(t, d)
	st := d.Stats()
	mustScan(t, d)
	st2 := d.Stats()
	if st2.Skipped != st.Skipped || st2.Read != st.Read+1 {
		t.Errorf("an unsettled directory: %+v after %+v, want a full scan that re-reads s1", st2, st)
	}
	// Settled now: the next scan skips.
	c.t = time.Now().Add(Settle + time.Second)
	mustScan(t, d)
	mustScan(t, d)
	if got := d.Stats(); got.Skipped != st2.Skipped+1 {
		t.Errorf("a settled directory was not skipped: %+v", got)
	}
}

// TestScanSameStamps rewrites a file with content of the same size and restores every stamp
// the cache saw, as a rewrite within one tick would leave them (the inode differs, as every
// rename of a new file makes it).
func TestScanSameStamps(t *testing.T) {
	d, path, _ := newDir(t, conf.Snapshot)
	if err := os.Mkdir(path, 0o755); err != nil {
		t.Fatal(err)
	}
	write(t, path, "s1", snapshotFile("s1", "", "aaaa", true, testUUID))
	mustScan(t, d)
	var before syscall.Stat_t
	if err := syscall.Stat(filepath.Join(path, "s1.xml"), &before); err != nil {
		t.Fatal(err)
	}
	write(t, path, "s1", snapshotFile("s1", "", "bbbb", true, testUUID))
	mt := time.Unix(0, before.Mtim.Nano())
	for _, p := range []string{filepath.Join(path, "s1.xml"), path} {
		if err := os.Chtimes(p, mt, mt); err != nil {
			t.Fatal(err)
		}
	}
	c, changed := mustScan(t, d)
	if !changed || c.Defs["s1"].Description != "bbbb" {
		t.Errorf("a rewrite with the same size and mtime was missed: changed %v, description %q", changed, c.Defs["s1"].Description)
	}
}

func keys(c *Content) []string {
	var out []string
	for k := range c.Defs {
		out = append(out, k)
	}
	return out
}

func TestScanProblems(t *testing.T) {
	other := "11111111-2222-3333-4444-555555555555"
	tests := []struct {
		name  string
		files map[string]string
		link  string // a symlink NAME.xml -> s1.xml
		want  string
	}{
		{"does not parse", map[string]string{"s1": "<domainsnapshot><name>s1</name>"}, "",
			"s1.xml does not parse"},
		{"names another moment", map[string]string{"s1": snapshotFile("s2", "", "", true, testUUID)}, "",
			`s1.xml defines snapshot "s2", not the moment its name says`},
		{"another domain", map[string]string{"s1": snapshotFile("s1", "", "", true, other)}, "",
			"s1.xml embeds the domain with UUID " + other + ", not this domain's " + testUUID},
		{"no active", map[string]string{"s1": strings.Replace(snapshotFile("s1", "", "", true, testUUID), "  <active>1</active>\n", "", 1)}, "",
			"s1.xml has no <active> element"},
		{"a symlink", map[string]string{"s1": snapshotFile("s1", "", "", true, testUUID)}, "s9",
			"s9.xml is a symbolic link, not a file libvirtd wrote"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, path, _ := newDir(t, conf.Snapshot)
			if err := os.Mkdir(path, 0o755); err != nil {
				t.Fatal(err)
			}
			for n, c := range tt.files {
				write(t, path, n, c)
			}
			if tt.link != "" {
				if err := os.Symlink("s1.xml", filepath.Join(path, tt.link+".xml")); err != nil {
					t.Fatal(err)
				}
			}
			_, _, err := d.Scan(context.Background())
			var p *Problem
			if !errors.As(err, &p) {
				t.Fatalf("Scan: %v, want a *Problem", err)
			}
			if !strings.HasSuffix(p.Path, "/guest/"+strings.SplitN(tt.want, " ", 2)[0]) || !strings.Contains(err.Error(), strings.SplitN(tt.want, " ", 2)[1]) {
				t.Errorf("Scan: %q, want %q", err, tt.want)
			}
			if p.Sticky || p.Racy {
				t.Errorf("problem %q is sticky %v racy %v, want neither", err, p.Sticky, p.Racy)
			}
			// The same problem again, without reading the file again.
			read := d.Stats().Read
			if _, _, err2 := d.Scan(context.Background()); err2 == nil || err2.Error() != err.Error() {
				t.Errorf("second Scan: %v, want the same problem", err2)
			}
			if d.Stats().Read != read {
				t.Errorf("the bad file was read again")
			}
		})
	}
}

func TestOpenProblem(t *testing.T) {
	p := openProblem(conf.Snapshot, "/x", &fs.PathError{Op: "open", Path: "/x", Err: syscall.EACCES})
	if !p.Sticky || p.Error() != "/x cannot be read by this process: permission denied" {
		t.Errorf("EACCES: %q sticky %v", p, p.Sticky)
	}
	p = openProblem(conf.Snapshot, "/x", syscall.EIO)
	if p.Sticky || p.Error() != "/x cannot be read: input/output error" {
		t.Errorf("EIO: %q sticky %v", p, p.Sticky)
	}
}

func TestNotADirectory(t *testing.T) {
	d, path, _ := newDir(t, conf.Checkpoint)
	if err := os.WriteFile(path, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	_, _, err := d.Scan(context.Background())
	var p *Problem
	if !errors.As(err, &p) || !p.Sticky || !strings.HasSuffix(err.Error(), "guest is not a directory") {
		t.Errorf("Scan of a file: %v", err)
	}
}

func TestCheckpoints(t *testing.T) {
	d, path, _ := newDir(t, conf.Checkpoint)
	if err := os.Mkdir(path, 0o755); err != nil {
		t.Fatal(err)
	}
	write(t, path, "c1", checkpointFile("c1", ""))
	write(t, path, "c2", checkpointFile("c2", "c1"))
	c, _ := mustScan(t, d)
	if len(c.Defs) != 2 || c.Defs["c2"].Parent != "c1" || len(c.Active) != 0 {
		t.Fatalf("checkpoints: %v, active %v", keys(c), c.Active)
	}
	if err := c.Verify(conf.Checkpoint, []string{"c2", "c1"}, ""); err != nil {
		t.Errorf("Verify: %v", err)
	}
	if got := c.InOrder([]string{"c2", "c1"}); got[0].Name != "c2" || got[1].Name != "c1" {
		t.Errorf("InOrder: %s, %s", got[0].Name, got[1].Name)
	}
}

func TestVerify(t *testing.T) {
	d, path, _ := newDir(t, conf.Snapshot)
	if err := os.Mkdir(path, 0o755); err != nil {
		t.Fatal(err)
	}
	write(t, path, "s1", snapshotFile("s1", "", "", false, testUUID))
	write(t, path, "s2", snapshotFile("s2", "s1", "", true, testUUID))
	c, _ := mustScan(t, d)
	tests := []struct {
		names   []string
		current string
		want    string
	}{
		{[]string{"s2", "s1"}, "s2", ""},
		{[]string{"s1"}, "s2", `libvirt lists 1 snapshots, the metadata directory holds 2; a file but not listed: "s2"`},
		{[]string{"s1", "s2", "s3"}, "s2", `libvirt lists 3 snapshots, the metadata directory holds 2; listed without a file: "s3"`},
		{[]string{"s1", "s1"}, "s2", `libvirt lists 2 snapshots, the metadata directory holds 2; a file but not listed: "s2"`},
		{[]string{"s1", "s2"}, "s1", `libvirt's current snapshot is "s1", the file of "s2" says it is current`},
		{[]string{"s1", "s2"}, "", `libvirt reports no current snapshot, the file of "s2" says it is current`},
	}
	for _, tt := range tests {
		err := c.Verify(conf.Snapshot, tt.names, tt.current)
		got := ""
		if err != nil {
			got = err.Error()
			var p *Problem
			if !errors.As(err, &p) || !p.Racy {
				t.Errorf("Verify(%v, %q) = %v, want a racy *Problem", tt.names, tt.current, err)
			}
		}
		if got != tt.want {
			t.Errorf("Verify(%v, %q) = %q, want %q", tt.names, tt.current, got, tt.want)
		}
	}
	// Two files marked current, none marked.
	write(t, path, "s1", snapshotFile("s1", "", "", true, testUUID))
	c, _ = mustScan(t, d)
	if err := c.Verify(conf.Snapshot, []string{"s1", "s2"}, "s2"); err == nil || err.Error() != `2 files claim to be the current snapshot: "s1", "s2"` {
		t.Errorf("two active: %v", err)
	}
	write(t, path, "s1", snapshotFile("s1", "", "", false, testUUID))
	write(t, path, "s2", snapshotFile("s2", "s1", "", false, testUUID))
	c, _ = mustScan(t, d)
	if err := c.Verify(conf.Snapshot, []string{"s1", "s2"}, "s2"); err == nil || err.Error() != `libvirt's current snapshot is "s2", no file says it is current` {
		t.Errorf("none active: %v", err)
	}
}

// TestSecretsStayInTheFile: nothing a definition read from a file offers holds the file's
// embedded domain (with its VNC password).
func TestSecretsStayInTheFile(t *testing.T) {
	d, path, _ := newDir(t, conf.Snapshot)
	if err := os.Mkdir(path, 0o755); err != nil {
		t.Fatal(err)
	}
	write(t, path, "s1", snapshotFile("s1", "", "", true, testUUID))
	c, _ := mustScan(t, d)
	def := c.Defs["s1"]
	if def.Raw() != nil {
		t.Errorf("Raw() = %d bytes, want nil", len(def.Raw()))
	}
	if out, err := def.Format(); err == nil {
		t.Errorf("Format() = %s, want an error (no <domain> is kept to write)", out)
	}
	if full, err := def.FullSnapshot(); err == nil {
		t.Errorf("FullSnapshot() = %+v, want an error", full)
	}
	if s := fmt.Sprintf("%+v", *def); strings.Contains(s, "s3cretVN") {
		t.Errorf("the definition holds the password: %s", s)
	}
}

func BenchmarkScan(b *testing.B) {
	for _, n := range []int{2000, 20000} {
		path := filepath.Join(b.TempDir(), "guest")
		if err := os.Mkdir(path, 0o755); err != nil {
			b.Fatal(err)
		}
		for i := range n {
			name, parent := fmt.Sprintf("s%d", i), ""
			if i > 0 {
				parent = fmt.Sprintf("s%d", i-1)
			}
			if err := os.WriteFile(filepath.Join(path, name+".xml"), []byte(snapshotFile(name, parent, "", i == n-1, testUUID)), 0o600); err != nil {
				b.Fatal(err)
			}
		}
		future := func() time.Time { return time.Now().Add(time.Hour) }
		b.Run(fmt.Sprintf("cold-%d", n), func(b *testing.B) {
			for b.Loop() {
				d := New(conf.Snapshot, path, testUUID)
				d.now = future
				if _, _, err := d.Scan(context.Background()); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/file")
		})
		d := New(conf.Snapshot, path, testUUID)
		d.now = future
		if _, _, err := d.Scan(context.Background()); err != nil {
			b.Fatal(err)
		}
		b.Run(fmt.Sprintf("unchanged-%d", n), func(b *testing.B) {
			for b.Loop() {
				if _, _, err := d.Scan(context.Background()); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(fmt.Sprintf("unsettled-%d", n), func(b *testing.B) {
			for b.Loop() {
				d.settled = false // as if the directory had just changed: every file is stat'ed
				if _, _, err := d.Scan(context.Background()); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestScanCanceled: a canceled context stops the reading between files; the cache keeps what
// it had, and the next scan reads everything that is left.
func TestScanCanceled(t *testing.T) {
	d, path, _ := newDir(t, conf.Snapshot)
	if err := os.Mkdir(path, 0o755); err != nil {
		t.Fatal(err)
	}
	const n = 400
	for i := range n {
		write(t, path, fmt.Sprintf("s%d", i), snapshotFile(fmt.Sprintf("s%d", i), "", "", i == 0, testUUID))
	}
	ctx, cancel := context.WithCancel(context.Background())
	var mu sync.Mutex
	last := 0
	d.Progress = func(read, total int) {
		mu.Lock()
		last = max(last, read)
		mu.Unlock()
		if read == 40 {
			cancel()
		}
	}
	_, _, err := d.Scan(ctx)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Scan with a canceled context: %v", err)
	}
	if last > 40+8 {
		t.Errorf("%d files read after the cancel at 40", last-40)
	}
	d.Progress = nil
	c, _ := mustScan(t, d)
	if len(c.Defs) != n {
		t.Errorf("after the canceled scan: %d moments, want %d", len(c.Defs), n)
	}
}

// TestScanProgress: progress counts the files of moments a scan had not seen; files of known
// moments read again (changed, or too recent to trust) are not counted.
func TestScanProgress(t *testing.T) {
	d, path, _ := newDir(t, conf.Snapshot)
	if err := os.Mkdir(path, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"a", "b", "c"} {
		write(t, path, n, snapshotFile(n, "", "", n == "a", testUUID))
	}
	var mu sync.Mutex // Progress is called from the reading goroutines
	var total, calls int
	d.Progress = func(read, tot int) {
		mu.Lock()
		defer mu.Unlock()
		total, calls = tot, calls+1
	}
	mustScan(t, d)
	if total != 3 || calls != 4 {
		t.Errorf("load: total %d in %d calls, want 3 in 4", total, calls)
	}
	write(t, path, "b", snapshotFile("b", "a", "changed", false, testUUID))
	write(t, path, "d", snapshotFile("d", "", "", false, testUUID))
	total, calls = 0, 0
	c, _ := mustScan(t, d)
	if total != 1 || calls != 2 {
		t.Errorf("refresh with d new and b changed: total %d in %d calls, want 1 in 2", total, calls)
	}
	if c.Defs["b"].Description != "changed" {
		t.Errorf("b was not read again: %q", c.Defs["b"].Description)
	}
}
