package conf

import (
	"os"
	"path/filepath"
	"testing"
)

// addCorpus seeds a fuzz target with the real documents of testdata and small odd ones; the
// generated seed corpora live in testdata/fuzz/<target>.
func addCorpus(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "*", "*.xml"))
	for _, path := range files {
		if data, err := os.ReadFile(path); err == nil {
			f.Add(data)
		}
	}
	for _, s := range []string{
		snap(redefHead + "<parent><name>p</name></parent><memory snapshot='internal'/><disks><disk name='vda' snapshot='internal'/></disks>" + dom + "<active>1</active>"),
		ckpt("<name>c</name><creationTime>5</creationTime><disks><disk name='vda' checkpoint='bitmap' bitmap='c'/></disks>" + dom),
		snap("<name>a&amp;<![CDATA[b]]>&#x1F600;</name><state>running</state><creationTime> 5</creationTime>"),
		"<domainsnapshot><name>s</name><domain><!-- </domain> --></domain></domainsnapshot>",
	} {
		f.Add([]byte(s))
	}
}

// fuzzParse checks the properties every parse must have: no panic, errors are *ParseError,
// a definition formats and parses back to itself, and the fast path agrees with the full parser.
func fuzzParse(t *testing.T, kind Kind, data []byte) {
	parse := ParseSnapshot
	if kind == Checkpoint {
		parse = ParseCheckpoint
	}
	for _, mode := range []ParseMode{ParseNew, ParseRedefine} {
		d, err := parse(data, mode)
		if err != nil {
			if _, ok := err.(*ParseError); !ok {
				t.Fatalf("error %T is not a *ParseError: %v", err, err)
			}
			continue
		}
		out, err := d.Format()
		if err != nil {
			t.Fatalf("Format of a parsed definition: %v", err)
		}
		back, err := parse(out, mode)
		if err != nil {
			t.Fatalf("parse of Format output: %v\n%q", err, out)
		}
		if !back.Equal(d) {
			t.Fatalf("round trip:\n got  %+v\nwant %+v\n%q", *back, *d, out)
		}
		if mode == ParseRedefine {
			fast, err := ParseFast(kind, data)
			if err != nil {
				t.Fatalf("ParseFast failed where the full parser succeeded: %v", err)
			}
			if !fast.Equal(d) {
				t.Fatalf("ParseFast differs:\n fast %+v\n full %+v", *fast, *d)
			}
		}
	}
}

func FuzzParseSnapshot(f *testing.F) {
	addCorpus(f)
	f.Fuzz(func(t *testing.T, data []byte) { fuzzParse(t, Snapshot, data) })
}

func FuzzParseCheckpoint(f *testing.F) {
	addCorpus(f)
	f.Fuzz(func(t *testing.T, data []byte) { fuzzParse(t, Checkpoint, data) })
}

// FuzzParseFast: the fast path never panics, and whenever it and the full parser both succeed
// their definitions are Equal.
func FuzzParseFast(f *testing.F) {
	addCorpus(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, kind := range []Kind{Snapshot, Checkpoint} {
			fast, ferr := ParseFast(kind, data)
			parse := ParseSnapshot
			if kind == Checkpoint {
				parse = ParseCheckpoint
			}
			full, err := parse(data, ParseRedefine)
			if ferr == nil && err == nil && !fast.Equal(full) {
				t.Fatalf("%v: ParseFast differs:\n fast %+v\n full %+v", kind, *fast, *full)
			}
			if ferr == nil && string(fast.Raw()) != string(data) {
				t.Fatal("raw not kept")
			}
		}
	})
}
