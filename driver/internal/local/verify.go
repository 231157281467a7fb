package local

import (
	"errors"
	"fmt"
	"io/fs"
	"slices"
	"strings"

	"github.com/vmoments/vmoments/conf"
)

// Problem is why a domain's moments of one kind are not served from its metadata files: the
// reason the driver falls back to libvirt's API, in words a log can show.
type Problem struct {
	Kind conf.Kind
	// Path is the file or directory at fault ("" when the problem is the API's answer).
	Path string
	// Moment is the moment concerned, if one is.
	Moment string
	// Msg says what is wrong.
	Msg string
	// Err is the underlying error, if any.
	Err error
	// Sticky says the problem will not go away by itself (the process may not read the files):
	// the driver stops trying the files for this domain handle.
	Sticky bool
	// Racy says the problem may be a change made between the scan and the API's answer: the
	// driver scans and asks again before it falls back.
	Racy bool
}

func (p *Problem) Error() string {
	var b strings.Builder
	switch {
	case p.Path != "":
		b.WriteString(p.Path)
		b.WriteString(" ")
	case p.Moment != "":
		fmt.Fprintf(&b, "%s %q: ", p.Kind, p.Moment)
	}
	b.WriteString(p.Msg)
	if p.Err != nil {
		b.WriteString(": ")
		b.WriteString(p.Err.Error())
	}
	return b.String()
}

// Unwrap returns the underlying error.
func (p *Problem) Unwrap() error { return p.Err }

// openProblem is the problem of a directory or file that cannot be opened or read: a refusal of
// permission is sticky (the process cannot read libvirtd's files).
func openProblem(kind conf.Kind, path string, err error) *Problem {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		err = pe.Err
	}
	if errors.Is(err, fs.ErrPermission) {
		return &Problem{Kind: kind, Path: path, Msg: "cannot be read by this process", Err: err, Sticky: true}
	}
	return &Problem{Kind: kind, Path: path, Msg: "cannot be read", Err: err}
}

// Verify checks the content against libvirt's API: the names libvirt lists (one names call)
// must be exactly the moments the directory holds, and for snapshots the current snapshot
// libvirt reports ("" for none) must be the one file marked <active>1</active>, with no other
// so marked. It returns nil or a *Problem (Racy: a change between the scan and the calls can
// explain it).
func (c *Content) Verify(kind conf.Kind, names []string, current string) error {
	listed := make(map[string]bool, len(names))
	var extra []string // listed by libvirt, no file
	for _, n := range names {
		listed[n] = true
		if _, ok := c.Defs[n]; !ok {
			extra = append(extra, n)
		}
	}
	var stray []string // a file, not listed by libvirt
	for n := range c.Defs {
		if !listed[n] {
			stray = append(stray, n)
		}
	}
	if len(extra) > 0 || len(stray) > 0 || len(listed) != len(names) {
		msg := fmt.Sprintf("libvirt lists %d %ss, the metadata directory holds %d", len(names), kind, len(c.Defs))
		if len(extra) > 0 {
			msg += fmt.Sprintf("; listed without a file: %s", sample(extra))
		}
		if len(stray) > 0 {
			msg += fmt.Sprintf("; a file but not listed: %s", sample(stray))
		}
		return &Problem{Kind: kind, Msg: msg, Racy: true}
	}
	if kind != conf.Snapshot {
		return nil
	}
	switch {
	case len(c.Active) > 1:
		return &Problem{Kind: kind, Msg: fmt.Sprintf("%d files claim to be the current snapshot: %s", len(c.Active), sample(c.Active)), Racy: true}
	case current == "" && len(c.Active) == 1:
		return &Problem{Kind: kind, Msg: fmt.Sprintf("libvirt reports no current snapshot, the file of %q says it is current", c.Active[0]), Racy: true}
	case current != "" && len(c.Active) == 0:
		return &Problem{Kind: kind, Msg: fmt.Sprintf("libvirt's current snapshot is %q, no file says it is current", current), Racy: true}
	case current != "" && c.Active[0] != current:
		return &Problem{Kind: kind, Msg: fmt.Sprintf("libvirt's current snapshot is %q, the file of %q says it is current", current, c.Active[0]), Racy: true}
	}
	return nil
}

// sample quotes the first few names, sorted.
func sample(names []string) string {
	s := slices.Clone(names)
	slices.Sort(s)
	const show = 3
	var b strings.Builder
	for i, n := range s {
		if i == show {
			fmt.Fprintf(&b, " and %d more", len(s)-show)
			break
		}
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%q", n)
	}
	return b.String()
}

// InOrder returns the definitions of names, in that order (every name must be in the content:
// call it after Verify).
func (c *Content) InOrder(names []string) []*conf.Def {
	out := make([]*conf.Def, 0, len(names))
	for _, n := range names {
		if d := c.Defs[n]; d != nil {
			out = append(out, d)
		}
	}
	return out
}
