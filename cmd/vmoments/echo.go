package main

import (
	"context"
	"strings"

	"github.com/vmoments/vmoments/cmd/vmoments/internal/vsh"
)

// runEcho is virsh's echo: its words joined by spaces, each as it is, quoted for a shell
// (--shell), escaped for XML (--xml) or split at commas into lines (--split); on stdout without
// a newline (the blank line after every command ends it), or on stderr as an error (--err).
func runEcho(_ context.Context, a *app, c *vsh.Parsed) error {
	if err := exclusive(c, [2]string{"shell", "xml"}, [2]string{"shell", "split"}, [2]string{"xml", "split"}); err != nil {
		return err
	}
	words := c.Argv()
	if len(words) == 0 {
		return nil // virsh's buffer stays empty: nothing is printed, not even by --err
	}
	var b strings.Builder
	for _, w := range words {
		switch {
		case c.Has("xml"):
			b.WriteString(escapeXML(w))
		case c.Has("shell"):
			b.WriteString(escapeShell(w))
		case c.Has("split"):
			for _, part := range splitCommas(w) {
				b.WriteString(part + "\n")
			}
		default:
			b.WriteString(w)
		}
		b.WriteByte(' ')
	}
	out := strings.TrimSuffix(b.String(), " ")
	if c.Has("err") {
		a.reportLine(out)
		return nil
	}
	a.printf("%s", out)
	return nil
}

// escapeShell is libvirt's virBufferEscapeShell: s as /bin/sh reads it back, in single quotes
// when it holds a shell metacharacter, and two single quotes for the empty string.
func escapeShell(s string) string {
	if s == "" {
		return "''"
	}
	if !strings.ContainsAny(s, "\r\t\n !\"#$&'()*;<>?[\\]^`{|}~") {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// escapeXML is libvirt's virBufferEscapeString: <, >, &, " and ' as entities, and the control
// characters of its list dropped (0x01-0x08, 0x0B, 0x0C, 0x0E-0x19; libvirt's list stops there).
func escapeXML(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '<':
			b.WriteString("&lt;")
		case c == '>':
			b.WriteString("&gt;")
		case c == '&':
			b.WriteString("&amp;")
		case c == '"':
			b.WriteString("&quot;")
		case c == '\'':
			b.WriteString("&apos;")
		case (c >= 0x01 && c <= 0x08) || c == 0x0B || c == 0x0C || (c >= 0x0E && c <= 0x19):
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// splitCommas is virsh's vshStringToArray: s split at each comma, where ",," is a comma of the
// text (read from the left: ",,," is a comma then a separator); the empty string has no parts
// (g_strsplit's answer).
func splitCommas(s string) []string {
	if s == "" {
		return nil
	}
	var parts []string
	var cur strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != ',' {
			cur.WriteByte(s[i])
			continue
		}
		if i+1 < len(s) && s[i+1] == ',' {
			cur.WriteByte(',')
			i++
			continue
		}
		parts = append(parts, cur.String())
		cur.Reset()
	}
	return append(parts, cur.String())
}
