package main

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"unsafe"

	"github.com/mattn/go-isatty"

	"github.com/vmoments/vmoments/cmd/vmoments/internal/vsh"
)

// The editing loop of snapshot-edit and checkpoint-edit: virsh's tools/virsh-edit.c with
// vshEditWriteToTempFile, vshEditFile, vshEditReadBackFile and vshAskReedit (tools/vsh.c).
//
//  1. The moment's XML is written to $TMPDIR/virshXXXXXX.xml (TMPDIR defaults to /tmp).
//  2. The editor runs on it: $VISUAL, else $EDITOR, else vi. An editor made only of letters,
//     digits and "-/_.:@" runs directly; any other is run by sh -c "EDITOR FILE", which refuses
//     a file name that is not made of those characters.
//  3. The file is read back; if it is unchanged the command says so (the caller decides).
//  4. The XML is asked again; if someone else changed it meanwhile, or libvirt refuses the
//     edited XML, virsh asks on a terminal "Try again? [y,n,f,?]" (y: edit again, n: give up,
//     f: define again). When standard input is not a terminal it does not ask.

// editStep is one moment's edit: how to get its XML, what to do when it is unchanged, and how
// to define the edited XML.
type editStep struct {
	// getXML asks libvirt for the moment's XML (with the secure parts).
	getXML func() (string, error)
	// unchanged runs when the file was saved unchanged; it reports whether the edit ends there
	// (true) or goes on to define the XML anyway (snapshot-edit --current).
	unchanged func() bool
	// define defines the edited XML; doc is the moment's XML as last read.
	define func(doc, edited string) error
}

// editFailure is a failed edit: the lines to print before the command's "Failed to update
// NAME", and libvirt's error still to report after it (virsh reports a pending libvirt error
// when the command has ended).
type editFailure struct {
	before  []string
	pending error
	// err is the cause (a canceled context), for errors.Is.
	err error
}

func (e *editFailure) Error() string { return strings.Join(e.before, "\n") }
func (e *editFailure) Unwrap() error { return e.err }

// asError is the failure as the command reports it, for a moment named name.
func (e *editFailure) asError(name string) error {
	lines := append(e.before, "Failed to update "+name)
	if e.pending != nil {
		lines = append(lines, libvirtMessage(e.pending))
	}
	return &vsh.Error{Lines: lines, Err: e.err}
}

// edit runs the editing loop. It returns whether the XML was defined (false: unchanged) or an
// *editFailure.
func (a *app) edit(ctx context.Context, st editStep) (bool, error) {
	doc, err := st.getXML()
	if err != nil {
		return false, &editFailure{pending: err, err: err}
	}
	tmp, err := a.editTempFile(doc)
	if err != nil {
		return false, err
	}
	defer os.Remove(tmp)
	var edited string
	for reedit := true; ; {
		if reedit {
			if err := a.editFile(ctx, tmp); err != nil {
				return false, err
			}
			if err := ctx.Err(); err != nil {
				return false, &editFailure{err: err}
			}
			if edited, err = readTempFile(tmp); err != nil {
				return false, err
			}
			if edited == doc && st.unchanged() {
				return false, nil
			}
		}
		reedit = false
		// redefine:
		msg := ""
		reread, err := st.getXML()
		if err != nil {
			return false, &editFailure{pending: err, err: err}
		}
		var defErr error
		if reread != doc {
			msg = "The XML configuration was changed by another user."
			doc = reread
		}
		if msg == "" {
			if defErr = st.define(doc, edited); defErr == nil {
				return true, nil
			}
			msg = "Failed."
		}
		switch a.askReedit(msg, defErr) {
		case 'y':
			reedit = true
		case 'f':
		case 'n':
			return false, &editFailure{err: defErr}
		default:
			// Not a terminal: virsh 9.0 prints the message and then crashes (it goes on
			// with the moment it failed to define); vmoments stops with libvirt's error.
			return false, &editFailure{before: []string{msg}, pending: defErr, err: defErr}
		}
	}
}

// editTempFile is vshEditWriteToTempFile: doc in a new $TMPDIR/virshXXXXXX.xml (mode 0600).
func (a *app) editTempFile(doc string) (string, error) {
	dir, ok := a.env("TMPDIR")
	if !ok {
		dir = "/tmp"
	}
	const letters = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
	var f *os.File
	var err error
	for range 100 {
		var r [6]byte
		if _, err = rand.Read(r[:]); err != nil {
			break
		}
		for i := range r {
			r[i] = letters[int(r[i])%len(letters)]
		}
		name := dir + "/virsh" + string(r[:]) + ".xml"
		f, err = os.OpenFile(name, os.O_RDWR|os.O_CREATE|os.O_EXCL|syscall.O_CLOEXEC, 0o600)
		if !errors.Is(err, os.ErrExist) {
			break
		}
	}
	if err != nil {
		return "", &editFailure{before: []string{"g_mkstemp_full: failed to create temporary file: " + strerror(err)}}
	}
	name := f.Name()
	if _, err := io.WriteString(f, doc); err != nil {
		f.Close()
		os.Remove(name)
		return "", &editFailure{before: []string{fmt.Sprintf("write: %s: failed to write to temporary file: %s", name, strerror(err))}}
	}
	if err := f.Close(); err != nil {
		os.Remove(name)
		return "", &editFailure{before: []string{fmt.Sprintf("close: %s: failed to write or close temporary file: %s", name, strerror(err))}}
	}
	return name, nil
}

// readTempFile is vshEditReadBackFile (virFileReadAll with VSH_MAX_XML_FILE).
func readTempFile(name string) (string, error) {
	b, err := os.ReadFile(name)
	if err == nil && len(b) > maxXMLFile {
		err = syscall.EFBIG
	}
	if err != nil {
		return "", &editFailure{before: []string{fmt.Sprintf("%s: failed to read temporary file: %s", name, strerror(err))}}
	}
	s := string(b)
	if i := strings.IndexByte(s, 0); i >= 0 {
		s = s[:i]
	}
	return s, nil
}

// editorChars are the characters virsh accepts in $EDITOR and the file name without a shell.
const editorChars = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-/_.:@"

func onlyEditorChars(s string) bool {
	for i := 0; i < len(s); i++ {
		if !strings.ContainsRune(editorChars, rune(s[i])) {
			return false
		}
	}
	return true
}

// editFile is vshEditFile: the editor runs on filename with vmoments' standard input, output
// and error, as virCommand runs it (its failures in libvirt's words).
func (a *app) editFile(ctx context.Context, filename string) error {
	editor, ok := a.env("VISUAL")
	if !ok {
		editor, ok = a.env("EDITOR")
	}
	if !ok {
		editor = "vi"
	}
	args := []string{editor, filename}
	if !onlyEditorChars(editor) {
		if !onlyEditorChars(filename) {
			return &editFailure{before: []string{filename + ": temporary filename contains shell meta or other unacceptable characters (is $TMPDIR wrong?)"}}
		}
		args = []string{"sh", "-c", editor + " " + filename}
	}
	child := commandString(args)
	bin, ok := findBinary(args[0])
	if !ok {
		// virCommand's words (a system error: ENOENT)
		return &editFailure{before: []string{"Cannot find '" + args[0] + "' in path: No such file or directory"}}
	}
	cmd := &exec.Cmd{Path: bin, Args: args, Stdin: os.Stdin, Stdout: a.stdout, Stderr: a.stderr, Env: os.Environ()}
	if err := cmd.Start(); err != nil {
		// virCommand's child reports the failed exec itself and exits 127 (ENOENT) or 126.
		status := 126
		if errors.Is(err, os.ErrNotExist) {
			status = 127
		}
		fmt.Fprintf(a.stderr, "libvirt:  error : cannot execute binary %s: %s\n", bin, strerror(err))
		return &editFailure{before: []string{fmt.Sprintf("internal error: Child process (%s) unexpected exit status %d", child, status)}}
	}
	err := cmd.Wait()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		ws, _ := ee.Sys().(syscall.WaitStatus)
		how := fmt.Sprintf("exit status %d", ws.ExitStatus())
		if ws.Signaled() {
			how = fmt.Sprintf("fatal signal %d", int(ws.Signal()))
		}
		return &editFailure{before: []string{fmt.Sprintf("internal error: Child process (%s) unexpected %s", child, how)}}
	}
	if err != nil {
		return &editFailure{before: []string{err.Error()}, err: err}
	}
	return nil
}

// findBinary is virCommand's lookup of the program: an absolute path as it is, a relative one
// with a slash if it is executable, a bare name on $PATH.
func findBinary(name string) (string, bool) {
	if filepath.IsAbs(name) {
		return name, true
	}
	path := ""
	if strings.Contains(name, "/") {
		if st, err := os.Stat(name); err == nil && st.Mode().IsRegular() && st.Mode()&0o111 != 0 {
			path = name
		}
	} else if p, err := exec.LookPath(name); err == nil && name != "" {
		path = p
	}
	if path == "" {
		return "", false
	}
	abs, err := filepath.Abs(path)
	return abs, err == nil
}

// commandString is virCommandToString: the arguments, each quoted for sh where it needs it
// (virBufferEscapeShell), joined by spaces.
func commandString(args []string) string {
	out := make([]string, len(args))
	for i, a := range args {
		switch {
		case a == "":
			out[i] = "''"
		case !strings.ContainsAny(a, "\r\t\n !\"#$&'()*;<>?[\\]^`{|}~"):
			out[i] = a
		default:
			out[i] = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
		}
	}
	return strings.Join(out, " ")
}

// askReedit is vshAskReedit: on a terminal, libvirt's error (if any) and then "MSG Try again?
// [y,n,f,?]: " until y, n or f is typed, one key at a time in raw mode; the answer. It returns
// -1 without asking when standard input is not a terminal (or cannot be made raw).
func (a *app) askReedit(msg string, libvirtErr error) int {
	fd := os.Stdin.Fd()
	if !isatty.IsTerminal(fd) {
		return -1
	}
	if libvirtErr != nil {
		vsh.Report(a.stderr, &vsh.Error{Lines: []string{libvirtMessage(libvirtErr)}})
	} else {
		vsh.Report(a.stderr, errors.New("unknown error"))
	}
	saved, err := makeRaw(fd)
	if err != nil {
		return -1
	}
	var c int
	for {
		a.printf("\r%s %s %s: ", msg, "Try again?", "[y,n,f,?]")
		var b [1]byte
		if n, err := os.Stdin.Read(b[:]); n == 0 || err != nil {
			c = 'n' // end of input: give up (virsh would ask forever)
			break
		}
		c = int(b[0])
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c == '?' {
			for _, l := range []string{"", "y - yes, start editor again", "n - no, throw away my changes",
				"f - force, try to redefine again", "? - print this help"} {
				a.printf("%s\r\n", l)
			}
			continue
		}
		if c == 'y' || c == 'n' || c == 'f' {
			break
		}
	}
	restoreTTY(fd, saved)
	a.printf("\r\n")
	return c
}

// makeRaw is vshTTYMakeRaw: cfmakeraw on the terminal, applied with TCSAFLUSH; it returns the
// settings to restore.
func makeRaw(fd uintptr) (*syscall.Termios, error) {
	var saved syscall.Termios
	if err := ioctl(fd, syscall.TCGETS, &saved); err != nil {
		return nil, err
	}
	raw := saved
	raw.Iflag &^= syscall.IGNBRK | syscall.BRKINT | syscall.PARMRK | syscall.ISTRIP | syscall.INLCR | syscall.IGNCR | syscall.ICRNL | syscall.IXON
	raw.Oflag &^= syscall.OPOST
	raw.Lflag &^= syscall.ECHO | syscall.ECHONL | syscall.ICANON | syscall.ISIG | syscall.IEXTEN
	raw.Cflag &^= syscall.CSIZE | syscall.PARENB
	raw.Cflag |= syscall.CS8
	raw.Cc[syscall.VMIN] = 1
	raw.Cc[syscall.VTIME] = 0
	if err := ioctl(fd, tcsetsf, &raw); err != nil {
		return nil, err
	}
	return &saved, nil
}

// restoreTTY is vshTTYRestore.
func restoreTTY(fd uintptr, saved *syscall.Termios) {
	_ = ioctl(fd, tcsetsf, saved)
}

// tcsetsf is Linux's TCSETSF ioctl: tcsetattr with TCSAFLUSH.
const tcsetsf = 0x5404

func ioctl(fd, req uintptr, t *syscall.Termios) error {
	if _, _, errno := syscall.Syscall(syscall.SYS_IOCTL, fd, req, uintptr(unsafe.Pointer(t))); errno != 0 {
		return errno
	}
	return nil
}
