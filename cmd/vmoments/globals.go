package main

import (
	"fmt"
	"strconv"
	"strings"
)

// globalOpts are the options before the command, parsed as virsh parses them (getopt_long
// with "+:c:d:e:hk:K:l:qrtvV": short options may be grouped, long ones abbreviated, option
// parsing stops at the first word that is not an option).
type globalOpts struct {
	uri      string
	uriGiven bool
	readonly bool
	quiet    bool
	help     bool
	version  bool
}

type longOpt struct {
	name  string
	short byte
	arg   int // 0 none, 1 required, 2 optional
}

var globalLong = []longOpt{
	{"connect", 'c', 1}, {"debug", 'd', 1}, {"escape", 'e', 1}, {"help", 'h', 0},
	{"keepalive-interval", 'k', 1}, {"keepalive-count", 'K', 1}, {"log", 'l', 1},
	{"quiet", 'q', 0}, {"readonly", 'r', 0}, {"timing", 't', 0}, {"version", 'v', 2},
}

const globalShort = "c:d:e:hk:K:l:qrtvV"

// parseGlobals returns the options and the index of the first command word, or an error
// message in virsh's words.
func parseGlobals(args []string) (globalOpts, int, string) {
	var g globalOpts
	i := 0
	for i < len(args) {
		a := args[i]
		if a == "--" {
			return g, i + 1, ""
		}
		if len(a) < 2 || a[0] != '-' {
			return g, i, ""
		}
		if strings.HasPrefix(a, "--") {
			name, val, hasVal := strings.Cut(a[2:], "=")
			opt, errMsg := matchLong(name, a)
			if errMsg != "" {
				return g, i, errMsg
			}
			i++
			switch {
			case opt.arg == 0 && hasVal:
				return g, i, fmt.Sprintf("unsupported option '%s'. See --help.", a)
			case opt.arg == 1 && !hasVal:
				if i == len(args) {
					return g, i, fmt.Sprintf("option '-%c'/'--%s' requires an argument", opt.short, opt.name)
				}
				val = args[i]
				i++
			}
			if msg := g.apply(opt.short, val, hasVal || opt.arg == 1, true); msg != "" {
				return g, i, msg
			}
			continue
		}
		// a group of short options
		i++
		for j := 1; j < len(a); j++ {
			c := a[j]
			k := strings.IndexByte(globalShort, c)
			if k < 0 || c == ':' {
				return g, i, fmt.Sprintf("unsupported option '-%c'. See --help.", c)
			}
			if k+1 < len(globalShort) && globalShort[k+1] == ':' {
				val := a[j+1:]
				if val == "" {
					if i == len(args) {
						if name := longName(c); name != "" {
							return g, i, fmt.Sprintf("option '-%c'/'--%s' requires an argument", c, name)
						}
						return g, i, fmt.Sprintf("option '-%c' requires an argument", c)
					}
					val = args[i]
					i++
				}
				if msg := g.apply(c, val, true, false); msg != "" {
					return g, i, msg
				}
				break
			}
			if msg := g.apply(c, "", false, false); msg != "" {
				return g, i, msg
			}
		}
	}
	return g, i, ""
}

func matchLong(name, word string) (longOpt, string) {
	var found []longOpt
	for _, o := range globalLong {
		if o.name == name {
			return o, ""
		}
		if strings.HasPrefix(o.name, name) {
			found = append(found, o)
		}
	}
	if len(found) == 1 {
		return found[0], ""
	}
	return longOpt{}, fmt.Sprintf("unsupported option '%s'. See --help.", word)
}

func longName(c byte) string {
	for _, o := range globalLong {
		if o.short == c {
			return o.name
		}
	}
	return ""
}

// apply records one option. -d, -e, -k, -K, -l and -t are accepted for compatibility and
// ignored (vmoments has no debug log, console, keepalive or timing output).
func (g *globalOpts) apply(c byte, val string, hasVal, long bool) string {
	switch c {
	case 'c':
		g.uri, g.uriGiven = val, true
	case 'd':
		if _, err := strconv.Atoi(val); err != nil {
			if long {
				return "option --debug takes a numeric argument"
			}
			return "option -d takes a numeric argument"
		}
	case 'k', 'K':
		n, err := strconv.ParseInt(val, 0, 32)
		name := "-" + string(c)
		if long {
			name = "--" + longName(c)
		}
		if err != nil {
			return fmt.Sprintf("Invalid value for option %s", name)
		}
		if n < 0 {
			return fmt.Sprintf("option %s requires a positive integer argument", name)
		}
	case 'h':
		g.help = true
	case 'q':
		g.quiet = true
	case 'r':
		g.readonly = true
	case 'v', 'V':
		g.version = true
	}
	return ""
}
