package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
	"unsafe"
)

// TestGoldenChangeSingles compares single command lines of the changing commands with virsh,
// exit status included: the ones the parser rejects (a batch holding one runs nothing, so they
// cannot go into TestGoldenChangeSequences) and each command's success and failure alone.
func TestGoldenChangeSingles(t *testing.T) {
	requireVirsh(t)
	bin := sharedVmoments(t)
	f := newFixture(t)
	demo := nodeURI(t, "../../examples/demo.xml")
	cases := [][]string{
		// the parser's rejections
		{"snapshot-create-as"},
		{"snapshot-create-as", "test", "--memspec"},
		{"snapshot-create-as", "test", "--memspec", "a", "--memspec", "b"},
		{"snapshot-create-as", "test", "--print-xml=yes"},
		{"snapshot-create-as", "test", "--bogus"},
		{"snapshot-create-as", "test", "--diskspec"},
		{"snapshot-create", "test", "a.xml", "b.xml"},
		{"snapshot-create", "test", "--redefine", "--redefine"},
		{"snapshot-current", "test", "s1", "s2"},
		{"snapshot-delete", "test", "s1", "extra"},
		{"snapshot-delete"},
		{"snapshot-revert", "test", "--running=yes"},
		{"snapshot-edit", "test", "--rename", "--rename"},
		{"snapshot-parent", "test", "--snapshotname"},
		{"checkpoint-create-as", "test", "--bogus"},
		{"checkpoint-create", "test", "a", "b"},
		{"checkpoint-parent", "test", "--current"},
		{"checkpoint-delete", "test", "--current"},
		{"checkpoint-edit", "test", "--rename"},
		{"snapshot-create-as test s1; snapshot-bogus test"},
		// one command alone: its output and exit status
		{"snapshot-create-as", "test", "s1"},
		{"snapshot-create-as", "test", "s1", "desc", "vda", "--print-xml"},
		{"snapshot-create-as", "--domain=test", "--name=s1", "--diskspec=vda,snapshot=internal", "--print-xml"},
		{"snapshot-create-as", "test", "--", "--dash", "-d"},
		{"snapshot-create-as", "test", "--name", ""},
		{"snapshot-create-as", "", "s1"},
		{"snapshot-create", "test"},
		{"snapshot-create", "test", f.files["new-named.xml"]},
		{"snapshot-create", "test", f.files["missing.xml"]},
		{"snapshot-create", "test", "--xmlfile", ""},
		{"snapshot-create", "nosuch", "--xmlfile", ""},
		{"snapshot-current", "test"},
		{"snapshot-current", "test", "--name"},
		{"snapshot-current", "test", "nosuch"},
		{"snapshot-current", "test", "--name", "--snapshotname", "x"},
		{"snapshot-current", "test", "--snapshotname", ""},
		{"snapshot-delete", "test"},
		{"snapshot-delete", "test", "--current"},
		{"snapshot-revert", "test", "s1", "--current"},
		{"snapshot-parent", "test", "s1", "--current"},
		{"snapshot-edit", "test", "--rename", "--clone"},
		{"checkpoint-create", "test", "--redefine-validate"},
		{"checkpoint-create-as", "test", "c1"},
		{"checkpoint-create-as", "test", "c1", "d", "vda,bitmap=b1", "vdb,checkpoint=no", "--print-xml"},
		{"checkpoint-parent", "test"},
		{"checkpoint-delete", "test", "nosuch", "--children"},
		// -q drops virsh's messages and trailing newlines, not the errors
		{"-q", "snapshot-create-as test s1; snapshot-create-as test s2; snapshot-current test --name; snapshot-delete test s2; snapshot-parent test s1"},
		{"-q", "checkpoint-create-as test c1; checkpoint-create-as test c2; checkpoint-parent test c2; checkpoint-delete test c1 --children-only"},
	}
	env := fakeEnv(t, "true")
	n := 0
	for _, args := range cases {
		uri := "test:///default"
		line := append([]string{"-c", uri}, args...)
		if args[0] == "-q" {
			line = append([]string{"-q", "-c", uri}, args[1:]...)
		}
		want, _ := runProgram(t, env, "virsh", line...)
		got, _ := runProgram(t, env, bin, line...)
		if want != got {
			t.Errorf("%q:\nvirsh:\n%s\nvmoments:\n%s", line, want, got)
		}
		n++
	}
	// a read-only connection refuses every change with libvirt's words, naming the API
	for _, line := range []string{
		"snapshot-create-as demo x", "snapshot-create demo", "snapshot-delete demo --current",
		"snapshot-revert demo --current", "snapshot-current demo base", "snapshot-edit demo --current",
		"checkpoint-create-as webserver c9", "checkpoint-delete webserver c1", "checkpoint-edit webserver c1",
	} {
		args := []string{"-r", "-c", demo, line}
		want, _ := runProgram(t, env, "virsh", args...)
		got, _ := runProgram(t, env, bin, args...)
		if want != got {
			t.Errorf("%q:\nvirsh:\n%s\nvmoments:\n%s", args, want, got)
		}
		n++
	}
	t.Logf("%d command lines compared with virsh, exit status included", n)
}

// TestEditWithEditorScripts drives snapshot-edit and checkpoint-edit with editor scripts through
// virsh and vmoments: an edit, an unchanged file (with and without --current), a rename and a
// clone, an editor that fails, and invalid XML then fixed, answered on a terminal (a pseudo
// terminal on standard input, "y" typed at the prompt).
func TestEditWithEditorScripts(t *testing.T) {
	requireVirsh(t)
	bin := sharedVmoments(t)
	f := newFixture(t)
	dir := t.TempDir()
	// The editor of "invalid, then fixed": the first run breaks the XML, the second repairs it
	// and adds a description (a counter file per run).
	twice := filepath.Join(dir, "ed-twice.sh")
	script := "#!/bin/sh\nc=\"$COUNTER\"; n=$(cat \"$c\" 2>/dev/null || echo 0); n=$((n+1)); echo $n > \"$c\"\n" +
		"if [ $n = 1 ]; then sed -i '0,/<name>/s//<nome>/' \"$1\"; else sed -i '0,/<nome>/s//<name>/; 0,/<\\/name>/s//<\\/name><description>fixed<\\/description>/' \"$1\"; fi\n"
	if err := os.WriteFile(twice, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	snaps := "snapshot-create-as test s1; snapshot-create-as test s2; snapshot-create-as test s3; snapshot-revert test s2; "
	cps := "checkpoint-create-as test c1; checkpoint-create-as test c2; "
	cases := []struct {
		editor, batch string
	}{
		{f.files["ed-desc.sh"], snaps + "snapshot-edit test s1; snapshot-dumpxml test s1; snapshot-current test --name"},
		{f.files["ed-desc.sh"], snaps + "snapshot-edit test --current; snapshot-list test --parent"},
		{f.files["ed-unchanged.sh"], snaps + "snapshot-edit test s1; snapshot-edit test s3 --current; snapshot-current test --name; snapshot-edit test --current"},
		{f.files["ed-rename.sh"], snaps + "snapshot-edit test s1 --rename; snapshot-list test --parent"},
		{f.files["ed-rename.sh"], snaps + "snapshot-edit test s3 --clone; snapshot-edit test s3-r --clone; snapshot-list test --tree"},
		{f.files["ed-rename.sh"], snaps + "snapshot-edit test s1; snapshot-list test --name"},
		{f.files["ed-fail.sh"], snaps + "snapshot-edit test s1"},
		{f.files["ed-fail.sh"] + " --with args", snaps + "snapshot-edit test s1"},
		{"/nonexistent/editor", snaps + "snapshot-edit test s1"},
		{"nonexistent-editor", snaps + "snapshot-edit test s1"},
		{f.files["ed-desc.sh"], cps + "checkpoint-edit test c1; checkpoint-dumpxml test c1"},
		{f.files["ed-unchanged.sh"], cps + "checkpoint-edit test c2"},
		{f.files["ed-rename.sh"], cps + "checkpoint-edit test c2; checkpoint-list test --name"},
		{twice, snaps + "snapshot-edit test s1; snapshot-dumpxml test s1"},
		{twice, cps + "checkpoint-edit test c1; checkpoint-info test c1"},
	}
	for _, tc := range cases {
		env := fakeEnv(t, tc.editor)
		var want, got result
		if tc.editor == twice { // answered on a terminal
			env = append(env, "COUNTER="+filepath.Join(t.TempDir(), "count"))
			want = runOnTTY(t, env, "virsh", "-c", "test:///default", tc.batch)
			env[len(env)-1] = "COUNTER=" + filepath.Join(t.TempDir(), "count")
			got = runOnTTY(t, env, bin, "-c", "test:///default", tc.batch)
			if !strings.Contains(got.stdout, "Failed. Try again? [y,n,f,?]: ") {
				t.Errorf("%s: vmoments did not ask again:\n%s", tc.batch, got)
			}
		} else {
			want, _ = runProgram(t, env, "virsh", "-c", "test:///default", tc.batch)
			got, _ = runProgram(t, env, bin, "-c", "test:///default", tc.batch)
		}
		if want != got { // the exit status too: a command line's is its last command's
			t.Errorf("EDITOR=%s %q:\nvirsh:\n%s\nvmoments:\n%s", tc.editor, tc.batch, want, got)
		}
	}
	// Invalid XML when standard input is not a terminal: virsh prints "error: Failed." and
	// then crashes (it goes on with the snapshot it failed to define); vmoments reports the
	// failure and libvirt's reason, runs the next command, and exits with that last command's
	// status.
	env := fakeEnv(t, f.files["ed-mangle.sh"])
	want, crashed := runProgram(t, env, "virsh", "-c", "test:///default", snaps+"snapshot-edit test s1; snapshot-list test --name")
	got, _ := runProgram(t, env, bin, "-c", "test:///default", snaps+"snapshot-edit test s1; snapshot-list test --name")
	if !crashed || !strings.HasSuffix(want.stderr, "error: Failed.\n") {
		t.Errorf("virsh no longer crashes on a failed edit without a terminal (update main.go):\n%s", want)
	}
	const wantErr = "error: Failed.\nerror: Failed to update s1\nerror: (domain_snapshot):2: Opening and ending tag mismatch: nome line 2 and name\n"
	if !strings.HasPrefix(got.stderr, wantErr) || !strings.HasSuffix(got.stdout, "\ns1\ns2\ns3\n\n") || got.rc != 0 {
		t.Errorf("vmoments on a failed edit without a terminal:\n%s\nwant stderr starting %q", got, wantErr)
	}
}

// runOnTTY runs a program with a pseudo terminal as standard input (stdout and stderr are
// pipes) and types "y" every 100 ms until it exits: virsh's re-edit prompt reads one key in raw
// mode, and makes the terminal raw with TCSAFLUSH, which drops what was typed before.
func runOnTTY(t *testing.T, env []string, bin string, args ...string) result {
	t.Helper()
	master, slave, err := openPTY()
	if err != nil {
		t.Fatalf("pseudo terminal: %v", err)
	}
	defer master.Close()
	cmd := exec.Command(bin, args...)
	cmd.Env = env
	var out, errb bytes.Buffer
	cmd.Stdin, cmd.Stdout, cmd.Stderr = slave, &out, &errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	slave.Close()
	go io.Copy(io.Discard, master) // the terminal's echo
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	deadline := time.After(30 * time.Second)
	for {
		select {
		case err := <-done:
			rc := 0
			var ee *exec.ExitError
			if errors.As(err, &ee) {
				rc = ee.ExitCode()
			}
			return result{normalizeRun(out.String()), normalizeRun(libvirtLogLine.ReplaceAllString(errb.String(), "")), rc}
		case <-tick.C:
			master.Write([]byte("y"))
		case <-deadline:
			cmd.Process.Kill()
			t.Fatalf("%s %q still runs after 30 s:\n%s%s", bin, args, out.String(), errb.String())
		}
	}
}

// openPTY opens a pseudo terminal pair (posix_openpt, unlockpt, ptsname).
func openPTY() (master, slave *os.File, err error) {
	master, err = os.OpenFile("/dev/ptmx", os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		return nil, nil, err
	}
	var unlock int32
	if _, _, e := syscall.Syscall(syscall.SYS_IOCTL, master.Fd(), syscall.TIOCSPTLCK, uintptr(unsafe.Pointer(&unlock))); e != 0 {
		master.Close()
		return nil, nil, e
	}
	var n uint32
	if _, _, e := syscall.Syscall(syscall.SYS_IOCTL, master.Fd(), syscall.TIOCGPTN, uintptr(unsafe.Pointer(&n))); e != 0 {
		master.Close()
		return nil, nil, e
	}
	slave, err = os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		master.Close()
		return nil, nil, err
	}
	return master, slave, nil
}

// TestChangeJSON: --json on the changing commands prints the moments created, changed or
// deleted; the current commands' one rule for no current moment; the option combinations
// refused everywhere alike.
func TestChangeJSON(t *testing.T) {
	env := testEnv(nil)
	run := func(line string) result {
		return runVmoments(t, env, []string{"-c", "test:///default", line})
	}
	names := func(t *testing.T, out string) []string {
		t.Helper()
		var ms []momentJSON
		if err := json.Unmarshal([]byte(strings.TrimSuffix(out, "\n\n")), &ms); err != nil {
			t.Fatalf("not a JSON array of moments: %v\n%s", err, out)
		}
		var ns []string
		for _, m := range ms {
			ns = append(ns, fmt.Sprintf("%s<%v,current=%v>", m.Name, deref(m.Parent), m.Current))
		}
		return ns
	}
	for _, tc := range []struct{ line, want string }{
		{"snapshot-create-as test s1; snapshot-create-as test s2 --json", "s2<s1,current=true>"},
		{"snapshot-create-as test s1; snapshot-create test " + newFixture(t).files["new-named.xml"] + " --json", "f1<s1,current=true>"},
		{"snapshot-create-as test s1; snapshot-create-as test s2; snapshot-parent test s2 --json", "s1<<nil>,current=false>"},
		{"snapshot-create-as test s1; snapshot-create-as test s2; snapshot-revert test s1 --json", "s1<<nil>,current=true>"},
		{"snapshot-create-as test s1; snapshot-create-as test s2; snapshot-current test s1 --json", "s1<<nil>,current=true>"},
		{"snapshot-create-as test s1; snapshot-create-as test s2; snapshot-create-as test s3; snapshot-delete test s1 --children --json", "s1<<nil>,current=false> s2<s1,current=false> s3<s2,current=true>"},
		{"snapshot-create-as test s1; snapshot-create-as test s2; snapshot-delete test s1 --children-only --json", "s2<s1,current=true>"},
		{"checkpoint-create-as test c1; checkpoint-create-as test c2 --json", "c2<c1,current=true>"},
		{"checkpoint-create-as test c1; checkpoint-create-as test c2; checkpoint-parent test c2 --json", "c1<<nil>,current=false>"},
		{"checkpoint-create-as test c1; checkpoint-create-as test c2; checkpoint-delete test c1 --json", "c1<<nil>,current=false>"},
	} {
		r := run(tc.line)
		last := r.stdout[strings.LastIndex("\n"+r.stdout, "\n[\n"):]
		if got := strings.Join(names(t, last), " "); got != tc.want || r.rc != 0 {
			t.Errorf("%s: %s (rc %d), want %s\n%s", tc.line, got, r.rc, tc.want, r)
		}
	}
	// No current moment: exit 1 and the same message in every form; --json also says why.
	for _, tc := range []struct{ line, stdout, stderr string }{
		{"snapshot-current test", "\n", "error: domain 'test' has no current snapshot\n"},
		{"snapshot-current test --name", "\n", "error: domain 'test' has no current snapshot\n"},
		{"snapshot-current test --per-disk", "\n", "error: domain 'test' has no current snapshot\n"},
		{"snapshot-current 1 --json", "{\n  \"domain\": \"test\",\n  \"kind\": \"snapshot\",\n  \"current\": null,\n  \"reason\": \"it has no snapshots\"\n}\n\n",
			"error: domain '1' has no current snapshot\n"},
		{"checkpoint-current test", "\n", "error: domain 'test' has no current checkpoint (it has no checkpoints)\n"},
		{"checkpoint-current test --per-disk --name", "\n", "error: domain 'test' has no current checkpoint (it has no checkpoints)\n"},
		{"checkpoint-current test --json", "{\n  \"domain\": \"test\",\n  \"kind\": \"checkpoint\",\n  \"current\": null,\n  \"reason\": \"it has no checkpoints\"\n}\n\n",
			"error: domain 'test' has no current checkpoint (it has no checkpoints)\n"},
		// option combinations: an output form of vmoments' with one of virsh's is refused,
		// with virsh's wording, by every command alike
		{"snapshot-current test --json --name", "\n", "error: Options --name and --json are mutually exclusive\n"},
		{"checkpoint-current test --json --name", "\n", "error: Options --name and --json are mutually exclusive\n"},
		{"snapshot-list test --json --name", "\n", "error: Options --name and --json are mutually exclusive\n"},
		{"snapshot-create-as test --print-xml --json", "\n", "error: Options --print-xml and --json are mutually exclusive\n"},
		{"checkpoint-create-as test --print-xml --json", "\n", "error: Options --print-xml and --json are mutually exclusive\n"},
		{"snapshot-list test --json --parent", "\n", "error: Options --parent and --json are mutually exclusive\n"},
		{"checkpoint-list test --dot --parent", "\n", "error: Options --parent and --dot are mutually exclusive\n"},
		{"snapshot-current test s1 --per-disk", "\n", "error: Options --snapshotname and --per-disk are mutually exclusive\n"},
	} {
		if r := run(tc.line); r.stdout != tc.stdout || r.stderr != tc.stderr || r.rc != 1 {
			t.Errorf("%s:\n%s\nwant stdout %q stderr %q rc 1", tc.line, r, tc.stdout, tc.stderr)
		}
	}
}

func deref(s *string) any {
	if s == nil {
		return nil
	}
	return *s
}
