package conf

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestQuickAll(t *testing.T) {
	files, _ := filepath.Glob("testdata/*/*.xml")
	for _, f := range files {
		b, _ := os.ReadFile(f)
		d, err := Parse(b, ParseRedefine)
		if err != nil {
			t.Errorf("%s: %v", f, err)
			continue
		}
		out, err := d.Format()
		if err != nil {
			t.Errorf("%s: %v", f, err)
			continue
		}
		if !strings.Contains(f, "file-") && !bytes.Equal(bytes.TrimSpace(out), bytes.TrimSpace(b)) {
			os.WriteFile("/tmp/out.xml", out, 0644)
			t.Errorf("%s: format differs", f)
		}
		d2, err := Parse(out, ParseRedefine)
		if err != nil || !d2.Equal(d) {
			t.Errorf("%s: roundtrip %v", f, err)
		}
		fd, err := ParseFast(d.Kind, b)
		if err != nil || !fd.Equal(d) {
			t.Errorf("%s: fast %v %+v", f, err, fd)
		}
		s := scanner{b: b, kind: d.Kind}
		if _, err := s.document(); err != nil {
			t.Errorf("%s: fast fell back", f)
		}
	}
}
