package conf

import (
	"bytes"
	"errors"
	"strconv"
)

// ParseFast is the list fast path: it reads what a list needs — name, description, parent,
// state, creationTime, memory, disks and <active> — from a document libvirt wrote, and skips the
// embedded <domain> (most of every document) without parsing it: it looks for the matching end
// tag with a byte search instead of tokenizing the domain. The definition keeps data as its raw
// XML (not a copy), so [Def.FullSnapshot] and [Def.Format] can use the whole document later.
//
// The result is the one ParseSnapshot or ParseCheckpoint gives in ParseRedefine mode, with the
// same checks and messages. The scanner reads the XML libvirt writes (entities and character
// references, CDATA, comments, any attribute quoting); whenever it meets something else —
// namespace prefixes, a repeated element, an element nested in a text field, a carriage return,
// a DOCTYPE — it hands the document to the full parser, so it is never less correct, only
// sometimes not faster. It is more lenient in one way: it does not check that the skipped parts
// (the domain, the text after the root) are well-formed.
func ParseFast(kind Kind, data []byte) (*Def, error) {
	if kind != Snapshot && kind != Checkpoint {
		return nil, &ParseError{Kind: kind, Msg: "ParseFast: unknown kind " + strconv.Itoa(int(kind))}
	}
	s := scanner{b: data, kind: kind}
	r, err := s.document()
	if err != nil {
		return parseFull(kind, data, ParseRedefine)
	}
	d, err := build(kind, ParseRedefine, r)
	if err != nil {
		return nil, err
	}
	d.SetRaw(data)
	return d, nil
}

// errFallback says the fast scanner met XML it leaves to the full parser.
var errFallback = errors.New("conf: document needs the full parser")

func (s *scanner) document() (*rawDoc, error) {
	// Prolog: white space, <?xml ...?>, comments.
	for {
		s.skipSpace()
		switch {
		case s.has("<?"):
			if !s.skipPast("?>") {
				return nil, errFallback
			}
		case s.has("<!--"):
			if !s.skipPast("-->") {
				return nil, errFallback
			}
		case s.has("<") && !s.has("<!"):
			name, self, err := s.startTag()
			if err != nil || self || string(name) != rootNames[s.kind] {
				return nil, errFallback
			}
			return s.body()
		default:
			return nil, errFallback
		}
	}
}

// body reads the root element's children up to the root's end tag.
func (s *scanner) body() (*rawDoc, error) {
	r := &rawDoc{}
	var seen uint16
	once := func(bit uint16) bool {
		dup := seen&bit != 0
		seen |= bit
		return !dup
	}
	const (
		bName = 1 << iota
		bDescription
		bState
		bCreated
		bParent
		bMemory
		bDisks
		bActive
	)
	for {
		done, err := s.child(rootNames[s.kind])
		if err != nil {
			return nil, err
		}
		if done {
			return r, nil
		}
		name, self, err := s.startTag()
		if err != nil {
			return nil, err
		}
		var dst *string
		var bit uint16
		switch string(name) {
		case "name":
			dst, bit = &r.name, bName
		case "description":
			dst, bit = &r.description, bDescription
		case "creationTime":
			dst, bit = &r.created, bCreated
		case "state":
			if s.kind == Snapshot {
				dst, bit = &r.state, bState
			}
		case "active":
			if s.kind == Snapshot {
				dst, bit = &r.active, bActive
			}
		case "parent":
			if !once(bParent) {
				return nil, errFallback
			}
			if !self {
				if err := s.parent(r); err != nil {
					return nil, err
				}
			}
			continue
		case "memory":
			if s.kind == Snapshot {
				if !once(bMemory) {
					return nil, errFallback
				}
				r.hasMemory = true
				if r.memMode, err = s.attr("snapshot"); err != nil {
					return nil, err
				}
				if r.memFile, err = s.attr("file"); err != nil {
					return nil, err
				}
			}
		case "disks":
			if !once(bDisks) {
				return nil, errFallback
			}
			if !self {
				if err := s.disks(r); err != nil {
					return nil, err
				}
			}
			continue
		case "domain", "inactiveDomain":
			r.hasDomain = r.hasDomain || string(name) == "domain"
			if !self {
				if err := s.skipFast(name); err != nil {
					return nil, err
				}
			}
			continue
		}
		if dst != nil {
			if !once(bit) {
				return nil, errFallback
			}
			if !self {
				if *dst, err = s.text(name); err != nil {
					return nil, err
				}
			}
			continue
		}
		if !self {
			if err := s.skipElement(name); err != nil {
				return nil, err
			}
		}
	}
}

// parent reads <parent>'s content: one <name>.
func (s *scanner) parent(r *rawDoc) error {
	for {
		if done, err := s.child("parent"); done || err != nil {
			return err
		}
		name, self, err := s.startTag()
		if err != nil || string(name) != "name" || r.hasParent {
			return errFallback
		}
		r.hasParent = true
		if !self {
			if r.parent, err = s.text(name); err != nil {
				return err
			}
		}
	}
}

// disks reads <disks>'s content: every child element is a disk.
func (s *scanner) disks(r *rawDoc) error {
	for {
		if done, err := s.child("disks"); done || err != nil {
			return err
		}
		diskTag, self, err := s.startTag()
		if err != nil {
			return err
		}
		var rd rawDisk
		if rd.name, err = s.attr("name"); err != nil {
			return err
		}
		if rd.typ, err = s.attr("type"); err != nil {
			return err
		}
		if s.kind == Checkpoint {
			if rd.mode, err = s.attr("checkpoint"); err != nil {
				return err
			}
			if rd.bitmap, err = s.attr("bitmap"); err != nil {
				return err
			}
			if !self {
				if err := s.skipElement(diskTag); err != nil {
					return err
				}
			}
		} else {
			if rd.mode, err = s.attr("snapshot"); err != nil {
				return err
			}
			if !self {
				if err := s.snapshotDisk(&rd, string(diskTag)); err != nil {
					return err
				}
			}
		}
		r.disks = append(r.disks, rd)
	}
}

// snapshotDisk reads a snapshot <disk>'s content: <driver type> and <source file|dev|name>,
// as libvirtxml's DomainSnapshotDisk reads them.
func (s *scanner) snapshotDisk(rd *rawDisk, tag string) error {
	srcAttr := "file"
	switch rd.typ.v {
	case "block":
		srcAttr = "dev"
	case "network":
		srcAttr = "name"
	}
	var haveDriver, haveSource bool
	for {
		if done, err := s.child(tag); done || err != nil {
			return err
		}
		name, self, err := s.startTag()
		if err != nil {
			return err
		}
		switch string(name) {
		case "driver":
			if haveDriver {
				return errFallback
			}
			haveDriver = true
			v, err := s.attr("type")
			if err != nil {
				return err
			}
			rd.driver = v.v
		case "source":
			if haveSource {
				return errFallback
			}
			haveSource = true
			v, err := s.attr(srcAttr)
			if err != nil {
				return err
			}
			rd.source = v.v
		}
		if !self {
			if err := s.skipElement(name); err != nil {
				return err
			}
		}
	}
}

// text reads a text-only element's content up to its end tag </name>: character data,
// entities, character references and CDATA; comments and processing instructions add nothing.
func (s *scanner) text(name []byte) (string, error) {
	var buf []byte
	for {
		j := bytes.IndexByte(s.b[s.i:], '<')
		if j < 0 {
			return "", errFallback
		}
		seg := s.b[s.i : s.i+j]
		s.i += j
		if s.has("</") {
			end, err := s.endTag()
			if err != nil || !bytes.Equal(end, name) {
				return "", errFallback
			}
			if buf == nil {
				// The common case: one plain segment.
				return plainString(seg)
			}
			if err := appendText(&buf, seg); err != nil {
				return "", err
			}
			return validString(buf)
		}
		if buf == nil {
			buf = make([]byte, 0, len(seg)+16)
		}
		if err := appendText(&buf, seg); err != nil {
			return "", err
		}
		switch {
		case s.has("<![CDATA["):
			k := bytes.Index(s.b[s.i:], []byte("]]>"))
			if k < 0 {
				return "", errFallback
			}
			cdata := s.b[s.i+len("<![CDATA[") : s.i+k]
			if bytes.IndexByte(cdata, '\r') >= 0 {
				return "", errFallback
			}
			buf = append(buf, cdata...)
			s.i += k + len("]]>")
		case s.has("<!--") || s.has("<?"):
			if err := s.skipMarkup(); err != nil {
				return "", err
			}
		default:
			return "", errFallback // an element inside a text field
		}
	}
}
