package main

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/vmoments/vmoments/cmd/vmoments/internal/vsh"
	"github.com/vmoments/vmoments/conf"
	"github.com/vmoments/vmoments/transfer"
)

// kindsOption returns the kinds --snapshots/--checkpoints select (nil: both).
func kindsOption(c *vsh.Parsed) ([]conf.Kind, error) {
	if err := exclusive(c, [2]string{"snapshots", "checkpoints"}); err != nil {
		return nil, err
	}
	switch {
	case c.Has("snapshots"):
		return []conf.Kind{conf.Snapshot}, nil
	case c.Has("checkpoints"):
		return []conf.Kind{conf.Checkpoint}, nil
	}
	return nil, nil
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

// runExport writes a domain's moments to a directory or .tar (package transfer does it).
func runExport(ctx context.Context, a *app, c *vsh.Parsed) error {
	path, err := required(c, "to")
	if err != nil {
		return err
	}
	kinds, err := kindsOption(c)
	if err != nil {
		return err
	}
	dom, err := a.domain(ctx, c)
	if err != nil {
		return err
	}
	p := a.transferProgress(c.Has("json"))
	m, err := transfer.Export(ctx, dom, path, transfer.ExportOptions{Kinds: kinds, Secure: c.Has("secure"),
		ToolVersion: version(), Progress: p.report})
	p.done()
	if err != nil {
		return err
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
	if c.Has("json") {
		return a.printJSON(s)
	}
	var what []string
	for _, k := range m.Kinds {
		if k == "snapshot" {
			what = append(what, fmt.Sprintf("%d snapshots", s.Snapshots))
		} else {
			what = append(what, fmt.Sprintf("%d checkpoints", s.Checkpoints))
		}
	}
	a.printf("Exported %s of domain '%s' to %s\n", strings.Join(what, " and "), s.Domain, path)
	if slices.Contains(m.Kinds, "snapshot") {
		a.printf("Current snapshot: %s\n", orNone(s.CurrentSnapshot))
	}
	if m.CurrentCheckpointRule != "" {
		a.printf("Current checkpoint: %s (%s)\n", orNone(s.CurrentCheckpoint), s.CurrentCheckpointRule)
	}
	return nil
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return fmt.Sprintf("'%s'", s)
}
