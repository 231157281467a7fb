package vsh

import (
	"strconv"
	"strings"
)

// Globals are the options before the command, parsed as virsh parses them (virshParseArgv:
// getopt_long with "+:c:d:e:hk:K:l:qrtvV"). -d, -e, -k, -K, -l and -t are checked as virsh
// checks them and then ignored (vmoments has no debug log, console, keepalive or timing output).
type Globals struct {
	// URI is -c/--connect's value; URIGiven says whether it was given (it may be empty).
	URI      string
	URIGiven bool
	Readonly bool // -r, --readonly
	Quiet    bool // -q, --quiet
	Help     bool // -h, --help
	Version  bool // -v, -V, --version
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
// are virsh's messages.
func ParseGlobals(args []string) (Globals, int, error) {
	var g Globals
	i := 0
	for i < len(args) {
		a := args[i]
		switch {
		case a == "--":
			return g, i + 1, nil
		case len(a) < 2 || a[0] != '-':
			return g, i, nil
		case strings.HasPrefix(a, "--"):
			n, err := g.long(args, i)
			if err != nil {
				return g, n, err
			}
			i = n
		default:
			n, err := g.shorts(args, i)
			if err != nil {
				return g, n, err
			}
			i = n
		}
	}
	return g, i, nil
}

// long parses the long option args[i] (with its value) and returns the index after it.
func (g *Globals) long(args []string, i int) (int, error) {
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
func (g *Globals) shorts(args []string, i int) (int, error) {
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

// apply records one option (long: it was given by its long name).
func (g *Globals) apply(c byte, val string, long bool) error {
	switch c {
	case 'c':
		g.URI, g.URIGiven = val, true
	case 'd':
		if _, err := strconv.Atoi(val); err != nil {
			if long {
				return Errorf("option --debug takes a numeric argument")
			}
			return Errorf("option -d takes a numeric argument")
		}
	case 'k', 'K':
		n, err := strconv.ParseInt(val, 0, 32)
		name := "-" + string(c)
		if long {
			name = "--" + longName(c)
		}
		if err != nil {
			return Errorf("Invalid value for option %s", name)
		}
		if n < 0 {
			return Errorf("option %s requires a positive integer argument", name)
		}
	case 'h':
		g.Help = true
	case 'q':
		g.Quiet = true
	case 'r':
		g.Readonly = true
	case 'v', 'V':
		g.Version = true
	}
	return nil
}
