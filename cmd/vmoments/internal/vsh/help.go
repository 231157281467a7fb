package vsh

import (
	"fmt"
	"strings"
)

// Help is virsh's per-command help (vshCmddefHelp): NAME, SYNOPSIS, DESCRIPTION and OPTIONS,
// plus an EXAMPLES section and a "[vmoments]" mark on the options vmoments adds. Aliases are
// left out, as virsh leaves them out.
func (c *Cmd) Help() string {
	var b strings.Builder
	fmt.Fprintf(&b, "  NAME\n    %s - %s\n\n  SYNOPSIS\n    %s", c.Name, c.Summary, c.Name)
	// shortopt: an option before the argv list may be given by position, so the list's words
	// may be too ("[--file] <string>"); virsh decides it over the whole synopsis.
	shortopt := false
	for _, o := range c.Opts {
		if o.Kind == Alias {
			continue
		}
		b.WriteString(" " + o.synopsis(shortopt))
		if (o.Kind == String || o.Kind == Data) && !o.OptionOnly {
			shortopt = true
		}
	}
	b.WriteString("\n")
	if c.Desc != "" {
		fmt.Fprintf(&b, "\n  DESCRIPTION\n    %s\n", c.Desc)
	}
	if len(c.Opts) > 0 {
		b.WriteString("\n  OPTIONS\n")
		for _, o := range c.Opts {
			if o.Kind == Alias {
				continue
			}
			help := o.Help
			if o.Extension {
				help += " [vmoments]"
			}
			fmt.Fprintf(&b, "    %-15s  %s\n", o.usage(shortopt), help)
		}
	}
	if len(c.Examples) > 0 {
		b.WriteString("\n  EXAMPLES\n")
		for _, ex := range c.Examples {
			fmt.Fprintf(&b, "    %s\n        %s\n", ex.Line, ex.What)
		}
	}
	b.WriteString("\n")
	return b.String()
}

// synopsis is the option in the SYNOPSIS line.
func (o *Opt) synopsis(shortopt bool) string {
	switch o.Kind {
	case Bool:
		return "[--" + o.Name + "]"
	case String:
		if o.Repeat {
			return "[--" + o.Name + " <string>]..."
		}
		return "[--" + o.Name + " <string>]"
	case Argv:
		switch {
		case shortopt && o.Optional:
			return "[[--" + o.Name + "] <string>]..."
		case shortopt:
			return "{[--" + o.Name + "] <string>}..."
		case o.Optional:
			return "[<" + o.Name + ">]..."
		}
		return "<" + o.Name + ">..."
	}
	return "<" + o.Name + ">"
}

// usage is the option in the OPTIONS list.
func (o *Opt) usage(shortopt bool) string {
	switch o.Kind {
	case Bool:
		return "--" + o.Name
	case String:
		return "--" + o.Name + " <string>"
	case Argv:
		if shortopt {
			return "[--" + o.Name + "] <string>"
		}
		return "<" + o.Name + ">"
	}
	return "[--" + o.Name + "] <string>"
}
