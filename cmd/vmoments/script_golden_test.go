package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/vmoments/vmoments/cmd/vmoments/internal/vsh"
)

// A whole libvirt-style test script on test:///default, the way libvirt's own
// tests/virsh-snapshot drives virsh: one connection for the whole script (the test driver's state
// lives in it), the changes and the reads mixed, echo --err markers between them; then the XML it
// printed redefined by a second script. Both tools run it as one command string and as standard
// input; the creation times are masked (they are the clock's).

const snapshotScript = `
  # a tree whose names sort otherwise than its shape; reverts make the branches
  snapshot-create-as test s1
  snapshot-create-as test s1
  snapshot-create-as test s3
  snapshot-create-as test s2
  snapshot-revert test s3
  snapshot-create-as test s6
  snapshot-create-as test s5
  snapshot-revert test s6
  snapshot-create-as test s4
  snapshot-revert test s1
  snapshot-create-as test s7
  snapshot-create-as test s8
  echo --err marker
  checkpoint-create-as test c1
  echo --err marker
  snapshot-list test --tree
  snapshot-current test --name
  snapshot-current test s1
  snapshot-current test --name
  snapshot-delete test --current
  echo --err marker
  snapshot-current test --name
  echo --err marker
  snapshot-list test --roots
  snapshot-list test --leaves
  snapshot-list test --parent --no-leaves
  snapshot-list test --from s3
  snapshot-list test --from s3 --descendants --name
  snapshot-current test s4
  snapshot-delete test --children-only s6
  snapshot-current test --name
  snapshot-delete test --children s7
  snapshot-current test --name
  snapshot-delete test s6
  snapshot-current test --name
  snapshot-list test --name
  snapshot-list test --name --topological
  echo "<!--MarkerA-->"
  snapshot-dumpxml test s3
  echo "<!--MarkerB-->"
  snapshot-dumpxml test s2
  echo "<!--MarkerC-->"
`

const redefineScript = `
  snapshot-create test --redefine s2.xml --validate
  echo --err marker
  snapshot-create test --redefine s3.xml --validate
  snapshot-create test --redefine s2.xml --current --validate
  snapshot-info test --current
`

var creationTime = regexp.MustCompile(`\d{4}-\d\d-\d\d \d\d:\d\d:\d\d [+-]\d{4}|<creationTime>\d+</creationTime>`)

func TestGoldenLibvirtSnapshotScript(t *testing.T) {
	requireVirsh(t)
	a := newApp(&strings.Builder{}, &strings.Builder{}, func(string) (string, bool) { return "", false })
	var missing []string
	seen := map[string]bool{}
	for _, s := range []string{snapshotScript, redefineScript} {
		for _, m := range regexp.MustCompile(`(?m)^\s*([a-z-]+)`).FindAllStringSubmatch(s, -1) {
			if vsh.Lookup(a.defs, m[1]) == nil && !seen[m[1]] {
				seen[m[1]] = true
				missing = append(missing, m[1])
			}
		}
	}
	if len(missing) > 0 {
		t.Skipf("the script needs commands vmoments has not yet: %s", strings.Join(missing, ", "))
	}
	env := shellEnv(t, nil)
	dir := t.TempDir()
	mask := func(r result, virsh bool) result {
		r = masked(r, virsh)
		r.stdout = creationTime.ReplaceAllString(r.stdout, "TIME")
		return r
	}
	var out string
	for _, stdin := range []bool{false, true} {
		args, in := []string{"-c", "test:///default", snapshotScript}, ""
		if stdin {
			args, in = []string{"-c", "test:///default"}, snapshotScript
		}
		want := runVirshIn(t, env, args, in, dir)
		got := runVmomentsIn(t, env, args, in, dir)
		if mask(want, true) != mask(got, false) {
			t.Errorf("the script (stdin %v) differs\n%s", stdin, firstDifference(mask(want, true), mask(got, false)))
		}
		if !stdin {
			out = want.stdout
		}
	}
	// the XML printed between the markers, redefined by the second script
	for _, f := range []struct{ name, from, to string }{{"s3.xml", "<!--MarkerA-->", "<!--MarkerB-->"}, {"s2.xml", "<!--MarkerB-->", "<!--MarkerC-->"}} {
		_, rest, _ := strings.Cut(out, f.from)
		xml, _, _ := strings.Cut(rest, f.to)
		if err := os.WriteFile(filepath.Join(dir, f.name), []byte(xml), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	args := []string{"-c", "test:///default", redefineScript}
	want, got := runVirshIn(t, env, args, "", dir), runVmomentsIn(t, env, args, "", dir)
	if mask(want, true) != mask(got, false) {
		t.Errorf("the redefinition script differs\n%s", firstDifference(mask(want, true), mask(got, false)))
	}
}
