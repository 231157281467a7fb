package main

import (
	"context"
	"fmt"

	"github.com/vmoments/vmoments/cmd/vmoments/internal/vsh"
	"github.com/vmoments/vmoments/transfer"
)

type stepJSON struct {
	Action string `json:"action"`
	Kind   string `json:"kind"`
	Name   string `json:"name"`
	Parent string `json:"parent,omitempty"`
}

type importJSON struct {
	Domain            string     `json:"domain"`
	DryRun            bool       `json:"dryRun"`
	Redefined         int        `json:"redefined"`
	Replaced          int        `json:"replaced"`
	Skipped           int        `json:"skipped"`
	CurrentSnapshot   string     `json:"currentSnapshot"`
	CurrentCheckpoint string     `json:"currentCheckpoint"`
	CheckpointRule    string     `json:"currentCheckpointRule,omitempty"`
	Notes             []string   `json:"notes"`
	Steps             []stepJSON `json:"steps,omitempty"`
	Seconds           float64    `json:"seconds"`
}

func planJSON(p *transfer.Plan, dom string, steps bool) importJSON {
	s := importJSON{Domain: dom, Redefined: p.Count(transfer.Redefine), Replaced: p.Count(transfer.Replace),
		Skipped: p.Count(transfer.Skip), CurrentSnapshot: p.CurrentSnapshot, CurrentCheckpoint: p.CurrentCheckpoint, Notes: []string{}}
	if p.CheckpointNote != "" {
		s.Notes = append(s.Notes, p.CheckpointNote)
	}
	if steps {
		for _, st := range append(p.Steps, p.Conflicts...) {
			s.Steps = append(s.Steps, stepJSON{Action: string(st.Action), Kind: st.Kind.String(), Name: st.Name, Parent: st.Parent})
		}
	}
	return s
}

// runImport redefines a domain's moments from an export, or with --dry-run prints the plan
// (package transfer does the work).
func runImport(ctx context.Context, a *app, c *vsh.Parsed) error {
	path, err := required(c, "from")
	if err != nil {
		return err
	}
	dom, err := a.domain(ctx, c)
	if err != nil {
		return err
	}
	p := a.transferProgress(c.Has("json"))
	defer p.done()
	opts := transfer.ImportOptions{Replace: c.Has("replace"), Validate: c.Has("validate"), Progress: p.report}
	src, err := transfer.OpenSource(path)
	if err != nil {
		return err
	}
	defer src.Close()
	if c.Has("dry-run") {
		plan, err := transfer.MakePlan(ctx, dom, src, opts)
		p.done()
		if err != nil {
			return err
		}
		if c.Has("json") {
			s := planJSON(plan, dom.Name(), true)
			s.DryRun = true
			return a.printJSON(s)
		}
		a.printPlan(plan)
		if len(plan.Conflicts) > 0 {
			return fmt.Errorf("%d conflicts: %w", len(plan.Conflicts), errShown)
		}
		return nil
	}
	res, err := transfer.ImportFrom(ctx, dom, src, opts)
	p.done()
	if err != nil {
		return err
	}
	return a.printImport(res, dom.Name(), c.Has("json"))
}

// resultJSON is the summary of a finished import into domain dom: the plan's counts, what
// became current, and the plan's notes followed by the import's.
func resultJSON(res *transfer.Result, dom string) importJSON {
	s := planJSON(res.Plan, dom, false)
	s.CurrentSnapshot, s.CurrentCheckpoint, s.CheckpointRule = res.CurrentSnapshot, res.CurrentCheckpoint, res.CheckpointRule
	s.Notes = append(s.Notes, res.Notes...)
	s.Seconds = res.Duration.Seconds()
	return s
}

func (a *app) printImport(res *transfer.Result, dom string, asJSON bool) error {
	s := resultJSON(res, dom)
	if asJSON {
		return a.printJSON(s)
	}
	a.printf("Imported into domain '%s': %d redefined, %d replaced, %d already present (%.1fs)\n",
		dom, s.Redefined, s.Replaced, s.Skipped, s.Seconds)
	if res.Plan.Manifest.CurrentSnapshot != "" || s.CurrentSnapshot != "" {
		a.printf("Current snapshot: %s\n", orNone(s.CurrentSnapshot))
	}
	if s.CheckpointRule != "" {
		a.printf("Current checkpoint: %s (%s)\n", orNone(s.CurrentCheckpoint), s.CheckpointRule)
	}
	for _, n := range s.Notes {
		a.printf("Note: %s\n", n)
	}
	return nil
}

// printPlan prints a dry run: one line per step, in order, then the conflicts and the outcome.
func (a *app) printPlan(p *transfer.Plan) {
	a.printf("Plan for domain '%s' from the export of '%s' (%s):\n", p.Domain.Name, p.Manifest.Domain.Name, p.Manifest.Created.Format("2006-01-02 15:04:05 MST"))
	for _, s := range p.Steps {
		line := "  " + padRight(string(s.Action), 14) + padRight(s.Kind.String(), 11) + s.Name
		if s.Parent != "" && s.Action != transfer.SetCurrent && s.Action != transfer.SteerCurrent {
			line += "  (parent " + s.Parent + ")"
		}
		a.printf("%s\n", line)
	}
	for _, s := range p.Conflicts {
		a.printf("  %s%s%s  (defined differently on the destination: --replace redefines it)\n",
			padRight("CONFLICT", 14), padRight(s.Kind.String(), 11), s.Name)
	}
	a.printf("%d to redefine, %d to replace, %d already present, %d conflicts\n",
		p.Count(transfer.Redefine), p.Count(transfer.Replace), p.Count(transfer.Skip), len(p.Conflicts))
	if p.Manifest.CurrentSnapshot != "" || p.CurrentSnapshot != "" {
		a.printf("Current snapshot afterwards: %s\n", orNone(p.CurrentSnapshot))
	}
	if p.Manifest.CurrentCheckpointRule != "" {
		a.printf("Current checkpoint afterwards: %s\n", orNone(p.CurrentCheckpoint))
	}
	if p.CheckpointNote != "" {
		a.printf("Note: %s\n", p.CheckpointNote)
	}
}

func padRight(s string, n int) string {
	for len(s) < n {
		s += " "
	}
	return s
}
