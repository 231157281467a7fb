package main

import (
	"fmt"
	"sync"
	"time"

	"github.com/vmoments/vmoments/conf"
	"github.com/vmoments/vmoments/transfer"
)

// transferCommands are export, import and copy: moving a guest's moment metadata between
// hosts (package transfer does the work; these commands parse options and print).
func transferCommands() []*cmdDef {
	kindOpts := []optDef{
		{name: "snapshots", typ: optBool, help: "only the snapshots"},
		{name: "checkpoints", typ: optBool, help: "only the checkpoints"},
	}
	export := &cmdDef{
		name: "export", summary: "Save a domain's snapshot and checkpoint metadata to a directory or .tar",
		desc: "Writes one XML file per moment (libvirt's full definition, as redefinition needs it) and\n" +
			"    manifest.json: the domain, versions, the moments parents first with their SHA-256, the\n" +
			"    current snapshot and the current checkpoint. PATH is a new or empty directory, or a new\n" +
			"    file ending in .tar. Only metadata is written: disk images stay where they are.",
		opts: append(append([]optDef{domainOpt,
			{name: "to", typ: optString, help: "directory or .tar file to write"},
		}, kindOpts...),
			optDef{name: "secure", typ: optBool, help: "include security-sensitive data of the embedded domain (needs a read-write connection)"},
			optDef{name: "json", typ: optBool, help: "print a JSON summary"}),
		examples: [][2]string{
			{"vmoments export guest --to guest-moments.tar", "every snapshot and checkpoint of guest"},
			{"vmoments export guest --to /backup/guest --checkpoints", "only the checkpoints, into a directory"},
		},
		run: runExport,
	}
	imp := &cmdDef{
		name: "import", summary: "Redefine a domain's snapshots and checkpoints from an export",
		desc: "Verifies the manifest and every file's checksum, then redefines the moments parents first\n" +
			"    (metadata only), the current snapshot last, and makes the exported checkpoint current.\n" +
			"    Moments already there with the same definition are skipped; one with another definition\n" +
			"    stops the import before any change unless --replace. If a step fails, everything the import\n" +
			"    did is undone and the error names the moment and libvirt's reason.",
		opts: []optDef{domainOpt,
			{name: "from", typ: optString, help: "directory or .tar file written by export"},
			{name: "dry-run", typ: optBool, help: "print the plan, change nothing"},
			{name: "replace", typ: optBool, help: "redefine moments that exist with another definition"},
			{name: "validate", typ: optBool, help: "redefine checkpoints with REDEFINE_VALIDATE (libvirt checks their bitmaps exist)"},
			{name: "json", typ: optBool, help: "print a JSON summary"},
		},
		examples: [][2]string{
			{"vmoments import guest --from guest-moments.tar --dry-run", "what an import would do"},
			{"vmoments -c qemu+ssh://new-host/system import guest --from guest-moments.tar", "put them on another host"},
		},
		run: runImport,
	}
	cp := &cmdDef{
		name: "copy", summary: "Copy a domain's snapshot and checkpoint metadata to another connection",
		desc: "Export and import in one go, from the connection (or --from URI) to --to URI, where a domain\n" +
			"    with the same UUID must be defined. With --remove-source-metadata the source's metadata is\n" +
			"    deleted (metadata only, children first) once the destination has everything, so that\n" +
			"    virsh migrate accepts the domain; any failure leaves both sides complete.",
		opts: append(append([]optDef{domainOpt,
			{name: "to", typ: optString, help: "destination connection URI"},
			{name: "from", typ: optString, help: "source connection URI (default: the connection)"},
			{name: "remove-source-metadata", typ: optBool, help: "delete the source's metadata after a successful import"},
			{name: "replace", typ: optBool, help: "redefine moments that exist on the destination with another definition"},
			{name: "validate", typ: optBool, help: "redefine checkpoints with REDEFINE_VALIDATE"},
		}, kindOpts...),
			optDef{name: "secure", typ: optBool, help: "include security-sensitive data of the embedded domain"},
			optDef{name: "json", typ: optBool, help: "print a JSON summary"}),
		examples: [][2]string{
			{"vmoments copy guest --to qemu+ssh://new-host/system --remove-source-metadata", "before virsh migrate guest qemu+ssh://new-host/system"},
		},
		run: runCopy,
	}
	return []*cmdDef{export, imp, cp}
}

// kinds returns the kinds --snapshots/--checkpoints select (nil: both).
func (a *app) kinds(c *parsedCmd) ([]conf.Kind, bool) {
	if !a.exclusive(c, [2]string{"snapshots", "checkpoints"}) {
		return nil, false
	}
	switch {
	case c.has("snapshots"):
		return []conf.Kind{conf.Snapshot}, true
	case c.has("checkpoints"):
		return []conf.Kind{conf.Checkpoint}, true
	}
	return nil, true
}

// required returns a string option that must be given and not be empty.
func (a *app) required(c *parsedCmd, name string) (string, bool) {
	v, given := c.str(name)
	if !given {
		a.errorf("command '%s' requires --%s option", c.def.name, name)
		return "", false
	}
	if v == "" {
		a.emptyOption(name)
		return "", false
	}
	return v, true
}

type exportJSON struct {
	Domain                string `json:"domain"`
	UUID                  string `json:"uuid"`
	Path                  string `json:"path"`
	Snapshots             int    `json:"snapshots"`
	Checkpoints           int    `json:"checkpoints"`
	CurrentSnapshot       string `json:"currentSnapshot"`
	CurrentCheckpoint     string `json:"currentCheckpoint"`
	CurrentCheckpointRule string `json:"currentCheckpointRule,omitempty"`
}

func runExport(a *app, c *parsedCmd) bool {
	path, ok := a.required(c, "to")
	if !ok {
		return false
	}
	kinds, ok := a.kinds(c)
	if !ok {
		return false
	}
	dom, ok := a.domain(c)
	if !ok {
		return false
	}
	p := a.transferProgress(c.has("json"))
	m, err := transfer.Export(a.ctx, dom, path, transfer.ExportOptions{Kinds: kinds, Secure: c.has("secure"),
		Progress: p.report})
	p.done()
	if err != nil {
		a.errorf("%s", err)
		return false
	}
	s := exportJSON{Domain: m.Domain.Name, UUID: m.Domain.UUID, Path: path, CurrentSnapshot: m.CurrentSnapshot,
		CurrentCheckpoint: m.CurrentCheckpoint, CurrentCheckpointRule: m.CurrentCheckpointRule}
	for _, e := range m.Moments {
		if e.Kind == "snapshot" {
			s.Snapshots++
		} else {
			s.Checkpoints++
		}
	}
	if c.has("json") {
		return a.printJSON(s)
	}
	a.printf("Exported %d snapshots and %d checkpoints of domain '%s' to %s\n", s.Snapshots, s.Checkpoints, s.Domain, path)
	a.printf("Current snapshot: %s\n", orNone(s.CurrentSnapshot))
	if m.CurrentCheckpointRule != "" {
		a.printf("Current checkpoint: %s (%s)\n", orNone(s.CurrentCheckpoint), s.CurrentCheckpointRule)
	}
	return true
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return fmt.Sprintf("'%s'", s)
}

// progressLine draws "PHASE: done/total" on stderr when it is a terminal, once the transfer has
// run longer than half a second, and erases it at the end.
type progressLine struct {
	a     *app
	on    bool
	start time.Time
	mu    sync.Mutex
	shown bool
}

func (a *app) transferProgress(quiet bool) *progressLine {
	return &progressLine{a: a, on: a.stderrTTY && !quiet, start: time.Now()}
}

// progressDelay is how long a transfer runs before its progress line appears.
var progressDelay = 500 * time.Millisecond

func (p *progressLine) report(phase string, done, total int) {
	if !p.on || time.Since(p.start) < progressDelay {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.shown = true
	fmt.Fprintf(p.a.stderr, "\r\x1b[K%s: %d/%d", phase, done, total)
}

func (p *progressLine) done() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.shown {
		fmt.Fprint(p.a.stderr, "\r\x1b[K")
		p.shown = false
	}
}
