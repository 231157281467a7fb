package conf

import (
	"bytes"
	"unicode/utf8"
)

// scanner is a forward-only reader of the XML subset libvirt writes. Every method returns
// errFallback when the input leaves that subset.
type scanner struct {
	b    []byte
	i    int
	kind Kind
	// attrs holds the current start tag's attributes (raw values, undecoded).
	attrs [8]rawAttr
	nattr int
}

type rawAttr struct{ name, value []byte }

// plainString converts character data without markup.
func plainString(seg []byte) (string, error) {
	if bytes.IndexByte(seg, '&') >= 0 || bytes.IndexByte(seg, '\r') >= 0 ||
		bytes.Contains(seg, []byte("]]>")) {
		var buf []byte
		if err := appendText(&buf, seg); err != nil {
			return "", err
		}
		return validString(buf)
	}
	return validString(seg)
}

func validString(b []byte) (string, error) {
	if !utf8.Valid(b) {
		return "", errFallback
	}
	return string(b), nil
}

// appendText appends character data with its entities and character references decoded.
func appendText(buf *[]byte, seg []byte) error {
	if bytes.IndexByte(seg, '\r') >= 0 || bytes.Contains(seg, []byte("]]>")) {
		return errFallback
	}
	for {
		j := bytes.IndexByte(seg, '&')
		if j < 0 {
			*buf = append(*buf, seg...)
			return nil
		}
		*buf = append(*buf, seg[:j]...)
		seg = seg[j+1:]
		k := bytes.IndexByte(seg, ';')
		if k < 0 {
			return errFallback
		}
		ent := seg[:k]
		seg = seg[k+1:]
		switch string(ent) {
		case "amp":
			*buf = append(*buf, '&')
		case "lt":
			*buf = append(*buf, '<')
		case "gt":
			*buf = append(*buf, '>')
		case "apos":
			*buf = append(*buf, '\'')
		case "quot":
			*buf = append(*buf, '"')
		default:
			r, ok := charRef(ent)
			if !ok {
				return errFallback
			}
			*buf = utf8.AppendRune(*buf, r)
		}
	}
}

// charRef decodes the inside of a character reference (#65, #x41). It accepts only characters
// XML allows, and no carriage return (which the full parser would see differently).
func charRef(ent []byte) (rune, bool) {
	if len(ent) < 2 || ent[0] != '#' {
		return 0, false
	}
	digits, base := ent[1:], 10
	if digits[0] == 'x' {
		digits, base = digits[1:], 16
	}
	if len(digits) == 0 || len(digits) > 8 {
		return 0, false
	}
	var n rune
	for _, c := range digits {
		var v rune
		switch {
		case c >= '0' && c <= '9':
			v = rune(c - '0')
		case base == 16 && c >= 'a' && c <= 'f':
			v = rune(c-'a') + 10
		case base == 16 && c >= 'A' && c <= 'F':
			v = rune(c-'A') + 10
		default:
			return 0, false
		}
		n = n*rune(base) + v
	}
	ok := n == 0x9 || n == 0xA || n >= 0x20 && n <= 0xD7FF || n >= 0xE000 && n <= 0xFFFD ||
		n >= 0x10000 && n <= 0x10FFFF
	return n, ok
}

// attr returns the current start tag's attribute, decoded.
func (s *scanner) attr(name string) (optional, error) {
	for i := 0; i < s.nattr; i++ {
		a := &s.attrs[i]
		if string(a.name) != name {
			continue
		}
		v, err := plainString(a.value)
		if err != nil || bytes.IndexByte(a.value, '<') >= 0 {
			return optional{}, errFallback
		}
		return optional{v, true}, nil
	}
	return optional{}, nil
}

// startTag reads a start tag at s.i ('<' first) and its attributes into s.attrs. Attribute
// names with a namespace prefix, repeated attributes and more than len(s.attrs) attributes
// leave the subset.
func (s *scanner) startTag() (name []byte, self bool, err error) {
	s.i++ // '<'
	name = s.name()
	if len(name) == 0 {
		return nil, false, errFallback
	}
	s.nattr = 0
	for {
		s.skipSpace()
		if s.i >= len(s.b) {
			return nil, false, errFallback
		}
		switch s.b[s.i] {
		case '>':
			s.i++
			return name, false, nil
		case '/':
			if !s.has("/>") {
				return nil, false, errFallback
			}
			s.i += 2
			return name, true, nil
		}
		an := s.name()
		if len(an) == 0 || bytes.IndexByte(an, ':') >= 0 || s.nattr == len(s.attrs) {
			return nil, false, errFallback
		}
		s.skipSpace()
		if !s.has("=") {
			return nil, false, errFallback
		}
		s.i++
		s.skipSpace()
		if s.i >= len(s.b) || s.b[s.i] != '\'' && s.b[s.i] != '"' {
			return nil, false, errFallback
		}
		q := s.b[s.i]
		k := bytes.IndexByte(s.b[s.i+1:], q)
		if k < 0 {
			return nil, false, errFallback
		}
		for j := 0; j < s.nattr; j++ {
			if bytes.Equal(s.attrs[j].name, an) {
				return nil, false, errFallback
			}
		}
		s.attrs[s.nattr] = rawAttr{an, s.b[s.i+1 : s.i+1+k]}
		s.nattr++
		s.i += k + 2
	}
}

// endTag reads an end tag at s.i ("</" first) and returns its name.
func (s *scanner) endTag() ([]byte, error) {
	s.i += 2
	name := s.name()
	s.skipSpace()
	if len(name) == 0 || !s.has(">") {
		return nil, errFallback
	}
	s.i++
	return name, nil
}

// name reads an XML name; one with a namespace prefix leaves the subset (it returns nil).
func (s *scanner) name() []byte {
	start := s.i
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r', '/', '>', '=', '<', '\'', '"':
			n := s.b[start:s.i]
			if bytes.IndexByte(n, ':') >= 0 {
				return nil
			}
			return n
		}
		s.i++
	}
	return nil
}

// skipElement skips the content of the element whose start tag was just read, and its end tag.
// It counts nesting over every tag and steps over comments, CDATA and processing instructions.
func (s *scanner) skipElement(open []byte) error {
	// The names of the elements open so far: every end tag must close the innermost one, as
	// the full parser requires; anything else leaves the subset (the full parser says why).
	var buf [8][]byte
	stack := append(buf[:0], open)
	for len(stack) > 0 {
		if !s.toTag() {
			return errFallback
		}
		switch {
		case s.has("</"):
			name, err := s.endTag()
			if err != nil || !bytes.Equal(name, stack[len(stack)-1]) {
				return errFallback
			}
			stack = stack[:len(stack)-1]
		case s.has("<!") || s.has("<?"):
			if err := s.skipMarkup(); err != nil {
				return err
			}
		default:
			start := s.i
			s.i++
			name := s.name()
			s.i = start
			self, ok := s.skipTag()
			if !ok || len(name) == 0 {
				return errFallback
			}
			if !self {
				stack = append(stack, name)
			}
		}
	}
	return nil
}

// skipFast skips the element name (domain, inactiveDomain) whose start tag was just read: the
// first </name> ends it unless the content in between holds markup that could hide or nest one
// (comments, CDATA, processing instructions, another <name>); then it counts tags instead.
func (s *scanner) skipFast(name []byte) error {
	var buf [40]byte
	end := append(append(append(buf[:0], "</"...), name...), '>') // </domain>
	open := append(append(end[len(end):], '<'), name...)          // <domain
	// One pass over the '<' of the content (each of the checks above alone would visit them
	// all): the first end tag ends the element, markup or a nested start before it does not.
	b := s.b
	for p := s.i; ; p++ {
		k := bytes.IndexByte(b[p:], '<')
		if k < 0 || p+k+1 >= len(b) {
			break
		}
		p += k
		if c := b[p+1]; c == '!' || c == '?' || bytes.HasPrefix(b[p:], open) {
			break
		}
		if bytes.HasPrefix(b[p:], end) {
			s.i = p + len(end)
			return nil
		}
	}
	return s.skipElement(name)
}

// skipTag skips a start tag at s.i, respecting quoted attribute values.
func (s *scanner) skipTag() (self, ok bool) {
	for j := s.i + 1; j < len(s.b); j++ {
		switch c := s.b[j]; c {
		case '\'', '"':
			k := bytes.IndexByte(s.b[j+1:], c)
			if k < 0 {
				return false, false
			}
			j += k + 1
		case '<':
			return false, false
		case '>':
			s.i = j + 1
			return s.b[j-1] == '/', true
		}
	}
	return false, false
}

// skipMarkup skips a comment, CDATA section or processing instruction at s.i; a DOCTYPE or
// other declaration leaves the subset.
func (s *scanner) skipMarkup() error {
	var ok bool
	switch {
	case s.has("<!--"):
		ok = s.skipPast("-->")
	case s.has("<![CDATA["):
		ok = s.skipPast("]]>")
	case s.has("<?"):
		ok = s.skipPast("?>")
	}
	if !ok {
		return errFallback
	}
	return nil
}

// child moves to the start tag of the current element's next child, stepping over character
// data, comments, CDATA and processing instructions. At the element's end tag it reads it and
// returns done; that tag must name end (any name when end is ""), else the document goes to the
// full parser. Every element loop of the fast scanner starts with it.
func (s *scanner) child(end string) (done bool, err error) {
	for {
		if !s.toTag() {
			return false, errFallback
		}
		switch {
		case s.has("</"):
			name, err := s.endTag()
			if err != nil || (end != "" && string(name) != end) {
				return false, errFallback
			}
			return true, nil
		case s.has("<!") || s.has("<?"):
			if err := s.skipMarkup(); err != nil {
				return false, err
			}
		default:
			return false, nil
		}
	}
}

// toTag moves to the next '<'; the character data before it is ignored.
func (s *scanner) toTag() bool {
	j := bytes.IndexByte(s.b[s.i:], '<')
	if j < 0 {
		return false
	}
	s.i += j
	return true
}

func (s *scanner) has(p string) bool {
	return len(s.b)-s.i >= len(p) && string(s.b[s.i:s.i+len(p)]) == p
}

func (s *scanner) skipPast(p string) bool {
	k := bytes.Index(s.b[s.i:], []byte(p))
	if k < 0 {
		return false
	}
	s.i += k + len(p)
	return true
}

func (s *scanner) skipSpace() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}
