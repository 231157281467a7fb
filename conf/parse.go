package conf

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"

	"libvirt.org/go/libvirtxml"
)

// rootNames are the root elements of the two kinds of documents.
var rootNames = [...]string{Snapshot: "domainsnapshot", Checkpoint: "domaincheckpoint"}

// ParseSnapshot parses a <domainsnapshot> document with libvirt's rules for mode (docs/libvirt.md §2): the
// whole document must be well-formed XML, the fields are read as libvirt's snapshot_conf.c reads
// them (the first <name>, <state>, ... counts; their text is all the text inside them) and
// checked with libvirt's messages. In ParseRedefine mode, a missing <memory> defaults as libvirt
// defaults it (shutoff and disk-snapshot: "no", other states: "internal") and the default is
// stored, so Format writes it out.
//
// Beyond libvirt's parser: a new snapshot's name must pass [ValidateName] (libvirt's QEMU
// driver refuses the others), creationTime may not be negative (libvirt 9.0 stores -5 as
// given), and the same disk may not be listed twice (libvirt's later alignment step refuses
// it). Unlike libvirt, state, parent and creationTime are read and checked in ParseNew mode
// too, when given. ParseRedefine does not apply the name rules: libvirt's test driver keeps
// snapshots named ".x" or "a/b" and lists must read them; before redefining on QEMU (which
// refuses them), call ValidateName.
//
// The returned definition keeps data as its raw XML (not a copy: do not modify data afterwards).
func ParseSnapshot(data []byte, mode ParseMode) (*Def, error) {
	return parseFull(Snapshot, data, mode)
}

// ParseCheckpoint parses a <domaincheckpoint> document with libvirt's rules for mode (docs/libvirt.md §3),
// as [ParseSnapshot] does for snapshots. A disk without a checkpoint attribute is a bitmap disk,
// as libvirt reads it. Names must pass [ValidateName] in both modes: libvirt validates every
// checkpoint document against its schema.
func ParseCheckpoint(data []byte, mode ParseMode) (*Def, error) {
	return parseFull(Checkpoint, data, mode)
}

// Parse parses a snapshot or a checkpoint document, whichever its root element says.
func Parse(data []byte, mode ParseMode) (*Def, error) {
	root, err := findRoot(xml.NewDecoder(bytes.NewReader(data)), Snapshot)
	if err != nil {
		return nil, err
	}
	switch root.Name.Local {
	case rootNames[Snapshot]:
		return ParseSnapshot(data, mode)
	case rootNames[Checkpoint]:
		return ParseCheckpoint(data, mode)
	}
	return nil, &ParseError{Kind: Snapshot, Element: root.Name.Local, Value: root.Name.Local,
		Msg: fmt.Sprintf("expecting root element of 'domainsnapshot' or 'domaincheckpoint', not '%s'", root.Name.Local)}
}

func parseFull(kind Kind, data []byte, mode ParseMode) (*Def, error) {
	dec := xml.NewDecoder(bytes.NewReader(data))
	root, err := findRoot(dec, kind)
	if err != nil {
		return nil, err
	}
	if root.Name.Local != rootNames[kind] {
		// libvirt's message (virXMLParse).
		return nil, &ParseError{Kind: kind, Element: root.Name.Local, Value: root.Name.Local,
			Msg: fmt.Sprintf("expecting root element of '%s', not '%s'", rootNames[kind], root.Name.Local)}
	}
	r, err := decodeBody(kind, dec)
	if err != nil {
		return nil, err
	}
	if err := finish(kind, dec); err != nil {
		return nil, err
	}
	d, err := build(kind, mode, r)
	if err != nil {
		return nil, err
	}
	d.SetRaw(data)
	return d, nil
}

func syntaxError(kind Kind, err error) error {
	if err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	return &ParseError{Kind: kind, Msg: fmt.Sprintf("%s XML is not well-formed: %v", kind, err), Err: err}
}

// findRoot reads up to the root element.
func findRoot(dec *xml.Decoder, kind Kind) (xml.StartElement, error) {
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			return xml.StartElement{}, &ParseError{Kind: kind,
				Msg: fmt.Sprintf("%s XML has no root element: expecting <%s>", kind, rootNames[kind]), Err: err}
		}
		if err != nil {
			return xml.StartElement{}, syntaxError(kind, err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			return t, nil
		case xml.CharData:
			if len(bytes.TrimSpace(t)) > 0 {
				return xml.StartElement{}, &ParseError{Kind: kind,
					Msg: fmt.Sprintf("%s XML is not well-formed: text %q before the root element", kind, string(bytes.TrimSpace(t)))}
			}
		}
	}
}

// finish reads what follows the root element: only white space, comments and processing
// instructions may.
func finish(kind Kind, dec *xml.Decoder) error {
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return syntaxError(kind, err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			return &ParseError{Kind: kind, Element: t.Name.Local,
				Msg: fmt.Sprintf("%s XML is not well-formed: element <%s> after the root element", kind, t.Name.Local)}
		case xml.CharData:
			if len(bytes.TrimSpace(t)) > 0 {
				return &ParseError{Kind: kind,
					Msg: fmt.Sprintf("%s XML is not well-formed: text %q after the root element", kind, string(bytes.TrimSpace(t)))}
			}
		}
	}
}

// decodeBody reads the root element's content, as libvirt's XPath queries read it: the first
// <name>, <description>, <state>, <creationTime>, <memory>, <active> and the first
// <parent>/<name> count, the disks are every element child of every <disks>.
func decodeBody(kind Kind, dec *xml.Decoder) (*rawDoc, error) {
	r := &rawDoc{}
	seen := map[string]bool{}
	err := eachChild(kind, dec, func(t xml.StartElement) error {
		name := t.Name.Local
		first := !seen[name]
		seen[name] = true
		var dst *string
		switch {
		case name == "name":
			dst = &r.name
		case name == "description":
			dst = &r.description
		case name == "creationTime":
			dst = &r.created
		case name == "state" && kind == Snapshot:
			dst = &r.state
		case name == "active" && kind == Snapshot:
			dst = &r.active
		}
		switch {
		case dst != nil:
			s, err := textOf(dec)
			if err != nil {
				return syntaxError(kind, err)
			}
			if first {
				*dst = s
			}
			return nil
		case name == "parent":
			return decodeParent(kind, dec, r)
		case name == "memory" && kind == Snapshot && first:
			r.hasMemory = true
			r.memMode = attr(t, "snapshot")
			r.memFile = attr(t, "file")
		case name == "disks":
			return decodeDisks(kind, dec, r)
		case name == "domain":
			r.hasDomain = true
		}
		if err := dec.Skip(); err != nil {
			return syntaxError(kind, err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return r, nil
}

// textOf returns all the text inside the element just started (XPath string()), and reads
// to its end.
func textOf(dec *xml.Decoder) (string, error) {
	var b strings.Builder
	for depth := 1; ; {
		tok, err := dec.Token()
		if err != nil {
			return "", err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			depth++
		case xml.EndElement:
			if depth--; depth == 0 {
				return b.String(), nil
			}
		case xml.CharData:
			b.Write(t)
		}
	}
}

// eachChild calls fn with the start of each child element of the element just started, which
// fn must read to its end, and reads the element's end tag.
func eachChild(kind Kind, dec *xml.Decoder, fn func(xml.StartElement) error) error {
	for {
		tok, err := dec.Token()
		if err != nil {
			return syntaxError(kind, err)
		}
		switch t := tok.(type) {
		case xml.EndElement:
			return nil
		case xml.StartElement:
			if err := fn(t); err != nil {
				return err
			}
		}
	}
}

// decodeParent reads a <parent>: its first <name> is the parent's name, unless an earlier
// <parent> gave one.
func decodeParent(kind Kind, dec *xml.Decoder, r *rawDoc) error {
	return eachChild(kind, dec, func(t xml.StartElement) error {
		if t.Name.Local != "name" {
			if err := dec.Skip(); err != nil {
				return syntaxError(kind, err)
			}
			return nil
		}
		s, err := textOf(dec)
		if err != nil {
			return syntaxError(kind, err)
		}
		if !r.hasParent {
			r.parent, r.hasParent = s, true
		}
		return nil
	})
}

// decodeDisks reads every element child of <disks> as a disk (libvirt's "./disks/*").
func decodeDisks(kind Kind, dec *xml.Decoder, r *rawDoc) error {
	return eachChild(kind, dec, func(t xml.StartElement) error {
		rd, err := decodeDisk(kind, dec, t)
		if err != nil {
			return err
		}
		r.disks = append(r.disks, rd)
		return nil
	})
}

// decodeDisk reads one disk element, just started: its attributes as written, and for a
// snapshot its <driver> and <source> through libvirtxml's DomainSnapshotDisk.
func decodeDisk(kind Kind, dec *xml.Decoder, t xml.StartElement) (rawDisk, error) {
	rd := rawDisk{name: attr(t, "name"), typ: attr(t, "type")}
	if kind == Checkpoint {
		rd.mode, rd.bitmap = attr(t, "checkpoint"), attr(t, "bitmap")
		if err := dec.Skip(); err != nil {
			return rd, syntaxError(kind, err)
		}
		return rd, nil
	}
	rd.mode = attr(t, "snapshot")
	var disk libvirtxml.DomainSnapshotDisk
	if err := dec.DecodeElement(&disk, &t); err != nil {
		var serr *xml.SyntaxError
		if errors.As(err, &serr) {
			return rd, syntaxError(kind, err)
		}
		return rd, &ParseError{Kind: kind, Element: "disk", Value: rd.name.v, Err: err,
			Msg: fmt.Sprintf("invalid disk '%s' in snapshot XML: %v", rd.name.v, err)}
	}
	rd.source = diskSource(disk.Source)
	if disk.Driver != nil {
		rd.driver = disk.Driver.Type
	}
	return rd, nil
}

// diskSource is the path (file, block device) or network name of a snapshot disk's <source>.
func diskSource(s *libvirtxml.DomainDiskSource) string {
	switch {
	case s == nil:
	case s.File != nil:
		return s.File.File
	case s.Block != nil:
		return s.Block.Dev
	case s.Network != nil:
		return s.Network.Name
	}
	return ""
}

// attr returns an attribute without namespace, as libvirt's virXMLPropString reads it.
func attr(t xml.StartElement, name string) optional {
	for _, a := range t.Attr {
		if a.Name.Space == "" && a.Name.Local == name {
			return optional{a.Value, true}
		}
	}
	return optional{}
}
