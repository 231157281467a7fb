package main

import (
	"bytes"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/vmoments/vmoments/cmd/vmoments/internal/vsh"
	"github.com/vmoments/vmoments/conf"
)

func TestParseCommands(t *testing.T) {
	var cmds []*vsh.Cmd
	for _, c := range commands() {
		cmds = append(cmds, &c.Cmd)
	}
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
		got, err := vsh.Parse(cmds, vsh.Words(tt.words))
		msg := ""
		if err != nil {
			msg = strings.Join(err.(*vsh.Error).Lines, "\nerror: ")
		}
		if msg != tt.err {
			t.Errorf("%q: error %q, want %q", tt.words, msg, tt.err)
			continue
		}
		if tt.err == "" && (len(got) != 1 || !reflect.DeepEqual(got[0].Values(), tt.vals)) {
			t.Errorf("%q: got %+v, want values %v", tt.words, got, tt.vals)
		}
	}
}

func TestHelpTeaches(t *testing.T) {
	for _, c := range commands() {
		got := runVmoments(t, testEnv(nil), []string{c.Name, "--help"})
		if got.rc != 0 || !strings.Contains(got.stdout, "  NAME\n    "+c.Name+" - ") {
			t.Errorf("%s --help: %s", c.Name, got)
		}
		// virsh's own commands have virsh's help, byte for byte (shell_golden_test.go)
		if c.Group != "virsh" && !strings.Contains(got.stdout, "EXAMPLES") {
			t.Errorf("%s --help has no examples", c.Name)
		}
		for _, o := range c.Opts {
			if o.Extension && !strings.Contains(got.stdout, "--"+o.Name+"  ") && !strings.Contains(got.stdout, "--"+o.Name+" ") {
				t.Errorf("%s --help does not show --%s", c.Name, o.Name)
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
