package vsh

import (
	"fmt"
	"strings"
)

// Kind is what an option takes (virsh's vshCmdOptType).
type Kind int

const (
	// Bool is a flag: --name (VSH_OT_BOOL).
	Bool Kind = iota
	// String takes a value: --name VALUE, --name=VALUE, or by position unless OptionOnly
	// (VSH_OT_STRING). It may be left out.
	String
	// Data is a required value, by position or --name VALUE (VSH_OT_DATA).
	Data
	// Argv is a list: every positional word left, in order (VSH_OT_ARGV). It comes last among
	// a command's options, and is required unless [Opt.Optional].
	Argv
	// Alias is another name for a later option (VSH_OT_ALIAS): --NAME means --TARGET, and with
	// a Target of "target=value", --NAME means --target=value. Aliases are left out of the help.
	Alias
)

func (k Kind) String() string {
	switch k {
	case Bool:
		return "bool"
	case String:
		return "string"
	case Data:
		return "data"
	case Argv:
		return "argv"
	case Alias:
		return "alias"
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

// takesValue reports whether an option of kind k is given a value.
func (k Kind) takesValue() bool { return k != Bool && k != Alias }

// required reports whether a command without option o is refused (VSH_OFLAG_REQ).
func (o *Opt) required() bool { return o.Kind == Data || (o.Kind == Argv && !o.Optional) }

// Opt is one option of a command (vshCmdOptDef).
type Opt struct {
	Name string
	Kind Kind
	// OptionOnly is VSH_OFLAG_REQ_OPT: the value must follow --name, never by position (String
	// options only).
	OptionOnly bool
	// Optional marks an Argv option that may be left out (an ARGV without VSH_OFLAG_REQ, as
	// echo's words).
	Optional bool
	// Target is what an Alias stands for: an option's name, or "name=value".
	Target string
	Help   string
	// Extension marks an option vmoments adds to virsh's command ("[vmoments]" in the help).
	Extension bool
	// Repeat lets an OptionOnly String option be given any number of times, each value kept
	// in order (Parsed.List); virsh has no such option, vmoments' own commands do (report
	// --connect A --connect B).
	Repeat bool
}

// Example is a command line and what it does, shown by the help.
type Example struct {
	Line, What string
}

// Cmd is one command (vshCmdDef): its name, help texts and options.
type Cmd struct {
	Name string
	// Summary and Desc are virsh's "help" and "desc" strings (or vmoments' for its commands).
	Summary, Desc string
	Opts          []Opt
	Examples      []Example
	// NoConnect is VSH_CMD_FLAG_NOCONNECT: the command needs no connection.
	NoConnect bool
	// Hidden is VSH_CMD_FLAG_HIDDEN: the command runs, and "help NAME" explains it, but no
	// list of commands shows it (virsh's complete and self-test).
	Hidden bool
	// Group is the keyword of the help group the command is listed in ("snapshot", "virsh");
	// empty lets the program choose (see the program's help).
	Group string
}

// maxOpts is how many options a command may have: the parser keeps them in 64-bit masks, as
// virsh does.
const maxOpts = 64

// Check reports the first definition error in cmds, as virsh's vshCmddefCheckInternals does
// for its own table: duplicate or empty names, too many options, an option named help (the
// parser's own), OptionOnly on an option that is not String, Optional on one that is not Argv,
// a required value after an optional positional one, an Argv option that is not last, an alias
// that names no later option (or gives a value to a Bool).
func Check(cmds []*Cmd) error {
	names := map[string]bool{}
	for _, c := range cmds {
		if c.Name == "" || names[c.Name] {
			return fmt.Errorf("command %q: empty or duplicate name", c.Name)
		}
		names[c.Name] = true
		if len(c.Opts) > maxOpts {
			return fmt.Errorf("command %q: %d options, more than %d", c.Name, len(c.Opts), maxOpts)
		}
		opts := map[string]bool{}
		optionalSeen := false
		for i, o := range c.Opts {
			switch {
			case o.Name == "" || opts[o.Name]:
				return fmt.Errorf("command %q: option %q: empty or duplicate name", c.Name, o.Name)
			case o.Name == "help":
				return fmt.Errorf("command %q: option --help is the parser's own", c.Name)
			case o.Kind < Bool || o.Kind > Alias:
				return fmt.Errorf("command %q: option %q: unknown kind %v", c.Name, o.Name, o.Kind)
			case o.OptionOnly && o.Kind != String:
				return fmt.Errorf("command %q: option %q: only a string option can be option-only", c.Name, o.Name)
			case o.Optional && o.Kind != Argv:
				return fmt.Errorf("command %q: option %q: only an argv option can be optional", c.Name, o.Name)
			case o.Kind == Data && optionalSeen:
				return fmt.Errorf("command %q: option %q: a required option after an optional positional one", c.Name, o.Name)
			case o.Kind == Argv && i != len(c.Opts)-1:
				return fmt.Errorf("command %q: option %q: an argv option must be the last", c.Name, o.Name)
			case o.Kind == Alias:
				if err := checkAlias(c, i); err != nil {
					return err
				}
			case o.Repeat && (o.Kind != String || !o.OptionOnly):
				return fmt.Errorf("command %q: option %q: only an option-only string option can repeat", c.Name, o.Name)
			}
			opts[o.Name] = true
			if o.Kind == Bool || (o.Kind == String && !o.OptionOnly) {
				optionalSeen = true
			}
		}
	}
	return nil
}

// checkAlias checks the alias c.Opts[i]: it names a later option that is not an alias, and
// gives a value only to an option that takes one.
func checkAlias(c *Cmd, i int) error {
	o := &c.Opts[i]
	name, _, withValue := strings.Cut(o.Target, "=")
	for _, t := range c.Opts[i+1:] {
		if t.Name == name && t.Kind != Alias {
			if withValue && !t.Kind.takesValue() {
				return fmt.Errorf("command %q: alias %q gives a value to the bool option %q", c.Name, o.Name, name)
			}
			return nil
		}
	}
	return fmt.Errorf("command %q: alias %q names no later option %q", c.Name, o.Name, name)
}

// Lookup returns the command of cmds named name, or nil.
func Lookup(cmds []*Cmd, name string) *Cmd {
	for _, c := range cmds {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// masks is vshCmddefOptParse: the options that may be filled by position (needArg) and the
// required ones.
func (c *Cmd) masks() (needArg, required uint64) {
	for i, o := range c.Opts {
		if !o.Kind.takesValue() {
			continue
		}
		if !o.OptionOnly {
			needArg |= 1 << i
		}
		if o.required() {
			required |= 1 << i
		}
	}
	return needArg, required
}
