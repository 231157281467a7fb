package conf

import (
	"fmt"
	"strings"
)

// ValidateName reports whether libvirt 9.0 would accept name for a new moment of the kind.
//
// Snapshots: libvirt's QEMU driver refuses a name that contains '/' or starts with '.' (the name
// becomes a file name under /var/lib/libvirt/qemu/snapshot/<domain>/), on create and on
// redefine; it checks '/' first. Every other character — spaces, tabs, newlines, quotes,
// backslashes, '*', unicode, a leading '-' — is valid. (The test driver checks nothing.)
//
// Checkpoints: libvirt validates every checkpoint document against domaincheckpoint.rng, whose
// names must match [a-zA-Z0-9_-][a-zA-Z0-9_.-]*, with every driver and also on redefine.
// libvirt then reports only a schema failure ("Extra element name in interleave"); ValidateName
// says what is wrong instead: the '/' and '.' rules with the QEMU driver's wording, and the
// allowed characters for anything else.
//
// The empty name is refused for both kinds: a document without a name asks libvirt to choose one,
// which is not a name to validate.
func ValidateName(kind Kind, name string) error {
	bad := func(why string) error {
		return &ParseError{Kind: kind, Element: "name", Value: name,
			Msg: fmt.Sprintf("invalid %s name '%s': %s", kind, name, why)}
	}
	switch {
	case name == "":
		return &ParseError{Kind: kind, Element: "name", Msg: fmt.Sprintf("%s name is empty", kind)}
	case strings.Contains(name, "/"):
		return bad("name can't contain '/'")
	case name[0] == '.':
		return bad("name can't start with '.'")
	}
	if kind == Checkpoint {
		for _, r := range name {
			if r >= 0x80 || !checkpointNameByte(byte(r)) {
				return bad(fmt.Sprintf("character %q is not allowed: libvirt accepts only ASCII letters, digits, '_', '-' and '.' (not first) in checkpoint names", r))
			}
		}
	}
	return nil
}

func checkpointNameByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
		c == '_' || c == '-' || c == '.'
}
