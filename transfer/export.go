package transfer

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"runtime/debug"
	"time"

	"github.com/vmoments/vmoments/conf"
	"github.com/vmoments/vmoments/driver"
	"github.com/vmoments/vmoments/momentlist"
)

// ExportOptions tune Export.
type ExportOptions struct {
	// Kinds to export; nil exports snapshots and checkpoints.
	Kinds []conf.Kind
	// Secure fetches the XML with libvirt's SECURE flag (passwords in the embedded <domain>),
	// which needs a read-write connection.
	Secure bool
	// ToolVersion is recorded as vmoments_version; "" uses the module version of the binary.
	ToolVersion string
	// Progress, if set, is told how the export goes.
	Progress ProgressFunc
}

// ProgressFunc is told that done of total steps of a phase ("export", "verify", "import",
// "rollback", "remove source") are finished.
type ProgressFunc func(phase string, done, total int)

func (p ProgressFunc) report(phase string, done, total int) {
	if p != nil {
		p(phase, done, total)
	}
}

// Export writes the moments of dom to path (a directory, created or empty, or a new .tar file)
// and returns the manifest it wrote.
func Export(ctx context.Context, dom driver.Reader, path string, opts ExportOptions) (*Manifest, error) {
	sink, err := CreateSink(path)
	if err != nil {
		return nil, err
	}
	m, err := ExportTo(ctx, dom, sink, opts)
	if err != nil {
		sink.Abort()
		return nil, err
	}
	if err := sink.Commit(); err != nil {
		return nil, err
	}
	return m, nil
}

// ExportTo writes the moments of dom to sink (files first, manifest.json last); the caller
// commits or aborts the sink.
//
// Each moment's file is the XML libvirt gives for it (virDomainSnapshotGetXMLDesc /
// virDomainCheckpointGetXMLDesc, with SECURE if asked), which is what redefinition takes back.
// The moments of each kind are listed in topological order; the current snapshot and the
// checkpoint current (with its rule) are recorded.
func ExportTo(ctx context.Context, dom driver.Reader, sink Sink, opts ExportOptions) (*Manifest, error) {
	kinds := opts.Kinds
	if kinds == nil {
		kinds = []conf.Kind{conf.Snapshot, conf.Checkpoint}
	}
	drv := dom.Driver()
	m := &Manifest{
		Format:          FormatVersion,
		Domain:          DomainRef{Name: dom.Name(), UUID: dom.UUID()},
		SourceURI:       drv.URI(),
		VmomentsVersion: opts.ToolVersion,
		Created:         time.Now().UTC().Truncate(time.Second),
		Secure:          opts.Secure,
		Moments:         []Entry{},
	}
	if m.VmomentsVersion == "" {
		m.VmomentsVersion = moduleVersion()
	}
	// The versions are a record, not a requirement: an export goes on without them.
	if v, err := drv.Versions(ctx); err == nil {
		m.LibvirtVersion, m.LibvirtClientVersion = v.Daemon, v.Library
	}
	type item struct {
		kind conf.Kind
		m    *momentlist.Moment
	}
	var items []item
	for _, k := range kinds {
		// The private copy carries the current moment and its rule: no second refresh.
		l, err := dom.Moments(ctx, k)
		if err != nil {
			return nil, err
		}
		cur, rule := l.Current(), l.CurrentRule()
		m.Kinds = append(m.Kinds, k.String())
		if k == conf.Snapshot && cur != nil {
			m.CurrentSnapshot = cur.Name()
		}
		if k == conf.Checkpoint {
			if cur != nil {
				m.CurrentCheckpoint = cur.Name()
			}
			m.CurrentCheckpointRule = rule.String()
		}
		all, err := l.Select(nil, momentlist.Topological)
		if err != nil {
			return nil, err
		}
		for _, mo := range all {
			items = append(items, item{k, mo})
		}
	}
	fx := &fetcher{dom: dom, secure: opts.Secure}
	used := map[string]bool{}
	for i, it := range items {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		name := it.m.Name()
		data, err := fx.xml(ctx, it.kind, it.m)
		if err != nil {
			return nil, err
		}
		// What goes out must come back in: refuse XML that redefinition would refuse.
		def, err := conf.Parse(data, conf.ParseRedefine)
		if err != nil {
			return nil, fmt.Errorf("export %s %q: libvirt's XML does not parse for redefinition: %w", it.kind, name, err)
		}
		if def.Kind != it.kind || def.Name != name {
			return nil, fmt.Errorf("export %s %q: libvirt returned the XML of %s %q", it.kind, name, def.Kind, def.Name)
		}
		file := FileName(it.kind, name)
		if used[lower(file)] {
			file = kindDir[it.kind] + "/" + escapeName(name, true) + ".xml"
		}
		used[lower(file)] = true
		if err := sink.WriteFile(file, data); err != nil {
			return nil, err
		}
		sum := sha256.Sum256(data)
		m.Moments = append(m.Moments, Entry{Kind: it.kind.String(), Name: name, Parent: def.Parent,
			File: file, SHA256: hex.EncodeToString(sum[:])})
		opts.Progress.report("export", i+1, len(items))
	}
	data, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return nil, err
	}
	if err := sink.WriteFile(ManifestName, append(data, '\n')); err != nil {
		return nil, err
	}
	return m, nil
}

// moduleVersion is the vmoments module version the binary was built from: the module version
// ("v1.2.0", or "(devel)" for a build from a work tree, then with the commit it was built from).
func moduleVersion() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "unknown"
	}
	for _, d := range bi.Deps {
		if d.Path == "github.com/vmoments/vmoments" {
			return d.Version
		}
	}
	v := bi.Main.Version
	if v == "" {
		v = "(devel)"
	}
	for _, s := range bi.Settings {
		if s.Key == "vcs.revision" && len(s.Value) >= 12 {
			v += " " + s.Value[:12]
		}
	}
	return v
}
