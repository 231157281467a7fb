package main

import (
	"fmt"
	"math/bits"
	"strings"
)

// This file is virsh 9.0's command parser (tools/vsh.c vshCommandParse), so that every command
// line virsh accepts means the same here and every one it rejects is rejected with the same
// message. Its rules, in short:
//
//   - The first word names the command. Then "--name" sets a boolean option, "--name VALUE" or
//     "--name=VALUE" a string option; a value may begin with dashes ("--from --x" gives from
//     "--x").
//   - A word that is not an option fills the next option that may be given by position: the
//     required <data> options first (the domain), then every string option that is not marked
//     option-only, in definition order (so "snapshot-list dom s1" means --from s1).
//   - "--" makes every later word positional data. A lone "-x" is data.
//   - "--help" anywhere turns the command into "help COMMAND".
//   - Errors: "command 'C' doesn't support option --X", "option --X already seen",
//     "expected syntax: --X <string>", "invalid '=' after option --X", "unexpected data 'W'",
//     "command 'C' requires <X> option".

type optType int

const (
	optBool   optType = iota // a flag: --name
	optString                // --name VALUE, or by position unless optionOnly
	optData                  // required, by position or --name VALUE
)

// optDef is one option of a command (vshCmdOptDef).
type optDef struct {
	name string
	typ  optType
	// optionOnly is VSH_OFLAG_REQ_OPT: the value must follow --name, never by position.
	optionOnly bool
	// arg names the value in help ("string" as virsh, unless set).
	arg  string
	help string
	// extension marks options vmoments adds to virsh's command.
	extension bool
}

// cmdDef is one command (vshCmdDef).
type cmdDef struct {
	name string
	// summary and desc are virsh's "help" and "desc" strings (or ours for our commands).
	summary, desc string
	opts          []optDef
	// examples are shown by --help: pairs of command line and what it does.
	examples [][2]string
	// noConnect: the command needs no libvirt connection (help, validate).
	noConnect bool
	run       func(a *app, c *parsedCmd) bool
}

// parsedCmd is one parsed command line: the options given and their values.
type parsedCmd struct {
	def  *cmdDef
	vals map[string]string
	set  map[string]bool
	// argv holds the words of an argv-type option (validate's files), in order.
	argv []string
}

func (p *parsedCmd) has(name string) bool { return p.set[name] }

// str returns the value of a string option and whether it was given.
func (p *parsedCmd) str(name string) (string, bool) {
	v, ok := p.vals[name]
	return v, ok
}

// token kinds of virsh's two tokenizers (argv words; a command string split on blanks and ';').
type tokKind int

const (
	tokArg tokKind = iota
	tokSubcmdEnd
	tokEnd
	tokError
)

type tokenizer interface {
	next() (tokKind, string, string) // kind, word, error message for tokError
}

type argvTokens struct{ words []string }

func (t *argvTokens) next() (tokKind, string, string) {
	if len(t.words) == 0 {
		return tokEnd, "", ""
	}
	w := t.words[0]
	t.words = t.words[1:]
	return tokArg, w, ""
}

// stringTokens splits one command string as vshCommandStringGetArg: blanks separate words,
// ';' and newlines separate commands, '#' starts a comment, quotes and backslashes as in a shell.
type stringTokens struct{ s string }

func (t *stringTokens) next() (tokKind, string, string) {
	s := t.s
	i := 0
	for i < len(s) && (s[i] == ' ' || s[i] == '\t' || (s[i] == '\\' && i+1 < len(s) && s[i+1] == '\n')) {
		if s[i] == '\\' {
			i++
		}
		i++
	}
	if i == len(s) {
		t.s = ""
		return tokEnd, "", ""
	}
	if s[i] == ';' || s[i] == '\n' {
		t.s = s[i+1:]
		return tokSubcmdEnd, "", ""
	}
	if s[i] == '#' {
		for i < len(s) && s[i] != '\n' {
			i++
		}
		if i < len(s) {
			i++
		}
		t.s = s[i:]
		return tokSubcmdEnd, "", ""
	}
	var w strings.Builder
	single, double := false, false
	for i < len(s) {
		c := s[i]
		if !single && !double && (c == ' ' || c == '\t' || c == ';' || c == '\n') {
			break
		}
		if !double && c == '\'' {
			single = !single
			i++
			continue
		} else if !single && c == '\\' {
			i++
			if i == len(s) {
				return tokError, "", `dangling \`
			} else if s[i] == '\n' {
				i++
				continue
			}
		} else if !single && c == '"' {
			double = !double
			i++
			continue
		}
		w.WriteByte(s[i])
		i++
	}
	if double {
		return tokError, "", `missing "`
	}
	t.s = s[i:]
	return tokArg, w.String(), ""
}

// parseCommands parses one or more commands (one with argv words, any number separated by ';'
// in a command string) as vshCommandParse. On a syntax error it returns the message (without
// "error: ") and no commands, as virsh runs nothing then.
func parseCommands(cmds []*cmdDef, tk tokenizer) ([]*parsedCmd, string) {
	var out []*parsedCmd
	for {
		var cmd *cmdDef
		pc := &parsedCmd{vals: map[string]string{}, set: map[string]bool{}}
		var needArg, required, seen uint64
		dataOnly := false
		help := false
		var kind tokKind
		for {
			var word, msg string
			kind, word, msg = tk.next()
			if kind == tokError {
				return nil, msg
			}
			if kind != tokArg {
				break
			}
			if cmd == nil {
				if strings.HasPrefix(word, "#") {
					for kind == tokArg {
						kind, _, _ = tk.next()
					}
					break
				}
				cmd = findCmd(cmds, word)
				if cmd == nil {
					return nil, fmt.Sprintf("unknown command: '%s'", word)
				}
				pc.def = cmd
				needArg, required = optMasks(cmd)
				continue
			}
			var opt *optDef
			var idx int
			switch {
			case !dataOnly && len(word) > 2 && word[0] == '-' && word[1] == '-' && isAlnum(word[2]):
				name, val, hasEq := strings.Cut(word[2:], "=")
				if name == "help" {
					// virsh's implicit --help option (a boolean).
					if hasEq {
						return nil, "invalid '=' after option --help"
					}
					help = true
					continue
				}
				idx = optIndex(cmd, name)
				if idx < 0 {
					if cmd.name == "help" {
						continue
					}
					return nil, fmt.Sprintf("command '%s' doesn't support option --%s", cmd.name, name)
				}
				if seen&(1<<idx) != 0 {
					return nil, fmt.Sprintf("option --%s already seen", name)
				}
				seen |= 1 << idx
				opt = &cmd.opts[idx]
				if opt.typ == optBool {
					if hasEq {
						return nil, fmt.Sprintf("invalid '=' after option --%s", opt.name)
					}
					pc.set[opt.name] = true
					continue
				}
				if !hasEq {
					var k tokKind
					var m string
					k, val, m = tk.next()
					if k == tokError {
						return nil, m
					}
					if k != tokArg {
						return nil, fmt.Sprintf("expected syntax: --%s <%s>", opt.name, "string")
					}
				}
				needArg &^= 1 << idx
				pc.set[opt.name] = true
				pc.vals[opt.name] = val
				continue
			case !dataOnly && word == "--":
				dataOnly = true
				continue
			}
			// positional data
			if needArg == 0 {
				if cmd.name == "help" {
					continue
				}
				return nil, fmt.Sprintf("unexpected data '%s'", word)
			}
			idx = bits.TrailingZeros64(needArg) // needArg != 0: its lowest set bit
			opt = &cmd.opts[idx]
			if opt.typ == optString && opt.arg == "argv" {
				pc.argv = append(pc.argv, word)
				seen |= 1 << idx
				pc.set[opt.name] = true
				continue
			}
			needArg &^= 1 << idx
			seen |= 1 << idx
			pc.set[opt.name] = true
			pc.vals[opt.name] = word
		}
		if cmd != nil {
			if help {
				hc := findCmd(cmds, "help")
				pc = &parsedCmd{def: hc, vals: map[string]string{"command": cmd.name}, set: map[string]bool{"command": true}}
			} else if miss := required &^ seen; miss != 0 {
				var msgs []string
				for i := range cmd.opts {
					if miss&(1<<i) != 0 {
						if cmd.opts[i].typ == optData || cmd.opts[i].arg == "argv" {
							msgs = append(msgs, fmt.Sprintf("command '%s' requires <%s> option", cmd.name, cmd.opts[i].name))
						} else {
							msgs = append(msgs, fmt.Sprintf("command '%s' requires --%s option", cmd.name, cmd.opts[i].name))
						}
					}
				}
				return nil, strings.Join(msgs, "\nerror: ")
			}
			out = append(out, pc)
		}
		if kind == tokEnd {
			return out, ""
		}
	}
}

func findCmd(cmds []*cmdDef, name string) *cmdDef {
	for _, c := range cmds {
		if c.name == name {
			return c
		}
	}
	return nil
}

func optIndex(cmd *cmdDef, name string) int {
	for i := range cmd.opts {
		if cmd.opts[i].name == name {
			return i
		}
	}
	return -1
}

// optMasks is vshCmddefOptParse: which options may be filled by position (needArg) and which
// are required.
func optMasks(cmd *cmdDef) (needArg, required uint64) {
	for i, o := range cmd.opts {
		if o.typ == optBool {
			continue
		}
		if !o.optionOnly {
			needArg |= 1 << i
		}
		if o.typ == optData || o.arg == "argv" {
			required |= 1 << i
		}
	}
	return needArg, required
}

func isAlnum(c byte) bool {
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
}
