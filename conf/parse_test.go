package conf

import (
	"encoding/xml"
	"errors"
	"strings"
	"testing"
	"time"
)

// snap and ckpt wrap body in the root element.
func snap(body string) string { return "<domainsnapshot>" + body + "</domainsnapshot>" }
func ckpt(body string) string { return "<domaincheckpoint>" + body + "</domaincheckpoint>" }

// redefHead is the minimum a redefined snapshot needs (docs/libvirt.md §2 "Redefine").
const redefHead = "<name>s1</name><state>running</state><creationTime>1700000000</creationTime>"

func ptr[T any](v T) *T { return &v }

// TestParseErrors: every refusal of the parsers, with libvirt's message where libvirt has one
// (docs/libvirt.md §2 "Redefine", §3 "Redefine parse"; messages observed on libvirt 9.0 with virsh).
func TestParseErrors(t *testing.T) {
	tests := []struct {
		name    string
		kind    Kind
		mode    ParseMode
		xml     string
		element string
		value   string
		msg     string
	}{
		// Not XML, wrong root.
		{"not XML", Snapshot, ParseNew, "hello", "", "", `snapshot XML is not well-formed: text "hello" before the root element`},
		{"empty document", Snapshot, ParseNew, "", "", "", "snapshot XML has no root element: expecting <domainsnapshot>"},
		{"only a comment", Checkpoint, ParseNew, "<!-- x -->", "", "", "checkpoint XML has no root element: expecting <domaincheckpoint>"},
		{"unclosed root", Snapshot, ParseNew, "<domainsnapshot><name>a</name>", "", "", "snapshot XML is not well-formed: XML syntax error on line 1: unexpected EOF"},
		{"mismatched tag", Snapshot, ParseNew, snap("<name>a</nam>"), "", "", "snapshot XML is not well-formed: XML syntax error on line 1: element <name> closed by </nam>"},
		{"wrong root (libvirt's message)", Snapshot, ParseNew, "<domain><name>s</name></domain>", "domain", "domain", "expecting root element of 'domainsnapshot', not 'domain'"},
		{"checkpoint given to the snapshot parser", Snapshot, ParseNew, ckpt(""), "domaincheckpoint", "domaincheckpoint", "expecting root element of 'domainsnapshot', not 'domaincheckpoint'"},
		{"snapshot given to the checkpoint parser", Checkpoint, ParseNew, snap(""), "domainsnapshot", "domainsnapshot", "expecting root element of 'domaincheckpoint', not 'domainsnapshot'"},
		{"second root", Snapshot, ParseNew, snap("") + "<x/>", "x", "", "snapshot XML is not well-formed: element <x> after the root element"},
		{"text after root", Snapshot, ParseNew, snap("") + "junk", "", "", `snapshot XML is not well-formed: text "junk" after the root element`},
		{"broken domain", Snapshot, ParseNew, snap("<domain><name>x</domain>"), "", "", "snapshot XML is not well-formed: XML syntax error on line 1: element <name> closed by </domain>"},

		// Names (docs/libvirt.md §2, §3 redefine; libvirt 9.0 name rules, see TestValidateName).
		{"redefined snapshot without name", Snapshot, ParseRedefine, snap("<state>running</state><creationTime>5</creationTime>"), "name", "", "a redefined snapshot must have a name"},
		{"redefined snapshot with empty name", Snapshot, ParseRedefine, snap("<name></name><state>running</state><creationTime>5</creationTime>"), "name", "", "a redefined snapshot must have a name"},
		{"redefined checkpoint without name", Checkpoint, ParseRedefine, ckpt("<creationTime>5</creationTime>"), "name", "", "a redefined checkpoint must have a name"},
		{"new snapshot named .x", Snapshot, ParseNew, snap("<name>.x</name>"), "name", ".x", "invalid snapshot name '.x': name can't start with '.'"},
		{"new snapshot named a/b", Snapshot, ParseNew, snap("<name>a/b</name>"), "name", "a/b", "invalid snapshot name 'a/b': name can't contain '/'"},
		{"checkpoint named .x", Checkpoint, ParseRedefine, ckpt("<name>.x</name><creationTime>5</creationTime>"), "name", ".x", "invalid checkpoint name '.x': name can't start with '.'"},
		{"checkpoint named a/b", Checkpoint, ParseNew, ckpt("<name>a/b</name>"), "name", "a/b", "invalid checkpoint name 'a/b': name can't contain '/'"},
		{"checkpoint named with a space", Checkpoint, ParseNew, ckpt("<name>c 2</name>"), "name", "c 2", "invalid checkpoint name 'c 2': character ' ' is not allowed"},

		// creationTime.
		{"redefined snapshot without creationTime", Snapshot, ParseRedefine, snap("<name>s</name><state>running</state>"), "creationTime", "", "missing creationTime from existing snapshot"},
		{"redefined checkpoint without creationTime", Checkpoint, ParseRedefine, ckpt("<name>c</name>"), "creationTime", "", "missing creationTime from existing checkpoint"},
		{"non-numeric creationTime", Snapshot, ParseRedefine, snap("<name>s</name><state>running</state><creationTime>12x</creationTime>"), "creationTime", "12x", "invalid creationTime '12x' in snapshot XML: not a whole number of seconds"},
		{"trailing space in creationTime (strtoll)", Snapshot, ParseNew, snap("<creationTime>7 </creationTime>"), "creationTime", "7 ", "invalid creationTime '7 ' in snapshot XML: not a whole number of seconds"},
		{"creationTime beyond int64", Checkpoint, ParseNew, ckpt("<creationTime>99999999999999999999</creationTime>"), "creationTime", "99999999999999999999", "invalid creationTime '99999999999999999999' in checkpoint XML: not a whole number of seconds"},
		{"sign only", Checkpoint, ParseNew, ckpt("<creationTime>-</creationTime>"), "creationTime", "-", "invalid creationTime '-' in checkpoint XML: not a whole number of seconds"},
		{"negative creationTime", Snapshot, ParseNew, snap("<creationTime>-5</creationTime>"), "creationTime", "-5", "invalid creationTime '-5' in snapshot XML: it is before 1970"},

		// State (docs/libvirt.md §2).
		{"redefined snapshot without state", Snapshot, ParseRedefine, snap("<name>s</name><creationTime>5</creationTime>"), "state", "", "missing state from existing snapshot"},
		{"unknown state", Snapshot, ParseRedefine, snap("<name>s</name><state>bogus</state><creationTime>5</creationTime>"), "state", "bogus", "Invalid state 'bogus' in domain snapshot XML"},
		{"nostate is refused like libvirt (state <= 0)", Snapshot, ParseNew, snap("<state>nostate</state>"), "state", "nostate", "Invalid state 'nostate' in domain snapshot XML"},
		{"state with spaces", Snapshot, ParseNew, snap("<state> running</state>"), "state", " running", "Invalid state ' running' in domain snapshot XML"},

		// Memory (snapshot_conf.c).
		{"unknown memory mode", Snapshot, ParseNew, snap("<memory snapshot='bogus'/>"), "memory/@snapshot", "bogus", "Invalid value for attribute 'snapshot' in element 'memory': 'bogus'."},
		{"empty memory mode", Snapshot, ParseNew, snap("<memory snapshot=''/>"), "memory/@snapshot", "", "Invalid value for attribute 'snapshot' in element 'memory': ''."},
		{"manual memory", Snapshot, ParseNew, snap("<memory snapshot='manual'/>"), "memory/@snapshot", "manual", "'manual' memory snapshot mode not supported"},
		{"memory file without external", Snapshot, ParseNew, snap("<memory snapshot='internal' file='/m'/>"), "memory/@file", "/m", "memory filename '/m' requires external snapshot"},
		{"external memory without file", Snapshot, ParseNew, snap("<memory snapshot='external'/>"), "memory/@file", "", "external memory snapshots require a filename"},
		{"offline snapshot with memory", Snapshot, ParseRedefine, snap("<name>s</name><state>shutoff</state><creationTime>5</creationTime><memory snapshot='internal'/>"), "memory/@snapshot", "internal", "memory state cannot be saved with offline or disk-only snapshot"},
		{"disk-only snapshot with external memory", Snapshot, ParseRedefine, snap("<name>s</name><state>disk-snapshot</state><creationTime>5</creationTime><memory file='/m'/>"), "memory/@snapshot", "external", "memory state cannot be saved with offline or disk-only snapshot"},
		{"relative memory file", Snapshot, ParseNew, snap("<memory file='m.save'/>"), "memory/@file", "m.save", "memory snapshot file path (m.save) must be absolute"},

		// Snapshot disks.
		{"disk without name", Snapshot, ParseNew, snap("<disks><disk snapshot='internal'/></disks>"), "disk/@name", "", "missing name from disk snapshot element"},
		{"disk with empty name", Snapshot, ParseNew, snap("<disks><disk name=''/></disks>"), "disk/@name", "", "disk snapshot element has an empty name"},
		{"unknown disk mode", Snapshot, ParseNew, snap("<disks><disk name='vda' snapshot='bogus'/></disks>"), "disk/@snapshot", "bogus", "Invalid value for attribute 'snapshot' in element 'disk': 'bogus'."},
		{"empty disk mode", Snapshot, ParseNew, snap("<disks><disk name='vda' snapshot=''/></disks>"), "disk/@snapshot", "", "Invalid value for attribute 'snapshot' in element 'disk': ''."},
		{"same disk twice", Snapshot, ParseNew, snap("<disks><disk name='vda' snapshot='internal'/><disk name='vda' snapshot='no'/></disks>"), "disk/@name", "vda", "disk 'vda' specified twice"},
		{"dir disk", Snapshot, ParseNew, snap("<disks><disk name='vda' type='dir'/></disks>"), "disk/@type", "dir", "unsupported disk snapshot type 'dir'"},
		{"unknown disk type", Snapshot, ParseNew, snap("<disks><disk name='vda' type='tape'/></disks>"), "disk/@type", "tape", "Invalid value for attribute 'type' in element 'disk': 'tape'."},
		{"unknown driver", Snapshot, ParseNew, snap("<disks><disk name='vda'><driver type='bogus'/><source file='/x'/></disk></disks>"), "disk/driver/@type", "bogus", "unknown disk snapshot driver 'bogus'"},
		{"luks driver (refused by 9.0)", Snapshot, ParseNew, snap("<disks><disk name='vda'><driver type='luks'/></disk></disks>"), "disk/driver/@type", "luks", "unknown disk snapshot driver 'luks'"},
		{"relative disk path", Snapshot, ParseNew, snap("<disks><disk name='vda'><source file='x.qcow2'/></disk></disks>"), "disk/source", "x.qcow2", "disk snapshot image path 'x.qcow2' must be absolute"},
		{"relative block device", Snapshot, ParseNew, snap("<disks><disk name='vda' type='block'><source dev='sdb'/></disk></disks>"), "disk/source", "sdb", "disk snapshot image path 'sdb' must be absolute"},
		{"disk attribute libvirtxml cannot read", Snapshot, ParseNew, snap("<disks><disk name='vda'><source file='/x' index='x'/></disk></disks>"), "disk", "vda", "invalid disk 'vda' in snapshot XML: "},

		// Checkpoint disks (docs/libvirt.md §3; libvirt's schema).
		{"checkpoint disk without name", Checkpoint, ParseNew, ckpt("<disks><disk checkpoint='bitmap'/></disks>"), "disk/@name", "", "missing name from disk checkpoint element"},
		{"unknown checkpoint disk mode", Checkpoint, ParseNew, ckpt("<disks><disk name='vda' checkpoint='internal'/></disks>"), "disk/@checkpoint", "internal", "Invalid value for attribute 'checkpoint' in element 'disk': 'internal'."},
		{"checkpoint disk no with bitmap", Checkpoint, ParseNew, ckpt("<disks><disk name='vda' checkpoint='no' bitmap='b'/></disks>"), "disk/@bitmap", "b", "disk 'vda' has checkpoint='no' and bitmap 'b'"},
		{"same checkpoint disk twice", Checkpoint, ParseNew, ckpt("<disks><disk name='vda'/><disk name='vda' checkpoint='no'/></disks>"), "disk/@name", "vda", "disk 'vda' specified twice"},

		// <active> (libvirt's own snapshot files, docs/libvirt.md §2 "Current snapshot").
		{"non-numeric active", Snapshot, ParseNew, snap("<active>yes</active>"), "active", "yes", "invalid active 'yes' in snapshot XML: want 0 or 1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			parse := ParseSnapshot
			if tt.kind == Checkpoint {
				parse = ParseCheckpoint
			}
			d, err := parse([]byte(tt.xml), tt.mode)
			if err == nil {
				t.Fatalf("parsed %+v, want error %q", d, tt.msg)
			}
			var perr *ParseError
			if !errors.As(err, &perr) {
				t.Fatalf("error %T %v is not a *ParseError", err, err)
			}
			if !strings.HasPrefix(err.Error(), tt.msg) {
				t.Errorf("message\n got %q\nwant %q", err.Error(), tt.msg)
			}
			if perr.Element != tt.element || perr.Value != tt.value || perr.Kind != tt.kind {
				t.Errorf("got Kind %v Element %q Value %q, want %v %q %q", perr.Kind, perr.Element, perr.Value, tt.kind, tt.element, tt.value)
			}
			// The list fast path refuses the same redefinitions.
			if tt.mode == ParseRedefine {
				if d, err := ParseFast(tt.kind, []byte(tt.xml)); err == nil {
					t.Errorf("ParseFast accepted it: %+v", d)
				}
			}
		})
	}
}

// TestParse: what the parsers read, including libvirt's defaults and its way of reading odd
// documents (first element wins, all text inside an element counts), docs/libvirt.md §2 and §3.
func TestParse(t *testing.T) {
	at := func(sec int64) time.Time { return time.Unix(sec, 0).UTC() }
	tests := []struct {
		name string
		kind Kind
		mode ParseMode
		xml  string
		want Def
	}{
		{"new snapshot: everything optional", Snapshot, ParseNew, snap(""), Def{Kind: Snapshot}},
		{"new snapshot: empty name is no name (libvirt generates one)", Snapshot, ParseNew, snap("<name/>"), Def{Kind: Snapshot}},
		{"new snapshot: no memory default", Snapshot, ParseNew, snap("<name>s</name><state>shutoff</state>"), Def{Kind: Snapshot, Name: "s", State: "shutoff"}},
		{"redefine running: memory defaults to internal", Snapshot, ParseRedefine, snap(redefHead),
			Def{Kind: Snapshot, Name: "s1", State: "running", Created: at(1700000000), HasCreated: true, Memory: MemorySpec{Mode: "internal"}}},
		{"redefine shutoff: memory defaults to no", Snapshot, ParseRedefine, snap("<name>s</name><state>shutoff</state><creationTime>5</creationTime>"),
			Def{Kind: Snapshot, Name: "s", State: "shutoff", Created: at(5), HasCreated: true, Memory: MemorySpec{Mode: "no"}}},
		{"redefine disk-snapshot: memory defaults to no", Snapshot, ParseRedefine, snap("<name>s</name><state>disk-snapshot</state><creationTime>5</creationTime><memory/>"),
			Def{Kind: Snapshot, Name: "s", State: "disk-snapshot", Created: at(5), HasCreated: true, Memory: MemorySpec{Mode: "no"}}},
		{"memory file implies external", Snapshot, ParseNew, snap("<memory file='/m.save'/>"), Def{Kind: Snapshot, Memory: MemorySpec{"external", "/m.save"}}},
		{"redefined names are not checked (the test driver keeps such names)", Snapshot, ParseRedefine, snap("<name>.a/b</name><state>paused</state><creationTime>0</creationTime>"),
			Def{Kind: Snapshot, Name: ".a/b", State: "paused", HasCreated: true, Created: at(0), Memory: MemorySpec{Mode: "internal"}}},
		{"every other character is a valid snapshot name", Snapshot, ParseNew, snap("<name> -x\t\"q\" \\ * ünï&amp;\n</name>"), Def{Kind: Snapshot, Name: " -x\t\"q\" \\ * ünï&\n"}},
		{"creationTime with leading space and sign (strtoll)", Snapshot, ParseNew, snap("<creationTime> +7</creationTime>"), Def{Kind: Snapshot, Created: at(7), HasCreated: true}},
		{"first element wins (XPath)", Snapshot, ParseNew, snap("<name>first</name><name>second</name><memory snapshot='no'/><memory snapshot='bogus'/>"),
			Def{Kind: Snapshot, Name: "first", Memory: MemorySpec{Mode: "no"}}},
		{"all text inside counts (XPath string())", Snapshot, ParseNew, snap("<name>ab<x>c</x>d<!-- no --></name>"), Def{Kind: Snapshot, Name: "abcd"}},
		{"entities and CDATA", Snapshot, ParseNew, snap("<name>a&lt;&#x1F600;&#65;</name><description><![CDATA[<b> & ]]>more</description>"),
			Def{Kind: Snapshot, Name: "a<😀A", Description: "<b> & more"}},
		{"first parent name wins", Snapshot, ParseNew, snap("<parent><other/><name>p1</name><name>p2</name></parent><parent><name>p3</name></parent>"), Def{Kind: Snapshot, Parent: "p1"}},
		{"disk defaults: source or driver means external", Snapshot, ParseNew,
			snap("<disks><disk name='vda'><source file='/a'/></disk><disk name='vdb'><driver type='qcow2'/></disk><disk name='vdc'/><disk name='sdb' type='block'><source dev='/dev/sdb'/></disk><disk name='vdn' snapshot='external' type='network'><source protocol='rbd' name='pool/img'/></disk></disks>"),
			Def{Kind: Snapshot, Disks: []DiskSpec{
				{Name: "vda", Mode: "external", Source: "/a"},
				{Name: "vdb", Mode: "external", DriverType: "qcow2"},
				{Name: "vdc"},
				{Name: "sdb", Mode: "external", Source: "/dev/sdb", SourceType: "block"},
				{Name: "vdn", Mode: "external", Source: "pool/img", SourceType: "network"},
			}}},
		{"disks: every child of every <disks> (./disks/*)", Snapshot, ParseNew, snap("<disks><disk name='vda' snapshot='no'/><other name='vdb' snapshot='manual'/></disks><disks><disk name='vdc' snapshot='internal'/></disks>"),
			Def{Kind: Snapshot, Disks: []DiskSpec{{Name: "vda", Mode: "no"}, {Name: "vdb", Mode: "manual"}, {Name: "vdc", Mode: "internal"}}}},
		{"active", Snapshot, ParseNew, snap("<active>1</active>"), Def{Kind: Snapshot, Active: ptr(true)}},
		{"active 0", Snapshot, ParseNew, snap("<domain type='qemu'/><active>0</active>"), Def{Kind: Snapshot, Active: ptr(false), HasDomain: true}},
		{"prefixed attributes are not libvirt's attributes", Snapshot, ParseNew, snap("<disks><disk xmlns:x='u' x:name='a' name='vda' snapshot='no'/></disks>"), Def{Kind: Snapshot, Disks: []DiskSpec{{Name: "vda", Mode: "no"}}}},
		{"checkpoint: no state, memory or active", Checkpoint, ParseNew, ckpt("<state>bogus</state><memory snapshot='bogus'/><active>x</active>"), Def{Kind: Checkpoint}},
		{"checkpoint disk without checkpoint attribute is a bitmap disk", Checkpoint, ParseRedefine,
			ckpt("<name>c1</name><creationTime>5</creationTime><parent><name>c0</name></parent><disks><disk name='vda'/><disk name='vdb' checkpoint='no'/><disk name='vdc' checkpoint='bitmap' bitmap='b' size='10'/></disks><domain type='qemu'/>"),
			Def{Kind: Checkpoint, Name: "c1", Parent: "c0", Created: at(5), HasCreated: true, HasDomain: true,
				Disks: []DiskSpec{{Name: "vda", Mode: "bitmap"}, {Name: "vdb", Mode: "no"}, {Name: "vdc", Mode: "bitmap", Bitmap: "b"}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			parse := ParseSnapshot
			if tt.kind == Checkpoint {
				parse = ParseCheckpoint
			}
			d, err := parse([]byte(tt.xml), tt.mode)
			if err != nil {
				t.Fatal(err)
			}
			if !d.Equal(&tt.want) {
				t.Errorf("got  %+v\nwant %+v", *d, tt.want)
			}
			if string(d.Raw()) != tt.xml {
				t.Errorf("raw not kept")
			}
			checkRoundTrip(t, d, tt.mode)
			if tt.mode == ParseRedefine {
				f, err := ParseFast(tt.kind, []byte(tt.xml))
				if err != nil || !f.Equal(d) {
					t.Errorf("ParseFast: %v, %+v", err, f)
				}
			}
		})
	}
}

// checkRoundTrip checks parse(format(d)) == d (issue #2 "Format").
func checkRoundTrip(t *testing.T, d *Def, mode ParseMode) {
	t.Helper()
	out, err := d.Format()
	if err != nil {
		t.Fatalf("Format: %v", err)
	}
	back, err := Parse(out, mode)
	if err != nil {
		t.Fatalf("parse of Format output: %v\n%s", err, out)
	}
	if !back.Equal(d) {
		t.Errorf("round trip changed the definition\n got  %+v\nwant %+v\n%s", *back, *d, out)
	}
}

// TestParseDispatch: Parse picks the parser by root element.
func TestParseDispatch(t *testing.T) {
	for _, tt := range []struct {
		xml  string
		kind Kind
		err  string
	}{
		{"<?xml version='1.0'?>\n<!-- c -->" + snap("<name>s</name>"), Snapshot, ""},
		{ckpt("<name>c</name>"), Checkpoint, ""},
		{"<domain/>", 0, "expecting root element of 'domainsnapshot' or 'domaincheckpoint', not 'domain'"},
		{"<", 0, "snapshot XML is not well-formed: XML syntax error on line 1: unexpected EOF"},
	} {
		d, err := Parse([]byte(tt.xml), ParseNew)
		if tt.err != "" {
			if err == nil || err.Error() != tt.err {
				t.Errorf("Parse(%q) error %v, want %q", tt.xml, err, tt.err)
			}
			continue
		}
		if err != nil || d.Kind != tt.kind {
			t.Errorf("Parse(%q) = %v, %v; want kind %v", tt.xml, d, err, tt.kind)
		}
	}
}

// TestValidateName: libvirt 9.0's name rules (QEMU driver for snapshots, checked '/' first;
// domaincheckpoint.rng for checkpoints), observed with virsh on qemu:///system.
func TestValidateName(t *testing.T) {
	tests := []struct {
		kind Kind
		name string
		err  string
	}{
		{Snapshot, "s1", ""},
		{Snapshot, " sp ace\ttab\nnl \"q\" 'a' \\ * ünï -dash 😀", ""},
		{Snapshot, "-dash", ""},
		{Snapshot, "a.b.", ""},
		{Snapshot, "", "snapshot name is empty"},
		{Snapshot, ".x", "invalid snapshot name '.x': name can't start with '.'"},
		{Snapshot, "a/b", "invalid snapshot name 'a/b': name can't contain '/'"},
		{Snapshot, ".red/ef", "invalid snapshot name '.red/ef': name can't contain '/'"},
		{Checkpoint, "c4.x-_", ""},
		{Checkpoint, "-c", ""},
		{Checkpoint, "", "checkpoint name is empty"},
		{Checkpoint, ".x", "invalid checkpoint name '.x': name can't start with '.'"},
		{Checkpoint, "a/b", "invalid checkpoint name 'a/b': name can't contain '/'"},
		{Checkpoint, "c 2", "invalid checkpoint name 'c 2': character ' ' is not allowed: libvirt accepts only ASCII letters, digits, '_', '-' and '.' (not first) in checkpoint names"},
		{Checkpoint, "ünï", "invalid checkpoint name 'ünï': character 'ü' is not allowed: libvirt accepts only ASCII letters, digits, '_', '-' and '.' (not first) in checkpoint names"},
	}
	for _, tt := range tests {
		err := ValidateName(tt.kind, tt.name)
		got := ""
		if err != nil {
			got = err.Error()
			var perr *ParseError
			if !errors.As(err, &perr) || perr.Element != "name" || perr.Value != tt.name && tt.name != "" {
				t.Errorf("ValidateName(%v, %q): error %#v lacks Element/Value", tt.kind, tt.name, err)
			}
		}
		if got != tt.err {
			t.Errorf("ValidateName(%v, %q) = %q, want %q", tt.kind, tt.name, got, tt.err)
		}
	}
}

// TestParseErrorUnwrap: a malformed document's error wraps encoding/xml's syntax error.
func TestParseErrorUnwrap(t *testing.T) {
	_, err := ParseCheckpoint([]byte("<domaincheckpoint><name>x</domaincheckpoint>"), ParseNew)
	var serr *xml.SyntaxError
	if !errors.As(err, &serr) || serr.Line != 1 {
		t.Fatalf("error %v does not wrap an *xml.SyntaxError", err)
	}
}
