package conf

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/golden")

// corpus returns the real libvirt 9.0 documents under testdata: snapshot-dumpxml and
// checkpoint-dumpxml output (qemu-*.xml, test-*.xml) and libvirt's own state files
// (qemu-file-*.xml: a leading comment, <active>), all from virsh on this machine.
func corpus(t testing.TB) map[string][]byte {
	t.Helper()
	files, err := filepath.Glob("testdata/*/*.xml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no corpus: %v", err)
	}
	out := make(map[string][]byte, len(files))
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		out[f] = b
	}
	return out
}

// golden is the JSON form of a definition kept under testdata/golden.
type golden struct {
	Def
	Status, Location string
	Covered          []string
	External         bool
}

// TestCorpus: every real document parses (full and fast, with equal results, and the fast
// path never needs the full parser for them), matches its golden definition, formats back to
// libvirt's own bytes, and survives the round trip.
func TestCorpus(t *testing.T) {
	for path, data := range corpus(t) {
		t.Run(path, func(t *testing.T) {
			d, err := Parse(data, ParseRedefine)
			if err != nil {
				t.Fatal(err)
			}
			// Golden definition.
			g := golden{Def: *d, Status: d.Status().String(), Location: d.Location(),
				Covered: d.CoveredDisks(), External: d.IsExternal()}
			js, err := json.MarshalIndent(g, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			js = append(js, '\n')
			gpath := filepath.Join("testdata", "golden", strings.ReplaceAll(strings.TrimPrefix(path, "testdata/"), "/", "_")+".json")
			if *update {
				if err := os.MkdirAll(filepath.Dir(gpath), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(gpath, js, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(gpath)
			if err != nil {
				t.Fatalf("%v (run go test -update once)", err)
			}
			if !bytes.Equal(js, want) {
				t.Errorf("definition differs from %s:\n%s", gpath, js)
			}

			// The fast path gives the same definition without falling back.
			f, err := ParseFast(d.Kind, data)
			if err != nil || !f.Equal(d) {
				t.Errorf("ParseFast = %+v, %v", f, err)
			}
			s := scanner{b: data, kind: d.Kind}
			if _, err := s.document(); err != nil {
				t.Errorf("the fast scanner fell back to the full parser")
			}

			// Format gives libvirt's bytes back (the state files have a leading comment that
			// is not part of the definition).
			out, err := d.Format()
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(path, "-file-") && !bytes.Equal(bytes.TrimSpace(out), bytes.TrimSpace(data)) {
				t.Errorf("Format output differs from libvirt's:\n%s", out)
			}
			checkRoundTrip(t, d, ParseRedefine)
		})
	}
}
