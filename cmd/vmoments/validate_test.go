package main

import (
	"context"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
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
// redefine time).
func TestValidateAtLeastAsStrictAsLibvirt(t *testing.T) {
	if _, err := exec.LookPath("virt-xml-validate"); err != nil {
		t.Fatalf("virt-xml-validate is needed (libvirt-clients, libxml2-utils): %v", err)
	}
	for _, dir := range []string{"bad", "good", "stricter"} {
		files, err := filepath.Glob(filepath.Join("testdata/validate", dir, "*.xml"))
		if err != nil || len(files) == 0 {
			t.Fatalf("no %s files: %v", dir, err)
		}
		for _, f := range files {
			libvirtOK := exec.Command("virt-xml-validate", f, schemaRoot(t, f)).Run() == nil
			msg, ok := validateFile(context.Background(), f)
			switch dir {
			case "bad":
				if libvirtOK || ok {
					t.Errorf("%s: virt-xml-validate ok=%v, vmoments ok=%v (%s); both must reject", f, libvirtOK, ok, msg)
				}
			case "good":
				if !libvirtOK || !ok {
					t.Errorf("%s: virt-xml-validate ok=%v, vmoments ok=%v (%s); both must accept", f, libvirtOK, ok, msg)
				}
			case "stricter":
				if !libvirtOK || ok {
					t.Errorf("%s: virt-xml-validate ok=%v, vmoments ok=%v (%s); want libvirt's schema to accept, vmoments to reject", f, libvirtOK, ok, msg)
				}
			}
			if !ok && !strings.HasPrefix(msg, "invalid: ") && !strings.HasPrefix(msg, "cannot read: ") {
				t.Errorf("%s: message %q does not say why", f, msg)
			}
		}
	}
}

// TestValidateCommand checks the command's lines and exit status.
func TestValidateCommand(t *testing.T) {
	good := "testdata/validate/good/checkpoint.xml"
	bad := "testdata/validate/bad/bad-state.xml"
	tests := []struct {
		args   []string
		stdout string
		rc     int
	}{
		{[]string{"validate", good}, good + ": ok (checkpoint c1)\n\n", 0},
		{[]string{"-q", "validate", good, "testdata/validate/good/external-snapshot.xml"},
			good + ": ok (checkpoint c1)\ntestdata/validate/good/external-snapshot.xml: ok (snapshot with space)\n", 0},
		{[]string{"-q", "validate", good, bad}, good + ": ok (checkpoint c1)\n" + bad + ": invalid: Invalid state 'bogus' in domain snapshot XML\n", 1},
		{[]string{"-q", "validate", "testdata/validate/none.xml"}, "testdata/validate/none.xml: cannot read: no such file or directory\n", 1},
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
	want := result{bad + ": invalid: Invalid state 'bogus' in domain snapshot XML\n" + good + ": ok (checkpoint c1)\n" +
		good + ": ok (checkpoint c1)\n", "", 1}
	if got != want {
		t.Errorf("got %s\nwant %s", got, want)
	}
}
