package vsh

import (
	"reflect"
	"strings"
	"testing"
)

// tokens returns every token of tk: a word as itself, "|" for EndCommand, "!msg" for an error
// (which ends the list).
func tokens(tk Tokenizer) []string {
	var got []string
	for {
		tok, w, err := tk.Next()
		switch {
		case err != nil:
			return append(got, "!"+err.Error())
		case tok == End:
			return got
		case tok == EndCommand:
			got = append(got, "|")
		default:
			got = append(got, w)
		}
	}
}

func TestCommandString(t *testing.T) {
	tests := []struct {
		in   string
		want []string // "|" marks a command separator, "!msg" an error
	}{
		{"snapshot-list dom --name", []string{"snapshot-list", "dom", "--name"}},
		{"a 'b c' \"d 'e'\"", []string{"a", "b c", "d 'e'"}},
		{`a b\ c "x\"y" 'p\q'`, []string{"a", "b c", `x"y`, `p\q`}},
		{"a; b\nc", []string{"a", "|", "b", "|", "c"}},
		{"a # comment\nb", []string{"a", "|", "b"}},
		{"a ''", []string{"a", ""}},
		{`a "open`, []string{"a", `!missing "`}},
		{`a b\`, []string{"a", `!dangling \`}},
		{"", nil},
		{" \t ", nil},
		{"a\\\n b", []string{"a", "b"}},               // a backslash-newline between words is a blank
		{"a\\\nb", []string{"ab"}},                    // and inside a word it is dropped
		{"'a\\\nb'", []string{"a\\\nb"}},              // but kept inside single quotes
		{"\"a;b\" 'c d;e'", []string{"a;b", "c d;e"}}, // quotes hide ';' and blanks
		{"a'b'c\"d\"e", []string{"abcde"}},            // quotes join with what touches them
		{"'open", []string{"open"}},                   // an unclosed single quote ends with the input
		{"a #x;y\nb", []string{"a", "|", "b"}},        // a comment runs to the newline, over ';'
		{"a b#c", []string{"a", "b#c"}},               // '#' inside a word is a character
		{"#only", []string{"|"}},
		{"a;;b", []string{"a", "|", "|", "b"}},
		{`\;`, []string{";"}},
		{`"\\"`, []string{`\`}},
		{"x\ty", []string{"x", "y"}},
	}
	for _, tt := range tests {
		if got := tokens(CommandString(tt.in)); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%q: got %q, want %q", tt.in, got, tt.want)
		}
	}
}

// TestCommandStringErrorStays: after an error the tokenizer does not move on: the same error
// comes again, so no later word is mistaken for a command.
func TestCommandStringErrorStays(t *testing.T) {
	tk := CommandString(`a "open; b`)
	if tok, w, err := tk.Next(); err != nil || tok != Word || w != "a" {
		t.Fatalf("first token: %v %q %v", tok, w, err)
	}
	for range 2 {
		if _, _, err := tk.Next(); err == nil || err.Error() != `missing "` {
			t.Fatalf("got %v, want missing \"", err)
		}
	}
}

func TestWords(t *testing.T) {
	in := []string{"a", "b c", "", "--x=;", "#y"}
	if got := tokens(Words(in)); !reflect.DeepEqual(got, in) {
		t.Errorf("got %q, want %q", got, in)
	}
	if got := tokens(Words(nil)); got != nil {
		t.Errorf("no words: got %q", got)
	}
}

// quote writes words so that CommandString gives them back: each in single quotes, a quote as
// '\” (close, an escaped quote, reopen).
func quote(words []string) string {
	q := make([]string, len(words))
	for i, w := range words {
		q[i] = "'" + strings.ReplaceAll(w, "'", `'\''`) + "'"
	}
	return strings.Join(q, " ")
}

func TestQuoteRoundTrip(t *testing.T) {
	words := []string{"", "a b", "it's", `back\slash`, "semi;colon", "new\nline", "#hash", `"dq"`, "tab\t"}
	if got := tokens(CommandString(quote(words))); !reflect.DeepEqual(got, words) {
		t.Errorf("got %q, want %q", got, words)
	}
}
