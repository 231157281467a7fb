package vsh

import (
	"maps"
	"math/bits"
	"strings"
)

// Parsed is one parsed command: its definition and the options given.
type Parsed struct {
	Cmd  *Cmd
	vals map[string]string
	set  map[string]bool
	// argv holds the words of the Argv option, in order.
	argv []string
	// lists holds the values of the Repeat options, in order.
	lists map[string][]string
}

func newParsed(c *Cmd) *Parsed {
	return &Parsed{Cmd: c, vals: map[string]string{}, set: map[string]bool{}, lists: map[string][]string{}}
}

// Has reports whether the option was given (a Bool set, a value given, an Argv word given).
func (p *Parsed) Has(name string) bool { return p.set[name] }

// Value returns the value of a String or Data option and whether it was given.
func (p *Parsed) Value(name string) (string, bool) {
	v, ok := p.vals[name]
	return v, ok
}

// Argv returns the words of the Argv option, in order.
func (p *Parsed) Argv() []string { return p.argv }

// List returns every value of a Repeat option, in the order given.
func (p *Parsed) List(name string) []string { return p.lists[name] }

// Values returns a copy of the values of the String and Data options given.
func (p *Parsed) Values() map[string]string { return maps.Clone(p.vals) }

// ParseArgs parses the command words after the global options as virsh does: one argument is a
// command string ([CommandString]), several are the words of one command ([Words]).
func ParseArgs(cmds []*Cmd, args []string) ([]*Parsed, error) {
	return ParseArgsTraced(cmds, args, nil)
}

// ParseArgsTraced is ParseArgs with a trace (see [ParseTraced]).
func ParseArgsTraced(cmds []*Cmd, args []string, trace func(string)) ([]*Parsed, error) {
	if len(args) == 1 {
		return ParseTraced(cmds, CommandString(args[0]), trace)
	}
	return ParseTraced(cmds, Words(args), trace)
}

// Parse parses one or more commands of cmds as vshCommandParse. On an error it returns no
// commands, as virsh runs nothing then.
func Parse(cmds []*Cmd, tk Tokenizer) ([]*Parsed, error) {
	return ParseTraced(cmds, tk, nil)
}

// ParseTraced is Parse that calls trace (if not nil) with virsh's debug line for each option
// as the parser takes it, "CMD: OPT(optdata): VALUE" or "CMD: OPT(bool): (none)" (what virsh
// -d 1 prints), before a later word of the input may fail.
func ParseTraced(cmds []*Cmd, tk Tokenizer, trace func(string)) ([]*Parsed, error) {
	var out []*Parsed
	for {
		p, last, err := parseCommand(cmds, tk, trace)
		if err != nil {
			return nil, err
		}
		if p != nil {
			out = append(out, p)
		}
		if last {
			return out, nil
		}
	}
}

// parseCommand parses the words up to the end of one command. It returns the command (nil for
// an empty one or a comment) and whether the input ended.
func parseCommand(cmds []*Cmd, tk Tokenizer, trace func(string)) (*Parsed, bool, error) {
	var st *cmdState
	for {
		tok, word, err := tk.Next()
		if err != nil {
			return nil, false, err
		}
		if tok != Word {
			if st == nil {
				return nil, tok == End, nil
			}
			p, err := st.finish(cmds)
			return p, tok == End, err
		}
		if st != nil {
			if err := st.word(word, tk); err != nil {
				return nil, false, err
			}
			continue
		}
		if strings.HasPrefix(word, "#") {
			last, err := skipCommand(tk)
			return nil, last, err
		}
		c := Lookup(cmds, word)
		if c == nil {
			return nil, false, Errorf("unknown command: '%s'", word)
		}
		st = newCmdState(c)
		st.trace = trace
	}
}

// skipCommand skips the words of a command commented out by its first word and reports
// whether the input ended. Its words are read as virsh reads them, without reporting an
// unclosed double quote; a word that fails otherwise (a dangling backslash) is read again, and
// reported, as the first word of the next command.
func skipCommand(tk Tokenizer) (bool, error) {
	for {
		var tok Token
		var err error
		if st, ok := tk.(*stringTokens); ok {
			tok, _, err = st.next(false)
			if err != nil {
				return false, nil
			}
		} else if tok, _, err = tk.Next(); err != nil {
			return false, err
		}
		if tok != Word {
			return tok == End, nil
		}
	}
}

// cmdState is the parse of one command so far.
type cmdState struct {
	p *Parsed
	// needArg: the options a positional word may still fill; required: those that must be
	// given; seen: those given (bits by option index).
	needArg, required, seen uint64
	// dataOnly: "--" was seen, every later word is positional.
	dataOnly bool
	// help: --help was given.
	help bool
	// trace, if not nil, is told of each option taken (ParseTraced).
	trace func(string)
}

// traced tells the trace of an option taken: a value, or a Bool's "(none)".
func (st *cmdState) traced(opt, val string, isBool bool) {
	if st.trace == nil {
		return
	}
	if isBool {
		st.trace(st.cmd().Name + ": " + opt + "(bool): (none)")
		return
	}
	st.trace(st.cmd().Name + ": " + opt + "(optdata): " + val)
}

func newCmdState(c *Cmd) *cmdState {
	st := &cmdState{p: newParsed(c)}
	st.needArg, st.required = c.masks()
	return st
}

func (st *cmdState) cmd() *Cmd { return st.p.Cmd }

// word takes one word after the command name.
func (st *cmdState) word(word string, tk Tokenizer) error {
	switch {
	case !st.dataOnly && isOption(word):
		return st.option(word, tk)
	case !st.dataOnly && word == "--":
		st.dataOnly = true
		return nil
	}
	return st.positional(word)
}

// isOption reports whether word names an option: "--" and a letter or digit.
func isOption(word string) bool {
	return len(word) > 2 && word[0] == '-' && word[1] == '-' && isAlnum(word[2])
}

// option takes "--name", "--name=VALUE" or "--name" and the next word as its value. An Argv
// option may be given so any number of times, each value one more word of its list. An alias
// stands for its target, with the target's value if it names one.
func (st *cmdState) option(word string, tk Tokenizer) error {
	c := st.cmd()
	name, val, hasEq := strings.Cut(word[2:], "=")
	if name == "help" {
		// virsh's implicit --help option (a Bool).
		if hasEq {
			return Errorf("invalid '=' after option --help")
		}
		st.help = true
		st.traced("help", "", true)
		return nil
	}
	idx, err := c.lookupOpt(&name, &val, &hasEq)
	if err != nil {
		return err
	}
	if idx < 0 {
		if c.Name == "help" {
			return nil
		}
		return Errorf("command '%s' doesn't support option --%s", c.Name, name)
	}
	bit := uint64(1) << idx
	opt := &c.Opts[idx]
	if st.seen&bit != 0 && opt.Kind != Argv && !opt.Repeat {
		return Errorf("option --%s already seen", name)
	}
	st.seen |= bit
	if !opt.Kind.takesValue() {
		if hasEq {
			return Errorf("invalid '=' after option --%s", opt.Name)
		}
		st.p.set[opt.Name] = true
		st.traced(opt.Name, "", true)
		return nil
	}
	if !hasEq {
		if val, err = optionValue(opt, tk); err != nil {
			return err
		}
	}
	st.p.set[opt.Name] = true
	st.traced(opt.Name, val, false)
	if opt.Kind == Argv {
		// One more word of the list, which positional words may still extend.
		st.p.argv = append(st.p.argv, val)
		return nil
	}
	st.needArg &^= bit
	st.p.vals[opt.Name] = val
	if opt.Repeat {
		st.p.lists[opt.Name] = append(st.p.lists[opt.Name], val)
	}
	return nil
}

// lookupOpt is vshCmddefGetOption's search: the index of the option named *name, or -1. An
// alias met on the way replaces *name with its target's (and, for "target=value", sets *val
// and *hasEq, unless a value was given already: "invalid '=' after option --ALIAS").
func (c *Cmd) lookupOpt(name, val *string, hasEq *bool) (int, error) {
	for i := range c.Opts {
		o := &c.Opts[i]
		if o.Name != *name {
			continue
		}
		if o.Kind != Alias {
			return i, nil
		}
		target, value, withValue := strings.Cut(o.Target, "=")
		*name = target
		if withValue {
			if *hasEq {
				return -1, Errorf("invalid '=' after option --%s", o.Name)
			}
			*val, *hasEq = value, true
		}
	}
	return -1, nil
}

// optionValue reads the word after "--name" as the option's value.
func optionValue(opt *Opt, tk Tokenizer) (string, error) {
	tok, val, err := tk.Next()
	if err != nil {
		return "", err
	}
	if tok != Word {
		return "", Errorf("expected syntax: --%s <%s>", opt.Name, "string")
	}
	return val, nil
}

// positional gives word to the next option a positional word may fill.
func (st *cmdState) positional(word string) error {
	c := st.cmd()
	if st.needArg == 0 {
		if c.Name == "help" {
			return nil
		}
		return Errorf("unexpected data '%s'", word)
	}
	idx := bits.TrailingZeros64(st.needArg) // needArg != 0: its lowest set bit
	bit := uint64(1) << idx
	opt := &c.Opts[idx]
	st.seen |= bit
	st.p.set[opt.Name] = true
	st.traced(opt.Name, word, false)
	if opt.Kind == Argv {
		st.p.argv = append(st.p.argv, word)
		return nil
	}
	st.needArg &^= bit
	st.p.vals[opt.Name] = word
	return nil
}

// finish ends the command: "help NAME" if --help was given, else the command, if every
// required option was given.
func (st *cmdState) finish(cmds []*Cmd) (*Parsed, error) {
	c := st.cmd()
	if st.help {
		h := Lookup(cmds, "help")
		if h == nil {
			return nil, Errorf("command '%s' doesn't support option --help", c.Name)
		}
		p := newParsed(h)
		p.vals["command"], p.set["command"] = c.Name, true
		return p, nil
	}
	miss := st.required &^ st.seen
	if miss == 0 {
		return st.p, nil
	}
	e := &Error{}
	for i := range c.Opts {
		if miss&(1<<i) != 0 {
			e.Lines = append(e.Lines, "command '"+c.Name+"' requires <"+c.Opts[i].Name+"> option")
		}
	}
	return nil, e
}

func isAlnum(c byte) bool {
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
}
