package memory

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	"github.com/vmoments/vmoments/conf"
	"github.com/vmoments/vmoments/driver"
	"github.com/vmoments/vmoments/momentlist"
)

// testNS is the namespace of the test driver's own elements in a node file.
const testNS = "http://libvirt.org/schemas/domain/test/1.0"

// NodeFile reads a node file of libvirt's test driver (what test:///ABS/PATH.xml preloads,
// such as examples/demo.xml) and returns its domains, for [Config.Domains]: each <domain> (or
// <domain file='...'/>, relative to the node file) with its <test:runstate> and its
// <test:domainsnapshot> elements (or <test:domainsnapshot file='...'/>). Other elements of the
// node (networks, pools, ...) are ignored. As the test driver does, it refuses a snapshot
// without <active> ("Could not find 'active' element"), two current snapshots, and parents
// that are missing or form a cycle.
func NodeFile(path string) ([]DomainConfig, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	doms, err := parseNode(data, filepath.Dir(path))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return doms, nil
}

// element is one XML element of a document: its name, attributes and byte range, with the
// ranges of its direct children.
type element struct {
	name       xml.Name
	attr       []xml.Attr
	start, end int // [start, end) of the whole element
	inner      int // where its content starts (after the start tag)
	innerEnd   int // where its content ends (before the end tag)
	text       string
	kids       []*element
}

// parseElements reads data into a tree of elements (the root returned).
func parseElements(data []byte) (*element, error) {
	dec := xml.NewDecoder(bytes.NewReader(data))
	var stack []*element
	var root *element
	for {
		off := int(dec.InputOffset())
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			e := &element{name: t.Name, attr: t.Attr, start: off, inner: int(dec.InputOffset())}
			if len(stack) > 0 {
				p := stack[len(stack)-1]
				p.kids = append(p.kids, e)
			} else if root == nil {
				root = e
			}
			stack = append(stack, e)
		case xml.EndElement:
			e := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			e.innerEnd, e.end = off, int(dec.InputOffset())
		case xml.CharData:
			if len(stack) > 0 {
				stack[len(stack)-1].text += string(t)
			}
		}
	}
	if root == nil {
		return nil, errors.New("no root element")
	}
	return root, nil
}

func (e *element) attrValue(local string) string {
	for _, a := range e.attr {
		if a.Name.Local == local && a.Name.Space == "" {
			return a.Value
		}
	}
	return ""
}

func parseNode(data []byte, dir string) ([]DomainConfig, error) {
	root, err := parseElements(data)
	if err != nil {
		return nil, err
	}
	if root.name.Local != "node" {
		return nil, fmt.Errorf("expecting root element of 'node', not '%s'", root.name.Local)
	}
	var out []DomainConfig
	for _, e := range root.kids {
		if e.name.Local != "domain" || e.name.Space != "" {
			continue
		}
		doc, base := data, dir
		if f := e.attrValue("file"); f != "" {
			p := f
			if !filepath.IsAbs(p) {
				p = filepath.Join(dir, p)
			}
			if doc, err = os.ReadFile(p); err != nil {
				return nil, err
			}
			base = filepath.Dir(p)
			if e, err = parseElements(doc); err != nil {
				return nil, fmt.Errorf("%s: %w", p, err)
			}
		}
		dc, err := nodeDomain(doc, e, base)
		if err != nil {
			return nil, err
		}
		out = append(out, dc)
	}
	return out, nil
}

// xmlnsTest matches the declaration of the test namespace in a start tag.
var xmlnsTest = regexp.MustCompile(`\s+xmlns:test\s*=\s*(?:'[^']*'|"[^"]*")`)

// nodeDomain reads one <domain> of a node file: its definition without the test driver's
// elements, its run state and its snapshots.
func nodeDomain(doc []byte, e *element, dir string) (DomainConfig, error) {
	var dc DomainConfig
	var def bytes.Buffer
	pos := e.start
	current := ""
	for _, k := range e.kids {
		if k.name.Space != testNS {
			continue
		}
		def.Write(doc[pos:k.start])
		pos = k.end
		switch k.name.Local {
		case "runstate":
			n, err := strconv.Atoi(strings.TrimSpace(k.text))
			if err != nil || n < int(driver.DomainNoState) || n > int(driver.DomainPMSuspended) {
				return dc, fmt.Errorf("invalid runstate %q", strings.TrimSpace(k.text))
			}
			dc.State = driver.DomainState(n)
		case "domainsnapshot":
			var snap string
			if f := k.attrValue("file"); f != "" {
				p := f
				if !filepath.IsAbs(p) {
					p = filepath.Join(dir, p)
				}
				b, err := os.ReadFile(p)
				if err != nil {
					return dc, err
				}
				snap = string(b)
			} else {
				snap = "<domainsnapshot>" + string(doc[k.inner:k.innerEnd]) + "</domainsnapshot>"
			}
			d, err := conf.ParseSnapshot([]byte(snap), conf.ParseRedefine)
			if err != nil {
				return dc, err
			}
			if d.Active == nil {
				return dc, fmt.Errorf("snapshot %q: Could not find 'active' element", d.Name)
			}
			if *d.Active {
				if current != "" {
					return dc, fmt.Errorf("more than one snapshot claims to be active (%q and %q)", current, d.Name)
				}
				current = d.Name
			}
			dc.Snapshots = append(dc.Snapshots, snap)
		}
	}
	def.Write(doc[pos:e.end])
	dc.XML = xmlnsTest.ReplaceAllString(def.String(), "")
	if dc.State == driver.DomainNoState {
		dc.State = driver.DomainRunning
	}
	dc.CurrentSnapshot = current
	var defs []*conf.Def
	for _, x := range dc.Snapshots {
		d, _ := conf.ParseSnapshot([]byte(x), conf.ParseRedefine) // parsed above
		defs = append(defs, d)
	}
	info, err := parseDomainXML(dc.XML)
	if err != nil {
		return dc, err
	}
	if err := momentlist.New(conf.Snapshot).Load(defs, current); err != nil {
		return dc, fmt.Errorf("%s have inconsistent relations for domain %s: %w", "Snapshots", info.name, err) // libvirt's words
	}
	if err != nil {
		return dc, err
	}
	dc.Name, dc.UUID = info.name, info.uuid
	if dc.UUID == "" {
		dc.UUID = uuidOf(dc.Name)
	}
	return dc, nil
}

// domainInfo is what the driver reads of a domain definition.
type domainInfo struct {
	name, uuid string
	disks      []disk
}

// parseDomainXML reads a domain definition's name, UUID and disks.
func parseDomainXML(x string) (domainInfo, error) {
	var doc struct {
		XMLName xml.Name `xml:"domain"`
		Name    string   `xml:"name"`
		UUID    string   `xml:"uuid"`
		Devices struct {
			Disks []struct {
				Source struct {
					File string `xml:"file,attr"`
					Dev  string `xml:"dev,attr"`
				} `xml:"source"`
				Target struct {
					Dev string `xml:"dev,attr"`
				} `xml:"target"`
			} `xml:"disk"`
		} `xml:"devices"`
	}
	if err := xml.Unmarshal([]byte(x), &doc); err != nil {
		return domainInfo{}, fmt.Errorf("the domain definition: %w", err)
	}
	info := domainInfo{name: strings.TrimSpace(doc.Name), uuid: strings.ToLower(strings.TrimSpace(doc.UUID))}
	for _, d := range doc.Devices.Disks {
		src := d.Source.File
		if src == "" {
			src = d.Source.Dev
		}
		info.disks = append(info.disks, disk{target: d.Target.Dev, source: src})
	}
	return info, nil
}
