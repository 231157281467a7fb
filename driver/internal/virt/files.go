package virt

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"libvirt.org/go/libvirt"

	"github.com/vmoments/vmoments/conf"
	"github.com/vmoments/vmoments/driver"
	"github.com/vmoments/vmoments/driver/internal/load"
	"github.com/vmoments/vmoments/driver/internal/local"
	"github.com/vmoments/vmoments/momentlist"
)

// LoadInfo says how a domain's list of one kind was last brought in step with libvirt.
type LoadInfo struct {
	// Loaded says the list was loaded at least once (the other fields are zero before).
	Loaded bool
	// Files says the definitions came from libvirtd's metadata files (verified through the
	// API) at the last load or read refresh; false means through libvirt's API.
	Files bool
	// Dir is the metadata directory read or tried ("" when the driver reads no files).
	Dir string
	// Reason says why the files were not used ("" when Files, and for drivers that read no
	// files: the test driver).
	Reason string
	// FilesRead and Fetched are the files read and the XML documents fetched through the API
	// by the last load or refresh; Changed says it published a new list.
	FilesRead, Fetched int
	Changed            bool
}

// LoadInfo returns how the list of kind was last loaded or refreshed (the zero LoadInfo before
// the first load).
func (d *Domain) LoadInfo(kind conf.Kind) LoadInfo {
	st, err := d.state(kind)
	if err != nil {
		return LoadInfo{}
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.info
}

// FileStats returns the work of the metadata directory cache of kind (zero without one).
func (d *Domain) FileStats(kind conf.Kind) local.Stats {
	st, err := d.state(kind)
	if err != nil || st.files == nil {
		return local.Stats{}
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.files.Stats()
}

// setLocal decides whether the driver reads libvirtd's metadata files: only with
// Options.LocalDirs (the QEMU driver), for a URI it gives directories for, unless mode has
// driver.NoLocalFiles or the environment says VMOMENTS_LOCAL=off.
func (d *Driver) setLocal(mode driver.Mode) {
	if d.opts.LocalDirs == nil {
		return
	}
	switch {
	case mode&driver.NoLocalFiles != 0:
		d.localWhy = "the driver was opened with driver.NoLocalFiles"
	case strings.EqualFold(os.Getenv("VMOMENTS_LOCAL"), "off"):
		d.localWhy = "VMOMENTS_LOCAL=off"
	default:
		d.snapDir, d.cpDir, d.localWhy = d.opts.LocalDirs(d.uri)
	}
}

// localDir returns the metadata directory cache of a domain's moments of kind, or why there is
// none ("" for a driver that reads no files).
func (d *Driver) localDir(kind conf.Kind, name, uuid string) (*local.Dir, string) {
	base := d.snapDir
	if kind == conf.Checkpoint {
		base = d.cpDir
	}
	if base == "" {
		return nil, ""
	}
	if name == "" || name == "." || name == ".." || strings.ContainsAny(name, "/\x00") {
		return nil, fmt.Sprintf("the domain name %q is not a directory name", name)
	}
	return local.New(kind, filepath.Join(base, name), uuid), ""
}

// debugLocal reports whether VMOMENTS_DEBUG names "local" (a comma-separated list).
func debugLocal() bool {
	return slices.Contains(strings.Split(os.Getenv("VMOMENTS_DEBUG"), ","), "local")
}

// debugf prints one line to standard error when VMOMENTS_DEBUG=local.
func (d *Driver) debugf(format string, args ...any) {
	if d.debug {
		fmt.Fprintf(os.Stderr, "vmoments: "+format+"\n", args...)
	}
}

// localVersions are the libvirtd versions whose metadata files vmoments was tested with.
func (d *Driver) versionTested(v uint32) bool { return slices.Contains(d.opts.LocalVersions, v) }

// refreshFiles loads or refreshes the list of kind from libvirtd's metadata files, verified
// through the API: the names call and, for snapshots, the current-snapshot call, and on a fresh
// load a sample of definitions fetched through the API (see spotCheck). It returns ok when the
// list is in step; otherwise why says why the files could not be used (the caller falls back to
// the API). err is a failure of libvirt's API, which ends the refresh.
//
// A disagreement can be a change made between the scan and the calls: the scan and the calls
// are made again, three times in all, before the files are given up for this refresh, unless
// the second attempt finds exactly what the first did.
func (d *Domain) refreshFiles(ctx context.Context, s *slot, dom *libvirt.Domain, kind conf.Kind, st *kindState, fresh bool) (ok bool, why string, err error) {
	if fresh {
		st.files.Reset()
	}
	raw := newSource(kind, s.conn, dom, false)
	defer raw.close()
	src := d.wrapSource(raw)
	before := st.files.Stats()
	var problem error
	var last verified // the previous attempt's disagreement
	fetched := 0
	st.files.Progress = driver.ProgressFrom(ctx)
	defer func() { st.files.Progress = nil }()
	for range 3 {
		// libvirt's answers are awaited while the files are read.
		answer := d.askAPI(ctx, s, dom, kind, st, src)
		c, _, serr := st.files.Scan(ctx)
		a := <-answer
		if cerr := ctx.Err(); cerr != nil {
			return false, "", cerr
		}
		if a.err != nil {
			return false, "", a.err
		}
		if a.why != "" {
			return false, d.fallback(st, kind, a.why), nil
		}
		if serr != nil {
			var p *local.Problem
			if errors.As(serr, &p) && p.Sticky {
				st.filesOff = serr.Error()
			}
			problem = serr
			break
		}
		if v := &st.verified; !fresh && c == v.content && st.list == v.list && a.current == v.current && slices.Equal(a.names, v.names) {
			// What was verified last is what libvirt and the files say now: nothing to check
			// or publish (the warm refresh of a list nobody changed).
			st.info = LoadInfo{Loaded: true, Files: true, Dir: st.files.Path(), FilesRead: st.files.Stats().Read - before.Read}
			return true, "", nil
		}
		if problem = c.Verify(kind, a.names, a.current); problem != nil {
			if c == last.content && a.current == last.current && slices.Equal(a.names, last.names) {
				break // the same disagreement again: no change in between explains it
			}
			last = verified{content: c, names: a.names, current: a.current}
			continue
		}
		if c != st.checked {
			// New content: a load checks two definitions through the API, a refresh that
			// found changes the newest (a hand edit of a file, which libvirtd ignores until it
			// restarts, would be the newest).
			n, err := spotCheck(ctx, src, kind, c, a.names, fresh)
			fetched += n
			var p *local.Problem
			if errors.As(err, &p) {
				problem = p
				continue
			}
			if err != nil {
				return false, "", err
			}
		}
		st.checked = c
		changed := d.publish(st, kind, c.InOrder(a.names), a.current, fresh)
		st.verified = verified{content: c, list: st.list, names: a.names, current: a.current}
		read := st.files.Stats().Read - before.Read
		st.info = LoadInfo{Loaded: true, Files: true, Dir: st.files.Path(), FilesRead: read, Fetched: fetched, Changed: changed}
		if fresh || changed || read > 0 {
			d.drv.debugf("%s: domain %q: %ss: %d from %s (%s read, %d checked through the API)%s",
				d.drv.uri, d.name, kind, len(a.names), st.files.Path(), plural(read, "file"), fetched, changedNote(changed, fresh))
		}
		return true, "", nil
	}
	return false, d.fallback(st, kind, problem.Error()), nil
}

// verified is what a refresh from the files last verified and published.
type verified struct {
	content *local.Content
	list    *momentlist.List
	names   []string
	current string
}

// apiAnswer is what the API says that the files must agree with.
type apiAnswer struct {
	names   []string
	current string
	why     string // the daemon's files are not to be read (its version)
	err     error
}

// askAPI asks libvirt, in a goroutine, for the daemon's version (once per connection), the
// names of kind and, for snapshots, the current snapshot; the answer comes on the channel.
func (d *Domain) askAPI(ctx context.Context, s *slot, dom *libvirt.Domain, kind conf.Kind, st *kindState, src load.Source) <-chan apiAnswer {
	ch := make(chan apiAnswer, 1)
	go func() {
		var a apiAnswer
		defer func() { ch <- a }()
		v, err := s.daemonVersion()
		if err != nil {
			a.err = err
			return
		}
		if !d.drv.versionTested(v) {
			a.why = fmt.Sprintf("libvirtd %s writes metadata files in a format vmoments was not tested with (%s)",
				versionString(v), d.drv.testedVersions())
			return
		}
		// The current snapshot is asked while the names are listed: two round trips in the
		// time of one (libvirtd serves a client's calls in parallel). Which came first does
		// not matter: a change between them is a disagreement, and the refresh tries again.
		var cerr error
		curDone := make(chan struct{})
		go func() {
			defer close(curDone)
			a.current, cerr = d.currentOf(s, dom, kind)
		}()
		a.names, _, a.err = st.memo.Names(ctx, src)
		<-curDone
		if a.err == nil {
			a.err = cerr
		}
	}()
	return ch
}

// fallback records and prints why the files were given up, and returns it.
func (d *Domain) fallback(st *kindState, kind conf.Kind, why string) string {
	d.drv.debugf("%s: domain %q: %ss: not from the metadata files: %s", d.drv.uri, d.name, kind, why)
	return why
}

func (d *Driver) testedVersions() string {
	var out []string
	for _, v := range d.opts.LocalVersions {
		out = append(out, versionString(v))
	}
	if len(out) == 0 {
		return "none"
	}
	return strings.Join(out, ", ")
}

// spotCheck fetches a sample of the definitions through libvirt's API and compares them with
// the files': the moment whose file changed last (the one a concurrent change or a hand edit
// most likely touched) and, with more, one other at random. It returns the number fetched and
// nil, a *local.Problem (Racy: a change between the scan and the fetch explains it too), or the
// API's failure.
func spotCheck(ctx context.Context, src load.Source, kind conf.Kind, c *local.Content, names []string, more bool) (int, error) {
	var pick []string
	if c.Newest != "" {
		pick = append(pick, c.Newest)
	}
	if more && len(names) > 1 {
		if n := names[rand.IntN(len(names))]; n != c.Newest {
			pick = append(pick, n)
		}
	}
	for i, name := range pick {
		xml, err := src.XML(ctx, 0, name)
		if err != nil {
			if load.ClassOf(err) == load.Gone {
				return i + 1, &local.Problem{Kind: kind, Moment: name, Msg: "is gone from libvirt's API, its file is there", Racy: true}
			}
			return i + 1, &load.MomentError{Kind: kind, Name: name, Err: err}
		}
		api, err := conf.ParseFast(kind, xml)
		if err != nil {
			return i + 1, &load.MomentError{Kind: kind, Name: name, Err: fmt.Errorf("parsing its XML: %w", err)}
		}
		if file := c.Defs[name]; !file.Equal(api) {
			return i + 1, &local.Problem{Kind: kind, Moment: name, Racy: true,
				Msg: "its file's definition differs from the API's: " + differs(file, api)}
		}
	}
	return len(pick), nil
}

// differs names the first field in which two definitions differ.
func differs(a, b *conf.Def) string {
	switch {
	case a.Parent != b.Parent:
		return fmt.Sprintf("parent %q vs %q", a.Parent, b.Parent)
	case a.Description != b.Description:
		return fmt.Sprintf("description %q vs %q", a.Description, b.Description)
	case !a.Created.Equal(b.Created) || a.HasCreated != b.HasCreated:
		return fmt.Sprintf("creation time %v vs %v", a.Created.Unix(), b.Created.Unix())
	case a.State != b.State:
		return fmt.Sprintf("state %q vs %q", a.State, b.State)
	case a.Memory != b.Memory:
		return fmt.Sprintf("memory %+v vs %+v", a.Memory, b.Memory)
	case !slices.Equal(a.Disks, b.Disks):
		return fmt.Sprintf("disks %+v vs %+v", a.Disks, b.Disks)
	case a.HasDomain != b.HasDomain:
		return fmt.Sprintf("embedded domain %v vs %v", a.HasDomain, b.HasDomain)
	}
	return "the <active> element"
}

func dirOf(st *kindState) string {
	if st.files == nil {
		return ""
	}
	return st.files.Path()
}

func orNone(why string) string {
	if why == "" {
		return "the driver reads no metadata files"
	}
	return why
}

func changedNote(changed, fresh bool) string {
	switch {
	case fresh:
		return ": loaded"
	case changed:
		return ": changed since the last read"
	}
	return ": unchanged"
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}
