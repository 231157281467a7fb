package main

import (
	"fmt"
	"strings"

	"github.com/vmoments/vmoments/momentlist"
)

// dotGraph draws items (moments of l) as a Graphviz digraph: one box per moment, an edge from
// each to its nearest listed ancestor, the current moment filled gold, the moments of the
// per-disk current set filled light blue and labelled with their disks, the --from moment
// dashed. Creation times are in the table's zone and form (localTime: virsh's local time).
func (a *app) dotGraph(domain string, l *momentlist.List, items []*momentlist.Moment, start *momentlist.Moment) string {
	var b strings.Builder
	fmt.Fprintf(&b, "digraph %s {\n", dotQuote(l.Kind().String()+"s of "+domain))
	b.WriteString("  rankdir=TB;\n  node [shape=box, style=rounded, fontname=\"monospace\"];\n")
	perDisk := disksByMoment(l)
	if start != nil {
		items = append(items, start)
	}
	tree := treeItems(items, start, nil)
	for _, m := range items {
		d := m.Def()
		label := []string{d.Name}
		if d.HasCreated {
			label = append(label, a.localTime(d))
		}
		if d.State != "" {
			label = append(label, d.State)
		}
		attrs := ""
		switch {
		case l.Current() == m:
			label = append(label, "(current)")
			attrs = `, style="rounded,filled,bold", fillcolor="gold"`
		case perDisk[m] != nil:
			attrs = `, style="rounded,filled", fillcolor="lightblue"`
		case m == start:
			attrs = `, style="rounded,dashed"`
		}
		if disks := perDisk[m]; disks != nil {
			label = append(label, "current for "+strings.Join(disks, ", "))
		}
		fmt.Fprintf(&b, "  %s [label=%s%s];\n", dotQuote(d.Name), dotQuote(strings.Join(label, "\n")), attrs)
	}
	for i, it := range tree {
		if it.Parent >= 0 {
			fmt.Fprintf(&b, "  %s -> %s;\n", dotQuote(items[it.Parent].Name()), dotQuote(items[i].Name()))
		}
	}
	b.WriteString("}\n")
	return b.String()
}

// dotQuote makes a DOT double-quoted string: backslashes and quotes escaped, newlines as \n.
func dotQuote(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`)
	return `"` + r.Replace(s) + `"`
}
