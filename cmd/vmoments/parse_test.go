package main

import (
	"bytes"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/vmoments/vmoments/conf"
)

func TestStringTokens(t *testing.T) {
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
	}
	for _, tt := range tests {
		tk := &stringTokens{s: tt.in}
		var got []string
		for {
			kind, w, msg := tk.next()
			if kind == tokEnd {
				break
			}
			if kind == tokError {
				got = append(got, "!"+msg)
				break
			}
			if kind == tokSubcmdEnd {
				got = append(got, "|")
				continue
			}
			got = append(got, w)
		}
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%q: got %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestParseCommands(t *testing.T) {
	cmds := commands()
	tests := []struct {
		words []string
		vals  map[string]string
		err   string
	}{
		{[]string{"snapshot-list", "d", "s1"}, map[string]string{"domain": "d", "from": "s1"}, ""},
		{[]string{"snapshot-list", "--from", "--x", "d"}, map[string]string{"domain": "d", "from": "--x"}, ""},
		{[]string{"snapshot-list", "--from=", "d"}, map[string]string{"domain": "d", "from": ""}, ""},
		{[]string{"snapshot-list", "--", "--d"}, map[string]string{"domain": "--d"}, ""},
		{[]string{"snapshot-list", "d", "-x"}, map[string]string{"domain": "d", "from": "-x"}, ""},
		{[]string{"snapshot-list", "d", "s1", "s2"}, nil, "unexpected data 's2'"},
		{[]string{"snapshot-list", "d", "--from"}, nil, "expected syntax: --from <string>"},
		{[]string{"snapshot-list", "d", "--tree=1"}, nil, "invalid '=' after option --tree"},
		{[]string{"snapshot-list", "d", "--tree", "--tree"}, nil, "option --tree already seen"},
		{[]string{"snapshot-list", "d", "s1", "--from", "s2"}, nil, "option --from already seen"},
		{[]string{"snapshot-list", "--nope"}, nil, "command 'snapshot-list' doesn't support option --nope"},
		{[]string{"snapshot-list"}, nil, "command 'snapshot-list' requires <domain> option"},
		{[]string{"snapshot-dumpxml"}, nil, "command 'snapshot-dumpxml' requires <domain> option\nerror: command 'snapshot-dumpxml' requires <snapshotname> option"},
		{[]string{"nope"}, nil, "unknown command: 'nope'"},
		{[]string{"snapshot-list", "--help"}, map[string]string{"command": "snapshot-list"}, ""},
	}
	for _, tt := range tests {
		got, msg := parseCommands(cmds, &argvTokens{words: tt.words})
		if msg != tt.err {
			t.Errorf("%q: error %q, want %q", tt.words, msg, tt.err)
			continue
		}
		if tt.err == "" && (len(got) != 1 || !reflect.DeepEqual(got[0].vals, tt.vals)) {
			t.Errorf("%q: got %+v, want values %v", tt.words, got, tt.vals)
		}
	}
}

func TestParseGlobals(t *testing.T) {
	tests := []struct {
		args []string
		want globalOpts
		rest int
		err  string
	}{
		{[]string{"-c", "test:///default", "x"}, globalOpts{uri: "test:///default", uriGiven: true}, 2, ""},
		{[]string{"-ctest:///default", "-rq", "x"}, globalOpts{uri: "test:///default", uriGiven: true, readonly: true, quiet: true}, 2, ""},
		{[]string{"--connect=u", "--read", "x"}, globalOpts{uri: "u", uriGiven: true, readonly: true}, 2, ""},
		{[]string{"--", "-x"}, globalOpts{}, 1, ""},
		{[]string{"-x"}, globalOpts{}, 1, "unsupported option '-x'. See --help."},
		{[]string{"--bogus"}, globalOpts{}, 0, "unsupported option '--bogus'. See --help."},
		{[]string{"--quiet=1"}, globalOpts{}, 1, "unsupported option '--quiet=1'. See --help."},
		{[]string{"-c"}, globalOpts{}, 1, "option '-c'/'--connect' requires an argument"},
		{[]string{"-d", "x"}, globalOpts{}, 2, "option -d takes a numeric argument"},
		{[]string{"-k", "-1"}, globalOpts{}, 2, "option -k requires a positive integer argument"},
	}
	for _, tt := range tests {
		g, rest, msg := parseGlobals(tt.args)
		if msg != tt.err || (msg == "" && (g != tt.want || rest != tt.rest)) {
			t.Errorf("%q: got %+v, %d, %q; want %+v, %d, %q", tt.args, g, rest, msg, tt.want, tt.rest, tt.err)
		}
	}
}

func TestHelpTeaches(t *testing.T) {
	for _, c := range commands() {
		got := runVmoments(t, testEnv(nil), []string{c.name, "--help"})
		if got.rc != 0 || !strings.Contains(got.stdout, "  NAME\n    "+c.name+" - ") {
			t.Errorf("%s --help: %s", c.name, got)
		}
		if c.name != "help" && !strings.Contains(got.stdout, "EXAMPLES") {
			t.Errorf("%s --help has no examples", c.name)
		}
		for _, o := range c.opts {
			if o.extension && !strings.Contains(got.stdout, "--"+o.name+"  ") && !strings.Contains(got.stdout, "--"+o.name+" ") {
				t.Errorf("%s --help does not show --%s", c.name, o.name)
			}
		}
	}
	got := runVmoments(t, testEnv(nil), []string{"help", "nope"})
	if got.rc != 1 || got.stderr != "error: command or command group 'nope' doesn't exist\n" {
		t.Errorf("help nope: %s", got)
	}
}

func TestProgress(t *testing.T) {
	var b bytes.Buffer
	p := &progress{w: &b, kind: conf.Snapshot, start: time.Now(), delay: time.Hour}
	p.update(1, 10)
	p.done()
	if b.Len() != 0 {
		t.Errorf("a fast load drew %q", b.String())
	}
	p = &progress{w: &b, kind: conf.Checkpoint, start: time.Now().Add(-time.Second), delay: 500 * time.Millisecond}
	p.update(3, 10)
	p.update(10, 10)
	p.done()
	if want := "\rcheckpoints: 3/10\rcheckpoints: 10/10\r\x1b[K"; b.String() != want {
		t.Errorf("slow load drew %q, want %q", b.String(), want)
	}
	// not a terminal (the tests' buffers): no progress at all, JSON or not
	node := nodeURI(t, "testdata/node.xml")
	got := runVmoments(t, testEnv(nil), []string{"-c", node, "snapshot-list", "snapdom", "--json"})
	if got.stderr != "" || got.rc != 0 {
		t.Errorf("--json wrote to stderr: %s", got)
	}
}
