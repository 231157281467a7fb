package vsh

import (
	"reflect"
	"strings"
	"testing"
)

// FuzzCommandString feeds arbitrary command strings to the tokenizer and the parser. Neither
// may panic; every error is an *Error with at least one line; and the words are what a shell
// would read back: the tokens, each written in single quotes and the commands joined by ';',
// give the same tokens and the same parse again.
func FuzzCommandString(f *testing.F) {
	for _, s := range []string{
		"snapshot-list dom --name", "snapshot-list d --from 'with space' --tree; snapshot-list d --name",
		`snapshot-info d "quo'te\"s"`, `snapshot-list d --from "unterminated`, "snapshot-list d # c\nhelp",
		`a b\`, "validate a.xml -- --b.xml", "snapshot-dumpxml d s --xpath=/x --help", "'#x' y;;\n",
		"help snapshot-list --bogus", "snapshot-list --from= d -- --tree", "a\\\n b",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if p := ParsePartial(testCmds(), s); p != nil && p.This != nil && p.Cmd == nil {
			t.Fatalf("%q: completing an option of no command", s)
		}
		cmds, toks, err := splitCommands(CommandString(s))
		if err != nil {
			checkError(t, err)
		}
		parsed, perr := Parse(testCmds(), CommandString(s))
		if perr != nil {
			checkError(t, perr)
			if parsed != nil {
				t.Fatalf("%q: commands returned with an error", s)
			}
		}
		if err != nil {
			return // the requoting below needs the whole input tokenized
		}
		var parts []string
		for _, words := range cmds {
			parts = append(parts, quote(words))
		}
		again := strings.Join(parts, ";")
		cmds2, toks2, err := splitCommands(CommandString(again))
		if err != nil || !reflect.DeepEqual(cmds2, cmds) {
			t.Fatalf("%q tokenized as %q; requoted %q gives %q, %v", s, toks, again, toks2, err)
		}
		parsed2, perr2 := Parse(testCmds(), CommandString(again))
		if (perr == nil) != (perr2 == nil) || (perr != nil && perr.Error() != perr2.Error()) {
			t.Fatalf("%q: error %v; requoted %q: error %v", s, perr, again, perr2)
		}
		if !reflect.DeepEqual(describe(parsed), describe(parsed2)) {
			t.Fatalf("%q parsed as %+v; requoted %q as %+v", s, describe(parsed), again, describe(parsed2))
		}
	})
}

// splitCommands returns the words of each non-empty command and every token.
func splitCommands(tk Tokenizer) ([][]string, []string, error) {
	var cmds [][]string
	var cur, all []string
	for {
		tok, w, err := tk.Next()
		if err != nil {
			return nil, all, err
		}
		if tok == Word {
			cur = append(cur, w)
			all = append(all, w)
			continue
		}
		if cur != nil {
			cmds = append(cmds, cur)
			cur = nil
		}
		all = append(all, "|")
		if tok == End {
			return cmds, all, nil
		}
	}
}

func checkError(t *testing.T, err error) {
	t.Helper()
	e, ok := err.(*Error)
	if !ok || len(e.Lines) == 0 {
		t.Fatalf("error %v (%T) is not an *Error with lines", err, err)
	}
}
