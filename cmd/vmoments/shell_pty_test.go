package main

import (
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
)

// The interactive shell on a terminal, driven as a user drives it: commands, line editing,
// history, Tab, Ctrl-D and Ctrl-C; and virsh on the same terminal for what both must do alike.

// Keys as a terminal sends them.
const (
	keyUp    = "\x1b[A"
	keyLeft  = "\x1b[D"
	keyEnter = "\r"
	keyCtrlA = "\x01"
	keyCtrlC = "\x03"
	keyCtrlD = "\x04"
	keyCtrlE = "\x05"
	keyCtrlU = "\x15"
	keyTab   = "\t"
)

// terminalEnv is the environment of a program on the test terminal: a HOME of its own (the
// history goes there), TERM, the golden tests' zone and locale.
func terminalEnv(t *testing.T) map[string]string {
	return testEnv(map[string]string{"HOME": t.TempDir(), "TERM": "xterm"})
}

func TestShellOnTerminal(t *testing.T) {
	env := terminalEnv(t)
	node := nodeURI(t, "testdata/node.xml")
	p := startPty(t, vmomentsCommand(t, env, "-c", node))
	p.expect(`Welcome to vmoments, the virtualization interactive terminal\.\n\nType:  'help' for help with commands\n       'quit' to quit\n\nvmoments # $`)
	p.send("echo one" + keyEnter)
	p.expect(`echo one\none\nvmoments # $`)
	p.send("snapshot-list snapdom --roots --name" + keyEnter)
	p.expect(`--dash\nbase\n\nvmoments # $`)
	// line editing: to the start, a word in front, to the end
	p.send("--shell 'a b'" + keyCtrlA + "echo " + keyCtrlE + " c" + keyEnter)
	p.expect(`'a b' c\nvmoments # $`)
	// history: the line two commands back, edited
	p.send(keyUp + keyUp)
	p.expect(`snapshot-list snapdom --roots --name$`)
	p.send(keyCtrlU + keyUp + keyUp + keyUp + keyEnter)
	p.expect(`\none\nvmoments # $`)
	// Tab completes a command, an option, a snapshot name (escaped), as virsh's does
	p.send("snapshot-in" + keyTab)
	p.expect(`snapshot-info $`)
	p.send("snapdom --snap" + keyTab)
	p.expect(`--snapshotname $`)
	p.send("wi" + keyTab)
	p.expect(`with\\ space $`)
	p.send(keyEnter)
	p.expect(`Name:           with space\n(.*\n)*\nvmoments # $`)
	// a failed command: the shell goes on
	p.send("snapshot-info snapdom nosuch" + keyEnter)
	p.expect(`error: Domain snapshot not found: no domain snapshot with matching name 'nosuch'\n\nvmoments # $`)
	// Ctrl-D on an empty line ends the shell: a newline, status 0
	p.send(keyCtrlD)
	if rc := p.wait(); rc != 0 {
		t.Errorf("Ctrl-D: exit status %d, want 0; the terminal shows:\n%s", rc, p.all())
	}
	if !strings.HasSuffix(p.all(), "vmoments # \n") {
		t.Errorf("Ctrl-D: no newline after the prompt:\n%q", p.all())
	}
	// the history was saved, and a new shell recalls it
	hist := filepath.Join(env["HOME"], ".cache", "vmoments", "history")
	want := "echo one\nsnapshot-list snapdom --roots --name\necho --shell 'a b' c\necho one\nsnapshot-info snapdom --snapshotname with\\ space \nsnapshot-info snapdom nosuch\n"
	if got := readFile(t, hist); got != want {
		t.Errorf("history file:\n%q\nwant\n%q", got, want)
	}
	p = startPty(t, vmomentsCommand(t, env, "-q", "-r", "-c", node))
	p.expect(`(\n|^)vmoments > $`) // -q: no banner; -r: virsh's read-only prompt
	if strings.Contains(p.all(), "Welcome") {
		t.Errorf("-q: a banner:\n%s", p.all())
	}
	p.send(keyUp + keyEnter)
	p.expect(`snapshot-info snapdom nosuch\nerror: .*\nvmoments > $`)
	p.send("quit" + keyEnter)
	if rc := p.wait(); rc != 0 {
		t.Errorf("quit: exit status %d, want 0", rc)
	}
	if got := readFile(t, hist); got != want+"snapshot-info snapdom nosuch\nquit\n" {
		t.Errorf("history after the second shell:\n%q", got)
	}
}

// TestShellCtrlC: Ctrl-C at the prompt ends the shell by SIGINT, as it ends virsh (whose shell
// dies of it); vmoments saves the history first. Ctrl-C while a command waits ends the command
// and the shell with status 130.
func TestShellCtrlC(t *testing.T) {
	requireVirsh(t)
	for _, prog := range []string{"virsh", "vmoments"} {
		env := terminalEnv(t)
		cmd := exec.Command("virsh", "-c", "test:///default")
		cmd.Env = processEnv(env)
		prompt := "virsh # "
		if prog == "vmoments" {
			cmd = vmomentsCommand(t, env, "-c", "test:///default")
			prompt = "vmoments # "
		}
		p := startPty(t, cmd)
		p.expect(regexp.QuoteMeta(prompt) + "$")
		p.send("echo kept" + keyEnter)
		p.expect(`kept\n` + regexp.QuoteMeta(prompt) + "$")
		p.send("ech" + keyLeft + keyCtrlC)
		if rc := p.wait(); rc != -int(syscall.SIGINT) {
			t.Errorf("%s: Ctrl-C at the prompt: %d, want death by SIGINT; the terminal shows:\n%s", prog, rc, p.all())
		}
		if prog == "vmoments" {
			if got := readFile(t, filepath.Join(env["HOME"], ".cache", "vmoments", "history")); got != "echo kept\n" {
				t.Errorf("vmoments: history after Ctrl-C: %q", got)
			}
		}
	}
}

// TestShellCompletionOnTerminal: Tab in the shell where the word opened a quote: the name is
// completed inside the quote, which is closed.
func TestShellCompletionOnTerminal(t *testing.T) {
	env := terminalEnv(t)
	node := nodeURI(t, "testdata/node.xml")
	p := startPty(t, vmomentsCommand(t, env, "-q", "-c", node))
	p.expect(`vmoments # $`)
	p.send(`snapshot-list snapdom --from "wi` + keyTab)
	p.expect(`--from "with space" $`)
	p.send("--na" + keyTab)
	p.expect(`--name $`)
	p.send(keyEnter)
	p.expect(`^\nvmoments # $`) // no children, and -q: no blank line
	// no name fits a word: file names, as readline offers them
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "my file.xml"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	p.send("validate " + dir + "/my" + keyTab)
	p.expect(regexp.QuoteMeta(dir) + `/my\\ file\.xml $`)
	p.send(keyCtrlU + "quit" + keyEnter)
	if rc := p.wait(); rc != 0 {
		t.Errorf("exit status %d", rc)
	}
}

// TestShellSignalWhileReading: a signal while the shell waits for its next line (from a pipe)
// ends it as a signal ends a command: the interruption said once, status 128+N.
func TestShellSignalWhileReading(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM} {
		cmd := vmomentsCommand(t, testEnv(nil), "-q", "-c", "test:///default")
		in, err := cmd.StdinPipe()
		if err != nil {
			t.Fatal(err)
		}
		defer in.Close()
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		var errb strings.Builder
		cmd.Stderr = &errb
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, len("vmoments # "))
		if _, err := io.ReadFull(out, buf); err != nil || string(buf) != "vmoments # " {
			t.Fatalf("no prompt: %q, %v", buf, err)
		}
		cmd.Process.Signal(sig)
		rest, _ := io.ReadAll(out)
		err = cmd.Wait()
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != 128+int(sig) {
			t.Errorf("%v: %v, want exit status %d", sig, err, 128+int(sig))
		}
		if want := "error: interrupted by " + signalName(sig) + "\n"; libvirtLogLine.ReplaceAllString(errb.String(), "") != want || string(rest) != "\n" {
			t.Errorf("%v: stdout %q, stderr %q; want %q, %q", sig, rest, errb.String(), "\n", want)
		}
	}
}
