package vsh

import (
	"fmt"
	"strings"
)

// Help is virsh's per-command help (vshCmddefHelp): NAME, SYNOPSIS, DESCRIPTION and OPTIONS,
// plus an EXAMPLES section and a "[vmoments]" mark on the options vmoments adds.
func (c *Cmd) Help() string {
	var b strings.Builder
	fmt.Fprintf(&b, "  NAME\n    %s - %s\n\n  SYNOPSIS\n    %s", c.Name, c.Summary, c.Name)
	for _, o := range c.Opts {
		b.WriteString(" " + o.synopsis())
	}
	b.WriteString("\n")
	if c.Desc != "" {
		fmt.Fprintf(&b, "\n  DESCRIPTION\n    %s\n", c.Desc)
	}
	if len(c.Opts) > 0 {
		b.WriteString("\n  OPTIONS\n")
		for _, o := range c.Opts {
			help := o.Help
			if o.Extension {
				help += " [vmoments]"
			}
			fmt.Fprintf(&b, "    %-15s  %s\n", o.usage(), help)
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
func (o *Opt) synopsis() string {
	switch o.Kind {
	case Bool:
		return "[--" + o.Name + "]"
	case String:
		return "[--" + o.Name + " <string>]"
	case Argv:
		if o.Optional {
			return "[[--" + o.Name + "] <string>]..."
		}
		return "<" + o.Name + ">..."
	}
	return "<" + o.Name + ">"
}

// usage is the option in the OPTIONS list.
func (o *Opt) usage() string {
	switch o.Kind {
	case Bool:
		return "--" + o.Name
	case String:
		return "--" + o.Name + " <string>"
	case Argv:
		if o.Optional {
			return "[--" + o.Name + "] <string>"
		}
		return "<" + o.Name + ">"
	}
	return "[--" + o.Name + "] <string>"
}
