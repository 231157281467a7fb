package conf

import (
	"strings"
	"testing"
)

const dom = "<domain type='qemu'><name>vm</name><devices><disk type='file'><source file='/a'/></disk></devices></domain>"

// TestParseFast: the fast scanner reads the XML libvirt writes itself (handled), hands
// everything else to the full parser (fallback), and either way gives ParseSnapshot's or
// ParseCheckpoint's result in ParseRedefine mode (docs/design.md §5).
func TestParseFast(t *testing.T) {
	head := redefHead
	tests := []struct {
		name    string
		kind    Kind
		xml     string
		handled bool // the scanner reads it without the full parser
	}{
		{"prolog and comments", Snapshot, "<?xml version='1.0'?>\n<!-- c -->\n" + snap(head+"<!-- c --><?pi x?>"+dom), true},
		{"entities and character references", Snapshot, snap("<name>a&amp;b&lt;&gt;&apos;&quot;&#65;&#x1F600;&#xe9;</name><state>running</state><creationTime>5</creationTime>"), true},
		{"entities in attributes", Snapshot, snap(head + `<disks><disk name="v&amp;d" snapshot="no"/></disks>`), true},
		{"CDATA and comments in text", Snapshot, snap("<name>a<![CDATA[<b>&]]>c<!-- x -->d<?p?></name><state>running</state><creationTime>5</creationTime>"), true},
		{"white space in tags", Snapshot, snap("<name >s</name\n><state\t>running</state ><creationTime>5</creationTime><memory snapshot = 'internal' />"), true},
		{"self-closing elements", Snapshot, snap(head + "<description/><parent/><disks/><domain/>"), true},
		{"empty parent name", Snapshot, snap(head + "<parent><name/></parent>"), true},
		{"parent with comment", Snapshot, snap(head + "<parent><!-- x --><name>p</name></parent>"), true},
		{"unknown elements skipped", Snapshot, snap(head + "<x a='>'><y/><z>t</z><![CDATA[</x>]]></x>" + dom), true},
		{"text directly in the root is ignored", Snapshot, snap("junk" + head), true},
		{"domain with a comment", Snapshot, snap(head + "<domain><!-- </domain> --><name>vm</name></domain><active>1</active>"), true},
		{"domain with CDATA", Snapshot, snap(head + "<domain><description><![CDATA[</domain>]]></description></domain><active>1</active>"), true},
		{"domain with a nested domain element", Snapshot, snap(head + "<domain><metadata><domain xmlns='urn:x'>x</domain></metadata></domain><active>0</active>"), true},
		{"domain with a processing instruction", Snapshot, snap(head + "<domain><?x </domain>?></domain><active>1</active>"), true},
		{"inactiveDomain and cookie", Snapshot, snap(head + dom + "<inactiveDomain type='qemu'><name>vm</name></inactiveDomain><cookie><cpu mode='custom'/></cookie><active>1</active>"), true},
		{"snapshot disk children", Snapshot, snap("<name>s</name><state>disk-snapshot</state><creationTime>5</creationTime><disks>" +
			"<disk name='vda' snapshot='external' type='file'><driver type='qcow2'><metadata_cache/></driver><source file='/a'><seclabel model='dac'/></source><!-- c --><extra/></disk>" +
			"<disk name='sdb' type='block'><source dev='/dev/sdb'/></disk><disk name='n' type='network' snapshot='external'><source protocol='rbd' name='p/i'/></disk></disks>"), true},
		{"checkpoint disks", Checkpoint, ckpt("<name>c</name><creationTime>5</creationTime><disks><!-- c --><disk name='vda' checkpoint='bitmap' bitmap='c' size='1'/><disk name='vdb' checkpoint='no'></disk></disks>" + dom), true},
		{"checkpoint ignores snapshot elements", Checkpoint, ckpt("<name>c</name><creationTime>5</creationTime><state>x</state><memory snapshot='y'/><active>z</active>"), true},
		{"errors found by the scanner", Snapshot, snap("<name>s</name><state>bogus</state><creationTime>5</creationTime>"), true},

		{"namespace prefix on an element", Snapshot, snap(head + "<x:name xmlns:x='u'>t</x:name>"), false},
		{"namespace prefix on an attribute", Snapshot, snap(head + "<disks><disk xmlns:x='u' x:name='a' name='vda' snapshot='no'/></disks>"), false},
		{"repeated element", Snapshot, snap(head + "<name>again</name>"), false},
		{"repeated parent", Snapshot, snap(head + "<parent><name>a</name></parent><parent><name>b</name></parent>"), false},
		{"two names in parent", Snapshot, snap(head + "<parent><name>a</name><name>b</name></parent>"), false},
		{"other element in parent", Snapshot, snap(head + "<parent><x/><name>b</name></parent>"), false},
		{"repeated memory", Snapshot, snap(head + "<memory snapshot='no'/><memory snapshot='internal'/>"), false},
		{"repeated disks", Snapshot, snap(head + "<disks><disk name='a'/></disks><disks><disk name='b'/></disks>"), false},
		{"repeated driver", Snapshot, snap(head + "<disks><disk name='a'><driver type='raw'/><driver type='qcow2'/></disk></disks>"), false},
		{"repeated source", Snapshot, snap(head + "<disks><disk name='a'><source file='/a'/><source file='/b'/></disk></disks>"), false},
		{"repeated attribute", Snapshot, snap(head + "<disks><disk name='a' name='b'/></disks>"), false},
		{"element in a text field", Snapshot, snap("<name>a<b>c</b></name><state>running</state><creationTime>5</creationTime>"), false},
		{"carriage return", Snapshot, snap("<name>a\r\nb</name><state>running</state><creationTime>5</creationTime>"), false},
		{"carriage return in CDATA", Snapshot, snap("<name><![CDATA[a\rb]]></name><state>running</state><creationTime>5</creationTime>"), false},
		{"character reference to a carriage return", Snapshot, snap("<name>a&#13;b</name><state>running</state><creationTime>5</creationTime>"), false},
		{"unknown entity", Snapshot, snap("<name>a&nbsp;b</name><state>running</state><creationTime>5</creationTime>"), false},
		{"unterminated entity", Snapshot, snap("<name>a&amp b</name><state>running</state><creationTime>5</creationTime>"), false},
		{"bad character reference", Snapshot, snap("<name>&#xZZ;&#;</name><state>running</state><creationTime>5</creationTime>"), false},
		{"uppercase X character reference", Snapshot, snap("<name>&#X41;</name><state>running</state><creationTime>5</creationTime>"), false},
		{"character reference to NUL", Snapshot, snap("<name>&#0;</name><state>running</state><creationTime>5</creationTime>"), false},
		{"]]> in text", Snapshot, snap("<name>a]]>b</name><state>running</state><creationTime>5</creationTime>"), false},
		{"< in an attribute", Snapshot, snap(head + "<disks><disk name='a<b'/></disks>"), false},
		{"invalid UTF-8", Snapshot, snap("<name>a\xffb</name><state>running</state><creationTime>5</creationTime>"), false},
		{"DOCTYPE", Snapshot, "<!DOCTYPE x>" + snap(head), false},
		{"byte order mark", Snapshot, "\xef\xbb\xbf" + snap(head), false},
		{"other root", Snapshot, ckpt(head), false},
		{"self-closing root", Snapshot, "<domainsnapshot/>", false},
		{"truncated", Snapshot, "<domainsnapshot><name>s</name><state>running", false},
		{"truncated in a tag", Snapshot, "<domainsnapshot><name a='x", false},
		{"truncated domain", Snapshot, "<domainsnapshot><name>s</name><domain><devices>", false},
		{"unterminated comment", Snapshot, "<!-- x", false},
		{"mismatched end tag", Snapshot, snap("<name>s</nam><state>running</state><creationTime>5</creationTime>"), false},
		{"more than 8 attributes", Snapshot, snap(head + "<disks><disk a='1' b='2' c='3' d='4' e='5' f='6' g='7' h='8' name='vda'/></disks>"), false},
		{"unquoted attribute", Snapshot, snap(head + "<memory snapshot=no/>"), false},
		{"attribute without value", Snapshot, snap(head + "<memory snapshot/>"), false},
		{"empty tag name", Snapshot, snap(head + "< x/>"), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := scanner{b: []byte(tt.xml), kind: tt.kind}
			_, serr := s.document()
			if handled := serr == nil; handled != tt.handled {
				t.Errorf("scanner handled it: %v, want %v (%v)", handled, tt.handled, serr)
			}
			parse := ParseSnapshot
			if tt.kind == Checkpoint {
				parse = ParseCheckpoint
			}
			want, werr := parse([]byte(tt.xml), ParseRedefine)
			got, gerr := ParseFast(tt.kind, []byte(tt.xml))
			if (werr == nil) != (gerr == nil) {
				if !(tt.handled && werr != nil) { // the scanner does not check skipped parts
					t.Fatalf("full: %v; fast: %v", werr, gerr)
				}
			}
			if werr == nil && gerr == nil && !got.Equal(want) {
				t.Errorf("fast %+v\nfull %+v", *got, *want)
			}
			if werr != nil && gerr != nil && tt.handled && werr.Error() != gerr.Error() {
				t.Errorf("fast error %q, full error %q", gerr, werr)
			}
		})
	}
	if _, err := ParseFast(Kind(5), []byte(snap(""))); err == nil || !strings.Contains(err.Error(), "unknown kind 5") {
		t.Errorf("unknown kind: %v", err)
	}
}

// A misnested end tag inside a part the fast path reads or skips is malformed XML: the fast
// path must not accept what the full parser rejects (it falls back, and the full parser says why).
func TestParseFastRejectsMisnestedEndTags(t *testing.T) {
	for _, tc := range []struct {
		kind Kind
		doc  string
	}{
		{Snapshot, `<domainsnapshot><name>s</name><creationTime>1</creationTime><state>running</state><disks><disk name="vda" snapshot="external"><source file="/a"/></disc></disks></domainsnapshot>`},
		{Snapshot, `<domainsnapshot><name>s</name><creationTime>1</creationTime><state>running</state><disks><disk name="vda" snapshot="external"><extra><x></y></extra></disk></disks></domainsnapshot>`},
		{Snapshot, `<domainsnapshot><name>s</name><creationTime>1</creationTime><state>running</state><unknown><a></b></unknown></domainsnapshot>`},
		{Checkpoint, `<domaincheckpoint><name>c</name><creationTime>1</creationTime><disks><disk name="vda" checkpoint="bitmap"><x></z></disk></disks></domaincheckpoint>`},
	} {
		full := ParseSnapshot
		if tc.kind == Checkpoint {
			full = ParseCheckpoint
		}
		_, fullErr := full([]byte(tc.doc), ParseRedefine)
		if fullErr == nil {
			t.Fatalf("full parser accepted malformed %s", tc.doc)
		}
		if _, err := ParseFast(tc.kind, []byte(tc.doc)); err == nil {
			t.Errorf("ParseFast accepted %s, which the full parser rejects: %v", tc.doc, fullErr)
		}
	}
}
