package main

import (
	"strings"
	"testing"
)

// TestDotTimesAsTable: --dot shows each moment's creation time as the table does, in the same
// zone ($TZ, as virsh's local time), not in UTC.
func TestDotTimesAsTable(t *testing.T) {
	drv := backupChain(t)
	table := runFake(t, drv, "-q", "checkpoint-list", "guest")
	dot := runFake(t, drv, "-q", "checkpoint-list", "guest", "--dot")
	if table.rc != 0 || dot.rc != 0 {
		t.Fatalf("table %s\ndot %s", table, dot)
	}
	n := 0
	for _, row := range strings.Split(strings.TrimSpace(table.stdout), "\n") {
		f := strings.Fields(row) // name, date, time, zone
		if len(f) < 4 {
			t.Fatalf("row %q", row)
		}
		label := `"` + f[0] + `\n` + f[1] + " " + f[2] + " " + f[3]
		if !strings.Contains(dot.stdout, label) {
			t.Errorf("--dot has no %s:\n%s", label, dot.stdout)
		}
		n++
	}
	if n == 0 || !strings.Contains(table.stdout, "-0400") {
		t.Errorf("the table shows no time in $TZ's zone:\n%s", table.stdout)
	}
}
