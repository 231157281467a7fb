package main

import (
	"strings"
	"testing"

	"github.com/vmoments/vmoments/cmd/vmoments/internal/vsh"
)

// TestCommandTable: the table is one the parser accepts (vsh.Check: names, kinds, order), every
// entry runs something, and help lists every command but the hidden ones, once, in a group.
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
	for _, c := range a.cmds {
		n := strings.Count(got.stdout, "\n    "+c.Name+" ")
		if want := map[bool]int{true: 0, false: 1}[c.Hidden]; n != want {
			t.Errorf("help lists %s %d times, want %d:\n%s", c.Name, n, want, got.stdout)
		}
	}
}
