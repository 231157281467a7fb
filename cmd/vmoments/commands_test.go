package main

import (
	"strings"
	"testing"

	"github.com/vmoments/vmoments/cmd/vmoments/internal/vsh"
)

// TestCommandTable: the table is one the parser accepts (vsh.Check: names, kinds, order), every
// entry runs something, and the usage lists every command in table order.
func TestCommandTable(t *testing.T) {
	a := newApp(&strings.Builder{}, &strings.Builder{}, func(string) (string, bool) { return "", false })
	if err := vsh.Check(a.defs); err != nil {
		t.Fatal(err)
	}
	for _, c := range a.cmds {
		if c.run == nil || c.Summary == "" {
			t.Errorf("%s: no run function or no summary", c.Name)
		}
	}
	if vsh.Lookup(a.defs, "help") == nil {
		t.Fatal("no help command: --help would have nowhere to go")
	}
	got := runVmoments(t, testEnv(nil), []string{"help"})
	at := 0
	for _, c := range a.cmds {
		i := strings.Index(got.stdout[at:], "\n    "+c.Name+" ")
		if i < 0 {
			t.Errorf("the usage does not list %s after the commands before it:\n%s", c.Name, got.stdout)
			break
		}
		at += i + 1
	}
}
