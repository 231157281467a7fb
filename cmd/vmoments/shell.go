package main

import (
	"bufio"
	"context"
	"errors"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
	"unicode/utf8"

	"github.com/peterh/liner"

	"github.com/vmoments/vmoments/cmd/vmoments/internal/vsh"
)

// The shell is virsh's interactive mode: without a command on the command line, commands are
// read from standard input, one line at a time, each line parsed as a command string (';'
// separators, '#' comments, virsh's quoting) and run as virsh's vshCommandRun runs a line.
//
// As virsh's readline does, the prompt ("vmoments # ", "vmoments > " on a read-only
// connection) is printed before each line, and a line that does not come from a terminal is
// echoed after it, so a batch's output reads as the session it was; a carriage return ends a
// line as a newline does, and Ctrl-D at the start of a line ends the input. On a terminal the
// line is edited (github.com/peterh/liner: arrows, Ctrl-A/E/K/U/W, Ctrl-R search, Tab
// completion as virsh's) and kept in a history, ~/.cache/vmoments/history (under
// $XDG_CACHE_HOME if set), at most $VIRSH_HISTSIZE lines (500 unless set, as virsh's).
//
// The input ends with quit or exit, or at its end (Ctrl-D), and then a newline is printed as
// virsh prints one; the exit status is then 0 whatever the commands did, as virsh's. Ctrl-C
// at a terminal's prompt ends vmoments as it ends virsh, by SIGINT (the history is saved
// first); during a command it interrupts the command (signal.go) and ends the shell.

// Prompts of virsh's shell, with vmoments' name.
const (
	promptRW = "vmoments # "
	promptRO = "vmoments > "
)

// histsizeMax is the largest history virsh keeps.
const histsizeMax = 500000

// errAborted is Ctrl-C at a terminal's prompt.
var errAborted = errors.New("aborted at the prompt")

// lineReader reads the shell's lines.
type lineReader interface {
	// readLine prints prompt and returns the next line, io.EOF at the end of the input,
	// errAborted for Ctrl-C at a terminal's prompt, or the context's error.
	readLine(ctx context.Context, prompt string) (string, error)
	close()
}

// shell runs the commands of standard input (virsh's interactive mode) and returns the exit
// status.
func (a *app) shell() int {
	hist, err := a.newHistory()
	if err != nil {
		a.report(err)
	}
	if a.g.URIGiven {
		if status, ok := a.connectAtStart(); !ok {
			return status
		}
	}
	var r lineReader
	if a.stdinTTY && a.stdoutTTY {
		tr, err := a.newTerminalReader(hist)
		if err != nil {
			a.report(err)
			return 1
		}
		r = tr
	} else {
		r = newPlainReader(a.stdin, a.stdout, echoWidth(a.env))
	}
	defer r.close()
	defer func() { a.history.save(a) }()
	if !a.g.Quiet {
		a.printf("Welcome to %s, the virtualization interactive terminal.\n\n", progname)
		a.printf("Type:  'help' for help with commands\n       'quit' to quit\n\n")
	}
	for a.imode {
		prompt := promptRW
		if a.g.Readonly {
			prompt = promptRO
		}
		line, err := r.readLine(a.ctx, prompt)
		switch {
		case errors.Is(err, io.EOF):
			a.printf("\n")
			return 0
		case errors.Is(err, errAborted):
			r.close()
			a.history.save(a)
			a.history = nil
			a.dieBySIGINT()
			return 130
		case err != nil:
			if s := a.interruption(nil); s != 0 {
				return s // a signal while the shell waited for a line
			}
			a.report(err)
			return 1
		}
		if line == "" {
			continue
		}
		a.history.add(line)
		parsed, err := vsh.ParseTraced(a.defs, vsh.CommandString(line), a.traceParse)
		if err != nil {
			a.report(err)
			continue
		}
		if status, _ := a.runAll(parsed); status > 1 {
			return status // a signal: the shell ends, as virsh does
		}
	}
	a.printf("\n") // virsh's line break after the last prompt, after quit too
	return 0
}

// dieBySIGINT ends the process by SIGINT, as virsh dies of Ctrl-C at its prompt (a shell then
// sees it was interrupted).
func (a *app) dieBySIGINT() {
	if a.drv != nil {
		a.drv.Close()
		a.drv = nil
	}
	a.closeLog()
	signal.Reset(syscall.SIGINT)
	syscall.Kill(syscall.Getpid(), syscall.SIGINT)
	time.Sleep(time.Second) // the signal is delivered meanwhile
}

// plainReader reads lines that do not come from a terminal, as virsh's readline reads them.
type plainReader struct {
	out   io.Writer
	lines chan lineOrEOF
	// scroll is readline's screen width when it echoes in horizontal-scroll mode, 0 when it
	// echoes the line as it is (see echoWidth).
	scroll int
}

type lineOrEOF struct {
	line string
	eof  bool
}

func newPlainReader(in io.Reader, out io.Writer, scroll int) *plainReader {
	r := &plainReader{out: out, lines: make(chan lineOrEOF), scroll: scroll}
	go r.feed(bufio.NewReader(in))
	return r
}

// feed sends the lines of in: a newline or a carriage return ends one; Ctrl-D (0x04) at the
// start of a line, or the end of the input, ends them (a last line without a newline is a line).
func (r *plainReader) feed(in *bufio.Reader) {
	var line []byte
	for {
		c, err := in.ReadByte()
		switch {
		case err != nil && len(line) > 0:
			r.lines <- lineOrEOF{line: string(line)}
			fallthrough
		case err != nil, c == 0x04 && len(line) == 0:
			r.lines <- lineOrEOF{eof: true}
			close(r.lines)
			return
		case c == '\n' || c == '\r':
			r.lines <- lineOrEOF{line: string(line)}
			line = line[:0]
		default:
			line = append(line, c)
		}
	}
}

func (r *plainReader) readLine(ctx context.Context, prompt string) (string, error) {
	io.WriteString(r.out, prompt)
	select {
	case l, ok := <-r.lines:
		if !ok || l.eof {
			return "", io.EOF
		}
		io.WriteString(r.out, echoLine(prompt, l.line, r.scroll)) // readline echoes what it read
		return l.line, nil
	case <-ctx.Done():
		io.WriteString(r.out, "\n")
		return "", context.Cause(ctx)
	}
}

func (r *plainReader) close() {}

// echoWidth is the screen width readline echoes a line that does not come from a terminal
// with, in its horizontal-scroll mode, which it uses on a terminal type that cannot move the
// cursor up: TERM unset, empty or "dumb". The width is $COLUMNS, else terminfo's 80 for dumb.
// It is 0 for any other TERM: readline then echoes the line whole.
func echoWidth(env func(string) (string, bool)) int {
	if term, _ := env("TERM"); term != "" && term != "dumb" {
		return 0
	}
	if c, ok := env("COLUMNS"); ok {
		if n, err := strconv.Atoi(c); err == nil && n > 0 {
			return n
		}
	}
	return 80
}

// echoLine is what readline writes after the prompt for a line it read at once (one redisplay,
// the cursor at the end): the line and a newline, or in horizontal-scroll mode with width
// columns, when the cursor would stand past width-2, a carriage return and the last two
// thirds of the screen of prompt and line, its first character replaced by '<' (readline's
// display.c: the left margin is the cursor position less 2*(width/3)). Positions are bytes.
func echoLine(prompt, line string, width int) string {
	all := prompt + line
	if width <= 0 || len(all) <= width-2 {
		return line + "\n"
	}
	lmargin := max(len(all)-2*(width/3), 0)
	return "\r<" + all[lmargin+1:] + "\n"
}

// terminalReader reads lines from a terminal, edited and with the shell's history.
type terminalReader struct {
	st     *liner.State
	closed bool
}

func (a *app) newTerminalReader(h *history) (*terminalReader, error) {
	st := liner.NewLiner()
	st.SetCtrlCAborts(true)
	st.SetTabCompletionStyle(liner.TabPrints)
	st.SetWordCompleter(func(line string, pos int) (string, []string, string) {
		return a.completeWord(line, pos)
	})
	if h != nil {
		for _, l := range h.lines {
			st.AppendHistory(l)
		}
		h.liner = st
	}
	a.history = h
	return &terminalReader{st: st}, nil
}

func (r *terminalReader) readLine(ctx context.Context, prompt string) (string, error) {
	type answer struct {
		line string
		err  error
	}
	ch := make(chan answer, 1)
	go func() {
		l, err := r.st.Prompt(prompt)
		ch <- answer{l, err}
	}()
	select {
	case ans := <-ch:
		if errors.Is(ans.err, liner.ErrPromptAborted) {
			return "", errAborted
		}
		return ans.line, ans.err
	case <-ctx.Done():
		r.close()
		os.Stdout.WriteString("\n")
		return "", context.Cause(ctx)
	}
}

func (r *terminalReader) close() {
	if !r.closed {
		r.closed = true
		r.st.Close()
	}
}

// completeWord is the terminal's Tab: the word before the cursor (pos, in runes), found as
// virsh's readline finds it (after the last unquoted blank or one of `@$><=;|&{(, or after an
// open quote), is completed as virsh completes it (app.complete), else as a file name. A single
// completion is followed by a space (and the quote it opened closed), as readline does.
func (a *app) completeWord(line string, pos int) (string, []string, string) {
	runes := []rune(line)
	if pos > len(runes) {
		pos = len(runes)
	}
	before, tail := string(runes[:pos]), string(runes[pos:])
	start, quote := wordStart(before)
	head, text := before[:start], before[start:]
	matches := a.complete(a.ctx, before, text, quote != 0)
	files := false
	if len(matches) == 0 {
		matches, files = fileNames(text, quote != 0), true
	}
	if len(matches) == 1 && !(files && strings.HasSuffix(matches[0], "/")) {
		if quote != 0 {
			matches[0] += string(quote)
		}
		matches[0] += " "
	}
	return head, matches, tail
}

// wordStart returns where the word to complete starts in line and the quote it opened (0 for
// none), by readline's rules with virsh's word breaks and quotes.
func wordStart(line string) (int, byte) {
	const breaks = " \t\n`@$><=;|&{("
	start := 0
	var quote byte
	for i := 0; i < len(line); i++ {
		c := line[i]
		switch {
		case quote != 0:
			if c == quote {
				quote = 0
			}
		case c == '\\':
			i++ // the next character is quoted
		case c == '"' || c == '\'':
			quote, start = c, i+1
		case strings.IndexByte(breaks, c) >= 0:
			start = i + 1
		}
	}
	if quote == 0 && start < len(line) && (line[start] == '"' || line[start] == '\'') {
		start++
	}
	return start, quote
}

// fileNames is readline's file name completion: the entries of text's directory that begin
// with its last part, directories with a slash, spaces escaped unless quoted.
func fileNames(text string, quoted bool) []string {
	word := text
	if !quoted {
		word = strings.ReplaceAll(word, `\ `, " ")
	}
	dir, prefix := filepath.Split(word)
	list := dir
	if list == "" {
		list = "."
	}
	entries, err := os.ReadDir(list)
	if err != nil {
		return nil
	}
	var out []string
	for _, e := range entries {
		name := e.Name()
		if !strings.HasPrefix(name, prefix) || (strings.HasPrefix(name, ".") && !strings.HasPrefix(prefix, ".")) {
			continue
		}
		m := dir + name
		if info, err := os.Stat(filepath.Join(list, name)); err == nil && info.IsDir() {
			m += "/"
		}
		if !quoted {
			m = strings.ReplaceAll(m, " ", `\ `)
		}
		out = append(out, m)
	}
	return out
}

// history is the shell's history file.
type history struct {
	path  string
	max   int
	lines []string
	liner *liner.State
}

// newHistory reads the history file, and checks $VIRSH_HISTSIZE as virsh does in its shell
// (a bad value is an error, and no history is kept). It keeps a history only when the shell
// reads a terminal (virsh's readline keeps one for piped input too).
func (a *app) newHistory() (*history, error) {
	max := 500
	if v, ok := a.env("VIRSH_HISTSIZE"); ok {
		n, valid := vsh.StrToInt(v, 10)
		switch {
		case !valid:
			return nil, vsh.Errorf("Bad $VIRSH_HISTSIZE value.")
		case n < 0 || n > histsizeMax:
			return nil, vsh.Errorf("$VIRSH_HISTSIZE value should be between 0 and %d", histsizeMax)
		}
		max = n
	}
	if !a.stdinTTY || !a.stdoutTTY {
		return nil, nil
	}
	dir, ok := a.env("XDG_CACHE_HOME")
	if !ok || !filepath.IsAbs(dir) {
		dir = filepath.Join(homeDir(a.env), ".cache")
	}
	h := &history{path: filepath.Join(dir, progname, "history"), max: max}
	if data, err := os.ReadFile(h.path); err == nil {
		for _, l := range strings.Split(strings.TrimSuffix(string(data), "\n"), "\n") {
			if l != "" && utf8.ValidString(l) {
				h.lines = append(h.lines, l)
			}
		}
		h.trim()
	}
	return h, nil
}

func (h *history) add(line string) {
	if h == nil {
		return
	}
	h.lines = append(h.lines, line)
	h.trim()
	if h.liner != nil {
		h.liner.AppendHistory(line)
	}
}

func (h *history) trim() {
	if len(h.lines) > h.max {
		h.lines = h.lines[len(h.lines)-h.max:]
	}
}

// save writes the history file, creating its directory (virsh's vshReadlineDeinit).
func (h *history) save(a *app) {
	if h == nil {
		return
	}
	dir := filepath.Dir(h.path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		a.reportLine("Failed to create '" + dir + "': " + strerror(err))
		return
	}
	var b strings.Builder
	for _, l := range h.lines {
		b.WriteString(l + "\n")
	}
	os.WriteFile(h.path, []byte(b.String()), 0o600)
}
