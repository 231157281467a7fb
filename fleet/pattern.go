package fleet

import (
	"bufio"
	"fmt"
	"io"
	"path"
	"regexp"
	"strings"
)

// A Pattern selects domains by name: a glob or a regular expression.
type Pattern struct {
	text string
	re   *regexp.Regexp // nil for a glob
}

// ParsePattern reads a domain pattern: text between slashes is a regular expression (Go's
// syntax, matched anywhere in the name unless anchored: `/^web-\d+$/`); anything else is a glob
// as path.Match reads it (`*` any run of characters, `?` one character, `[a-z]` a class, `\`
// quotes the next character), matched against the whole name.
func ParsePattern(s string) (Pattern, error) {
	if len(s) >= 2 && strings.HasPrefix(s, "/") && strings.HasSuffix(s, "/") {
		re, err := regexp.Compile(s[1 : len(s)-1])
		if err != nil {
			return Pattern{}, fmt.Errorf("domain pattern %q: %v", s, err)
		}
		return Pattern{text: s, re: re}, nil
	}
	if _, err := path.Match(s, ""); err != nil {
		return Pattern{}, fmt.Errorf("domain pattern %q: %v", s, err)
	}
	return Pattern{text: s}, nil
}

// Match says whether the pattern selects the domain name.
func (p Pattern) Match(name string) bool {
	if p.re != nil {
		return p.re.MatchString(name)
	}
	ok, _ := path.Match(p.text, name)
	return ok
}

// String returns the pattern as given.
func (p Pattern) String() string { return p.text }

// ReadHosts reads a hosts file: one connection URI per line; blank lines and everything from a
// '#' that starts a line or follows a blank are comments; surrounding blanks are dropped. A line
// with two words is an error (a URI has no blanks), as is a file with no URI.
func ReadHosts(r io.Reader, name string) ([]string, error) {
	var uris []string
	sc := bufio.NewScanner(r)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if i := strings.Index(line, "#"); i == 0 || i > 0 && (line[i-1] == ' ' || line[i-1] == '\t') {
			line = line[:i]
		}
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		if strings.ContainsAny(line, " \t") {
			return nil, fmt.Errorf("%s:%d: %q: one connection URI per line", name, n, line)
		}
		uris = append(uris, line)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %v", name, err)
	}
	if len(uris) == 0 {
		return nil, fmt.Errorf("%s: no connection URI in the file", name)
	}
	return uris, nil
}
