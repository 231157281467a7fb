package vsh

import (
	"fmt"
	"strings"
)

// Globals are the options before the command, parsed as virsh parses them (virshParseArgv:
// getopt_long with "+:c:d:e:hk:K:l:qrtvV"), with virsh's checks of their values.
type Globals struct {
	// URI is -c/--connect's value; URIGiven says whether it was given (it may be empty).
	URI      string
	URIGiven bool
	Readonly bool // -r, --readonly
	Quiet    bool // -q, --quiet
	Timing   bool // -t, --timing
	// Help is -h/--help and Version -v/-V/--version: virsh acts on them as soon as it reads
	// them, so the options after them are not read.
	Help    bool
	Version bool
	// Debug is -d/--debug's level, -1 when not given (virsh then reads $VIRSH_DEBUG). A level
	// out of virsh's range [0-4] is reported (GlobalEffects.Warn) and left unset, as virsh does.
	Debug int
	// Escape is -e/--escape's console escape sequence ("" when not given).
	Escape string
	// KeepaliveInterval and KeepaliveCount are -k and -K, -1 when not given.
	KeepaliveInterval, KeepaliveCount int
	// LogFile is the last -l/--log file ("" when none).
	LogFile string
}

// Debug levels (virsh's vshErrorLevel): a message of a level at or above -d's is printed.
const (
	DebugDebug = iota
	DebugInfo
	DebugNotice
	DebugWarning
	DebugError
)

// GlobalEffects is what virsh does at once while it reads its options, in their order.
type GlobalEffects interface {
	// OpenLog opens -l's log file (closing the one before); a failure ends the parse.
	OpenLog(path string) error
	// Warn reports a problem that does not end the parse (virsh's vshError): a -d level out
	// of range.
	Warn(msg string)
}

// argKind says whether a global option takes a value (getopt's has_arg).
type argKind int

const (
	noArg argKind = iota
	requiredArg
	optionalArg
)

type longOpt struct {
	name  string
	short byte
	arg   argKind
}

var globalLong = []longOpt{
	{"connect", 'c', requiredArg}, {"debug", 'd', requiredArg}, {"escape", 'e', requiredArg},
	{"help", 'h', noArg}, {"keepalive-interval", 'k', requiredArg},
	{"keepalive-count", 'K', requiredArg}, {"log", 'l', requiredArg}, {"quiet", 'q', noArg},
	{"readonly", 'r', noArg}, {"timing", 't', noArg}, {"version", 'v', optionalArg},
}

// globalShort is getopt's short option string without its leading "+:" (stop at the first
// word that is not an option; report a missing value ourselves).
const globalShort = "c:d:e:hk:K:l:qrtvV"

// ParseGlobals returns the options and the index in args of the first command word. Its errors
// are virsh's messages. effects (nil: none) sees -l and -d as virsh acts on them.
func ParseGlobals(args []string, effects GlobalEffects) (Globals, int, error) {
	g := Globals{Debug: -1, KeepaliveInterval: -1, KeepaliveCount: -1}
	p := globalParser{g: &g, effects: effects}
	i := 0
	for i < len(args) && !g.Help && !g.Version {
		a := args[i]
		var err error
		switch {
		case a == "--":
			return g, i + 1, nil
		case len(a) < 2 || a[0] != '-':
			return g, i, nil
		case strings.HasPrefix(a, "--"):
			i, err = p.long(args, i)
		default:
			i, err = p.shorts(args, i)
		}
		if err != nil {
			return g, i, err
		}
	}
	return g, i, nil
}

// globalParser is one run of ParseGlobals.
type globalParser struct {
	g       *Globals
	effects GlobalEffects
}

// long parses the long option args[i] (with its value) and returns the index after it.
func (g *globalParser) long(args []string, i int) (int, error) {
	a := args[i]
	name, val, hasVal := strings.Cut(a[2:], "=")
	opt, err := matchLong(name, a)
	if err != nil {
		return i, err
	}
	i++
	switch {
	case opt.arg == noArg && hasVal:
		return i, Errorf("unsupported option '%s'. See --help.", a)
	case opt.arg == requiredArg && !hasVal:
		if i == len(args) {
			return i, Errorf("option '-%c'/'--%s' requires an argument", opt.short, opt.name)
		}
		val = args[i]
		i++
	}
	return i, g.apply(opt.short, val, true)
}

// shorts parses the group of short options args[i] ("-rq", "-ctest:///default", "-c" and its
// value in the next word) and returns the index after it.
func (g *globalParser) shorts(args []string, i int) (int, error) {
	a := args[i]
	i++
	for j := 1; j < len(a); j++ {
		c := a[j]
		k := strings.IndexByte(globalShort, c)
		if k < 0 || c == ':' {
			return i, Errorf("unsupported option '-%c'. See --help.", c)
		}
		if k+1 == len(globalShort) || globalShort[k+1] != ':' {
			if err := g.apply(c, "", false); err != nil {
				return i, err
			}
			if g.g.Help || g.g.Version {
				return i, nil // virsh acts on them at once: the rest of the group is not read
			}
			continue
		}
		// An option with a value takes the rest of the word, else the next word.
		val := a[j+1:]
		if val == "" {
			if i == len(args) {
				if name := longName(c); name != "" {
					return i, Errorf("option '-%c'/'--%s' requires an argument", c, name)
				}
				return i, Errorf("option '-%c' requires an argument", c)
			}
			val = args[i]
			i++
		}
		return i, g.apply(c, val, false)
	}
	return i, nil
}

// matchLong finds the long option name, which may be abbreviated to any unambiguous prefix.
func matchLong(name, word string) (longOpt, error) {
	var found []longOpt
	for _, o := range globalLong {
		if o.name == name {
			return o, nil
		}
		if strings.HasPrefix(o.name, name) {
			found = append(found, o)
		}
	}
	if len(found) == 1 {
		return found[0], nil
	}
	return longOpt{}, Errorf("unsupported option '%s'. See --help.", word)
}

func longName(c byte) string {
	for _, o := range globalLong {
		if o.short == c {
			return o.name
		}
	}
	return ""
}

// apply records one option (long: it was given by its long name) with virsh's checks.
func (p *globalParser) apply(c byte, val string, long bool) error {
	g := p.g
	name := "-" + string(c)
	if long {
		name = "--" + longName(c)
	}
	switch c {
	case 'c':
		g.URI, g.URIGiven = val, true
	case 'd':
		n, ok := StrToInt(val, 10)
		if !ok {
			return Errorf("option %s takes a numeric argument", name)
		}
		if n < DebugDebug || n > DebugError {
			if p.effects != nil {
				p.effects.Warn(fmt.Sprintf("ignoring debug level %d out of range [%d-%d]", n, DebugDebug, DebugError))
			}
		} else {
			g.Debug = n
		}
	case 'e':
		if !validEscape(val) {
			return Errorf("Invalid string '%s' for escape sequence", val)
		}
		g.Escape = val
	case 'k', 'K':
		n, ok := StrToInt(val, 0)
		if !ok {
			return Errorf("Invalid value for option %s", name)
		}
		if n < 0 {
			return Errorf("option %s requires a positive integer argument", name)
		}
		if c == 'k' {
			g.KeepaliveInterval = n
		} else {
			g.KeepaliveCount = n
		}
	case 'l':
		g.LogFile = val
		if p.effects != nil {
			if err := p.effects.OpenLog(val); err != nil {
				return err
			}
		}
	case 'h':
		g.Help = true
	case 'q':
		g.Quiet = true
	case 'r':
		g.Readonly = true
	case 't':
		g.Timing = true
	case 'v', 'V':
		g.Version = true
	}
	return nil
}

// validEscape is virsh's check of -e: one character other than '^', or '^' and one of
// a-z @ A-Z [ \ ] ^ _ (bytes, as virsh counts them).
func validEscape(s string) bool {
	switch {
	case len(s) == 1:
		return s[0] != '^'
	case len(s) == 2 && s[0] == '^':
		c := s[1]
		return ('a' <= c && c <= 'z') || ('@' <= c && c <= '_')
	}
	return false
}

// StrToInt is libvirt's virStrToLong_i with no end pointer: strtol's syntax (leading blanks,
// a sign; base 0 also reads 0x hexadecimal and 0 octal), the whole string, in int's range.
func StrToInt(s string, base int) (int, bool) {
	i := 0
	for i < len(s) && strings.IndexByte(" \t\n\v\f\r", s[i]) >= 0 {
		i++
	}
	neg := false
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		neg = s[i] == '-'
		i++
	}
	if base == 0 {
		switch {
		case i+1 < len(s) && s[i] == '0' && (s[i+1] == 'x' || s[i+1] == 'X') && i+2 < len(s) && digitValue(s[i+2]) < 16:
			base, i = 16, i+2
		case i < len(s) && s[i] == '0':
			base = 8
		default:
			base = 10
		}
	}
	start := i
	var n int64
	for i < len(s) {
		d := digitValue(s[i])
		if d >= base {
			break
		}
		if n = n*int64(base) + int64(d); n > 1<<31 {
			return 0, false // out of int's range (strtol's ERANGE or virStrToLong_i's check)
		}
		i++
	}
	if i == start || i != len(s) {
		return 0, false
	}
	if neg {
		n = -n
	}
	if n > 1<<31-1 || n < -(1<<31) {
		return 0, false
	}
	return int(n), true
}

// digitValue is the value of a digit or letter in any base up to 36 (99 for other bytes).
func digitValue(c byte) int {
	switch {
	case '0' <= c && c <= '9':
		return int(c - '0')
	case 'a' <= c && c <= 'z':
		return int(c-'a') + 10
	case 'A' <= c && c <= 'Z':
		return int(c-'A') + 10
	}
	return 99
}
