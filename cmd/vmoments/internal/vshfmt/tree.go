package vshfmt

import "strings"

// TreeItem is one entry of a tree listing: its label and the index of its parent in the same
// slice, or -1 for a root.
type TreeItem struct {
	Label  string
	Parent int
}

// FormatTree renders items as virsh's --tree does: for each root in slice order, vshTreePrint,
// which prints a node, a "  |" line when it has children, its children in slice order, and a
// whitespace-only line after the last child of a branch (a childless root prints an empty
// line). The slice order is the listing order (virsh sorts it by name).
func FormatTree(items []TreeItem) string {
	children := make([][]int, len(items))
	for i, it := range items {
		if it.Parent >= 0 {
			children[it.Parent] = append(children[it.Parent], i)
		}
	}
	var b strings.Builder
	var indent []byte
	var walk func(id, last int, root bool)
	walk = func(id, last int, root bool) {
		b.Write(indent)
		if !root {
			b.WriteString("+- ")
		}
		b.WriteString(items[id].Label)
		b.WriteByte('\n')
		if !root {
			if id == last {
				indent = append(indent, ' ', ' ')
			} else {
				indent = append(indent, '|', ' ')
			}
		}
		kids := children[id]
		nextLast := -1
		if len(kids) > 0 {
			nextLast = kids[len(kids)-1]
			b.Write(indent)
			b.WriteString("  |\n")
		}
		indent = append(indent, ' ', ' ')
		for _, k := range kids {
			walk(k, nextLast, false)
		}
		indent = indent[:len(indent)-2]
		if nextLast == -1 && id == last {
			b.Write(indent)
			b.WriteByte('\n')
		}
		if !root {
			indent = indent[:len(indent)-2]
		}
	}
	for i, it := range items {
		if it.Parent < 0 {
			walk(i, i, true)
		}
	}
	return b.String()
}

// Strcasecmp compares like glibc's strcasecmp in the C and C.UTF-8 locales (virsh's
// vshStrcasecmp): byte by byte, ASCII letters folded to lower case, other bytes unsigned.
func Strcasecmp(a, b string) int {
	for i := 0; i < len(a) && i < len(b); i++ {
		ca, cb := lower(a[i]), lower(b[i])
		if ca != cb {
			return int(ca) - int(cb)
		}
	}
	return len(a) - len(b)
}

func lower(c byte) byte {
	if c >= 'A' && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}
