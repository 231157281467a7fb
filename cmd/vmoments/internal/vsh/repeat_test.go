package vsh

import (
	"reflect"
	"strings"
	"testing"
)

// TestRepeatAndOptionalArgv covers the two option shapes vmoments' own fleet commands use:
// --connect given any number of times (Repeat), and patterns that may be left out (an
// Optional Argv).
func TestRepeatAndOptionalArgv(t *testing.T) {
	cmds := []*Cmd{
		{Name: "report", Opts: []Opt{
			{Name: "connect", Kind: String, OptionOnly: true, Repeat: true},
			{Name: "sort", Kind: String, OptionOnly: true},
			{Name: "json", Kind: Bool},
			{Name: "pattern", Kind: Argv, Optional: true},
		}},
		{Name: "help", NoConnect: true, Opts: []Opt{{Name: "command", Kind: String}}},
	}
	if err := Check(cmds); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		words    []string
		connects []string
		argv     []string
		err      string
	}{
		{words: []string{"report"}},
		{words: []string{"report", "--connect", "a", "--connect=b", "web-*", "--connect", "c", "/db/"},
			connects: []string{"a", "b", "c"}, argv: []string{"web-*", "/db/"}},
		{words: []string{"report", "--pattern", "x", "y"}, argv: []string{"x", "y"}},
		{words: []string{"report", "--sort", "a", "--sort", "b"}, err: "option --sort already seen"},
		{words: []string{"report", "--connect"}, err: "expected syntax: --connect <string>"},
	} {
		ps, err := Parse(cmds, Words(tt.words))
		if tt.err != "" {
			if err == nil || !strings.Contains(lines(err), tt.err) {
				t.Errorf("%q: error %v, want %q", tt.words, err, tt.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%q: %v", tt.words, err)
			continue
		}
		p := ps[0]
		if got := p.List("connect"); !reflect.DeepEqual(got, tt.connects) {
			t.Errorf("%q: connects %q, want %q", tt.words, got, tt.connects)
		}
		if got := p.Argv(); !reflect.DeepEqual(got, tt.argv) {
			t.Errorf("%q: argv %q, want %q", tt.words, got, tt.argv)
		}
	}
	if h := cmds[0].Help(); !strings.Contains(h, "report [--connect <string>]... [--sort <string>] [--json] [<pattern>]...") {
		t.Errorf("synopsis:\n%s", h)
	}
	for _, bad := range []Opt{
		{Name: "x", Kind: String, Repeat: true},
		{Name: "x", Kind: Bool, Repeat: true},
		{Name: "x", Kind: String, Optional: true},
	} {
		if err := Check([]*Cmd{{Name: "c", Opts: []Opt{bad}}}); err == nil {
			t.Errorf("Check accepts %+v", bad)
		}
	}
}
