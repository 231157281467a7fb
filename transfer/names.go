package transfer

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"

	"github.com/vmoments/vmoments/conf"
)

// File names inside an export are derived from moment names, which libvirt lets contain
// anything but NUL (the test driver even allows '/' and a leading '.' in snapshot names).
//
// FileName keeps ASCII letters, digits, '_', '-' and '.' (but a '.' or a '-' only after the
// first character), and writes every other byte of the UTF-8 name as %XX, so "..", "/", spaces
// and unicode can never form a path step, and no file looks like an option to the commands
// run on the directory ("--tree" is "%2D-tree.xml", so `wc -c *.xml` works). Exports written
// before that kept a leading '-' and still import: the manifest names each file. Names whose escaped form is longer than maxStem bytes are
// cut and get "~" and 16 hex digits of the name's SHA-256, which keeps them distinct and well
// below the 255-byte limit of common file systems. Each kind has its own directory, so a snapshot
// and a checkpoint may share a name. The manifest maps every moment to its file, so the escaping
// never needs to be undone; unescape (for the tests) undoes it anyway for names that were not shortened.
//
// Two names that differ only in letter case ("A", "a") would collide on case-insensitive file
// systems; Export gives the later one the hash suffix too.
const maxStem = 200

// kindDir is the directory of each kind's files inside an export.
var kindDir = map[conf.Kind]string{conf.Snapshot: "snapshots", conf.Checkpoint: "checkpoints"}

// FileName returns the file (relative to the export's root) for a moment's XML.
func FileName(kind conf.Kind, name string) string {
	return kindDir[kind] + "/" + escapeName(name, false) + ".xml"
}

func escapeName(name string, forceHash bool) string {
	var b strings.Builder
	for i := 0; i < len(name); i++ {
		c := name[i]
		if safeByte(c) && (c != '.' && c != '-' || i > 0) {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	s := b.String()
	if len(s) <= maxStem && !forceHash {
		return s
	}
	cut := min(len(s), maxStem-17)
	// Never cut inside a %XX escape.
	if i := strings.LastIndexByte(s[:cut], '%'); i >= 0 && i > cut-3 {
		cut = i
	}
	sum := sha256.Sum256([]byte(name))
	return s[:cut] + "~" + hex.EncodeToString(sum[:8])
}

func safeByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-' || c == '.'
}

// unescape returns the moment name an unshortened file stem (FileName without directory and
// ".xml") stands for, and false for a shortened or malformed one.
func unescape(stem string) (string, bool) {
	if strings.Contains(stem, "~") {
		return "", false
	}
	var b strings.Builder
	for i := 0; i < len(stem); i++ {
		c := stem[i]
		if c != '%' {
			b.WriteByte(c)
			continue
		}
		if i+2 >= len(stem) {
			return "", false
		}
		v, err := hex.DecodeString(stem[i+1 : i+3])
		if err != nil {
			return "", false
		}
		b.WriteByte(v[0])
		i += 2
	}
	return b.String(), true
}

// checkFileName refuses any manifest file name that FileName could not have produced: it must be
// "snapshots/STEM.xml" or "checkpoints/STEM.xml" with a stem of safe bytes, escapes and an
// optional hash suffix, not starting with '.'. So a crafted manifest cannot reach outside the
// export ("../x", "/etc/passwd", "snapshots/../../x").
func checkFileName(f string) error {
	dir, base, ok := strings.Cut(f, "/")
	if !ok || (dir != "snapshots" && dir != "checkpoints") {
		return fmt.Errorf("file %q is not under snapshots/ or checkpoints/", f)
	}
	stem, ok := strings.CutSuffix(base, ".xml")
	if !ok || stem == "" || len(base) > 255 {
		return fmt.Errorf("file %q is not a NAME.xml of at most 255 bytes", f)
	}
	if stem[0] == '.' {
		return fmt.Errorf("file %q starts with '.'", f)
	}
	for i := 0; i < len(stem); i++ {
		if c := stem[i]; !safeByte(c) && c != '%' && c != '~' {
			return fmt.Errorf("file %q has the byte %q, which exports never use", f, c)
		}
	}
	return nil
}

func lower(s string) string { return strings.ToLower(s) }
