package main

import (
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

func runImport(a *app, c *parsedCmd) bool {
	path, ok := a.required(c, "from")
	if !ok {
		return false
	}
	dom, ok := a.domain(c)
	if !ok {
		return false
	}
	p := a.transferProgress(c.has("json"))
	defer p.done()
	opts := transfer.ImportOptions{Replace: c.has("replace"), Validate: c.has("validate"), Progress: p.report}
	src, err := transfer.OpenSource(path)
	if err != nil {
		a.errorf("%s", err)
		return false
	}
	defer src.Close()
	if c.has("dry-run") {
		plan, err := transfer.MakePlan(a.ctx, dom, src, opts)
		p.done()
		if err != nil {
			a.errorf("%s", err)
			return false
		}
		if c.has("json") {
			s := planJSON(plan, dom.Name(), true)
			s.DryRun = true
			return a.printJSON(s)
		}
		a.printPlan(plan)
		return len(plan.Conflicts) == 0
	}
	res, err := transfer.ImportFrom(a.ctx, dom, src, opts)
	p.done()
	if err != nil {
		a.errorf("%s", err)
		return false
	}
	return a.printImport(res, dom.Name(), c.has("json"))
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

func (a *app) printImport(res *transfer.Result, dom string, asJSON bool) bool {
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
	return true
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
