package main

import (
	"fmt"
	"strings"
)

// xmlBuf is libvirt's virBuffer as the *-create-as commands use it to build their XML: text is
// appended with an automatic indent, which is added only when the buffer is empty or ends with
// a newline (never after newlines inside an appended string).
type xmlBuf struct {
	b      strings.Builder
	indent int
}

// applyIndent is virBufferApplyIndent.
func (x *xmlBuf) applyIndent() {
	s := x.b.String()
	if len(s) > 0 && s[len(s)-1] != '\n' {
		return
	}
	x.b.WriteString(strings.Repeat(" ", x.indent))
}

// add is virBufferAddLit / virBufferAdd.
func (x *xmlBuf) add(s string) {
	x.applyIndent()
	x.b.WriteString(s)
}

// printf is virBufferAsprintf: the arguments go in as they are.
func (x *xmlBuf) printf(format string, args ...any) {
	x.applyIndent()
	fmt.Fprintf(&x.b, format, args...)
}

// escape is virBufferEscapeString: format's one %s gets s escaped for XML; a nil s adds
// nothing, not even the rest of format.
func (x *xmlBuf) escape(format string, s *string) {
	if s == nil {
		return
	}
	x.printf(format, xmlEscapeString(*s))
}

// adjustIndent is virBufferAdjustIndent.
func (x *xmlBuf) adjustIndent(n int) {
	x.indent = max(x.indent+n, 0)
}

func (x *xmlBuf) String() string { return x.b.String() }

// xmlEscapeString is virBufferEscapeString's escaping in libvirt 9.0: the five XML specials
// become entities and the control characters 0x01-0x08, 0x0B, 0x0C and 0x0E-0x19 are dropped
// (libvirt's table stops at 0x19, so 0x1A-0x1F pass, as do tab, newline and carriage return).
// Other bytes, invalid UTF-8 included, are copied.
func xmlEscapeString(s string) string {
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
		case c >= 0x01 && c <= 0x08, c == 0x0B, c == 0x0C, c >= 0x0E && c <= 0x19:
			// silently dropped
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// stringToArray is virsh 9.0's vshStringToArray: s split at commas, where ",," stands for a
// literal comma. It splits with g_strsplit, which gives no field at all for "", so the result
// for "" is one missing (nil) field, which virsh then treats as absent.
func stringToArray(s string) []*string {
	if s == "" {
		return []*string{nil}
	}
	parts := strings.Split(s, ",")
	out := []*string{&parts[0]}
	concat := false
	for _, p := range parts[1:] {
		if concat {
			joined := *out[len(out)-1] + "," + p
			out[len(out)-1] = &joined
			concat = false
			continue
		}
		if p == "" {
			concat = true
			continue
		}
		out = append(out, &p)
	}
	if concat {
		empty := ""
		out = append(out, &empty)
	}
	return out
}

// strPtr returns a pointer to s (an option that was given).
func strPtr(s string) *string { return &s }

// cutPrefix is STRPREFIX on a field: the rest after prefix, if the field has it.
func cutPrefix(field *string, prefix string) (*string, bool) {
	if field == nil {
		return nil, false
	}
	rest, ok := strings.CutPrefix(*field, prefix)
	if !ok {
		return nil, false
	}
	return &rest, true
}
