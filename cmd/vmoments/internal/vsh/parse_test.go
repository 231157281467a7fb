package vsh

import (
	"bytes"
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"
)

// testCmds are commands shaped as vmoments' (a list command with a positional --from, one with
// two required values, one with an option-only value, one with an argv list, and help).
func testCmds() []*Cmd {
	dom := Opt{Name: "domain", Kind: Data}
	return []*Cmd{
		{Name: "snapshot-list", Opts: []Opt{dom,
			{Name: "tree", Kind: Bool}, {Name: "name", Kind: Bool},
			{Name: "from", Kind: String}, {Name: "current", Kind: Bool}}},
		{Name: "snapshot-dumpxml", Opts: []Opt{dom, {Name: "snapshotname", Kind: Data},
			{Name: "xpath", Kind: String, OptionOnly: true}, {Name: "wrap", Kind: Bool}}},
		{Name: "validate", NoConnect: true, Opts: []Opt{{Name: "file", Kind: Argv}}},
		{Name: "help", NoConnect: true, Opts: []Opt{{Name: "command", Kind: String}}},
	}
}

// parsed describes one parsed command for comparison.
type parsed struct {
	cmd  string
	vals map[string]string
	has  []string
	argv []string
}

func describe(ps []*Parsed) []parsed {
	var out []parsed
	for _, p := range ps {
		d := parsed{cmd: p.Cmd.Name, vals: p.Values(), argv: p.Argv()}
		for _, o := range p.Cmd.Opts {
			if p.Has(o.Name) {
				d.has = append(d.has, o.Name)
			}
		}
		out = append(out, d)
	}
	return out
}

// lines is an error as the tests write it: its lines joined by "\nerror: ", as they are printed.
func lines(err error) string {
	var e *Error
	if !errors.As(err, &e) {
		return "not an *Error: " + err.Error()
	}
	return strings.Join(e.Lines, "\nerror: ")
}

func TestParse(t *testing.T) {
	type vals = map[string]string
	tests := []struct {
		args []string
		want []parsed
		err  string
	}{
		// positional values fill <domain>, then --from; options may come anywhere
		{[]string{"snapshot-list", "d", "s1"}, []parsed{{"snapshot-list", vals{"domain": "d", "from": "s1"}, []string{"domain", "from"}, nil}}, ""},
		{[]string{"snapshot-list", "--tree", "d"}, []parsed{{"snapshot-list", vals{"domain": "d"}, []string{"domain", "tree"}, nil}}, ""},
		{[]string{"snapshot-list", "--from", "--x", "d"}, []parsed{{"snapshot-list", vals{"domain": "d", "from": "--x"}, []string{"domain", "from"}, nil}}, ""},
		{[]string{"snapshot-list", "--from=", "d"}, []parsed{{"snapshot-list", vals{"domain": "d", "from": ""}, []string{"domain", "from"}, nil}}, ""},
		{[]string{"snapshot-list", "--from=a=b", "d"}, []parsed{{"snapshot-list", vals{"domain": "d", "from": "a=b"}, []string{"domain", "from"}, nil}}, ""},
		{[]string{"snapshot-list", "--domain", "d", "s1"}, []parsed{{"snapshot-list", vals{"domain": "d", "from": "s1"}, []string{"domain", "from"}, nil}}, ""},
		{[]string{"snapshot-list", "--", "--d"}, []parsed{{"snapshot-list", vals{"domain": "--d"}, []string{"domain"}, nil}}, ""},
		{[]string{"snapshot-list", "d", "--", "--tree"}, []parsed{{"snapshot-list", vals{"domain": "d", "from": "--tree"}, []string{"domain", "from"}, nil}}, ""},
		{[]string{"snapshot-list", "d", "-x"}, []parsed{{"snapshot-list", vals{"domain": "d", "from": "-x"}, []string{"domain", "from"}, nil}}, ""},
		{[]string{"snapshot-list", "d", "---x"}, []parsed{{"snapshot-list", vals{"domain": "d", "from": "---x"}, []string{"domain", "from"}, nil}}, ""},
		{[]string{"snapshot-list", "d", "s1", "s2"}, nil, "unexpected data 's2'"},
		{[]string{"snapshot-list", "d", "--from"}, nil, "expected syntax: --from <string>"},
		{[]string{"snapshot-list", "d", "--tree=1"}, nil, "invalid '=' after option --tree"},
		{[]string{"snapshot-list", "d", "--tree", "--tree"}, nil, "option --tree already seen"},
		{[]string{"snapshot-list", "d", "s1", "--from", "s2"}, nil, "option --from already seen"},
		{[]string{"snapshot-list", "--nope"}, nil, "command 'snapshot-list' doesn't support option --nope"},
		{[]string{"snapshot-list", "--nope", "--tree=1"}, nil, "command 'snapshot-list' doesn't support option --nope"},
		{[]string{"snapshot-list"}, nil, "command 'snapshot-list' requires <domain> option"},
		{[]string{"snapshot-dumpxml"}, nil, "command 'snapshot-dumpxml' requires <domain> option\nerror: command 'snapshot-dumpxml' requires <snapshotname> option"},
		{[]string{"snapshot-dumpxml", "d"}, nil, "command 'snapshot-dumpxml' requires <snapshotname> option"},
		// an option-only value is never filled by position
		{[]string{"snapshot-dumpxml", "d", "s", "x"}, nil, "unexpected data 'x'"},
		{[]string{"snapshot-dumpxml", "d", "s", "--xpath", "x"}, []parsed{{"snapshot-dumpxml", vals{"domain": "d", "snapshotname": "s", "xpath": "x"}, []string{"domain", "snapshotname", "xpath"}, nil}}, ""},
		{[]string{"nope"}, nil, "unknown command: 'nope'"},
		// --help anywhere makes it help COMMAND, even with a required option missing
		{[]string{"snapshot-list", "--help"}, []parsed{{"help", vals{"command": "snapshot-list"}, []string{"command"}, nil}}, ""},
		{[]string{"snapshot-dumpxml", "d", "--help", "--wrap"}, []parsed{{"help", vals{"command": "snapshot-dumpxml"}, []string{"command"}, nil}}, ""},
		{[]string{"snapshot-list", "--help=x"}, nil, "invalid '=' after option --help"},
		// help ignores what it does not know
		{[]string{"help", "snapshot-list", "extra", "--bogus"}, []parsed{{"help", vals{"command": "snapshot-list"}, []string{"command"}, nil}}, ""},
		{[]string{"help"}, []parsed{{"help", vals{}, nil, nil}}, ""},
		// argv: every positional word, in order; required
		{[]string{"validate", "a.xml", "--", "--b.xml", "-c"}, []parsed{{"validate", vals{}, []string{"file"}, []string{"a.xml", "--b.xml", "-c"}}}, ""},
		{[]string{"validate"}, nil, "command 'validate' requires <file> option"},
		// and --file VALUE is one more word, any number of times, in order with the others
		{[]string{"validate", "--file", "a.xml"}, []parsed{{"validate", vals{}, []string{"file"}, []string{"a.xml"}}}, ""},
		{[]string{"validate", "a.xml", "--file=b.xml", "c.xml", "--file", "--d.xml"}, []parsed{{"validate", vals{}, []string{"file"}, []string{"a.xml", "b.xml", "c.xml", "--d.xml"}}}, ""},
		{[]string{"validate", "--file"}, nil, "expected syntax: --file <string>"},
		// a command word starting with '#' is a comment
		{[]string{"#snapshot-list", "--bogus"}, nil, ""},
		{nil, nil, ""},
	}
	for _, tt := range tests {
		got, err := Parse(testCmds(), Words(tt.args))
		msg := ""
		if err != nil {
			msg = lines(err)
		}
		if msg != tt.err {
			t.Errorf("%q: error %q, want %q", tt.args, msg, tt.err)
			continue
		}
		if tt.err == "" && !reflect.DeepEqual(describe(got), tt.want) {
			t.Errorf("%q:\ngot  %+v\nwant %+v", tt.args, describe(got), tt.want)
		}
		if err != nil && got != nil {
			t.Errorf("%q: commands returned with an error", tt.args)
		}
	}
}

// TestParseString: a command string holds several commands; an error anywhere runs none.
func TestParseString(t *testing.T) {
	type vals = map[string]string
	tests := []struct {
		in   string
		want []string // command names
		err  string
	}{
		{"snapshot-list d; snapshot-list e --name", []string{"snapshot-list", "snapshot-list"}, ""},
		{"snapshot-list d\n\n;;help", []string{"snapshot-list", "help"}, ""},
		{"snapshot-list d # --bogus\nhelp", []string{"snapshot-list", "help"}, ""},
		{"'#x' --bogus; help", []string{"help"}, ""},
		{"snapshot-list d; nope", nil, "unknown command: 'nope'"},
		{"snapshot-list d; snapshot-list", nil, "command 'snapshot-list' requires <domain> option"},
		{`snapshot-list d --from "open`, nil, `missing "`},
		{`'#x' "open`, nil, ""},        // a commented-out word may leave its quote open (virsh reads it leniently)
		{`'#x' "open; help`, nil, ""},  // and the quote then hides the rest
		{`'#x' a\`, nil, `dangling \`}, // but a dangling backslash is read again, and reported
		{"'#x' a\\\nhelp", nil, ""},    // a backslash-newline joins "a" and "help": one comment
		{`snapshot-list d --from`, nil, "expected syntax: --from <string>"},
		{`snapshot-list d --from;`, nil, "expected syntax: --from <string>"},
		{`snapshot-list d --from \`, nil, `dangling \`},
		{"", nil, ""},
	}
	for _, tt := range tests {
		got, err := Parse(testCmds(), CommandString(tt.in))
		msg := ""
		if err != nil {
			msg = lines(err)
		}
		var names []string
		for _, p := range got {
			names = append(names, p.Cmd.Name)
		}
		if msg != tt.err || !reflect.DeepEqual(names, tt.want) {
			t.Errorf("%q: got %q, %q; want %q, %q", tt.in, names, msg, tt.want, tt.err)
		}
	}
	got, err := ParseArgs(testCmds(), []string{"snapshot-list d --from 'with space'"})
	if err != nil || len(got) != 1 || !reflect.DeepEqual(got[0].Values(), vals{"domain": "d", "from": "with space"}) {
		t.Errorf("ParseArgs of one string: %+v, %v", describe(got), err)
	}
	got, err = ParseArgs(testCmds(), []string{"snapshot-list", "d; x"})
	if err != nil || len(got) != 1 || !reflect.DeepEqual(got[0].Values(), vals{"domain": "d; x"}) {
		t.Errorf("ParseArgs of words: %+v, %v", describe(got), err)
	}
}

// effects records what ParseGlobals asked for, in order.
type effects struct {
	log     []string
	failLog bool
}

func (e *effects) OpenLog(path string) error {
	e.log = append(e.log, "open "+path)
	if e.failLog {
		return Errorf("failed to open the log file. check the log file path")
	}
	return nil
}

func (e *effects) Warn(msg string) { e.log = append(e.log, "warn "+msg) }

func TestParseGlobals(t *testing.T) {
	def := func(g Globals) Globals {
		g.Debug, g.KeepaliveInterval, g.KeepaliveCount = -1, -1, -1
		return g
	}
	tests := []struct {
		args []string
		want Globals
		rest int
		err  string
	}{
		{[]string{"-c", "test:///default", "x"}, def(Globals{URI: "test:///default", URIGiven: true}), 2, ""},
		{[]string{"-ctest:///default", "-rq", "x"}, def(Globals{URI: "test:///default", URIGiven: true, Readonly: true, Quiet: true}), 2, ""},
		{[]string{"--connect=u", "--read", "x"}, def(Globals{URI: "u", URIGiven: true, Readonly: true}), 2, ""},
		{[]string{"--", "-x"}, def(Globals{}), 1, ""},
		{[]string{"-x"}, Globals{}, 1, "unsupported option '-x'. See --help."},
		{[]string{"--bogus"}, Globals{}, 0, "unsupported option '--bogus'. See --help."},
		{[]string{"--quiet=1"}, Globals{}, 1, "unsupported option '--quiet=1'. See --help."},
		{[]string{"-c"}, Globals{}, 1, "option '-c'/'--connect' requires an argument"},
		{[]string{"-d", "x"}, Globals{}, 2, "option -d takes a numeric argument"},
		{[]string{"-k", "-1"}, Globals{}, 2, "option -k requires a positive integer argument"},
		// more of getopt_long's rules
		{[]string{"-rqc", "u", "cmd", "-r"}, def(Globals{URI: "u", URIGiven: true, Readonly: true, Quiet: true}), 2, ""},
		{[]string{"-c", ""}, def(Globals{URI: "", URIGiven: true}), 2, ""},
		{[]string{"--connect", "-r"}, def(Globals{URI: "-r", URIGiven: true}), 2, ""},
		{[]string{"-", "x"}, def(Globals{}), 0, ""},
		{[]string{"x", "-r"}, def(Globals{}), 0, ""},
		{[]string{"-v"}, def(Globals{Version: true}), 1, ""},
		{[]string{"-V"}, def(Globals{Version: true}), 1, ""},
		{[]string{"--version=long"}, def(Globals{Version: true}), 1, ""},
		{[]string{"--vers"}, def(Globals{Version: true}), 1, ""},
		{[]string{"-h"}, def(Globals{Help: true}), 1, ""},
		// virsh acts on -h and -v at once: what follows is not read
		{[]string{"-h", "--bogus"}, def(Globals{Help: true}), 1, ""},
		{[]string{"-hx"}, def(Globals{Help: true}), 1, ""},
		{[]string{"-rv", "-x"}, def(Globals{Readonly: true, Version: true}), 1, ""},
		{[]string{"-d", "3", "-t", "-e", "^]", "-l", "f", "--keepalive-count=0x10", "x"},
			Globals{Debug: 3, Timing: true, Escape: "^]", LogFile: "f", KeepaliveInterval: -1, KeepaliveCount: 16}, 8, ""},
		{[]string{"--keepalive"}, Globals{}, 0, "unsupported option '--keepalive'. See --help."}, // ambiguous prefix
		{[]string{"--debug", "x"}, Globals{}, 2, "option --debug takes a numeric argument"},
		{[]string{"--keepalive-interval=x"}, Globals{}, 1, "Invalid value for option --keepalive-interval"},
		{[]string{"-K"}, Globals{}, 1, "option '-K'/'--keepalive-count' requires an argument"},
		{[]string{"-V:"}, def(Globals{Version: true}), 1, ""},
		{[]string{"-r:"}, Globals{}, 1, "unsupported option '-:'. See --help."},
		// values as virStrToLong_i reads them
		{[]string{"-k", " +010", "-K0x1f"}, Globals{Debug: -1, KeepaliveInterval: 8, KeepaliveCount: 31}, 3, ""},
		{[]string{"-k", "08"}, Globals{}, 2, "Invalid value for option -k"},
		{[]string{"-k", "1_000"}, Globals{}, 2, "Invalid value for option -k"},
		{[]string{"-k", "0b1"}, Globals{}, 2, "Invalid value for option -k"},
		{[]string{"-k", "2147483648"}, Globals{}, 2, "Invalid value for option -k"},
		{[]string{"-k", ""}, Globals{}, 2, "Invalid value for option -k"},
		{[]string{"-d", "010"}, def(Globals{}), 2, ""}, // base 10: 10, out of range: warned, unset
		{[]string{"-d", "-0"}, Globals{Debug: 0, KeepaliveInterval: -1, KeepaliveCount: -1}, 2, ""},
		{[]string{"-d", "0x1"}, Globals{}, 2, "option -d takes a numeric argument"},
		{[]string{"-e", "x"}, def(Globals{Escape: "x"}), 2, ""},
		{[]string{"--escape=^a"}, def(Globals{Escape: "^a"}), 1, ""},
		{[]string{"-e", "^"}, Globals{}, 2, "Invalid string '^' for escape sequence"},
		{[]string{"-e", "^1"}, Globals{}, 2, "Invalid string '^1' for escape sequence"},
		{[]string{"-e", "é"}, Globals{}, 2, "Invalid string 'é' for escape sequence"},
		{[]string{"-e", "ab"}, Globals{}, 2, "Invalid string 'ab' for escape sequence"},
	}
	for _, tt := range tests {
		g, rest, err := ParseGlobals(tt.args, nil)
		msg := ""
		if err != nil {
			msg = lines(err)
		}
		if msg != tt.err || (msg == "" && (g != tt.want || rest != tt.rest)) {
			t.Errorf("%q: got %+v, %d, %q; want %+v, %d, %q", tt.args, g, rest, msg, tt.want, tt.rest, tt.err)
		}
	}
	// -l opens its file at once and -d warns, in the order given; a failed open ends the parse
	e := &effects{}
	g, _, err := ParseGlobals([]string{"-l", "a", "-d", "7", "--log=b", "-d", "2", "x"}, e)
	if want := []string{"open a", "warn ignoring debug level 7 out of range [0-4]", "open b"}; err != nil || !reflect.DeepEqual(e.log, want) || g.LogFile != "b" || g.Debug != 2 {
		t.Errorf("effects %q, %+v, %v; want %q", e.log, g, err, want)
	}
	e = &effects{failLog: true}
	if _, _, err := ParseGlobals([]string{"-l", "a", "-d", "x"}, e); err == nil || lines(err) != "failed to open the log file. check the log file path" {
		t.Errorf("a log that does not open: %v", err)
	}
}

func TestCheck(t *testing.T) {
	if err := Check(testCmds()); err != nil {
		t.Fatalf("the test table: %v", err)
	}
	many := &Cmd{Name: "many"}
	for i := range maxOpts + 1 {
		many.Opts = append(many.Opts, Opt{Name: string(rune('a'+i%26)) + strings.Repeat("x", i/26), Kind: Bool})
	}
	bad := []struct {
		cmd  *Cmd
		want string
	}{
		{&Cmd{}, "empty or duplicate name"},
		{many, "65 options, more than 64"},
		{&Cmd{Name: "c", Opts: []Opt{{Name: "a"}, {Name: "a"}}}, `option "a": empty or duplicate name`},
		{&Cmd{Name: "c", Opts: []Opt{{Name: "help"}}}, "parser's own"},
		{&Cmd{Name: "c", Opts: []Opt{{Name: "a", Kind: Kind(9)}}}, "unknown kind Kind(9)"},
		{&Cmd{Name: "c", Opts: []Opt{{Name: "a", Kind: Bool, OptionOnly: true}}}, "only a string option"},
		{&Cmd{Name: "c", Opts: []Opt{{Name: "a", Kind: String}, {Name: "b", Kind: Data}}}, "required option after an optional"},
		{&Cmd{Name: "c", Opts: []Opt{{Name: "a", Kind: Argv}, {Name: "b", Kind: Bool}}}, "must be the last"},
	}
	for _, b := range bad {
		err := Check([]*Cmd{b.cmd})
		if err == nil || !strings.Contains(err.Error(), b.want) {
			t.Errorf("%+v: %v, want an error with %q", b.cmd, err, b.want)
		}
	}
	if err := Check([]*Cmd{{Name: "x"}, {Name: "x"}}); err == nil {
		t.Error("two commands named x accepted")
	}
	// an option-only string may precede a required one: it is never filled by position
	if err := Check([]*Cmd{{Name: "c", Opts: []Opt{{Name: "a", Kind: String, OptionOnly: true}, {Name: "b", Kind: Data}}}}); err != nil {
		t.Error(err)
	}
}

func TestHelp(t *testing.T) {
	c := &Cmd{Name: "demo", Summary: "a demo", Desc: "Does a demo.",
		Opts: []Opt{{Name: "domain", Kind: Data, Help: "domain name"}, {Name: "flag", Kind: Bool, Help: "a flag"},
			{Name: "from", Kind: String, Help: "where from", Extension: true}, {Name: "file", Kind: Argv, Help: "files"}},
		Examples: []Example{{Line: "vmoments demo d", What: "what it does"}}}
	want := `  NAME
    demo - a demo

  SYNOPSIS
    demo <domain> [--flag] [--from <string>] {[--file] <string>}...

  DESCRIPTION
    Does a demo.

  OPTIONS
    [--domain] <string>  domain name
    --flag           a flag
    --from <string>  where from [vmoments]
    [--file] <string>  files

  EXAMPLES
    vmoments demo d
        what it does

`
	if got := c.Help(); got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
	if got, want := (&Cmd{Name: "bare", Summary: "s"}).Help(), "  NAME\n    bare - s\n\n  SYNOPSIS\n    bare\n\n"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestReport(t *testing.T) {
	cause := context.Canceled
	tests := []struct {
		err  error
		want string
	}{
		{Errorf("one %d", 1), "error: one 1\n"},
		{&Error{Lines: []string{"failed to connect to the hypervisor", "no route"}, Err: cause}, "error: failed to connect to the hypervisor\nerror: no route\n"},
		{errors.New("plain"), "error: plain\n"},
		{&Error{}, ""},
	}
	for _, tt := range tests {
		var b bytes.Buffer
		Report(&b, tt.err)
		if b.String() != tt.want {
			t.Errorf("%v: printed %q, want %q", tt.err, b.String(), tt.want)
		}
	}
	if err := error(&Error{Lines: []string{"x"}, Err: cause}); !errors.Is(err, context.Canceled) {
		t.Error("the cause is not reachable")
	}
}
