package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestImportRefusesAlteredFile: a changed byte in one file: refused, nothing changed, exit 1.
func TestImportRefusesAlteredFile(t *testing.T) {
	uri := demoNode(t, false)
	h := openHosts(t, uri)
	dir := filepath.Join(t.TempDir(), "export")
	if _, errOut, rc := h.run(t, uri, "export", "demo", "--to", dir); rc != 0 {
		t.Fatal(errOut)
	}
	removeAllSnapshots(t, h, uri)
	f := filepath.Join(dir, "snapshots", "deploy-05.xml")
	data, err := os.ReadFile(f)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(f, append(data, ' '), 0o644); err != nil {
		t.Fatal(err)
	}
	_, errOut, rc := h.run(t, uri, "import", "demo", "--from", dir)
	if rc != 1 || !strings.Contains(errOut, `error: snapshot "deploy-05": file snapshots/deploy-05.xml was altered after the export`) {
		t.Errorf("rc %d, stderr %q", rc, errOut)
	}
	if got, _, _ := h.run(t, uri, "snapshot-list", "demo", "--name"); strings.TrimSpace(got) != "" {
		t.Errorf("a refused import left snapshots: %q", got)
	}
}
