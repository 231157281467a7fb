package conf

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"strconv"
	"unicode/utf8"
)

// Format writes the definition as a libvirt document, for redefinition and export, laid out as
// libvirt lays out its own (snapshot_conf.c, checkpoint_conf.c): name, description, state,
// parent, creationTime, memory and disks from the fields, in libvirt's order and indentation.
//
// What the fields do not model comes from the kept raw XML, verbatim: the embedded <domain>,
// <inactiveDomain> and <cookie>, and every disk whose fields are unchanged (so attributes such
// as a checkpoint disk's size, or a snapshot disk's <source> details, survive). A definition
// read from libvirt therefore formats back to libvirt's own bytes. Setting HasDomain to false
// leaves the domains out (like libvirt's NO_DOMAIN flag); HasDomain without a kept <domain> is
// an error, since Format cannot invent one.
//
// Parsing the output gives back a definition Equal to d (in the mode d was parsed with). Format
// refuses text XML cannot carry (invalid UTF-8, control characters).
func (d *Def) Format() ([]byte, error) {
	if d.Kind != Snapshot && d.Kind != Checkpoint {
		return nil, fmt.Errorf("format: unknown kind %d", int(d.Kind))
	}
	if err := d.checkText(); err != nil {
		return nil, err
	}
	var p rawParts
	if d.raw != nil {
		var err error
		if p, err = splitRaw(d.Kind, d.raw); err != nil {
			return nil, err
		}
	}
	if d.HasDomain && !p.hasDomain {
		return nil, fmt.Errorf("format %s '%s': HasDomain is set but no <domain> is kept to write", d.Kind, d.Name)
	}

	var b bytes.Buffer
	root := rootNames[d.Kind]
	b.WriteString("<" + root)
	for _, a := range p.rootNS {
		b.WriteString(" " + a)
	}
	b.WriteString(">\n")
	element(&b, "  ", "name", d.Name)
	element(&b, "  ", "description", d.Description)
	if d.Kind == Snapshot {
		element(&b, "  ", "state", d.State)
	}
	if d.Parent != "" {
		b.WriteString("  <parent>\n")
		element(&b, "    ", "name", d.Parent)
		b.WriteString("  </parent>\n")
	}
	if d.HasCreated {
		element(&b, "  ", "creationTime", strconv.FormatInt(d.Created.Unix(), 10))
	}
	if d.Kind == Snapshot && (d.Memory.Mode != "" || d.Memory.File != "") {
		b.WriteString("  <memory")
		attribute(&b, "snapshot", d.Memory.Mode)
		attribute(&b, "file", d.Memory.File)
		b.WriteString("/>\n")
	}
	if len(d.Disks) > 0 {
		b.WriteString("  <disks>\n")
		for i := range d.Disks {
			if kept := p.disk(d.Disks[i]); kept != nil {
				b.WriteString("    ")
				b.Write(kept)
				b.WriteByte('\n')
				continue
			}
			formatDisk(&b, d.Kind, &d.Disks[i])
		}
		b.WriteString("  </disks>\n")
	}
	for _, k := range p.kept {
		if !d.HasDomain && k.name != "cookie" {
			continue
		}
		b.WriteString("  ")
		b.Write(k.xml)
		b.WriteByte('\n')
	}
	if d.Kind == Snapshot && d.Active != nil {
		v := "0"
		if *d.Active {
			v = "1"
		}
		element(&b, "  ", "active", v)
	}
	b.WriteString("</" + root + ">\n")
	return b.Bytes(), nil
}

func formatDisk(b *bytes.Buffer, kind Kind, disk *DiskSpec) {
	b.WriteString("    <disk")
	attribute(b, "name", disk.Name)
	if kind == Checkpoint {
		attribute(b, "checkpoint", disk.Mode)
		attribute(b, "bitmap", disk.Bitmap)
		b.WriteString("/>\n")
		return
	}
	attribute(b, "snapshot", disk.Mode)
	if disk.Source == "" && disk.DriverType == "" && disk.SourceType == "" {
		b.WriteString("/>\n")
		return
	}
	typ := disk.SourceType
	if typ == "" {
		typ = "file"
	}
	attribute(b, "type", typ)
	b.WriteString(">\n")
	if disk.DriverType != "" {
		b.WriteString("      <driver")
		attribute(b, "type", disk.DriverType)
		b.WriteString("/>\n")
	}
	if disk.Source != "" {
		b.WriteString("      <source")
		switch typ {
		case "block":
			attribute(b, "dev", disk.Source)
		case "network":
			attribute(b, "name", disk.Source)
		default:
			attribute(b, "file", disk.Source)
		}
		b.WriteString("/>\n")
	}
	b.WriteString("    </disk>\n")
}

// element writes <name>text</name> on a line, nothing for empty text (libvirt treats an empty
// element as a missing one).
func element(b *bytes.Buffer, indent, name, text string) {
	if text == "" {
		return
	}
	b.WriteString(indent + "<" + name + ">")
	escape(b, text, false)
	b.WriteString("</" + name + ">\n")
}

// attribute writes name='value', nothing for an empty value.
func attribute(b *bytes.Buffer, name, value string) {
	if value == "" {
		return
	}
	b.WriteString(" " + name + "='")
	escape(b, value, true)
	b.WriteByte('\'')
}

// escape writes s with libvirt's escapes (virBufferEscapeString: & < > " '); carriage returns,
// and in attributes tabs and newlines, become character references so that every XML parser
// reads them back unchanged.
func escape(b *bytes.Buffer, s string, attr bool) {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '&':
			b.WriteString("&amp;")
		case '<':
			b.WriteString("&lt;")
		case '>':
			b.WriteString("&gt;")
		case '"':
			b.WriteString("&quot;")
		case '\'':
			b.WriteString("&apos;")
		case '\r':
			b.WriteString("&#13;")
		case '\t', '\n':
			if attr {
				b.WriteString("&#" + strconv.Itoa(int(c)) + ";")
			} else {
				b.WriteByte(c)
			}
		default:
			b.WriteByte(c)
		}
	}
}

// checkText refuses field values XML cannot carry.
func (d *Def) checkText() error {
	check := func(field, v string) error {
		for i, r := range v {
			if r == utf8.RuneError && !utf8.ValidString(v[i:i+1]) || !xmlChar(r) {
				return fmt.Errorf("format %s '%s': %s %q holds %U, which XML cannot carry", d.Kind, d.Name, field, v, r)
			}
		}
		return nil
	}
	fields := []struct{ name, v string }{
		{"name", d.Name}, {"description", d.Description}, {"parent", d.Parent}, {"state", d.State},
		{"memory mode", d.Memory.Mode}, {"memory file", d.Memory.File},
	}
	for _, disk := range d.Disks {
		fields = append(fields, struct{ name, v string }{"disk name", disk.Name},
			struct{ name, v string }{"disk mode", disk.Mode}, struct{ name, v string }{"disk bitmap", disk.Bitmap},
			struct{ name, v string }{"disk source", disk.Source}, struct{ name, v string }{"disk source type", disk.SourceType},
			struct{ name, v string }{"disk driver type", disk.DriverType})
	}
	for _, f := range fields {
		if err := check(f.name, f.v); err != nil {
			return err
		}
	}
	return nil
}

func xmlChar(r rune) bool {
	return r == 0x9 || r == 0xA || r == 0xD || r >= 0x20 && r <= 0xD7FF || r >= 0xE000 && r <= 0xFFFD ||
		r >= 0x10000 && r <= 0x10FFFF
}

// rawParts is what Format takes from the kept raw XML.
type rawParts struct {
	rootNS    []string // the root's namespace declarations, as name='value'
	kept      []keptElement
	hasDomain bool
	disks     []keptDisk
}

type keptElement struct {
	name string
	xml  []byte
}

type keptDisk struct {
	spec DiskSpec
	xml  []byte
}

// disk returns the raw XML of a kept disk that says exactly what spec says, or nil.
func (p *rawParts) disk(spec DiskSpec) []byte {
	for i := range p.disks {
		if p.disks[i].spec == spec {
			return p.disks[i].xml
		}
	}
	return nil
}

// splitRaw finds, in the raw document, the top-level <domain>, <inactiveDomain> and <cookie>
// elements and the disks, as byte ranges.
func splitRaw(kind Kind, raw []byte) (rawParts, error) {
	var p rawParts
	bad := func(err error) (rawParts, error) {
		return p, fmt.Errorf("format %s: kept XML: %w", kind, err)
	}
	dec := xml.NewDecoder(bytes.NewReader(raw))
	root, err := findRoot(dec, kind)
	if err != nil {
		return bad(err)
	}
	if root.Name.Local != rootNames[kind] {
		return bad(fmt.Errorf("root element is <%s>, not <%s>", root.Name.Local, rootNames[kind]))
	}
	for _, a := range root.Attr {
		if a.Name.Space == "xmlns" || a.Name.Space == "" && a.Name.Local == "xmlns" {
			var v bytes.Buffer
			escape(&v, a.Value, true)
			name := a.Name.Local
			if a.Name.Space != "" {
				name = a.Name.Space + ":" + name
			}
			p.rootNS = append(p.rootNS, name+"='"+v.String()+"'")
		}
	}
	for {
		start := dec.InputOffset()
		tok, err := dec.Token()
		if err != nil {
			return bad(err)
		}
		switch t := tok.(type) {
		case xml.EndElement:
			return p, nil
		case xml.StartElement:
			switch t.Name.Local {
			case "domain", "inactiveDomain", "cookie":
				if err := dec.Skip(); err != nil {
					return bad(err)
				}
				p.hasDomain = p.hasDomain || t.Name.Local == "domain"
				p.kept = append(p.kept, keptElement{t.Name.Local, raw[start:dec.InputOffset()]})
			case "disks":
				if err := p.splitDisks(kind, dec, raw); err != nil {
					return bad(err)
				}
			default:
				if err := dec.Skip(); err != nil {
					return bad(err)
				}
			}
		}
	}
}

func (p *rawParts) splitDisks(kind Kind, dec *xml.Decoder, raw []byte) error {
	fail := func(elem, val, format string, args ...any) error { return fmt.Errorf(format, args...) }
	for {
		start := dec.InputOffset()
		tok, err := dec.Token()
		if err != nil {
			return err
		}
		switch t := tok.(type) {
		case xml.EndElement:
			return nil
		case xml.StartElement:
			rd, err := decodeDisk(kind, dec, t)
			if err != nil {
				return err
			}
			var spec DiskSpec
			if kind == Snapshot {
				spec, err = snapshotDisk(&rd, fail)
			} else {
				spec, err = checkpointDisk(&rd, fail)
			}
			if err == nil {
				p.disks = append(p.disks, keptDisk{spec, raw[start:dec.InputOffset()]})
			}
		}
	}
}
