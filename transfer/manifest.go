package transfer

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/vmoments/vmoments/conf"
)

// FormatVersion names the layout of an export; Import refuses any other.
const FormatVersion = "vmoments-transfer/1"

// ManifestName is the manifest's file name inside an export.
const ManifestName = "manifest.json"

// Manifest is manifest.json: what an export holds and how to put it back.
//
// Moments lists every exported moment, snapshots first, each kind in topological order (every
// parent before its children), with the file that holds its XML and that file's SHA-256. The
// current snapshot and the checkpoint current (with the rule that made it current on the
// source) are recorded so that Import can make them current again.
type Manifest struct {
	Format string `json:"format"`
	// Domain is the exported domain; Import requires a destination domain with the same UUID
	// (libvirt refuses definitions whose embedded <domain> has another one).
	Domain DomainRef `json:"domain"`
	// SourceURI is the connection the export was made from.
	SourceURI string `json:"source_uri,omitempty"`
	// LibvirtVersion is the source daemon's libvirt version ("9.0.0"), "" if it could not be
	// asked; LibvirtClientVersion the library vmoments ran with.
	LibvirtVersion       string `json:"libvirt_version"`
	LibvirtClientVersion string `json:"libvirt_client_version"`
	// VmomentsVersion is the exporting tool's version.
	VmomentsVersion string    `json:"vmoments_version"`
	Created         time.Time `json:"created"`
	// Secure says the XML was fetched with libvirt's SECURE flag (security-sensitive parts of
	// the embedded <domain> included).
	Secure bool `json:"secure"`
	// Kinds are the kinds exported ("snapshot", "checkpoint"): a kind not listed was not
	// exported, a kind listed with no moments had none.
	Kinds []string `json:"kinds"`
	// CurrentSnapshot is the name of the current snapshot, "" for none.
	CurrentSnapshot string `json:"current_snapshot"`
	// CurrentCheckpoint is the checkpoint current on the source ("" for none) and
	// CurrentCheckpointRule the rule that made it so (momentlist.CurrentRule's words).
	CurrentCheckpoint     string  `json:"current_checkpoint"`
	CurrentCheckpointRule string  `json:"current_checkpoint_rule,omitempty"`
	Moments               []Entry `json:"moments"`
}

// DomainRef names a domain.
type DomainRef struct {
	Name string `json:"name"`
	UUID string `json:"uuid"`
}

// Entry is one exported moment.
type Entry struct {
	Kind   string `json:"kind"` // "snapshot" or "checkpoint"
	Name   string `json:"name"`
	Parent string `json:"parent,omitempty"`
	// File is the path of the moment's XML inside the export (see FileName).
	File   string `json:"file"`
	SHA256 string `json:"sha256"`
}

// kindOf parses an Entry's or Kinds' kind word.
func kindOf(s string) (conf.Kind, error) {
	switch s {
	case "snapshot":
		return conf.Snapshot, nil
	case "checkpoint":
		return conf.Checkpoint, nil
	}
	return 0, fmt.Errorf("unknown moment kind %q (want snapshot or checkpoint)", s)
}

// hasKind says whether the manifest exported kind.
func (m *Manifest) hasKind(k conf.Kind) bool {
	for _, s := range m.Kinds {
		if s == k.String() {
			return true
		}
	}
	return false
}

// parseManifest decodes manifest.json strictly and checks what can be checked without the files:
// the format, the kinds, unique names per kind, safe file names, known parents in topological
// order and the currents naming exported moments.
func parseManifest(data []byte) (*Manifest, error) {
	var m Manifest
	dec := json.NewDecoder(bytesReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&m); err != nil {
		return nil, fmt.Errorf("%s: %w", ManifestName, err)
	}
	if m.Format != FormatVersion {
		return nil, fmt.Errorf("%s: format %q is not %q", ManifestName, m.Format, FormatVersion)
	}
	if m.Domain.UUID == "" {
		return nil, fmt.Errorf("%s: the domain's uuid is missing", ManifestName)
	}
	kinds := map[string]bool{}
	for _, k := range m.Kinds {
		if _, err := kindOf(k); err != nil {
			return nil, fmt.Errorf("%s: kinds: %w", ManifestName, err)
		}
		kinds[k] = true
	}
	seen := map[string]bool{}  // kind/name
	files := map[string]bool{} // lower-cased: no two files may collide on a case-insensitive file system
	for i, e := range m.Moments {
		if _, err := kindOf(e.Kind); err != nil {
			return nil, fmt.Errorf("%s: moment %d: %w", ManifestName, i, err)
		}
		if !kinds[e.Kind] {
			return nil, fmt.Errorf("%s: %s %q: kind %s is not among the exported kinds", ManifestName, e.Kind, e.Name, e.Kind)
		}
		if e.Name == "" {
			return nil, fmt.Errorf("%s: moment %d: empty name", ManifestName, i)
		}
		key := e.Kind + "/" + e.Name
		if seen[key] {
			return nil, fmt.Errorf("%s: %s %q is listed twice", ManifestName, e.Kind, e.Name)
		}
		if err := checkFileName(e.File); err != nil {
			return nil, fmt.Errorf("%s: %s %q: %w", ManifestName, e.Kind, e.Name, err)
		}
		if files[lower(e.File)] {
			return nil, fmt.Errorf("%s: %s %q: file %q is used twice", ManifestName, e.Kind, e.Name, e.File)
		}
		files[lower(e.File)] = true
		if len(e.SHA256) != 64 {
			return nil, fmt.Errorf("%s: %s %q: sha256 %q is not 64 hex digits", ManifestName, e.Kind, e.Name, e.SHA256)
		}
		seen[key] = true
	}
	if m.CurrentSnapshot != "" && !seen["snapshot/"+m.CurrentSnapshot] {
		return nil, fmt.Errorf("%s: current snapshot %q is not among the exported snapshots", ManifestName, m.CurrentSnapshot)
	}
	if m.CurrentCheckpoint != "" && !seen["checkpoint/"+m.CurrentCheckpoint] {
		return nil, fmt.Errorf("%s: current checkpoint %q is not among the exported checkpoints", ManifestName, m.CurrentCheckpoint)
	}
	return &m, nil
}
