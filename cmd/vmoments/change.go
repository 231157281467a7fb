package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"syscall"

	"github.com/vmoments/vmoments/cmd/vmoments/internal/vsh"
	"github.com/vmoments/vmoments/conf"
	"github.com/vmoments/vmoments/driver"
	"github.com/vmoments/vmoments/momentlist"
)

// What the commands that change moments share (snapshot-create*, checkpoint-create*, *-edit,
// snapshot-revert, snapshot-current NAME, *-delete): virsh's errors for a refused change, its
// XML file reading, and the --json of a change.

// flagOpt maps one boolean option to a libvirt flag.
type flagOpt[F ~uint32] struct {
	opt  string
	flag F
}

// flagsOf ORs the flags of the options given.
func flagsOf[F ~uint32](c *vsh.Parsed, table []flagOpt[F]) F {
	var f F
	for _, o := range table {
		if c.Has(o.opt) {
			f |= o.flag
		}
	}
	return f
}

// changeErr is a failed change as virsh prints it: libvirt's message after the lines of
// before. A read-only driver refuses changes before libvirt sees them; virsh's read-only
// connection gets libvirt's refusal, which names the API (api): that is what is printed.
func changeErr(err error, api string, before ...string) error {
	if errors.Is(err, driver.ErrReadOnly) && !strings.HasPrefix(libvirtMessage(err), "operation forbidden") {
		return &vsh.Error{Lines: append(slices.Clone(before), "operation forbidden: read only access prevents "+api), Err: err}
	}
	return libvirtErr(err, before...)
}

// maxXMLFile is VSH_MAX_XML_FILE: virsh reads at most 10 MiB of XML.
const maxXMLFile = 10 * 1024 * 1024

// readXMLFile is virFileReadAll(path, VSH_MAX_XML_FILE) with libvirt's messages. The text ends
// at its first NUL byte, as the C string virsh passes on does.
func readXMLFile(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", vsh.Errorf("Failed to open file '%s': %s", path, strerror(err))
	}
	defer f.Close()
	buf, err := io.ReadAll(io.LimitReader(f, maxXMLFile+1))
	if err != nil {
		return "", vsh.Errorf("Failed to read file '%s': %s", path, strerror(err))
	}
	if len(buf) > maxXMLFile {
		return "", vsh.Errorf("Failed to read file '%s': %s", path, strerror(syscall.EFBIG))
	}
	s := string(buf)
	if i := strings.IndexByte(s, 0); i >= 0 {
		s = s[:i]
	}
	return s, nil
}

// strerror is glibc's strerror for the errno inside err (Go's texts are glibc's, lower-cased).
func strerror(err error) string {
	var errno syscall.Errno
	if !errors.As(err, &errno) {
		return err.Error()
	}
	s := errno.Error()
	if s == "" {
		return fmt.Sprintf("Unknown error %d", int(errno))
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// changedJSON prints, for --json, the named moments of kind as the domain has them now (a
// fresh look after the change), in the order given. A name libvirt no longer knows is left
// out (a snapshot created without metadata).
func (a *app) changedJSON(ctx context.Context, dom driver.Domain, kind conf.Kind, names ...string) error {
	l, err := a.load(ctx, dom, kind, true, false)
	if err != nil {
		return err
	}
	var items []*momentlist.Moment
	for _, n := range names {
		if m := l.Find(n); m != nil {
			items = append(items, m)
		}
	}
	return a.printJSON(momentsJSON(l, items))
}
