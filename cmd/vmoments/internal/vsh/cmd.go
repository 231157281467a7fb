package vsh

import "fmt"

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
	// Argv is a list: every positional word left, in order (VSH_OT_ARGV), required unless
	// [Opt.Optional]. It comes last among a command's options.
	Argv
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
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

// takesValue reports whether an option of kind k is given a value.
func (k Kind) takesValue() bool { return k != Bool }

// required reports whether a command without an option of kind k is refused.
func (k Kind) required() bool { return k == Data || k == Argv }

// Opt is one option of a command (vshCmdOptDef).
type Opt struct {
	Name string
	Kind Kind
	// OptionOnly is VSH_OFLAG_REQ_OPT: the value must follow --name, never by position (String
	// options only).
	OptionOnly bool
	Help       string
	// Optional makes an Argv option one that may be left out (virsh's VSH_OT_ARGV without
	// VSH_OFLAG_REQ: snapshot-create-as's --diskspec).
	Optional bool
	// Extension marks an option vmoments adds to virsh's command ("[vmoments]" in the help).
	Extension bool
}

// required reports whether a command without the option is refused.
func (o *Opt) required() bool { return o.Kind.required() && !o.Optional }

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
}

// maxOpts is how many options a command may have: the parser keeps them in 64-bit masks, as
// virsh does.
const maxOpts = 64

// Check reports the first definition error in cmds, as virsh's vshCmddefCheckInternals does
// for its own table: duplicate or empty names, too many options, an option named help (the
// parser's own), OptionOnly on an option that is not String, a required value after an
// optional positional one, an Argv option that is not last.
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
			case o.Kind < Bool || o.Kind > Argv:
				return fmt.Errorf("command %q: option %q: unknown kind %v", c.Name, o.Name, o.Kind)
			case o.OptionOnly && o.Kind != String:
				return fmt.Errorf("command %q: option %q: only a string option can be option-only", c.Name, o.Name)
			case o.Optional && o.Kind != Argv:
				return fmt.Errorf("command %q: option %q: only an argv option can be optional", c.Name, o.Name)
			case o.required() && optionalSeen:
				return fmt.Errorf("command %q: option %q: a required option after an optional positional one", c.Name, o.Name)
			case o.Kind == Argv && i != len(c.Opts)-1:
				return fmt.Errorf("command %q: option %q: an argv option must be the last", c.Name, o.Name)
			}
			opts[o.Name] = true
			if o.Kind == String && !o.OptionOnly {
				optionalSeen = true
			}
		}
	}
	return nil
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

// optIndex returns the index of the option named name, or -1.
func (c *Cmd) optIndex(name string) int {
	for i := range c.Opts {
		if c.Opts[i].Name == name {
			return i
		}
	}
	return -1
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
