package main

import (
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/vmoments/vmoments/conf"
	"github.com/vmoments/vmoments/momentlist"
)

// momentJSON is one moment in --json output. JSON.md documents every field; the names and
// meanings are stable: fields may be added, never renamed or removed.
type momentJSON struct {
	Name         string     `json:"name"`
	Kind         string     `json:"kind"`
	Parent       *string    `json:"parent"`
	Current      bool       `json:"current"`
	CurrentRule  string     `json:"currentRule,omitempty"`
	CurrentFor   []string   `json:"currentFor"`
	CreationTime *string    `json:"creationTime"`
	State        string     `json:"state,omitempty"`
	Location     string     `json:"location,omitempty"`
	Disks        []diskJSON `json:"disks"`
	Children     int        `json:"children"`
	Descendants  int        `json:"descendants"`
	Description  string     `json:"description"`
}

type diskJSON struct {
	Name   string `json:"name"`
	Mode   string `json:"mode"`
	Bitmap string `json:"bitmap,omitempty"`
	Source string `json:"source,omitempty"`
}

// momentsJSON describes items (moments of l) in order.
func momentsJSON(l *momentlist.List, items []*momentlist.Moment) []momentJSON {
	perDisk := disksByMoment(l)
	out := make([]momentJSON, 0, len(items))
	for _, m := range items {
		out = append(out, momentToJSON(l, m, perDisk[m]))
	}
	return out
}

func momentToJSON(l *momentlist.List, m *momentlist.Moment, currentFor []string) momentJSON {
	d := m.Def()
	j := momentJSON{
		Name:        d.Name,
		Kind:        d.Kind.String(),
		Current:     l.Current() == m,
		CurrentFor:  slices.Clone(currentFor),
		Disks:       []diskJSON{},
		Children:    m.NumChildren(),
		Descendants: m.NumDescendants(),
		Description: d.Description,
	}
	if j.CurrentFor == nil {
		j.CurrentFor = []string{}
	}
	if j.Current {
		j.CurrentRule = l.CurrentRule().String()
	}
	if p := m.Parent(); p != nil {
		name := p.Name()
		j.Parent = &name
	}
	if d.HasCreated {
		t := d.Created.UTC().Format(time.RFC3339)
		j.CreationTime = &t
	}
	if d.Kind == conf.Snapshot {
		j.State = d.State
		j.Location = snapshotLocation(d)
	}
	for _, disk := range d.Disks {
		j.Disks = append(j.Disks, diskJSON{Name: disk.Name, Mode: disk.Mode, Bitmap: disk.Bitmap, Source: disk.Source})
	}
	return j
}

// snapshotLocation is how virsh snapshot-info decides the location: external if the memory or
// any disk is external; a document without <memory> (libvirt before 1.0.1) is external only
// when it is a disk-only snapshot.
func snapshotLocation(d *conf.Def) string {
	if d.Memory.Mode == "" {
		if d.State == "disk-snapshot" {
			return "external"
		}
		return "internal"
	}
	return d.Location()
}

// printJSON writes v as indented JSON and a newline.
func (a *app) printJSON(v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("cannot encode JSON: %w", err)
	}
	a.printf("%s\n", b)
	return nil
}
