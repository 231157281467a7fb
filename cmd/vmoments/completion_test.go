package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// vmomentsOnPath makes a directory with a "vmoments" that runs this test binary as vmoments,
// for the shells' completion scripts, which call the program by its name.
func vmomentsOnPath(t *testing.T) string {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	script := "#!/bin/sh\n" + asMain + "=1 exec '" + exe + "' \"$@\"\n"
	if err := os.WriteFile(filepath.Join(dir, "vmoments"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// completionCases are a line typed, then Tab, and the line bash and zsh make of it (regexp).
func completionCases(node string) []struct{ typed, want string } {
	c := "vmoments -c " + node + " "
	return []struct{ typed, want string }{
		{c + "snapshot-l", regexp.QuoteMeta(c+"snapshot-list ") + "$"},
		{c + "snapshot-list sn", regexp.QuoteMeta(c+"snapshot-list snapdom ") + "$"},
		{c + "snapshot-list snapdom --tr", regexp.QuoteMeta(c+"snapshot-list snapdom --tree ") + "$"},
		{c + "snapshot-list snapdom --from wi", regexp.QuoteMeta(c+`snapshot-list snapdom --from with\ space `) + "$"},
		{c + "snapshot-info snapdom quo", regexp.QuoteMeta(c+`snapshot-info snapdom quo\'te\"s `) + "$"},
		{c + "snapshot-info snapdom --snapshotname ü", regexp.QuoteMeta(c+"snapshot-info snapdom --snapshotname ünïcødé-快照 ") + "$"},
		{c + "snapshot-dumpxml snapdom a-v", regexp.QuoteMeta(c+"snapshot-dumpxml snapdom a-very-long-snapshot-name-for-padding ") + "$"},
		{c + "help snapshot-cu", regexp.QuoteMeta(c+"help snapshot-current ") + "$"},
		{c + "ech", regexp.QuoteMeta(c+"echo ") + "$"},
		{"vmoments completion z", regexp.QuoteMeta("vmoments completion zsh ") + "$"},
		{"vmoments --conn", regexp.QuoteMeta("vmoments --connect ") + "$"},
		{"vmoments -r -c " + node + " checkpoint-i", regexp.QuoteMeta("vmoments -r -c "+node+" checkpoint-info ") + "$"},
	}
}

// TestBashCompletion: bash, with the script of `vmoments completion bash`, completes commands,
// options and names from the connection, quoted as bash reads them back; with bash-completion
// loaded too, as on most systems.
func TestBashCompletion(t *testing.T) {
	if _, err := exec.LookPath("bash"); err != nil {
		t.Fatalf("bash is needed: %v", err)
	}
	node := nodeURI(t, "testdata/node.xml")
	bin := vmomentsOnPath(t)
	preludes := []string{""}
	if _, err := os.Stat("/usr/share/bash-completion/bash_completion"); err == nil {
		preludes = append(preludes, ". /usr/share/bash-completion/bash_completion")
	}
	for _, prelude := range preludes {
		env := terminalEnv(t)
		env["PATH"] = bin + ":" + os.Getenv("PATH")
		env["PS1"] = "$ "
		cmd := exec.Command("bash", "--norc", "--noprofile", "-i")
		cmd.Env = processEnv(env)
		p := startPty(t, cmd)
		p.expect(`\$ $`)
		if prelude != "" {
			p.send(prelude + keyEnter)
			p.expect(`\$ $`)
		}
		p.send("source <(vmoments completion bash)" + keyEnter)
		p.expect(`\$ $`)
		for _, c := range completionCases(node) {
			p.send(c.typed + keyTab)
			p.expect(c.want)
			p.send(keyCtrlU)
		}
		// two Tabs list what may come: the options not given
		p.send("vmoments -c " + node + " snapshot-info snapdom " + keyTab)
		p.expect(` snapdom --$`) // what they have in common; then readline lists at the next but one
		p.send(keyTab + keyTab)
		p.expect(`--current +--json +--snapshotname`)
		p.send(keyCtrlU + "exit" + keyEnter)
		p.wait()
	}
}

// TestZshCompletion: zsh, with the script of `vmoments completion zsh` and compinit, completes
// as bash does.
func TestZshCompletion(t *testing.T) {
	if _, err := exec.LookPath("zsh"); err != nil {
		t.Fatal("zsh is not installed (make deps installs it): the zsh completion script cannot be tried")
	}
	node := nodeURI(t, "testdata/node.xml")
	env := terminalEnv(t)
	env["PATH"] = vmomentsOnPath(t) + ":" + os.Getenv("PATH")
	cmd := exec.Command("zsh", "-f", "-i")
	cmd.Env = processEnv(env)
	p := startPty(t, cmd)
	p.expect(`[%#] $`)
	p.send("PS1='$ '; autoload -Uz compinit && compinit -u -D" + keyEnter)
	p.expect(`\$ $`)
	p.send("source <(vmoments completion zsh)" + keyEnter)
	p.expect(`\$ $`)
	for _, c := range completionCases(node) {
		p.send(c.typed + keyTab)
		p.expect(c.want)
		p.send(keyCtrlU)
	}
	p.send(keyCtrlU + "exit" + keyEnter)
	p.wait()
}

// TestGoldenComplete compares the hidden complete command, which the scripts call, with virsh's:
// the same candidates, but the commands virsh has and vmoments has not (yet) and the options
// vmoments adds.
func TestGoldenComplete(t *testing.T) {
	requireVirsh(t)
	node := nodeURI(t, "testdata/node.xml")
	env := shellEnv(t, nil)
	a := newApp(&strings.Builder{}, &strings.Builder{}, func(string) (string, bool) { return "", false })
	ours := map[string]bool{}
	for _, c := range a.defs {
		ours[c.Name] = true
		for _, o := range c.Opts {
			if o.Extension {
				ours["--"+o.Name+" (ext)"] = true
			}
		}
	}
	virshCmds := map[string]bool{}
	for _, l := range strings.Split(runVirshIn(t, env, []string{"complete", "--", ""}, "", "").stdout, "\n") {
		virshCmds[l] = true
	}
	cases := [][]string{
		{""}, {"snap"}, {"snapshot-list"}, {"snapshot-list", ""}, {"snapshot-list", "s"}, {"snapshot-list", "--domain", ""},
		{"snapshot-list", "snapdom", "--from", ""}, {"snapshot-list", "snapdom", "--from", "w"}, {"snapshot-list", "snapdom", "b"},
		{"snapshot-list", "snapdom", "--from=b"}, {"snapshot-list", "snapdom", "--tr"}, {"snapshot-list", "snapdom", "--name", "--na"},
		{"snapshot-info", "snapdom", ""}, {"snapshot-info", "--domain", "snapdom", "--snapshotname", ""},
		{"snapshot-info", "snapdom", "--snapshotname", `with\ `}, {"snapshot-info", "snapdom", "quo"},
		{"snapshot-info", "--snapshotname", ""}, {"snapshot-info", "nosuch", ""}, {"snapshot-info", "empty", "--current", ""},
		{"snapshot-dumpxml", "snapdom", ""}, {"snapshot-dumpxml", "snapdom", "m"}, {"snapshot-current", "snapdom", "--snapshotname", ""},
		{"checkpoint-list", ""}, {"checkpoint-list", "s"}, {"checkpoint-info", "snapdom", ""},
		{"help", ""}, {"help", "snapshot-l"}, {"help", "--command", "ec"}, {"echo", ""}, {"echo", "--sh"}, {"echo", "a", "--err", ""},
		{"cd", ""}, {"connect", "--"}, {"snapshot-list", "--help", ""},
		{"echo a; snap"}, {"echo a;", "snapshot-list", "snapdom", "--from", "t"}, {`snapshot-list "snapd`}, {`snapshot-list snapdom --from "wi`},
		{"'#x'", ""}, {"bogus", ""}, {"snapshot-list", "--", "--"},
	}
	filter := func(out string, virsh bool) []string {
		var keep []string
		for _, l := range strings.Split(out, "\n") {
			switch {
			case l == "":
			case virsh && !strings.HasPrefix(l, "-") && virshCmds[l] && !ours[l]:
				// a command of virsh's vmoments has not
			case !virsh && ours[l+" (ext)"]:
				// an option vmoments adds
			case !virsh && !strings.HasPrefix(l, "-") && ours[l] && !virshCmds[l] && !strings.Contains(l, " "):
				// a command of vmoments' own (checkpoint-current, export, ...)
			default:
				keep = append(keep, l)
			}
		}
		slices.Sort(keep)
		return keep
	}
	for _, words := range cases {
		args := append([]string{"-c", node, "complete", "--"}, words...)
		want := runVirshIn(t, env, args, "", "")
		got := runVmomentsStdin(t, env, args, "")
		w, g := filter(want.stdout, true), filter(got.stdout, false)
		if !slices.Equal(w, g) || want.stderr != got.stderr || (want.rc != got.rc && len(w) > 0) {
			t.Errorf("complete %q:\nvirsh %s\nvmoments %s", words, want, got)
		}
	}
	t.Logf("%d completions compared with virsh's", len(cases))
}
