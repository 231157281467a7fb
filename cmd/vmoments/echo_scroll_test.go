package main

import "testing"

// TestEchoLine: readline's echo of a piped line in horizontal-scroll mode, as virsh 9.0 printed
// it for `echo aaaaaaaaaa bbbbbbbbbb ... iiiiiiiiii` (103 bytes) after the prompt "virsh # ".
func TestEchoLine(t *testing.T) {
	const line = "echo aaaaaaaaaa bbbbbbbbbb cccccccccc dddddddddd eeeeeeeeee ffffffffff gggggggggg hhhhhhhhhh iiiiiiiiii"
	for _, tt := range []struct {
		width int
		want  string
	}{
		{0, line + "\n"}, // TERM=xterm: the line whole
		{120, line + "\n"},
		{100, "\r<dddddddddd eeeeeeeeee ffffffffff gggggggggg hhhhhhhhhh iiiiiiiiii\n"},
		{40, "\r<ggg hhhhhhhhhh iiiiiiiiii\n"},
	} {
		if got := echoLine("virsh # ", line, tt.width); got != tt.want {
			t.Errorf("width %d: %q, want %q", tt.width, got, tt.want)
		}
	}
	if got := echoLine("virsh # ", "echo short", 80); got != "echo short\n" {
		t.Errorf("a short line: %q", got)
	}
	for env, want := range map[[2]string]int{{"", ""}: 80, {"dumb", ""}: 80, {"", "100"}: 100, {"xterm", "40"}: 0, {"dumb", "x"}: 80} {
		got := echoWidth(func(k string) (string, bool) {
			v := map[string]string{"TERM": env[0], "COLUMNS": env[1]}[k]
			return v, v != ""
		})
		if got != want {
			t.Errorf("TERM=%q COLUMNS=%q: width %d, want %d", env[0], env[1], got, want)
		}
	}
}
