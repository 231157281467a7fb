package vshfmt

import "testing"

func TestSafeEncode(t *testing.T) {
	utf8, c := Locale{UTF8: true}, Locale{}
	tests := []struct {
		loc   Locale
		in    string
		out   string
		width int
	}{
		{utf8, "base", "base", 4},
		{utf8, "with space", "with space", 10},
		{utf8, "tab\there", `tab\x09here`, 11},
		{utf8, `a\xb`, `a\x5cxb`, 7},    // a literal \x is escaped so it cannot be mistaken
		{utf8, `a\b`, `a\b`, 3},         // a lone backslash is kept
		{utf8, "ünï", "ünï", 3},         // Latin letters: one column each
		{utf8, "快照", "快照", 4},           // East Asian wide: two columns each
		{utf8, "e\u0301", "e\u0301", 1}, // a combining accent takes no column
		{utf8, "\xff", `\xff`, 4},       // invalid UTF-8
		{utf8, "\u2028", `\xff\xff\xff`, 12},
		{c, "ünï", `\xff\xffn\xff\xff`, 17}, // C locale: every byte >= 0x80 shows as \xff
		{c, "del\x7f", `del\x7f`, 7},
	}
	for _, tt := range tests {
		out, width := tt.loc.SafeEncode(tt.in)
		if out != tt.out || width != tt.width {
			t.Errorf("%+v SafeEncode(%q) = %q, %d; want %q, %d", tt.loc, tt.in, out, width, tt.out, tt.width)
		}
	}
}

func TestLocaleFromEnv(t *testing.T) {
	tests := []struct {
		env  map[string]string
		utf8 bool
	}{
		{map[string]string{}, false},
		{map[string]string{"LANG": "C.UTF-8"}, true},
		{map[string]string{"LANG": "en_US.utf8"}, true},
		{map[string]string{"LANG": "de_DE.UTF-8@euro"}, true},
		{map[string]string{"LC_ALL": "C", "LANG": "C.UTF-8"}, false},
		{map[string]string{"LC_CTYPE": "C.UTF-8", "LANG": "C"}, true},
		{map[string]string{"LC_ALL": "", "LANG": "POSIX"}, false},
	}
	for _, tt := range tests {
		got := LocaleFromEnv(func(k string) (string, bool) { v, ok := tt.env[k]; return v, ok })
		if got.UTF8 != tt.utf8 {
			t.Errorf("%v: UTF8 = %v, want %v", tt.env, got.UTF8, tt.utf8)
		}
	}
}

func TestTableFormat(t *testing.T) {
	tb := NewTable("Name", "Creation Time", "State")
	tb.Append("a", "2020-09-13 12:26:40 +0000", "shutoff")
	tb.Append("快照", "2020-09-13 12:26:40 +0000", "disk-snapshot")
	want := " Name   Creation Time               State\n" +
		"---------------------------------------------------\n" +
		" a      2020-09-13 12:26:40 +0000   shutoff\n" +
		" 快照   2020-09-13 12:26:40 +0000   disk-snapshot\n"
	if got := tb.Format(Locale{UTF8: true}, true); got != want {
		t.Errorf("with header:\n%s\nwant:\n%s", got, want)
	}
	// virsh -q: no header, and the header's widths do not count
	want = " a      2020-09-13 12:26:40 +0000   shutoff\n" +
		" 快照   2020-09-13 12:26:40 +0000   disk-snapshot\n"
	if got := tb.Format(Locale{UTF8: true}, false); got != want {
		t.Errorf("quiet:\n%s\nwant:\n%s", got, want)
	}
	empty := NewTable("Name", "Creation Time")
	if got, want := empty.Format(Locale{}, true), " Name   Creation Time\n-----------------------\n"; got != want {
		t.Errorf("empty: %q, want %q", got, want)
	}
}

func TestFormatTree(t *testing.T) {
	tests := []struct {
		name  string
		items []TreeItem
		want  string
	}{
		{"one root", []TreeItem{{"a", -1}}, "a\n\n"},
		{"two lone roots", []TreeItem{{"a", -1}, {"b", -1}}, "a\n\nb\n\n"},
		{"chain", []TreeItem{{"a", -1}, {"b", 0}, {"c", 1}}, "a\n  |\n  +- b\n      |\n      +- c\n        \n"},
		// docs/libvirt.md §4's example: branches, a last child with children, siblings in slice order
		{"branches", []TreeItem{{"s1", -1}, {"s2", 2}, {"s3", 0}, {"s4", 5}, {"s5", 5}, {"s6", 2}, {"s7", 0}, {"s8", 6}},
			"s1\n  |\n  +- s3\n  |   |\n  |   +- s2\n  |   +- s6\n  |       |\n  |       +- s4\n  |       +- s5\n  |         \n" +
				"  +- s7\n      |\n      +- s8\n        \n"},
	}
	for _, tt := range tests {
		if got := FormatTree(tt.items); got != tt.want {
			t.Errorf("%s:\n%q\nwant\n%q", tt.name, got, tt.want)
		}
	}
}

func TestStrcasecmp(t *testing.T) {
	tests := []struct {
		a, b string
		sign int
	}{
		{"a", "B", -1}, {"Side", "quo", 1}, {"side", "SIDE", 0}, {"--dash", "a", -1},
		{"z", "ü", -1}, {"ab", "a", 1}, {"", "", 0},
	}
	for _, tt := range tests {
		got := Strcasecmp(tt.a, tt.b)
		if (got > 0) != (tt.sign > 0) || (got < 0) != (tt.sign < 0) {
			t.Errorf("Strcasecmp(%q, %q) = %d, want sign %d", tt.a, tt.b, got, tt.sign)
		}
	}
}
