package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

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
	Resumed           bool       `json:"resumed,omitempty"`
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

// runImport redefines a domain's moments from an export, or with --dry-run prints the plan,
// or with --rollback undoes an unfinished import (package transfer does the work).
func runImport(ctx context.Context, a *app, c *vsh.Parsed) error {
	if c.Has("rollback") {
		for _, o := range []string{"from", "dry-run", "replace", "validate"} {
			if c.Has(o) {
				return vsh.Errorf("Options --rollback and --%s are mutually exclusive", o)
			}
		}
		return runRollback(ctx, a, c)
	}
	path, err := required(c, "from")
	if err != nil {
		return err
	}
	dom, err := a.domain(ctx, c)
	if err != nil {
		return err
	}
	jdir, err := a.journalDir()
	if err != nil {
		return err
	}
	p := a.transferProgress(c.Has("json"))
	defer p.done()
	g, release := a.rollbackGuard(2, a.finishHint(dom.Name()))
	defer release()
	opts := transfer.ImportOptions{Replace: c.Has("replace"), Validate: c.Has("validate"), Progress: g.progress(p.report),
		JournalDir: a.journalDirFor(jdir), From: path, ToolVersion: version(), RollbackContext: g.ctx}
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
		if opts.JournalDir != "" {
			if info, err := transfer.PendingJournal(opts.JournalDir, a.drv.URI(), dom.UUID()); err != nil || info != nil {
				a.printf("Note: domain '%s' has an unfinished import (journal %s): %s\n", dom.Name(), transfer.JournalPath(opts.JournalDir, a.drv.URI(), dom.UUID()),
					pendingNote(info, err, transfer.ExportID(plan.Manifest)))
			}
		}
		if len(plan.Conflicts) > 0 {
			return fmt.Errorf("%d conflicts: %w", len(plan.Conflicts), errShown)
		}
		return nil
	}
	res, err := transfer.ImportFrom(ctx, dom, src, opts)
	p.done()
	if err != nil {
		return a.unfinished(err, a.drv.URI(), dom.Name())
	}
	return a.printImport(res, dom.Name(), c.Has("json"))
}

// unfinished words the refusal of an import (or copy) because of an unfinished one, and an
// abandoned rollback, with the commands that end them (domain on uri); other errors pass
// unchanged.
func (a *app) unfinished(err error, uri, domain string) error {
	var ab *transfer.AbandonedError
	if errors.As(err, &ab) && ab.Journal != "" {
		return &vsh.Error{Lines: []string{err.Error(), fmt.Sprintf("finish the rollback: vmoments -c %s import %s --rollback", uri, shellQuote(domain))}, Err: err}
	}
	var ue *transfer.UnfinishedError
	if !errors.As(err, &ue) || ue.Journal.Path == "" {
		return err
	}
	j := ue.Journal
	if ue.Busy {
		return &vsh.Error{Lines: []string{fmt.Sprintf("another vmoments (pid %d) is importing into domain '%s' right now (journal %s); nothing was changed",
			j.PID, ue.Domain, j.Path)}, Err: err}
	}
	what := "an unfinished import from " + j.Export.From
	if j.Op == "remove" {
		what = "an unfinished removal of copied metadata (" + j.Export.From + ")"
	}
	lines := []string{
		fmt.Sprintf("domain '%s' has %s (export of %s), begun %s by vmoments %s (pid %d on %s): %d of %d changes recorded in %s",
			ue.Domain, what, j.Export.Created.Local().Format("2006-01-02 15:04:05"), j.Started.Local().Format("2006-01-02 15:04:05"),
			j.VmomentsVersion, j.PID, j.Host, j.Done, j.Steps, j.Path) + rollingBack(j),
		fmt.Sprintf("undo it:     vmoments -c %s import %s --rollback", ue.URI, shellQuote(ue.Domain)),
	}
	if j.Op != "remove" {
		lines = append(lines, fmt.Sprintf("or finish it: vmoments -c %s import %s --from %s", ue.URI, shellQuote(ue.Domain), shellQuote(j.Export.From)))
	}
	return &vsh.Error{Lines: lines, Err: err}
}

// rollingBack says how far an interrupted rollback of the journal's import got, and that
// nothing was changed now.
func rollingBack(j *transfer.JournalInfo) string {
	if j.RollingBack {
		return fmt.Sprintf(", of which a rollback that was interrupted undid %d; nothing was changed", j.Undone)
	}
	return "; nothing was changed"
}

// pendingNote says what a real import would do about an unfinished one.
func pendingNote(info *transfer.JournalInfo, err error, id string) string {
	switch {
	case err != nil:
		return "the import would be refused: " + err.Error()
	case info.Export.ID == id && info.Op == "import":
		return fmt.Sprintf("it came from this export; this import would finish it (%d of %d changes recorded)", info.Done, info.Steps)
	}
	return fmt.Sprintf("it came from %s; this import would be refused until it is finished or rolled back", info.Export.From)
}

type rollbackJSON struct {
	Domain  string  `json:"domain"`
	Journal string  `json:"journal"`
	From    string  `json:"from"`
	Started string  `json:"started"`
	Undone  int     `json:"undone"`
	Seconds float64 `json:"seconds"`
}

// runRollback undoes the unfinished import into the domain that its journal records.
func runRollback(ctx context.Context, a *app, c *vsh.Parsed) error {
	dom, err := a.domain(ctx, c)
	if err != nil {
		return err
	}
	jdir, err := a.journalDir()
	if err != nil {
		return err
	}
	p := a.transferProgress(c.Has("json"))
	defer p.done()
	// The first signal tells how far it is, the second abandons it.
	g, release := a.rollbackGuard(1, a.finishHint(dom.Name()))
	defer release()
	res, err := transfer.Rollback(g.ctx, dom, transfer.RollbackOptions{JournalDir: jdir, Progress: g.progress(p.report)})
	p.done()
	if err != nil {
		return err
	}
	j := res.Journal
	if c.Has("json") {
		return a.printJSON(rollbackJSON{Domain: dom.Name(), Journal: j.Path, From: j.Export.From, Started: j.Started.Format(time.RFC3339),
			Undone: res.Undone, Seconds: res.Duration.Seconds()})
	}
	what := "import from " + j.Export.From
	if j.Op == "remove" {
		what = "removal of copied metadata (" + j.Export.From + ")"
	}
	a.printf("Rolled back the unfinished %s into domain '%s' (begun %s): %d changes undone, the domain is as it was before (%.1fs)\n",
		what, dom.Name(), j.Started.Local().Format("2006-01-02 15:04:05"), res.Undone, res.Duration.Seconds())
	a.printf("Removed the journal %s\n", j.Path)
	return nil
}

// journalDir is the import journals' directory for this user (transfer.JournalDirFor).
func (a *app) journalDir() (string, error) {
	return transfer.JournalDirFor(a.root, a.env)
}

// journalDirFor is dir for the connection's imports, "" for the test driver's, whose state
// ends with vmoments (transfer keeps no journal then).
func (a *app) journalDirFor(dir string) string {
	if isTestURI(a.drv.URI()) {
		return ""
	}
	return dir
}

// finishHint says how to finish an abandoned rollback of domain dom.
func (a *app) finishHint(dom string) string {
	return fmt.Sprintf("the journal stays: 'vmoments -c %s import %s --rollback' finishes it", a.drv.URI(), shellQuote(dom))
}

// shellQuote quotes s for a shell when it needs it.
func shellQuote(s string) string {
	if s != "" && strings.IndexFunc(s, func(r rune) bool {
		return !(r == '-' || r == '_' || r == '.' || r == '/' || r == ':' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z')
	}) < 0 {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// resultJSON is the summary of a finished import into domain dom: the plan's counts, what
// became current, and the plan's notes followed by the import's.
func resultJSON(res *transfer.Result, dom string) importJSON {
	s := planJSON(res.Plan, dom, false)
	s.CurrentSnapshot, s.CurrentCheckpoint, s.CheckpointRule = res.CurrentSnapshot, res.CurrentCheckpoint, res.CheckpointRule
	s.Notes = append(s.Notes, res.Notes...)
	s.Seconds = res.Duration.Seconds()
	s.Resumed = res.Resumed
	return s
}

func (a *app) printImport(res *transfer.Result, dom string, asJSON bool) error {
	s := resultJSON(res, dom)
	if asJSON {
		return a.printJSON(s)
	}
	if res.Resumed {
		a.printf("Finished the unfinished import into domain '%s' that its journal recorded (%s is removed)\n", dom, res.Journal)
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
