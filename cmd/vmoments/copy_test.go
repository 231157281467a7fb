package main

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestCopyCommand copies to "another host" (a second test-driver node with the same domain and
// UUID) and removes the source's metadata; a copy to an unreachable URI leaves the source as it
// was.
func TestCopyCommand(t *testing.T) {
	src, dst := demoNode(t, false), demoNode(t, true)
	h := openHosts(t, src, dst)
	want := h.views(t, src)
	current, _, _ := h.run(t, src, "snapshot-current", "demo", "--name")

	before := h.views(t, src)
	_, errOut, rc := h.run(t, src, "copy", "demo", "--to", "qemu+tcp://127.0.0.1:1/system", "--remove-source-metadata")
	if rc != 1 || !strings.Contains(errOut, "error: failed to connect to the destination qemu+tcp://127.0.0.1:1/system:") ||
		!strings.Contains(errOut, "nothing was changed") {
		t.Errorf("copy to an unreachable URI: rc %d, %q", rc, errOut)
	}
	if h.views(t, src) != before {
		t.Error("a copy to an unreachable URI changed the source")
	}

	out, errOut, rc := h.run(t, src, "copy", "demo", "--to", dst, "--remove-source-metadata", "--json")
	var res copyJSON
	if rc != 0 || json.Unmarshal([]byte(out), &res) != nil {
		t.Fatalf("copy: rc %d\n%s%s", rc, out, errOut)
	}
	if res.Removed != 28 || res.Import.Redefined != 28 || res.Import.CurrentSnapshot != strings.TrimSpace(current) {
		t.Errorf("copy summary: %+v", res)
	}
	if got := h.views(t, dst); got != want {
		t.Errorf("the destination differs from the source before the copy:\n%s\nwant\n%s", got, want)
	}
	if got, _, _ := h.run(t, src, "snapshot-list", "demo", "--name"); strings.TrimSpace(got) != "" {
		t.Errorf("source metadata left: %q", got)
	}
}
