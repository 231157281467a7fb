package vshfmt

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// Locale says how virsh would measure and escape table cells.
type Locale struct {
	// UTF8 is true in a UTF-8 locale (C.UTF-8, en_US.UTF-8, ...), false in C/POSIX.
	UTF8 bool
}

// LocaleFromEnv returns the locale setlocale(LC_ALL, "") would pick for LC_CTYPE from an
// environment lookup function (os.LookupEnv): the first non-empty of LC_ALL, LC_CTYPE and LANG;
// it is UTF-8 when its codeset (after the dot) is UTF-8 or utf8, in any case.
func LocaleFromEnv(lookup func(string) (string, bool)) Locale {
	for _, k := range []string{"LC_ALL", "LC_CTYPE", "LANG"} {
		if v, ok := lookup(k); ok && v != "" {
			_, codeset, _ := strings.Cut(v, ".")
			codeset, _, _ = strings.Cut(codeset, "@")
			codeset = strings.ToLower(codeset)
			return Locale{UTF8: codeset == "utf-8" || codeset == "utf8"}
		}
	}
	return Locale{}
}

// SafeEncode is vshTableSafeEncode: it replaces control characters, the two characters `\x`
// and anything the locale cannot print with \xNN escapes and returns the encoded cell and its
// display width.
func (loc Locale) SafeEncode(s string) (string, int) {
	var b strings.Builder
	width := 0
	escape := func(c byte) {
		// virsh formats the byte as a signed char: bytes >= 0x80 become "\xff" (truncated
		// "\xffffffNN"), others "\xNN".
		if c >= 0x80 {
			b.WriteString(`\xff`)
		} else {
			b.WriteString(`\x`)
			b.WriteByte("0123456789abcdef"[c>>4])
			b.WriteByte("0123456789abcdef"[c&0xf])
		}
		width += 4
	}
	for i := 0; i < len(s); {
		c := s[i]
		if (c == '\\' && i+1 < len(s) && s[i+1] == 'x') || c < 0x20 || c == 0x7f {
			escape(c)
			i++
			continue
		}
		if c < 0x80 {
			b.WriteByte(c)
			width++
			i++
			continue
		}
		if !loc.UTF8 {
			escape(c)
			i++
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n <= 1 {
			escape(c) // invalid sequence: not printable as a single byte either
			i++
			continue
		}
		if !printable(r) {
			for j := 0; j < n; j++ {
				escape(s[i+j])
			}
			i += n
			continue
		}
		b.WriteString(s[i : i+n])
		width += runeWidth(r)
		i += n
	}
	return b.String(), width
}

// printable approximates glibc's iswprint in a UTF-8 locale: everything assigned except
// control characters, surrogates and the line/paragraph separators.
func printable(r rune) bool {
	if unicode.In(r, unicode.Cc, unicode.Cs, unicode.Zl, unicode.Zp) {
		return false
	}
	return unicode.In(r, unicode.L, unicode.M, unicode.N, unicode.P, unicode.S, unicode.Zs, unicode.Cf, unicode.Co)
}

// runeWidth approximates glibc's wcwidth: 0 for combining marks and format characters, 2 for
// East Asian wide and fullwidth characters, 1 otherwise.
func runeWidth(r rune) int {
	if r == 0x00AD {
		return 1 // soft hyphen: glibc gives it a column
	}
	if unicode.In(r, unicode.Mn, unicode.Me, unicode.Cf) || (r >= 0x1160 && r <= 0x11FF) || r == 0x200B {
		return 0
	}
	for _, w := range wide {
		if r >= w[0] && r <= w[1] {
			return 2
		}
	}
	return 1
}

// wide lists the East Asian Wide (W) and Fullwidth (F) ranges of Unicode's EastAsianWidth.txt
// that glibc's C.UTF-8 locale gives two columns.
var wide = [][2]rune{
	{0x1100, 0x115F}, {0x231A, 0x231B}, {0x2329, 0x232A}, {0x23E9, 0x23EC}, {0x23F0, 0x23F0},
	{0x23F3, 0x23F3}, {0x25FD, 0x25FE}, {0x2614, 0x2615}, {0x2648, 0x2653}, {0x267F, 0x267F},
	{0x2693, 0x2693}, {0x26A1, 0x26A1}, {0x26AA, 0x26AB}, {0x26BD, 0x26BE}, {0x26C4, 0x26C5},
	{0x26CE, 0x26CE}, {0x26D4, 0x26D4}, {0x26EA, 0x26EA}, {0x26F2, 0x26F3}, {0x26F5, 0x26F5},
	{0x26FA, 0x26FA}, {0x26FD, 0x26FD}, {0x2705, 0x2705}, {0x270A, 0x270B}, {0x2728, 0x2728},
	{0x274C, 0x274C}, {0x274E, 0x274E}, {0x2753, 0x2755}, {0x2757, 0x2757}, {0x2795, 0x2797},
	{0x27B0, 0x27B0}, {0x27BF, 0x27BF}, {0x2B1B, 0x2B1C}, {0x2B50, 0x2B50}, {0x2B55, 0x2B55},
	{0x2E80, 0x303E}, {0x3041, 0x33FF}, {0x3400, 0x4DBF}, {0x4E00, 0x9FFF}, {0xA000, 0xA4CF},
	{0xA960, 0xA97F}, {0xAC00, 0xD7A3}, {0xF900, 0xFAFF}, {0xFE10, 0xFE19}, {0xFE30, 0xFE6F},
	{0xFF00, 0xFF60}, {0xFFE0, 0xFFE6}, {0x16FE0, 0x16FE4}, {0x17000, 0x18CFF}, {0x1B000, 0x1B2FF},
	{0x1F004, 0x1F004}, {0x1F0CF, 0x1F0CF}, {0x1F18E, 0x1F18E}, {0x1F191, 0x1F19A}, {0x1F200, 0x1F251},
	{0x1F300, 0x1F64F}, {0x1F680, 0x1F6FF}, {0x1F7E0, 0x1F7EB}, {0x1F90C, 0x1F9FF}, {0x1FA70, 0x1FAFF},
	{0x20000, 0x2FFFD}, {0x30000, 0x3FFFD},
}
