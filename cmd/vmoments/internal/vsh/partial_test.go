package vsh

import (
	"reflect"
	"testing"
)

// TestParsePartial: the command being typed, as virsh's completion reads it (the golden test of
// the complete command compares the whole with virsh).
func TestParsePartial(t *testing.T) {
	tests := []struct {
		line string
		cmd  string // "" for none
		opts []string
		this string // the option being completed, "" for none
		errs []string
	}{
		{"", "", nil, "", nil},
		{"snap", "", nil, "", nil}, // unknown: the command names
		{"snapshot-list", "snapshot-list", nil, "", nil},
		{"snapshot-list ", "snapshot-list", nil, "", nil},
		{"snapshot-list d", "snapshot-list", []string{"domain=d"}, "domain", nil},
		{"snapshot-list d ", "snapshot-list", []string{"domain=d"}, "", nil},
		{"snapshot-list d b", "snapshot-list", []string{"domain=d", "from=b"}, "from", nil},
		{"snapshot-list d --from ", "snapshot-list", []string{"domain=d", "from="}, "from", nil},
		{"snapshot-list d --from  ", "snapshot-list", []string{"domain=d", "from="}, "", nil}, // two blanks: not virsh's cursor
		{"snapshot-list d --from=x", "snapshot-list", []string{"domain=d", "from=x"}, "from", nil},
		{"snapshot-list d --tr", "snapshot-list", []string{"domain=d"}, "", nil},
		{"snapshot-list d --tree", "snapshot-list", []string{"domain=d", "tree"}, "tree", nil},
		{"snapshot-list d --tree --tree", "snapshot-list", []string{"domain=d", "tree"}, "", nil},
		{`snapshot-list d --from "wi`, "snapshot-list", []string{"domain=d", "from=wi"}, "from", nil},
		{`snapshot-list "d`, "snapshot-list", nil, "", []string{`missing "`}},
		{"snapshot-list d; help sn", "help", []string{"command=sn"}, "command", nil},
		{"snapshot-list d;", "", nil, "", nil},
		{"snapshot-list --help ", "help", []string{"command=snapshot-list"}, "", nil},
		{"help --bogus x", "help", []string{"command=x"}, "command", nil},
		{"'#x' y", "", nil, "", nil},
		{"validate a b", "validate", []string{"file=a", "file=b"}, "file", nil},
		{"snapshot-list -- --x", "snapshot-list", []string{"domain=--x"}, "domain", nil},
	}
	for _, tt := range tests {
		p := ParsePartial(testCmds(), tt.line)
		var cmd, this string
		var opts, errs []string
		if p != nil {
			if p.Cmd != nil {
				cmd = p.Cmd.Name
			}
			if p.This != nil {
				this = p.This.Name
			}
			for _, o := range p.Opts {
				if o.Opt.Kind == Bool {
					opts = append(opts, o.Opt.Name)
				} else {
					opts = append(opts, o.Opt.Name+"="+o.Value)
				}
			}
			errs = p.Errors
		}
		if cmd != tt.cmd || this != tt.this || !reflect.DeepEqual(opts, tt.opts) || !reflect.DeepEqual(errs, tt.errs) {
			t.Errorf("%q: command %q, options %q, completing %q, errors %q; want %q, %q, %q, %q",
				tt.line, cmd, opts, this, errs, tt.cmd, tt.opts, tt.this, tt.errs)
		}
	}
}
