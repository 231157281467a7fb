package main

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/vmoments/vmoments/cmd/vmoments/internal/vsh"
	"github.com/vmoments/vmoments/cmd/vmoments/internal/vshfmt"
	"github.com/vmoments/vmoments/conf"
	"github.com/vmoments/vmoments/driver"
	"github.com/vmoments/vmoments/fleet"
	"github.com/vmoments/vmoments/momentlist"
	"github.com/vmoments/vmoments/policy"
)

// prune: retention. The policy's semantics are package policy's (its documentation states them
// exactly; the help below says them in short); this file selects the domains, plans each
// domain's snapshots and checkpoints with policy.Plan, shows the plan, asks, and deletes one
// moment at a time through the driver, stopping at the first failure.

// pruneNow is prune's clock (the tests set it).
var pruneNow = time.Now

// pruneKeepOpts are the rule options, in the order the policy lists them.
var pruneKeepOpts = []struct {
	opt   string
	field func(*policy.Policy) *int
}{
	{"keep-last", func(p *policy.Policy) *int { return &p.Last }},
	{"keep-hourly", func(p *policy.Policy) *int { return &p.Hourly }},
	{"keep-daily", func(p *policy.Policy) *int { return &p.Daily }},
	{"keep-weekly", func(p *policy.Policy) *int { return &p.Weekly }},
	{"keep-monthly", func(p *policy.Policy) *int { return &p.Monthly }},
	{"keep-yearly", func(p *policy.Policy) *int { return &p.Yearly }},
}

var pruneCmd = vsh.Cmd{
	Name: "prune", Summary: "Delete the snapshots and checkpoints a retention policy does not keep",
	Desc: "Keeps what the policy says (restic forget's rules) and deletes the rest, one moment at a time.\n" +
		"    Candidates are the moments --match matches (default all) created no later than now. --keep-last\n" +
		"    N keeps the N newest candidates. --keep-hourly/-daily/-weekly/-monthly/-yearly N keep the newest\n" +
		"    candidate of each of the N latest calendar periods that contain one: hours, days, weeks Monday\n" +
		"    to Sunday, months, years of the local time zone ($TZ), by the creation time. --keep-within D\n" +
		"    keeps every candidate created less than D before the newest one (D in y, m (months), d, h: 1y6m,\n" +
		"    30d, 36h). A moment any rule keeps is kept; the plan lists every rule that kept it. Equal\n" +
		"    creation times: the deeper moment in the tree, then the greater name, counts as newer. Never\n" +
		"    deleted: moments --match leaves out, moments in the future, the current snapshot, the current\n" +
		"    checkpoint, each disk's current checkpoint (where its next incremental backup starts; with no\n" +
		"    current checkpoint known, each disk's newest) and snapshot, and what libvirt would refuse to\n" +
		"    delete at that step (the plan says why). Deletes are plain (children move up to the parent, as\n" +
		"    libvirt re-links them), leaves first, never with libvirt 9.0's crashing children flags;\n" +
		"    --metadata forgets moments and leaves disks and bitmaps alone. The first failure stops the run,\n" +
		"    which then says what was deleted, what failed (libvirt's reason) and what was not; run it again\n" +
		"    to go on. Ctrl-C stops after the delete in flight. On a terminal the plan is shown and\n" +
		"    confirmation asked; otherwise --yes is required. A policy without any --keep option is refused.",
	Opts: opts(fleetOpts, []vsh.Opt{
		{Name: "snapshots", Kind: vsh.Bool, Help: "only the snapshots"},
		{Name: "checkpoints", Kind: vsh.Bool, Help: "only the checkpoints"},
		{Name: "match", Kind: vsh.String, OptionOnly: true, Help: "only moments whose names match this regular expression are candidates"},
		{Name: "keep-last", Kind: vsh.String, OptionOnly: true, Help: "keep the N newest"},
		{Name: "keep-hourly", Kind: vsh.String, OptionOnly: true, Help: "keep the newest of each of the N latest hours that have one"},
		{Name: "keep-daily", Kind: vsh.String, OptionOnly: true, Help: "keep the newest of each of the N latest days that have one"},
		{Name: "keep-weekly", Kind: vsh.String, OptionOnly: true, Help: "keep the newest of each of the N latest weeks (Monday to Sunday) that have one"},
		{Name: "keep-monthly", Kind: vsh.String, OptionOnly: true, Help: "keep the newest of each of the N latest months that have one"},
		{Name: "keep-yearly", Kind: vsh.String, OptionOnly: true, Help: "keep the newest of each of the N latest years that have one"},
		{Name: "keep-within", Kind: vsh.String, OptionOnly: true, Help: "keep every moment created less than DURATION (1y6m, 30d, 36h) before the newest"},
		{Name: "metadata", Kind: vsh.Bool, Help: "delete only libvirt's metadata, leaving disks and bitmaps alone"},
		{Name: "dry-run", Kind: vsh.Bool, Help: "print the plan, delete nothing"},
		{Name: "yes", Kind: vsh.Bool, Help: "delete without asking (required when standard input is not a terminal)"},
		{Name: "json", Kind: vsh.Bool, Help: "print the plan and the result as JSON (JSON.md, \"prune\")"},
		patternOpt,
	}),
	NoConnect: true, // the connections are prune's own: --connect, --hosts, else -c (as report)
	Examples: []vsh.Example{
		{Line: "vmoments prune guest --keep-daily 7 --keep-weekly 4 --dry-run", What: "what a week of dailies and four weeklies would delete"},
		{Line: "vmoments prune guest --checkpoints --keep-last 10 --yes", What: "all but the 10 newest checkpoints (the backup's starting points stay)"},
		{Line: "vmoments prune --match '^nightly-' --keep-within 30d --keep-monthly 12", What: "every domain's nightly snapshots: a month of them, then one a month for a year"},
		{Line: "vmoments prune --hosts /etc/vmoments/hosts 'web-*' --checkpoints --keep-daily 14 --dry-run", What: "one plan for the web domains of every host"},
		{Line: "vmoments prune guest --keep-last 3 --metadata --yes", What: "forget all but 3 in libvirt's metadata, leaving the disks alone"},
		{Line: "vmoments prune guest --keep-last 5 --dry-run --json | jq '.plans[].moments[] | select(.action==\"delete\") | .name'", What: "the names a prune would delete"},
	},
}

// pruneOptions are prune's options, read and checked.
type pruneOptions struct {
	policy policy.Policy
	kinds  []conf.Kind
	flags  driver.DeleteFlags
	dryRun bool
	yes    bool
	json   bool
}

// pruneOptionsOf reads and checks prune's options.
func pruneOptionsOf(c *vsh.Parsed, loc *time.Location) (*pruneOptions, error) {
	o := &pruneOptions{dryRun: c.Has("dry-run"), yes: c.Has("yes"), json: c.Has("json")}
	kinds, err := kindsOption(c)
	if err != nil {
		return nil, err
	}
	o.kinds = kinds
	if o.kinds == nil {
		o.kinds = conf.Kinds[:]
	}
	if c.Has("metadata") {
		o.flags = driver.DeleteMetadataOnly
	}
	for _, k := range pruneKeepOpts {
		v, ok := c.Value(k.opt)
		if !ok {
			continue
		}
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return nil, vsh.Errorf("invalid --%s '%s': want a number, 1 or more", k.opt, v)
		}
		*k.field(&o.policy) = n
	}
	if v, ok := c.Value("keep-within"); ok {
		d, err := policy.ParseDuration(v)
		if err != nil {
			return nil, vsh.Errorf("invalid --keep-within '%s': %v", v, strings.TrimPrefix(err.Error(), fmt.Sprintf("invalid duration %q: ", v)))
		}
		if d.IsZero() {
			return nil, vsh.Errorf("invalid --keep-within '%s': want a duration longer than 0", v)
		}
		o.policy.Within = d
	}
	if v, ok := c.Value("match"); ok {
		if v == "" {
			return nil, emptyOption("match")
		}
		re, err := regexp.Compile(v)
		if err != nil {
			return nil, vsh.Errorf("invalid --match '%s': %v", v, err)
		}
		o.policy.Match = re
	}
	o.policy.Location = loc
	if o.policy.Empty() {
		return nil, vsh.Errorf("prune needs a policy: give at least one of --keep-last, --keep-hourly, --keep-daily, --keep-weekly, --keep-monthly, --keep-yearly, --keep-within (an empty policy would delete everything)")
	}
	if o.json && !o.dryRun && !o.yes {
		return nil, vsh.Errorf("prune --json asks no confirmation: give --yes to delete, or --dry-run for the plan")
	}
	if err := exclusive(c, [2]string{"dry-run", "yes"}); err != nil {
		return nil, err
	}
	return o, nil
}

// pruneDomain is one domain to prune: where it is, and its plans.
type pruneDomain struct {
	uri  string
	name string
	uuid string
	dom  driver.Domain
	how  policy.Deletion
	// err is why the domain could not be planned (nothing of it is deleted).
	err   error
	plans []*pruneKind
}

// pruneKind is the plan of one domain's moments of one kind.
type pruneKind struct {
	kind conf.Kind
	list *momentlist.List
	res  *policy.Result
	err  error
}

// pruneRun is one prune: the plans, then what the deletes did.
type pruneRun struct {
	opts    *pruneOptions
	now     time.Time
	domains []*pruneDomain
	uris    int // the number of connections, to say "on URI" only when there are several

	started     bool
	deleted     []pruneRef
	failed      *pruneRef
	failure     error
	interrupted bool
}

// pruneRef is one moment of one domain.
type pruneRef struct {
	d    *pruneDomain
	kind conf.Kind
	name string
}

// runPrune is `vmoments prune`.
func runPrune(ctx context.Context, a *app, c *vsh.Parsed) error {
	o, err := pruneOptionsOf(c, a.loc)
	if err != nil {
		return err
	}
	run := &pruneRun{opts: o, now: pruneNow(), uris: 1}
	closeAll, err := a.pruneTargets(ctx, c, run)
	defer closeAll()
	if err != nil {
		return err
	}
	if !o.json {
		a.printPrunePlan(run)
	}
	toDelete := run.toDelete()
	switch {
	case o.dryRun || toDelete == 0:
	case o.yes:
		run.delete(ctx, a)
	case !a.stdinTTY:
		if o.json {
			break // refused by pruneOptionsOf
		}
		return vsh.Errorf("not deleting %d %s without --yes: standard input is not a terminal (--dry-run shows the plan alone)",
			toDelete, plural(toDelete, "moment", "moments"))
	default:
		ok, err := a.confirmPrune(ctx, toDelete)
		if err != nil {
			return err
		}
		if !ok {
			a.printf("Nothing deleted.\n")
			return run.planErrors()
		}
		run.delete(ctx, a)
	}
	if o.json {
		if err := a.printJSON(run.json()); err != nil {
			return err
		}
	} else {
		a.printPruneOutcome(run, toDelete)
	}
	return run.outcome(ctx)
}

// pruneTargets opens the run's connections (every --connect, the --hosts file's, else the one
// the other commands use; a connection the app has open already is used as it is), selects the
// domains the patterns name on each (fleet's patterns: globs or /regular expressions/; none
// selects every domain) and plans them, up to --parallel hosts at once. A connection that
// cannot be opened or listed is a domain entry with the error, as a host row of report is. It
// returns the function that closes the connections it opened.
func (a *app) pruneTargets(ctx context.Context, c *vsh.Parsed, run *pruneRun) (func(), error) {
	uris, err := a.fleetURIs(ctx, c)
	if err != nil {
		return func() {}, err
	}
	uris = slices.Compact(uris) // neighbours only; a later repeat is dropped below
	var seen []string
	for _, u := range uris {
		if !slices.Contains(seen, u) {
			seen = append(seen, u)
		}
	}
	uris = seen
	var pats []fleet.Pattern
	for _, s := range c.Argv() {
		p, err := fleet.ParsePattern(s)
		if err != nil {
			return func() {}, vsh.Errorf("%v", err)
		}
		pats = append(pats, p)
	}
	parallel := 8
	if s, ok := c.Value("parallel"); ok {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			return func() {}, vsh.Errorf("invalid --parallel '%s': want a number of hosts, 1 or more", s)
		}
		parallel = n
	}
	run.uris = len(uris)
	type hostPlan struct {
		doms    []*pruneDomain
		matched []bool
		drv     driver.Driver
		err     error
	}
	hosts := make([]hostPlan, len(uris))
	sem := make(chan struct{}, parallel)
	var wg sync.WaitGroup
	for i, uri := range uris {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			h := &hosts[i]
			h.matched = make([]bool, len(pats))
			h.doms, h.drv, h.err = a.pruneHost(ctx, uri, pats, h.matched, run)
		}()
	}
	wg.Wait()
	closeAll := func() {
		for _, h := range hosts {
			if h.drv != nil && h.drv != a.drv {
				h.drv.Close()
			}
		}
	}
	if err := ctx.Err(); err != nil {
		return closeAll, err
	}
	failed := false
	for _, h := range hosts {
		if h.err != nil {
			return closeAll, h.err
		}
		run.domains = append(run.domains, h.doms...)
		failed = failed || len(h.doms) == 1 && h.doms[0].name == ""
	}
	if !failed {
		for j, p := range pats {
			if !slices.ContainsFunc(hosts, func(h hostPlan) bool { return h.matched[j] }) {
				where := "on " + uris[0]
				if len(uris) > 1 {
					where = fmt.Sprintf("on any of the %d connections", len(uris))
				}
				return closeAll, vsh.Errorf("no domain %s matches '%s'", where, p)
			}
		}
	}
	return closeAll, nil
}

// pruneHost opens one connection, selects its domains and plans them; matched records which
// patterns selected a domain. The only error returned is the run's end (Ctrl-C); the
// connection's own failure is a domain entry without a name.
func (a *app) pruneHost(ctx context.Context, uri string, pats []fleet.Pattern, matched []bool, run *pruneRun) ([]*pruneDomain, driver.Driver, error) {
	hostFailed := func(err error) ([]*pruneDomain, error) {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return []*pruneDomain{{uri: uri, err: errors.New(libvirtMessage(err))}}, nil
	}
	drv := a.drv
	if drv == nil || drv.URI() != uri {
		var err error
		mode := driver.ReadWrite
		if a.g.Readonly {
			mode = driver.ReadOnly // -r: a dry run reads; a delete gets libvirt's refusal
		}
		if drv, err = a.open(ctx, uri, mode); err != nil {
			doms, err := hostFailed(err)
			return doms, nil, err
		}
	}
	infos, err := drv.Domains(ctx)
	if err != nil {
		doms, err := hostFailed(err)
		return doms, drv, err
	}
	var out []*pruneDomain
	for _, in := range infos {
		sel := len(pats) == 0
		for j, p := range pats {
			if p.Match(in.Name) {
				sel, matched[j] = true, true
			}
		}
		if !sel {
			continue
		}
		d := &pruneDomain{uri: uri, name: in.Name, uuid: in.UUID}
		dom, err := drv.Domain(ctx, in.UUID)
		switch {
		case ctx.Err() != nil:
			return nil, drv, ctx.Err()
		case errors.Is(err, driver.ErrDomainNotFound):
			continue // undefined since it was listed
		case err != nil:
			d.err = errors.New(libvirtMessage(err))
			out = append(out, d)
			continue
		}
		d.dom = dom
		d.how = deletionFor(drv, in.State, nil)
		if sr, ok := dom.(driver.StorageReader); ok {
			// The domain's state now and the images its disks use, for libvirt's refusals.
			if st, err := sr.Storage(ctx); err == nil {
				state := st.State
				if state == driver.DomainNoState {
					state = in.State
				}
				d.how = deletionFor(drv, state, diskSources(st))
			}
		}
		if err := run.plan(ctx, d); err != nil {
			return nil, drv, err
		}
		out = append(out, d)
	}
	return out, drv, nil
}

// diskSources are the images of a domain's file and block disks, by target.
func diskSources(st *driver.Storage) map[string]string {
	out := map[string]string{}
	for _, d := range st.Disks {
		if d.Source != "" && (d.Type == "file" || d.Type == "block") {
			out[d.Target] = d.Source
		}
	}
	return out
}

// deletionFor is how prune's deletes go on a domain of drv in state st whose disks use the
// images sources (nil: not known), before the --metadata flag is set.
func deletionFor(drv driver.Driver, st driver.DomainState, sources map[string]string) policy.Deletion {
	active := false
	switch st {
	case driver.DomainRunning, driver.DomainBlocked, driver.DomainPaused, driver.DomainShutdown, driver.DomainPMSuspended:
		active = true
	}
	return policy.Deletion{Active: active, Sources: sources, NoDiskWork: !drv.Capabilities().DiskImages}
}

// plan loads and plans the domain's lists of the kinds asked for. A domain whose lists cannot
// be read gets its error (the run goes on with the others); the run's own end (Ctrl-C) is
// returned.
func (run *pruneRun) plan(ctx context.Context, d *pruneDomain) error {
	if d.err != nil {
		return nil
	}
	d.how.MetadataOnly = run.opts.flags&driver.DeleteMetadataOnly != 0
	caps := d.dom.Driver().Capabilities()
	for _, kind := range run.opts.kinds {
		k := &pruneKind{kind: kind}
		d.plans = append(d.plans, k)
		if !caps.CanDelete(kind, run.opts.flags) {
			k.err = fmt.Errorf("the driver of %s does not delete %ss with --metadata", d.uri, kind)
			continue
		}
		l, err := d.dom.Moments(ctx, kind)
		if err != nil {
			if ctx.Err() != nil {
				return err
			}
			k.err = errors.New(libvirtMessage(err))
			continue
		}
		k.list = l
		if kind == conf.Snapshot && d.how.Active && d.how.Sources != nil && !d.how.MetadataOnly {
			// QEMU's refusal to delete an internal snapshot whose disk moved to an overlay is
			// judged by the images in its embedded <domain>, which a definition read from
			// libvirtd's files does not keep: libvirt's API gives them (docs/libvirt-bugs.md B17).
			if d.how.Embedded, err = embeddedSources(ctx, d.dom, l); err != nil {
				if ctx.Err() != nil {
					return err
				}
				k.err = errors.New(libvirtMessage(err))
				continue
			}
		}
		if k.res, err = policy.Plan(l, run.opts.policy, run.now, d.how); err != nil {
			return err // the options were checked: cannot happen
		}
	}
	return nil
}

// toDelete counts the moments the plans delete.
func (run *pruneRun) toDelete() int {
	n := 0
	for _, d := range run.domains {
		for _, k := range d.plans {
			if k.res != nil {
				n += len(k.res.Delete)
			}
		}
	}
	return n
}

// confirmPrune asks on the terminal whether to delete n moments. Ctrl-C while it waits ends the
// run.
func (a *app) confirmPrune(ctx context.Context, n int) (bool, error) {
	fmt.Fprintf(a.stderr, "Delete %d %s? This cannot be undone. [y/N] ", n, plural(n, "moment", "moments"))
	answer := make(chan string, 1)
	go func() {
		// One byte at a time: what follows the answer stays for whoever reads next (the
		// shell's next command).
		var line []byte
		b := make([]byte, 1)
		for {
			n, err := a.stdin.Read(b)
			if n == 1 {
				if b[0] == '\n' {
					break
				}
				line = append(line, b[0])
			}
			if err != nil {
				break
			}
		}
		answer <- string(line)
	}()
	select {
	case <-ctx.Done():
		fmt.Fprintln(a.stderr)
		return false, ctx.Err()
	case line := <-answer:
		switch strings.ToLower(strings.TrimSpace(line)) {
		case "y", "yes":
			return true, nil
		}
		return false, nil
	}
}

// delete deletes the plans' moments one at a time, domain after domain (snapshots, then
// checkpoints), each plan in its order, and stops at the first failure or when ctx ends. The
// delete in flight is not interrupted: it runs on a context that ctx's end does not reach.
// Before the first delete of a plan the list is read again and planned again; a plan that
// changed (someone changed the moments since) stops the run there.
func (run *pruneRun) delete(ctx context.Context, a *app) {
	run.started = true
	for _, d := range run.domains {
		for _, k := range d.plans {
			if k.res == nil || len(k.res.Delete) == 0 {
				continue
			}
			if ctx.Err() != nil {
				run.interrupted = true
				return
			}
			if err := run.recheck(ctx, d, k); err != nil {
				if ctx.Err() != nil {
					run.interrupted = true
					return
				}
				run.failed, run.failure = &pruneRef{d, k.kind, k.res.Delete[0]}, err
				return
			}
			for _, name := range k.res.Delete {
				if ctx.Err() != nil {
					run.interrupted = true
					return
				}
				if err := d.dom.Delete(context.WithoutCancel(ctx), k.kind, name, run.opts.flags); err != nil {
					run.failed, run.failure = &pruneRef{d, k.kind, name}, err
					return
				}
				run.deleted = append(run.deleted, pruneRef{d, k.kind, name})
				if !run.opts.json {
					a.printf("Deleted %s %s of %s\n", k.kind, name, run.where(d))
				}
			}
		}
	}
}

// recheck reads the domain's list of kind again and plans it again: the deletes must be the
// ones shown.
func (run *pruneRun) recheck(ctx context.Context, d *pruneDomain, k *pruneKind) error {
	l, err := d.dom.Moments(ctx, k.kind)
	if err != nil {
		return err
	}
	res, err := policy.Plan(l, run.opts.policy, run.now, d.how)
	if err != nil {
		return err
	}
	if !slices.Equal(res.Delete, k.res.Delete) {
		return fmt.Errorf("the %ss of domain '%s' changed since the plan was made: nothing of them was deleted; run prune again for a new plan", k.kind, d.name)
	}
	return nil
}

// domainCount is the number of domains selected (a connection that failed is none).
func (run *pruneRun) domainCount() int {
	n := 0
	for _, d := range run.domains {
		if d.name != "" {
			n++
		}
	}
	return n
}

// where names a domain in the run's messages: "guest", or "guest on URI" when the run has
// several connections.
func (run *pruneRun) where(d *pruneDomain) string {
	if d.name == "" {
		return d.uri // the connection itself failed
	}
	if run.uris > 1 {
		return d.name + " on " + d.uri
	}
	return d.name
}

// remaining are the planned deletes not done: the failed one first, then the rest in order.
func (run *pruneRun) remaining() []pruneRef {
	done := map[pruneRef]bool{}
	for _, r := range run.deleted {
		done[r] = true
	}
	var out []pruneRef
	for _, d := range run.domains {
		for _, k := range d.plans {
			if k.res == nil {
				continue
			}
			for _, name := range k.res.Delete {
				if r := (pruneRef{d, k.kind, name}); !done[r] {
					out = append(out, r)
				}
			}
		}
	}
	return out
}

// planErrors is the run's error for the domains (or lists) that could not be planned (the plan
// shows each): how many, and the first.
func (run *pruneRun) planErrors() error {
	var first string
	n := 0
	for _, d := range run.domains {
		if d.err != nil {
			if n++; n == 1 && d.name == "" {
				first = fmt.Sprintf("the connection %s: %v", d.uri, d.err)
			} else if n == 1 {
				first = fmt.Sprintf("domain '%s': %v", d.name, d.err)
			}
			continue
		}
		for _, k := range d.plans {
			if k.err != nil {
				if n++; n == 1 {
					first = fmt.Sprintf("the %ss of domain '%s': %v", k.kind, d.name, k.err)
				}
			}
		}
	}
	switch n {
	case 0:
		return nil
	case 1:
		return vsh.Errorf("prune could not plan %s; nothing of it was deleted", first)
	}
	return vsh.Errorf("prune could not plan %d lists, first %s; nothing of them was deleted", n, first)
}

// outcome is the run's error: the failed delete (libvirt's reason), the interruption, or the
// plans that could not be made.
func (run *pruneRun) outcome(ctx context.Context) error {
	switch {
	case run.failed != nil:
		f := run.failed
		return &vsh.Error{Lines: []string{fmt.Sprintf("prune stopped at %s '%s' of domain '%s': %s",
			f.kind, f.name, f.d.name, libvirtMessage(run.failure))}, Err: run.failure}
	case run.interrupted:
		return ctx.Err() // the dispatcher says which signal
	}
	return run.planErrors()
}

// printPrunePlan prints the policy, then each domain's plan: a table of its moments, newest
// first, with the action and every reason that keeps a moment.
func (a *app) printPrunePlan(run *pruneRun) {
	o := run.opts
	what := "with their disk data"
	if o.flags&driver.DeleteMetadataOnly != 0 {
		what = "metadata only (--metadata): disks and bitmaps stay"
	}
	a.printf("Policy: %s\n", o.policy)
	a.printf("Now:    %s (calendar periods in %s)\n", run.now.In(a.loc).Format(pruneTimeLayout), zoneName(a.loc, run.now))
	a.printf("Delete: %s\n", what)
	for _, d := range run.domains {
		if d.err != nil {
			a.printf("\n%s: cannot plan: %v\n", run.where(d), d.err)
			continue
		}
		for _, k := range d.plans {
			switch {
			case k.err != nil:
				a.printf("\n%s %ss: cannot plan: %v\n", run.where(d), k.kind, k.err)
				continue
			case len(k.res.Moments) == 0:
				a.printf("\n%s %ss: none\n", run.where(d), k.kind)
				continue
			}
			a.printf("\n%s %ss: %d, keep %d, delete %d\n", run.where(d), k.kind, len(k.res.Moments), k.res.Kept(), len(k.res.Delete))
			t := vshfmt.NewTable("Action", "Name", "Creation Time", "Reasons")
			for _, m := range k.res.Moments {
				action := "delete"
				var why []string
				if m.Keep {
					action = "keep"
					for _, r := range m.Reasons {
						why = append(why, r.String())
					}
				}
				t.Append(action, m.Name(), pruneTime(m.Moment.Def(), a.loc), strings.Join(why, "; "))
			}
			a.printf("%s", t.Format(a.locale, true))
		}
	}
	a.printf("\n")
}

// pruneTimeLayout is how prune shows times: virsh's creation time column.
const pruneTimeLayout = "2006-01-02 15:04:05 -0700"

// zoneName names a time zone: its IANA name, or for the local zone without one (no $TZ, no
// /etc/localtime link) its abbreviation now.
func zoneName(loc *time.Location, now time.Time) string {
	if n := loc.String(); n != "Local" {
		return n
	}
	return now.In(loc).Format("MST")
}

func pruneTime(d *conf.Def, loc *time.Location) string {
	if !d.HasCreated {
		return "-"
	}
	return d.Created.In(loc).Format(pruneTimeLayout)
}

// printPruneOutcome ends the text output: what the run deleted, or would delete, and what not.
func (a *app) printPruneOutcome(run *pruneRun, planned int) {
	moments, kept := 0, 0
	for _, d := range run.domains {
		for _, k := range d.plans {
			if k.res != nil {
				moments += len(k.res.Moments)
				kept += k.res.Kept()
			}
		}
	}
	nd := run.domainCount()
	doms := fmt.Sprintf("%d %s", nd, plural(nd, "domain", "domains"))
	switch {
	case !run.started && planned == 0:
		a.printf("Nothing to delete: %d %s in %s, all kept.\n", moments, plural(moments, "moment", "moments"), doms)
	case !run.started && run.opts.dryRun:
		a.printf("Dry run: %d of %d %s in %s would be deleted, %d kept; nothing was deleted.\n",
			planned, moments, plural(moments, "moment", "moments"), doms, kept)
	case !run.started:
	case run.failed == nil && !run.interrupted:
		a.printf("Deleted %d of %d %s in %s; %d kept.\n", len(run.deleted), moments, plural(moments, "moment", "moments"), doms, kept)
	default:
		why := "interrupted"
		if run.failed != nil {
			why = "stopped at the first failure"
		}
		a.printf("Prune %s: %d of the %d planned deletes done.\n", why, len(run.deleted), planned)
		rest := run.remaining()
		a.printf("Not deleted (%d):", len(rest))
		var last string
		for _, r := range rest {
			head := fmt.Sprintf("%s %ss", run.where(r.d), r.kind)
			if head != last {
				a.printf("\n  %s:", head)
				last = head
			}
			a.printf(" %s", r.name)
			if run.failed != nil && r == *run.failed {
				a.printf(" (failed)")
			}
		}
		a.printf("\nRun prune again to go on: the plan is made afresh.\n")
	}
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// The --json document (JSON.md, "prune"). Field names and meanings are stable: fields may be
// added, never renamed or removed.
type pruneJSON struct {
	Policy       prunePolicyJSON  `json:"policy"`
	Now          string           `json:"now"`
	DryRun       bool             `json:"dryRun"`
	MetadataOnly bool             `json:"metadataOnly"`
	Plans        []prunePlanJSON  `json:"plans"`
	Result       *pruneResultJSON `json:"result"`
	Summary      pruneSummaryJSON `json:"summary"`
}

type prunePolicyJSON struct {
	Text        string  `json:"text"`
	KeepLast    int     `json:"keepLast"`
	KeepHourly  int     `json:"keepHourly"`
	KeepDaily   int     `json:"keepDaily"`
	KeepWeekly  int     `json:"keepWeekly"`
	KeepMonthly int     `json:"keepMonthly"`
	KeepYearly  int     `json:"keepYearly"`
	KeepWithin  *string `json:"keepWithin"`
	Match       *string `json:"match"`
	TimeZone    string  `json:"timeZone"`
}

type prunePlanJSON struct {
	URI          string            `json:"uri"`
	Domain       string            `json:"domain"`
	UUID         string            `json:"uuid"`
	Kind         string            `json:"kind"`
	Error        *string           `json:"error"`
	Newest       *string           `json:"newest"`
	WithinCutoff *string           `json:"withinCutoff"`
	Keep         int               `json:"keep"`
	Delete       []string          `json:"delete"`
	Moments      []pruneMomentJSON `json:"moments"`
}

type pruneMomentJSON struct {
	Name         string            `json:"name"`
	CreationTime *string           `json:"creationTime"`
	Action       string            `json:"action"`
	Reasons      []pruneReasonJSON `json:"reasons"`
}

type pruneReasonJSON struct {
	Reason  string   `json:"reason"`
	Text    string   `json:"text"`
	Period  string   `json:"period,omitempty"`
	Rank    int      `json:"rank,omitempty"`
	Count   int      `json:"count,omitempty"`
	Disks   []string `json:"disks,omitempty"`
	Libvirt string   `json:"libvirt,omitempty"`
}

type pruneResultJSON struct {
	Deleted     []pruneRefJSON `json:"deleted"`
	Failed      *pruneFailJSON `json:"failed"`
	NotDeleted  []pruneRefJSON `json:"notDeleted"`
	Interrupted bool           `json:"interrupted"`
}

type pruneRefJSON struct {
	URI    string `json:"uri"`
	Domain string `json:"domain"`
	Kind   string `json:"kind"`
	Name   string `json:"name"`
}

type pruneFailJSON struct {
	pruneRefJSON
	Error string `json:"error"`
}

type pruneSummaryJSON struct {
	Domains int `json:"domains"`
	Moments int `json:"moments"`
	Keep    int `json:"keep"`
	Delete  int `json:"delete"`
	Deleted int `json:"deleted"`
	Errors  int `json:"errors"`
}

func timeJSON(t time.Time) *string {
	s := t.UTC().Format(time.RFC3339)
	return &s
}

func (r pruneRef) json() pruneRefJSON {
	return pruneRefJSON{URI: r.d.uri, Domain: r.d.name, Kind: r.kind.String(), Name: r.name}
}

// json is the run as --json prints it.
func (run *pruneRun) json() pruneJSON {
	p := run.opts.policy
	j := pruneJSON{
		Policy: prunePolicyJSON{Text: p.String(), KeepLast: p.Last, KeepHourly: p.Hourly, KeepDaily: p.Daily,
			KeepWeekly: p.Weekly, KeepMonthly: p.Monthly, KeepYearly: p.Yearly, TimeZone: zoneName(p.Location, run.now)},
		Now:          *timeJSON(run.now),
		DryRun:       run.opts.dryRun,
		MetadataOnly: run.opts.flags&driver.DeleteMetadataOnly != 0,
		Plans:        []prunePlanJSON{},
	}
	if !p.Within.IsZero() {
		s := p.Within.String()
		j.Policy.KeepWithin = &s
	}
	if p.Match != nil {
		s := p.Match.String()
		j.Policy.Match = &s
	}
	j.Summary.Domains = run.domainCount()
	for _, d := range run.domains {
		if d.err != nil {
			msg := d.err.Error()
			j.Plans = append(j.Plans, prunePlanJSON{URI: d.uri, Domain: d.name, UUID: d.uuid, Error: &msg,
				Delete: []string{}, Moments: []pruneMomentJSON{}})
			j.Summary.Errors++
			continue
		}
		for _, k := range d.plans {
			pj := prunePlanJSON{URI: d.uri, Domain: d.name, UUID: d.uuid, Kind: k.kind.String(),
				Delete: []string{}, Moments: []pruneMomentJSON{}}
			if k.err != nil {
				msg := k.err.Error()
				pj.Error = &msg
				j.Summary.Errors++
				j.Plans = append(j.Plans, pj)
				continue
			}
			res := k.res
			if res.Newest != nil {
				n := res.Newest.Name()
				pj.Newest = &n
			}
			if !res.Cutoff.IsZero() {
				pj.WithinCutoff = timeJSON(res.Cutoff)
			}
			pj.Keep = res.Kept()
			pj.Delete = append(pj.Delete, res.Delete...)
			for _, m := range res.Moments {
				mj := pruneMomentJSON{Name: m.Name(), Action: "delete", Reasons: []pruneReasonJSON{}}
				if d := m.Moment.Def(); d.HasCreated {
					mj.CreationTime = timeJSON(d.Created)
				}
				if m.Keep {
					mj.Action = "keep"
				}
				for _, r := range m.Reasons {
					rj := pruneReasonJSON{Reason: r.Why.String(), Text: r.String(), Period: r.Period, Disks: r.Disks, Libvirt: r.Detail}
					if r.Why == policy.KeepLast || r.Period != "" {
						rj.Rank, rj.Count = r.Rank, r.Count
					}
					mj.Reasons = append(mj.Reasons, rj)
				}
				pj.Moments = append(pj.Moments, mj)
			}
			j.Summary.Moments += len(res.Moments)
			j.Summary.Keep += res.Kept()
			j.Summary.Delete += len(res.Delete)
			j.Plans = append(j.Plans, pj)
		}
	}
	if run.started {
		r := &pruneResultJSON{Deleted: []pruneRefJSON{}, NotDeleted: []pruneRefJSON{}, Interrupted: run.interrupted}
		for _, x := range run.deleted {
			r.Deleted = append(r.Deleted, x.json())
		}
		if run.failed != nil {
			r.Failed = &pruneFailJSON{pruneRefJSON: run.failed.json(), Error: libvirtMessage(run.failure)}
		}
		if run.failed != nil || run.interrupted {
			for _, x := range run.remaining() {
				r.NotDeleted = append(r.NotDeleted, x.json())
			}
		}
		j.Result = r
		j.Summary.Deleted = len(run.deleted)
	}
	return j
}

// embeddedSources asks libvirt for the definition of each internal snapshot of l that keeps no
// XML and returns the images of its embedded <domain>'s disks (policy.Deletion.Embedded).
func embeddedSources(ctx context.Context, dom driver.Reader, l *momentlist.List) (map[string]map[string]string, error) {
	out := map[string]map[string]string{}
	for _, m := range l.All() {
		if m.Def().IsExternal() || m.Def().Raw() != nil {
			continue
		}
		x, err := dom.XML(ctx, conf.Snapshot, m.Name(), 0)
		if err != nil {
			return nil, err
		}
		def, err := conf.ParseFast(conf.Snapshot, []byte(x))
		if err != nil {
			return nil, fmt.Errorf("snapshot '%s': %w", m.Name(), err)
		}
		if then := policy.EmbeddedSources(def); then != nil {
			out[m.Name()] = then
		}
	}
	return out, nil
}
