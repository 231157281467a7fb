package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vmoments/vmoments/conf"
)

// schemaRoot returns virt-xml-validate's schema name for a file (by its root element's name).
func schemaRoot(t *testing.T, file string) string {
	t.Helper()
	if strings.Contains(readFile(t, file), "<domaincheckpoint") {
		return "domaincheckpoint"
	}
	return "domainsnapshot"
}

// TestValidateAtLeastAsStrictAsLibvirt runs virt-xml-validate and `vmoments validate` on every
// file of the corpus: bad/ must be rejected by both, good/ accepted by both, stricter/
// accepted by libvirt's schema but rejected by vmoments (libvirt's parser refuses them later, at
// redefine time); in both of validate's modes. new/ are files libvirt accepts for a new moment
// (no creationTime, no name) that a redefinition refuses: the schema accepts them, and so does
// validate as new moments, but not with --redefine.
func TestValidateAtLeastAsStrictAsLibvirt(t *testing.T) {
	if _, err := exec.LookPath("virt-xml-validate"); err != nil {
		t.Fatalf("virt-xml-validate is needed (libvirt-clients, libxml2-utils): %v", err)
	}
	for _, dir := range []string{"bad", "good", "stricter", "new"} {
		files, err := filepath.Glob(filepath.Join("testdata/validate", dir, "*.xml"))
		if err != nil || len(files) == 0 {
			t.Fatalf("no %s files: %v", dir, err)
		}
		for _, f := range files {
			libvirtOK := exec.Command("virt-xml-validate", f, schemaRoot(t, f)).Run() == nil
			data := []byte(readFile(t, f))
			for _, mode := range []conf.ParseMode{conf.ParseNew, conf.ParseRedefine} {
				msg, ok := validateData(context.Background(), data, mode)
				wantOK := dir == "good" || (dir == "new" && mode == conf.ParseNew)
				wantLibvirt := dir != "bad"
				if ok != wantOK || libvirtOK != wantLibvirt {
					t.Errorf("%s (mode %d): virt-xml-validate ok=%v, vmoments ok=%v (%s); want %v, %v", f, mode, libvirtOK, ok, msg, wantLibvirt, wantOK)
				}
				if !ok && !strings.HasPrefix(msg, "invalid as a ") {
					t.Errorf("%s: message %q does not say why", f, msg)
				}
			}
		}
	}
}

// TestValidateCommand checks the command's lines and exit status, in both modes.
func TestValidateCommand(t *testing.T) {
	good := "testdata/validate/good/checkpoint.xml"
	bad := "testdata/validate/bad/bad-state.xml"
	fresh := "testdata/validate/new/no-creation-time.xml"
	nameless := "testdata/validate/new/nameless.xml"
	tests := []struct {
		args   []string
		stdout string
		rc     int
	}{
		{[]string{"validate", good}, good + ": ok (checkpoint c1, as a new one)\n\n", 0},
		{[]string{"-q", "validate", good, "testdata/validate/good/external-snapshot.xml"},
			good + ": ok (checkpoint c1, as a new one)\ntestdata/validate/good/external-snapshot.xml: ok (snapshot with space, as a new one)\n", 0},
		{[]string{"-q", "validate", good, bad}, good + ": ok (checkpoint c1, as a new one)\n" + bad + ": invalid as a new one: Invalid state 'bogus' in domain snapshot XML\n", 1},
		{[]string{"-q", "validate", "--redefine", bad}, bad + ": invalid as a redefinition: Invalid state 'bogus' in domain snapshot XML\n", 1},
		{[]string{"-q", "validate", "testdata/validate/none.xml"}, "testdata/validate/none.xml: cannot read: no such file or directory\n", 1},
		{[]string{"-q", "validate", "testdata/validate"}, "testdata/validate: cannot read: is a directory\n", 1},
		// a new moment may lack creationTime and a name; a redefinition may not
		{[]string{"-q", "validate", fresh, nameless}, fresh + ": ok (snapshot before-upgrade, as a new one)\n" +
			nameless + ": ok (snapshot without a name: libvirt chooses one, as a new one)\n", 0},
		{[]string{"-q", "validate", fresh, "--redefine", nameless}, fresh + ": invalid as a redefinition: missing creationTime from existing snapshot\n" +
			nameless + ": invalid as a redefinition: a redefined snapshot must have a name\n", 1},
		{[]string{"-q", "validate", "--redefine", good}, good + ": ok (checkpoint c1, as a redefinition)\n", 0},
	}
	for _, tt := range tests {
		got := runVmoments(t, testEnv(nil), tt.args)
		if got.stdout != tt.stdout || got.rc != tt.rc || got.stderr != "" {
			t.Errorf("%q: got %s\nwant rc=%d stdout:\n%s", tt.args, got, tt.rc, tt.stdout)
		}
	}
	got := runVmoments(t, testEnv(nil), []string{"validate"})
	if want := "error: command 'validate' requires <file> option\n"; got.stderr != want || got.rc != 1 {
		t.Errorf("validate without files: got %s, want stderr %q", got, want)
	}
}

// TestValidateFileOption: --file FILE names a file as a positional word does (virsh's argv
// options), any number of times; it was accepted and then ignored.
func TestValidateFileOption(t *testing.T) {
	good := "testdata/validate/good/checkpoint.xml"
	bad := "testdata/validate/bad/bad-state.xml"
	got := runVmoments(t, testEnv(nil), []string{"-q", "validate", "--file", bad, good, "--file=" + good})
	want := result{bad + ": invalid as a new one: Invalid state 'bogus' in domain snapshot XML\n" + good + ": ok (checkpoint c1, as a new one)\n" +
		good + ": ok (checkpoint c1, as a new one)\n", "", 1}
	if got != want {
		t.Errorf("got %s\nwant %s", got, want)
	}
}

// TestValidateReadsOnce: the bytes read are the bytes checked, whatever the file is: a name
// that reads as an option (inside an export vmoments wrote), standard input by its path or as
// "-", a pipe, bash's <(...). Each is checked by the schema too: a document the schema alone
// refuses proves the schema saw the bytes.
func TestValidateReadsOnce(t *testing.T) {
	good := readFile(t, "testdata/validate/good/checkpoint.xml")
	schemaBad := readFile(t, "testdata/validate/bad/unknown-element.xml") // only the schema refuses it
	const okLine = ": ok (checkpoint c1, as a new one)\n"
	const badLine = ": invalid as a new one: libvirt's schema domainsnapshot.rng rejects it: Element domainsnapshot has extra content: foo (line 1, element foo)\n"
	dir := t.TempDir()
	for name, data := range map[string]string{"--tree.xml": good, "-x.xml": schemaBad, "--help": good} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	env := testEnv(nil)
	cases := []struct {
		args        []string
		stdin, want string
		rc          int
	}{
		{[]string{"-q", "validate", "--", "--tree.xml", "-x.xml", "--help"}, "", "--tree.xml" + okLine + "-x.xml" + badLine + "--help" + okLine, 1},
		{[]string{"-q", "validate", "/dev/stdin"}, good, "/dev/stdin" + okLine, 0},
		{[]string{"-q", "validate", "/dev/stdin"}, schemaBad, "/dev/stdin" + badLine, 1},
		{[]string{"-q", "validate", "-"}, good, "-" + okLine, 0},
		{[]string{"-q", "validate", "-", "./--tree.xml"}, schemaBad, "-" + badLine + "./--tree.xml" + okLine, 1},
		{[]string{"-q", "validate", "-", "-"}, good, "-" + okLine + "-: cannot read: standard input was read for an earlier -\n", 1},
	}
	for _, c := range cases {
		got := runVmomentsIn(t, env, c.args, c.stdin, dir)
		if want := (result{c.want, "", c.rc}); got != want {
			t.Errorf("%q: got %s\nwant %s", c.args, got, want)
		}
	}
	// a pipe and <(...), as bash makes them
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	for script, want := range map[string]string{
		`cat -- --tree.xml | "$VM" -q validate /dev/stdin`:                     "/dev/stdin" + okLine,
		`"$VM" -q validate <(cat -- --tree.xml) | sed 's|^/dev/fd/[0-9]*|FD|'`: "FD" + okLine,
		`"$VM" -q validate <(cat -- -x.xml) | sed 's|^/dev/fd/[0-9]*|FD|'`:     "FD" + badLine,
	} {
		cmd := exec.Command("bash", "-c", script)
		cmd.Env = append(processEnv(env), asMain+"=1", "VM="+exe)
		got := runProcess(t, cmd, "", dir)
		if got.stdout != want || got.stderr != "" {
			t.Errorf("bash -c %q: got %s\nwant stdout %q", script, got, want)
		}
	}
	// in the shell standard input holds the commands
	got := runVmomentsStdin(t, env, []string{"-q"}, "validate -\n")
	if want := "vmoments # validate -\n-: cannot read: standard input holds the shell's commands\nvmoments # \n"; got.stdout != want || got.rc != 0 {
		t.Errorf("validate - in the shell: got %s\nwant stdout %q", got, want)
	}
}
