package vsh

import "strings"

// Token is what a [Tokenizer] found.
type Token int

const (
	// Word is one word of a command.
	Word Token = iota
	// EndCommand ends one command of several (';', a newline, a comment).
	EndCommand
	// End is the end of the input.
	End
)

// Tokenizer yields the words of command lines: virsh's two parsers (vshCommandArgvGetArg and
// vshCommandStringGetArg).
type Tokenizer interface {
	// Next returns the next token and, for Word, the word; the error is an *Error.
	Next() (Token, string, error)
}

// Words is the tokenizer of a command given as separate words (vmoments snapshot-list dom):
// every word is a Word, taken as it is.
func Words(words []string) Tokenizer { return &argvTokens{words: words} }

type argvTokens struct{ words []string }

func (t *argvTokens) Next() (Token, string, error) {
	if len(t.words) == 0 {
		return End, "", nil
	}
	w := t.words[0]
	t.words = t.words[1:]
	return Word, w, nil
}

// CommandString is the tokenizer of commands given as one string (vmoments 'cmd1 ...; cmd2
// ...'), as vshCommandStringGetArg splits it: blanks (space, tab, a backslash-newline) separate
// words; ';' and newlines end a command; '#' at the start of a word comments out the rest of the
// line; inside single quotes every character is itself; outside them a backslash takes the next
// character as it is (a backslash-newline is dropped) and double quotes group. An unclosed
// double quote is `missing "`, a backslash at the end `dangling \` (an unclosed single quote
// ends with the input, as in virsh).
func CommandString(s string) Tokenizer { return &stringTokens{s: s, orig: s} }

type stringTokens struct {
	// s is what is left to read of orig.
	s, orig string
}

func (t *stringTokens) Next() (Token, string, error) { return t.next(true) }

// pos is virsh's parser->pos: how much of the input the tokens read so far took (the blanks
// before the end of the input are not taken).
func (t *stringTokens) pos() int { return len(t.orig) - len(t.s) }

// next is vshCommandStringGetArg; report false is its completion mode, where an unclosed
// double quote ends the word instead of failing it (the word being typed).
func (t *stringTokens) next(report bool) (Token, string, error) {
	s := t.s
	i := skipBlanks(s)
	if i == len(s) {
		return End, "", nil
	}
	switch s[i] {
	case ';', '\n':
		t.s = s[i+1:]
		return EndCommand, "", nil
	case '#':
		t.s = s[endOfLine(s, i):]
		return EndCommand, "", nil
	}
	w, n, err := readWord(s[i:], report)
	if err != nil {
		return End, "", err
	}
	t.s = s[i+n:]
	return Word, w, nil
}

// skipBlanks returns the index of the first character of s that is not a blank (space, tab, or
// a backslash-newline).
func skipBlanks(s string) int {
	i := 0
	for i < len(s) {
		switch {
		case s[i] == ' ' || s[i] == '\t':
			i++
		case s[i] == '\\' && i+1 < len(s) && s[i+1] == '\n':
			i += 2
		default:
			return i
		}
	}
	return i
}

// endOfLine returns the index just past the newline that ends the line holding s[i], or len(s).
func endOfLine(s string, i int) int {
	if j := strings.IndexByte(s[i:], '\n'); j >= 0 {
		return i + j + 1
	}
	return len(s)
}

// readWord reads one word from the start of s (which is not a blank, ';', '\n' or '#') and
// returns it and how many bytes of s it took.
func readWord(s string, report bool) (string, int, error) {
	var w strings.Builder
	single, double := false, false
	i := 0
	for i < len(s) {
		c := s[i]
		if !single && !double && (c == ' ' || c == '\t' || c == ';' || c == '\n') {
			break
		}
		switch {
		case !double && c == '\'':
			single = !single
			i++
			continue
		case !single && c == '\\':
			i++
			if i == len(s) {
				return "", 0, Errorf(`dangling \`)
			}
			if s[i] == '\n' {
				i++
				continue
			}
		case !single && c == '"':
			double = !double
			i++
			continue
		}
		w.WriteByte(s[i])
		i++
	}
	if double && report {
		return "", 0, Errorf(`missing "`)
	}
	return w.String(), i, nil
}
