package vsh

import (
	"math/bits"
	"strings"
)

// Partial is a command line being typed, as virsh's completion reads it (vshCommandParse with
// a partial command, the line ending at the cursor): the last command of the line, the options
// read before the first word that does not parse, and the option whose value the last word is.
type Partial struct {
	// Cmd is the command, nil when the line names none yet (or an unknown one).
	Cmd *Cmd
	// Opts are the options read, in order (a word that failed is not among them).
	Opts []PartialOpt
	// This is the option the word at the cursor is a value of (virsh's completeThis), or nil:
	// the last word filled it, or the line ends with "--OPT " and OPT takes a value.
	This *Opt
	// Errors are the messages virsh prints even while it completes: a command or option word
	// with an unclosed double quote or a dangling backslash.
	Errors []string
}

// PartialOpt is one option of a [Partial]: its definition and value (none for a Bool, or for
// an option whose value is still to come).
type PartialOpt struct {
	Opt   *Opt
	Value string
}

// Value returns the value of the option named name and whether it was read.
func (p *Partial) Value(name string) (string, bool) {
	for _, o := range p.Opts {
		if o.Opt.Name == name && o.Opt.Kind.takesValue() {
			return o.Value, true
		}
	}
	return "", false
}

// Given reports whether the option named name was read.
func (p *Partial) Given(name string) bool {
	for _, o := range p.Opts {
		if o.Opt.Name == name {
			return true
		}
	}
	return false
}

// helpOpt is the parser's own --help (vsh.c's helpopt), as a Partial lists it.
var helpOpt = Opt{Name: "help", Kind: Bool, Help: "print help for this function"}

// ParsePartial parses line, which ends at the cursor, as virsh does to complete it: no error
// is reported but those of [Partial.Errors]; the parse of a command stops at its first word
// that does not parse.
func ParsePartial(cmds []*Cmd, line string) *Partial {
	tk := &stringTokens{s: line, orig: line}
	var p *Partial
	for {
		var last bool
		p, last = partialCommand(cmds, tk, len(line))
		if last {
			return p
		}
	}
}

// partialCommand reads one command of a line being completed (point is the cursor, the end of
// the line) and returns it (nil for none) and whether the line ended.
func partialCommand(cmds []*Cmd, tk *stringTokens, point int) (*Partial, bool) {
	p := &Partial{}
	var needArg uint64
	var seen uint64
	dataOnly := false
	stop := func() (*Partial, bool) { return p, true } // virsh's syntaxError: the line ends here
	for {
		tok, word, err := tk.next(true)
		if err != nil {
			p.Errors = append(p.Errors, err.(*Error).Lines...)
			return stop()
		}
		if tok != Word {
			if p.Cmd == nil {
				return nil, tok == End
			}
			p.helpRewrite(cmds)
			return p, tok == End
		}
		var opt *Opt
		switch {
		case p.Cmd == nil:
			if strings.HasPrefix(word, "#") {
				// A comment: its words are skipped. A word that fails is read again, and
				// reported, as the first word of the next command.
				for {
					tok, _, err := tk.next(false)
					if err != nil || tok != Word {
						return nil, err == nil && tok == End
					}
				}
			}
			if p.Cmd = Lookup(cmds, word); p.Cmd == nil {
				return stop()
			}
			needArg, _ = p.Cmd.masks()
			continue
		case !dataOnly && isOption(word):
			name, val, hasEq := strings.Cut(word[2:], "=")
			var idx int
			if name == "help" {
				opt, idx = &helpOpt, -1
			} else {
				var err error
				idx, err = p.Cmd.lookupOpt(&name, &val, &hasEq)
				if err == nil && idx >= 0 && seen&(1<<idx) != 0 && p.Cmd.Opts[idx].Kind != Argv {
					idx = -1 // already seen
				}
				if err != nil || idx < 0 {
					if p.Cmd.Name == "help" {
						continue
					}
					return stop()
				}
				seen |= 1 << idx
				opt = &p.Cmd.Opts[idx]
			}
			if !opt.Kind.takesValue() {
				if hasEq {
					return stop()
				}
				word = ""
				break
			}
			if !hasEq {
				tok, v, err := tk.next(false)
				if err != nil {
					return stop()
				}
				if tok != Word {
					p.Opts = append(p.Opts, PartialOpt{Opt: opt})
					if tk.pos() == point-1 {
						p.This = opt
					}
					return stop()
				}
				val = v
			}
			if opt.Kind != Argv {
				needArg &^= 1 << idx
			}
			word = val
		case !dataOnly && word == "--":
			dataOnly = true
			continue
		default:
			if needArg == 0 {
				if p.Cmd.Name == "help" {
					continue
				}
				return stop()
			}
			idx := bits.TrailingZeros64(needArg)
			opt = &p.Cmd.Opts[idx]
			if opt.Kind != Argv {
				needArg &^= 1 << idx
			}
			seen |= 1 << idx
		}
		p.Opts = append(p.Opts, PartialOpt{Opt: opt, Value: word})
		if tk.pos() == point {
			p.This = opt
		}
	}
}

// helpRewrite makes a command given --help the command "help NAME", as the parser does.
func (p *Partial) helpRewrite(cmds []*Cmd) {
	if !p.Given("help") {
		return
	}
	h := Lookup(cmds, "help")
	if h == nil || len(h.Opts) == 0 {
		return
	}
	name := p.Cmd.Name
	p.Cmd, p.Opts, p.This = h, []PartialOpt{{Opt: &h.Opts[0], Value: name}}, nil
}
