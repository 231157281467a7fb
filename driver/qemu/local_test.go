//go:build integration

package qemu_test

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vmoments/vmoments/conf"
	"github.com/vmoments/vmoments/driver"
	"github.com/vmoments/vmoments/driver/drivertest"
	"github.com/vmoments/vmoments/driver/internal/local"
	"github.com/vmoments/vmoments/driver/internal/virt"
	"github.com/vmoments/vmoments/momentlist"
	"github.com/vmoments/vmoments/transfer"
)

// ltTree redefines n snapshots on the snapshot domain and n checkpoints on the checkpoint
// domain through an API driver: a chain where every third moment also has a side leaf, the
// last snapshot current.
func ltTree(t *testing.T, snapDom, cpDom, domXML string, n int) {
	t.Helper()
	_, sd := ltOpen(t, systemURI, snapDom, driver.ReadWrite|driver.NoLocalFiles)
	var cd driver.Domain
	if cpDom != "" {
		_, cd = ltOpen(t, systemURI, cpDom, driver.ReadWrite|driver.NoLocalFiles)
	}
	parent := ""
	for i := range n {
		name := fmt.Sprintf("m%02d", i)
		flags := driver.SnapshotCreateRedefine
		if i == n-1 {
			flags |= driver.SnapshotCreateCurrent
		}
		if _, err := sd.CreateSnapshot(ctx, ltSnapshotXML(name, parent, "desc "+name, 1700000000+int64(i), domXML), flags); err != nil {
			t.Fatal(err)
		}
		if cd != nil {
			if _, err := cd.CreateCheckpoint(ctx, ltCheckpointXML(name, parent, "", 1700000000+int64(i), i%2 == 0), driver.CheckpointCreateRedefine); err != nil {
				t.Fatal(err)
			}
		}
		if i%3 == 1 {
			side := name + "-side"
			if _, err := sd.CreateSnapshot(ctx, ltSnapshotXML(side, name, "", 1700000000+int64(i), domXML), driver.SnapshotCreateRedefine); err != nil {
				t.Fatal(err)
			}
			if cd != nil {
				if _, err := cd.CreateCheckpoint(ctx, ltCheckpointXML(side, name, "", 1700000000+int64(i), false), driver.CheckpointCreateRedefine); err != nil {
					t.Fatal(err)
				}
			}
		}
		parent = name
	}
}

// ltSame fails unless dom's list of kind equals a fresh load through the API, for every filter.
func ltSame(t *testing.T, what string, dom driver.Domain, apiDrv driver.Driver, kind conf.Kind) int {
	t.Helper()
	got, err := dom.Moments(ctx, kind)
	if err != nil {
		t.Fatalf("%s: Moments(%s): %v", what, kind, err)
	}
	fresh, err := apiDrv.Domain(ctx, dom.UUID())
	if err != nil {
		t.Fatal(err)
	}
	want, err := fresh.Moments(ctx, kind)
	if err != nil {
		t.Fatal(err)
	}
	diff, n := ltDiff(got, want, ltFilters(kind))
	if diff != "" {
		t.Fatalf("%s: %ss differ from a fresh load through the API: %s", what, kind, diff)
	}
	return n
}

// TestLocalLoadAndRefresh loads snapshots and checkpoints from libvirtd's files, compares them
// with a load through the API for every filter, and checks what a refresh reads and fetches:
// nothing when nothing changed, exactly the changed file after a change made elsewhere.
func TestLocalLoadAndRefresh(t *testing.T) {
	snapDom, domXML := ltDomain(t, systemURI, "load-s", false)
	cpDom, _ := ltDomain(t, systemURI, "load-c", false)
	ltTree(t, snapDom, cpDom, domXML, 30)
	// Identities settle (local.Settle) before a refresh trusts them: files younger than that
	// at a load are looked at again by the next refresh.
	time.Sleep(local.Settle + 100*time.Millisecond)
	apiDrv, _ := ltOpen(t, systemURI, snapDom, driver.ReadOnly|driver.NoLocalFiles)
	_, sd := ltOpen(t, systemURI, snapDom, driver.ReadOnly)
	_, cd := ltOpen(t, systemURI, cpDom, driver.ReadOnly)
	cases := 0
	for _, h := range []struct {
		dom  driver.Domain
		kind conf.Kind
	}{{sd, conf.Snapshot}, {cd, conf.Checkpoint}} {
		cases += ltSame(t, "load", h.dom, apiDrv, h.kind)
		src := ltWantFiles(t, h.dom, h.kind)
		if src.FilesRead != 40 || src.APIFetches < 1 || src.APIFetches > 2 {
			t.Errorf("%s load: %d files read, %d fetched through the API; want 40 and a sample of 1 or 2", h.kind, src.FilesRead, src.APIFetches)
		}
		if want := "/var/lib/libvirt/qemu/" + h.kind.String() + "/" + h.dom.Name(); src.Dir != want {
			t.Errorf("%s dir = %q, want %q", h.kind, src.Dir, want)
		}
	}
	for range 3 {
		for _, h := range []struct {
			dom  driver.Domain
			kind conf.Kind
		}{{sd, conf.Snapshot}, {cd, conf.Checkpoint}} {
			if _, err := h.dom.List(ctx, h.kind, "", momentlist.Leaves); err != nil {
				t.Fatal(err)
			}
			if src := ltWantFiles(t, h.dom, h.kind); src.FilesRead != 0 || src.APIFetches != 0 {
				t.Errorf("%s refresh with nothing changed: %d files read, %d XML fetched; want none", h.kind, src.FilesRead, src.APIFetches)
			}
		}
	}
	// One snapshot redefined elsewhere with a new description: one file read again, the
	// newest checked through the API.
	x, err := apiDrv.Domain(ctx, snapDom)
	if err != nil {
		t.Fatal(err)
	}
	doc, err := x.XML(ctx, conf.Snapshot, "m10", 0)
	if err != nil {
		t.Fatal(err)
	}
	file := ltWriteFile(t, t.TempDir(), "m10.xml", strings.Replace(doc, "<description>desc m10</description>", "<description>edited elsewhere</description>", 1))
	ltMustVirsh(t, systemURI, "snapshot-create", snapDom, file, "--redefine")
	def, err := sd.Def(ctx, conf.Snapshot, "m10")
	if err != nil {
		t.Fatal(err)
	}
	if def.Description != "edited elsewhere" {
		t.Errorf("after the redefinition elsewhere: description %q", def.Description)
	}
	if src := ltWantFiles(t, sd, conf.Snapshot); src.FilesRead != 1 || src.APIFetches != 1 {
		t.Errorf("refresh after one redefinition: %d files read, %d XML fetched; want 1 and 1", src.FilesRead, src.APIFetches)
	}
	cases += ltSame(t, "after a redefinition", sd, apiDrv, conf.Snapshot)
	// A new current snapshot elsewhere rewrites two files (the old current's and the new one's).
	ltMustVirsh(t, systemURI, "snapshot-current", snapDom, "m03")
	if cur, _, err := sd.Current(ctx, conf.Snapshot); err != nil || ltName(cur) != "m03" {
		t.Fatalf("current after snapshot-current elsewhere: %v, %v", ltName(cur), err)
	}
	if src := ltWantFiles(t, sd, conf.Snapshot); src.FilesRead < 2 || src.FilesRead > 3 {
		t.Errorf("refresh after a new current: %d files read, want 2 (and m10's, if not yet settled)", src.FilesRead)
	}
	cases += ltSame(t, "after a new current", sd, apiDrv, conf.Snapshot)
	t.Logf("%d filter cases compared", cases)
}

// TestLocalStaleHandleEverySource is TestStaleHandle on every source: a handle lists, someone
// else redefines a snapshot in place with a new parent and a description (what
// virsh snapshot-edit does), the same handle lists again and must see both. The files and the
// API's exact refresh see it; driver.NamesOnlyRefresh does not, as documented, until Reload.
func TestLocalStaleHandleEverySource(t *testing.T) {
	name, domXML := ltDomain(t, systemURI, "stale", false)
	ltTree(t, name, "", domXML, 6)
	for _, c := range []struct {
		mode  driver.Mode
		files bool
		stale bool
	}{
		{driver.ReadOnly, true, false},
		{driver.ReadOnly | driver.NoLocalFiles, false, false},
		{driver.ReadOnly | driver.NoLocalFiles | driver.NamesOnlyRefresh, false, true},
	} {
		_, dom := ltOpen(t, systemURI, name, c.mode)
		before, err := dom.Def(ctx, conf.Snapshot, "m04")
		if err != nil {
			t.Fatal(err)
		}
		if src := ltSource(t, dom, conf.Snapshot); src.Files != c.files {
			t.Fatalf("mode %b: Files = %v (%s), want %v", c.mode, src.Files, src.Fallback, c.files)
		}
		desc := fmt.Sprintf("edited %d", c.mode)
		x, err := dom.XML(ctx, conf.Snapshot, "m04", 0)
		if err != nil {
			t.Fatal(err)
		}
		d, err := conf.ParseSnapshot([]byte(x), conf.ParseRedefine)
		if err != nil {
			t.Fatal(err)
		}
		newParent := "m01"
		if before.Parent == newParent {
			newParent = "m00"
		}
		d.Parent, d.Description = newParent, desc
		out, err := d.Format()
		if err != nil {
			t.Fatal(err)
		}
		ltMustVirsh(t, systemURI, "snapshot-create", name, ltWriteFile(t, t.TempDir(), "m04.xml", string(out)), "--redefine")
		after, err := dom.Def(ctx, conf.Snapshot, "m04")
		if err != nil {
			t.Fatal(err)
		}
		kids, err := dom.List(ctx, conf.Snapshot, newParent, 0)
		if err != nil {
			t.Fatal(err)
		}
		seen := after.Parent == newParent && after.Description == desc && ltSameSet(ltNames(kids), ltNamesOf(t, dom, newParent))
		switch {
		case !c.stale && !seen:
			t.Errorf("mode %b: after the edit elsewhere the handle serves parent %q, description %q; want %q, %q",
				c.mode, after.Parent, after.Description, newParent, desc)
		case c.stale && (after.Parent != before.Parent || after.Description != before.Description):
			t.Errorf("mode %b (NamesOnlyRefresh): the names-only refresh saw the edit: it should keep the old definition", c.mode)
		}
		if c.stale {
			if err := dom.Reload(ctx, conf.Snapshot); err != nil {
				t.Fatal(err)
			}
			if after, _ := dom.Def(ctx, conf.Snapshot, "m04"); after.Parent != newParent || after.Description != desc {
				t.Errorf("NamesOnlyRefresh after Reload: parent %q, description %q", after.Parent, after.Description)
			}
		}
	}
}

// ltNamesOf is the children of parent according to a fresh load through the API.
func ltNamesOf(t *testing.T, dom driver.Domain, parent string) []string {
	t.Helper()
	drv, err := driver.Open(ctx, systemURI, driver.ReadOnly|driver.NoLocalFiles)
	if err != nil {
		t.Fatal(err)
	}
	defer drv.Close()
	fresh, err := drv.Domain(ctx, dom.UUID())
	if err != nil {
		t.Fatal(err)
	}
	ms, err := fresh.List(ctx, conf.Snapshot, parent, 0)
	if err != nil {
		t.Fatal(err)
	}
	return ltNames(ms)
}

// TestLocalSecrets: libvirtd's files hold the domain's VNC password; nothing the driver
// returns from a domain read from them holds it, unless asked for with XMLSecure on a
// read-write connection, as libvirt's API decides.
func TestLocalSecrets(t *testing.T) {
	snapDom, _ := ltDomain(t, systemURI, "secret-s", true)
	cpDom, _ := ltDomain(t, systemURI, "secret-c", true)
	// Real snapshots (the domain with its password embedded) and checkpoints with the domain.
	for _, n := range []string{"s1", "s2", "s3"} {
		ltMustVirsh(t, systemURI, "snapshot-create-as", snapDom, n, "--description", "has a secret")
	}
	_, cw := ltOpen(t, systemURI, cpDom, driver.ReadWrite|driver.NoLocalFiles)
	cpXML := ltSecretCheckpoint(t, cpDom)
	for i, n := range []string{"c1", "c2"} {
		parent := ""
		if i > 0 {
			parent = "c1"
		}
		x := strings.Replace(cpXML, "<name>c0</name>", "<name>"+n+"</name>", 1)
		if parent != "" {
			x = strings.Replace(x, "</name>", "</name><parent><name>"+parent+"</name></parent>", 1)
		}
		if _, err := cw.CreateCheckpoint(ctx, x, driver.CheckpointCreateRedefine); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range []struct {
		dom  string
		kind conf.Kind
	}{{snapDom, conf.Snapshot}, {cpDom, conf.Checkpoint}} {
		dir := filepath.Join("/var/lib/libvirt/qemu", c.kind.String(), c.dom)
		files, _ := filepath.Glob(filepath.Join(dir, "*.xml"))
		inFiles := 0
		for _, f := range files {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			if bytes.Contains(b, []byte(ltSecret)) {
				inFiles++
			}
		}
		if inFiles == 0 || inFiles != len(files) {
			t.Fatalf("%d of %d %s files hold the password: the test needs every one to", inFiles, len(files), c.kind)
		}
		_, dom := ltOpen(t, systemURI, c.dom, driver.ReadWrite)
		ms, err := dom.List(ctx, c.kind, "", 0)
		if err != nil {
			t.Fatal(err)
		}
		ltWantFiles(t, dom, c.kind)
		leak := func(what, s string) {
			t.Helper()
			if strings.Contains(s, ltSecret) {
				t.Errorf("%s %s holds the VNC password", c.kind, what)
			}
		}
		copyList, err := dom.Moments(ctx, c.kind)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range append(ms, copyList.All()...) {
			def := m.Def()
			if def.Raw() != nil {
				leak(m.Name()+" Raw()", string(def.Raw()))
			}
			leak(m.Name()+" fields", fmt.Sprintf("%+v", *def))
			if out, err := def.Format(); err == nil {
				leak(m.Name()+" Format()", string(out))
			}
			if c.kind == conf.Snapshot {
				if full, err := def.FullSnapshot(); err == nil {
					b, _ := xml.Marshal(full)
					leak(m.Name()+" FullSnapshot()", string(b))
				}
			} else if full, err := def.FullCheckpoint(); err == nil {
				b, _ := xml.Marshal(full)
				leak(m.Name()+" FullCheckpoint()", string(b))
			}
			x, err := dom.XML(ctx, c.kind, m.Name(), 0)
			if err != nil {
				t.Fatal(err)
			}
			leak(m.Name()+" XML(0)", x)
			// The control: asked for, on a read-write connection, the API gives it.
			x, err = dom.XML(ctx, c.kind, m.Name(), driver.XMLSecure)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(x, ltSecret) {
				t.Errorf("%s %s: XML with XMLSecure lacks the password: the test cannot see a leak", c.kind, m.Name())
			}
		}
		cur, _, err := dom.Current(ctx, c.kind)
		if err != nil {
			t.Fatal(err)
		}
		if cur != nil && cur.Def().Raw() != nil {
			leak("current Raw()", string(cur.Def().Raw()))
		}
		// An export without --secure, from a domain read from the files: every file written
		// comes from the API and lacks the password; with Secure it has it.
		for _, secure := range []bool{false, true} {
			path := filepath.Join(t.TempDir(), "export")
			if _, err := transfer.Export(ctx, dom, path, transfer.ExportOptions{Kinds: []conf.Kind{c.kind}, Secure: secure}); err != nil {
				t.Fatal(err)
			}
			found := 0
			filepath.Walk(path, func(p string, info os.FileInfo, err error) error {
				if err == nil && !info.IsDir() {
					b, _ := os.ReadFile(p)
					if bytes.Contains(b, []byte(ltSecret)) {
						found++
					}
				}
				return nil
			})
			if !secure && found > 0 {
				t.Errorf("%s export without Secure: %d files hold the password", c.kind, found)
			}
			if secure && found != len(ms) {
				t.Errorf("%s export with Secure: %d of %d files hold the password", c.kind, found, len(ms))
			}
		}
	}
}

// ltSecretCheckpoint is a checkpoint definition c0 of cpDom that embeds the domain with its
// secrets (checkpoint XML with XMLSecure), for redefinition.
func ltSecretCheckpoint(t *testing.T, cpDom string) string {
	t.Helper()
	out := ltMustVirsh(t, systemURI, "dumpxml", cpDom, "--security-info", "--inactive")
	if !strings.Contains(out, ltSecret) {
		t.Fatalf("dumpxml --security-info lacks the password")
	}
	return "<domaincheckpoint><name>c0</name><creationTime>1700000000</creationTime><disks><disk name='vda' checkpoint='bitmap'/><disk name='vdb' checkpoint='no'/></disks>" +
		out + "</domaincheckpoint>"
}

// ltStderr runs f with the process's standard error captured and returns what was written.
func ltStderr(t *testing.T, f func()) string {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	old := os.Stderr
	os.Stderr = w
	done := make(chan string)
	go func() {
		b, _ := io.ReadAll(r)
		done <- string(b)
	}()
	func() {
		defer func() { os.Stderr = old }()
		f()
	}()
	w.Close()
	return <-done
}

// TestLocalFallbacks reads a real domain's files from a copy the test tampers with: every
// disagreement with the API makes the load use the API (and serve libvirt's state), with the
// reason in qemu.SourceOf and on standard error with VMOMENTS_DEBUG=local.
func TestLocalFallbacks(t *testing.T) {
	name, domXML := ltDomain(t, systemURI, "fallback", false)
	ltTree(t, name, "", domXML, 8)
	apiDrv, _ := ltOpen(t, systemURI, name, driver.ReadOnly|driver.NoLocalFiles)
	real := filepath.Join("/var/lib/libvirt/qemu/snapshot", name)
	copyDir := func(t *testing.T) (string, string) {
		base := t.TempDir()
		dir := filepath.Join(base, name)
		if err := os.Mkdir(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		files, _ := filepath.Glob(filepath.Join(real, "*.xml"))
		for _, f := range files {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, filepath.Base(f)), b, 0o600); err != nil {
				t.Fatal(err)
			}
		}
		return base, dir
	}
	edit := func(t *testing.T, path, old, new string) {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Contains(b, []byte(old)) {
			t.Fatalf("%s lacks %q", path, old)
		}
		if err := os.WriteFile(path, bytes.Replace(b, []byte(old), []byte(new), 1), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name     string
		tamper   func(t *testing.T, dir string)
		versions []uint32
		want     string // in the reason
	}{
		{"the copy as it is", func(*testing.T, string) {}, nil, ""},
		{"a file missing", func(t *testing.T, dir string) { os.Remove(filepath.Join(dir, "m03.xml")) },
			nil, `libvirt lists 11 snapshots, the metadata directory holds 10; listed without a file: "m03"`},
		{"a stray file", func(t *testing.T, dir string) {
			b, _ := os.ReadFile(filepath.Join(dir, "m03.xml"))
			os.WriteFile(filepath.Join(dir, "x9.xml"), bytes.Replace(b, []byte("<name>m03</name>"), []byte("<name>x9</name>"), 1), 0o600)
		}, nil, `a file but not listed: "x9"`},
		{"a file that does not parse", func(t *testing.T, dir string) {
			os.WriteFile(filepath.Join(dir, "m03.xml"), []byte("<domainsnapshot><name>m03"), 0o600)
		}, nil, "m03.xml does not parse"},
		{"a file named for another moment", func(t *testing.T, dir string) {
			edit(t, filepath.Join(dir, "m03.xml"), "<name>m03</name>", "<name>m33</name>")
		}, nil, `m03.xml defines snapshot "m33", not the moment its name says`},
		{"another current", func(t *testing.T, dir string) {
			edit(t, filepath.Join(dir, "m07.xml"), "<active>1</active>", "<active>0</active>")
			edit(t, filepath.Join(dir, "m02.xml"), "<active>0</active>", "<active>1</active>")
		}, nil, `libvirt's current snapshot is "m07", the file of "m02" says it is current`},
		{"a hand edit (the newest file differs from the API)", func(t *testing.T, dir string) {
			time.Sleep(10 * time.Millisecond)
			edit(t, filepath.Join(dir, "m05.xml"), "<description>desc m05</description>", "<description>by hand</description>")
		}, nil, `snapshot "m05": its file's definition differs from the API's: description "by hand" vs "desc m05"`},
		{"an untested libvirt", func(*testing.T, string) {}, []uint32{8_000_000},
			"libvirtd 9.0.0 writes metadata files in a format vmoments was not tested with (8.0.0)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			base, dir := copyDir(t)
			tt.tamper(t, dir)
			versions := tt.versions
			if versions == nil {
				versions = []uint32{9_000_000}
			}
			t.Setenv("VMOMENTS_DEBUG", "local")
			drv, err := virt.Open(ctx, systemURI, driver.ReadOnly, virt.Options{LocalVersions: versions,
				LocalDirs: func(string) (string, string, string) { return base, base, "" }})
			if err != nil {
				t.Fatal(err)
			}
			defer drv.Close()
			dom, err := drv.LookupDomain(ctx, name)
			if err != nil {
				t.Fatal(err)
			}
			var got *momentlist.List
			stderr := ltStderr(t, func() {
				if got, err = dom.Moments(ctx, conf.Snapshot); err != nil {
					t.Fatal(err)
				}
			})
			info := dom.LoadInfo(conf.Snapshot)
			if tt.want == "" {
				if !info.Files || info.Reason != "" {
					t.Fatalf("the untampered copy was not used: %+v", info)
				}
			} else {
				if info.Files || !strings.Contains(info.Reason, tt.want) {
					t.Errorf("reason %q (files %v), want one with %q", info.Reason, info.Files, tt.want)
				}
				if !strings.Contains(stderr, "not from the metadata files: ") || !strings.Contains(stderr, tt.want) {
					t.Errorf("VMOMENTS_DEBUG=local printed %q, want the reason %q", stderr, tt.want)
				}
			}
			// Whatever the files say, the list is libvirt's.
			fresh, err := apiDrv.Domain(ctx, name)
			if err != nil {
				t.Fatal(err)
			}
			want, err := fresh.Moments(ctx, conf.Snapshot)
			if err != nil {
				t.Fatal(err)
			}
			if diff, _ := ltDiff(got, want, ltFilters(conf.Snapshot)[:64]); diff != "" {
				t.Errorf("the list served differs from the API's: %s", diff)
			}
			t.Logf("reason: %s", info.Reason)
		})
	}
}

// TestLocalConformance runs the driver suite on both sources, with changes through the
// driver: the files (the default as root on qemu:///system) and the API (driver.NoLocalFiles).
func TestLocalConformance(t *testing.T) {
	for _, src := range []struct {
		name string
		mode driver.Mode
	}{{"files", driver.ReadWrite}, {"api", driver.ReadWrite | driver.NoLocalFiles}} {
		t.Run(src.name, func(t *testing.T) {
			snapDom, domXML := ltDomain(t, systemURI, "conf-s-"+src.name, false)
			cpDom, _ := ltDomain(t, systemURI, "conf-c-"+src.name, false)
			drv, sd := ltOpen(t, systemURI, snapDom, src.mode)
			_, cd := ltOpen(t, systemURI, cpDom, src.mode)
			n := 0
			check := func(what string, kind conf.Kind, dom driver.Domain, cpCurrent string) {
				t.Helper()
				n += drivertest.CheckState(t, drv, dom, kind, cpCurrent)
				opt := drivertest.Options{MaxFroms: 2, ListEvery: 64}
				if kind == conf.Checkpoint {
					opt = drivertest.Options{CheckpointCurrent: &cpCurrent}
				}
				n += drivertest.CheckLists(t, dom, kind, opt)
				if s := ltSource(t, dom, kind); s.Files != (src.mode&driver.NoLocalFiles == 0) {
					t.Fatalf("%s: %s source: files %v (%s)", what, kind, s.Files, s.Fallback)
				}
				if t.Failed() {
					t.Fatalf("after %s", what)
				}
			}
			snapSteps := []struct {
				name string
				do   func() error
			}{
				{"create s1", func() error {
					_, err := sd.CreateSnapshot(ctx, "<domainsnapshot><name>s1</name></domainsnapshot>", 0)
					return err
				}},
				{"create s2", func() error {
					_, err := sd.CreateSnapshot(ctx, "<domainsnapshot><name>s2</name></domainsnapshot>", 0)
					return err
				}},
				{"revert s1", func() error { return sd.Revert(ctx, "s1", 0) }},
				{"create s3", func() error {
					_, err := sd.CreateSnapshot(ctx, "<domainsnapshot><name>s3</name></domainsnapshot>", 0)
					return err
				}},
				{"redefine r1 under s2, current", func() error {
					_, err := sd.CreateSnapshot(ctx, ltSnapshotXML("r1", "s2", "", 1700000000, domXML), driver.SnapshotCreateRedefine|driver.SnapshotCreateCurrent)
					return err
				}},
				{"set current s3", func() error { return sd.SetCurrent(ctx, "s3") }},
				{"delete s2", func() error { return sd.Delete(ctx, conf.Snapshot, "s2", 0) }},
				{"delete r1 metadata only", func() error { return sd.Delete(ctx, conf.Snapshot, "r1", driver.DeleteMetadataOnly) }},
				{"delete s1 with children", func() error { return sd.Delete(ctx, conf.Snapshot, "s1", driver.DeleteChildren) }},
			}
			for _, s := range snapSteps {
				if err := s.do(); err != nil {
					t.Fatalf("%s: %v", s.name, err)
				}
				check(s.name, conf.Snapshot, sd, "")
			}
			var tr drivertest.Tracker
			cp := func(name, parent string) func() error {
				return func() error {
					_, err := cd.CreateCheckpoint(ctx, ltCheckpointXML(name, parent, "", 1700000000, parent == ""), driver.CheckpointCreateRedefine)
					if err == nil {
						tr.Redefined(name, parent)
					}
					return err
				}
			}
			del := func(name string, flags driver.DeleteFlags) func() error {
				return func() error {
					tr.Delete(t, cd, name, flags)
					return cd.Delete(ctx, conf.Checkpoint, name, flags|driver.DeleteMetadataOnly)
				}
			}
			for _, s := range []struct {
				name string
				do   func() error
			}{
				{"c1", cp("c1", "")}, {"c2", cp("c2", "c1")}, {"c3", cp("c3", "c2")}, {"d1 under c1", cp("d1", "c1")},
				{"delete c2", del("c2", 0)}, {"delete c1 children only", del("c1", driver.DeleteChildrenOnly)},
				{"e1 under c1", cp("e1", "c1")},
			} {
				if err := s.do(); err != nil {
					t.Fatalf("%s: %v", s.name, err)
				}
				check(s.name, conf.Checkpoint, cd, tr.Current)
			}
			t.Logf("conformance cases on the %s source: %d", src.name, n)
		})
	}
}
