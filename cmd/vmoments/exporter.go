package main

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/vmoments/vmoments/cmd/vmoments/internal/vsh"
	"github.com/vmoments/vmoments/exporter"
)

var exporterCmd = vsh.Cmd{
	Name: "exporter", Summary: "Serve the snapshots and checkpoints of many hosts as Prometheus metrics",
	Desc: "Serves /metrics (and a landing page at /) for Prometheus: per domain the snapshots, their age,\n" +
		"    the depth of the tree, external snapshots and the disk space they hold, the checkpoints, the\n" +
		"    current checkpoint and its rule, and per disk the newest checkpoint (when its backups last ran)\n" +
		"    or that none covers it; vmoments_up per host (exporter/METRICS.md has every family).\n" +
		"    Domains stay loaded between scrapes and each host is read at most once per --min-interval,\n" +
		"    however often it is scraped; a host that cannot be read is vmoments_up 0 and a line in the log.\n" +
		"    Listens on loopback unless told otherwise; --web.config.file adds TLS and basic auth\n" +
		"    (prometheus/exporter-toolkit's format). Runs until SIGINT or SIGTERM; logs go to stderr.",
	Opts: opts([]vsh.Opt{
		{Name: "listen", Kind: vsh.String, OptionOnly: true, Help: "address to listen on (default 127.0.0.1:9477)"},
	}, fleetOpts, []vsh.Opt{
		{Name: "per-moment", Kind: vsh.Bool, Help: "add one series per snapshot and per checkpoint (their creation times)"},
		{Name: "min-interval", Kind: vsh.String, OptionOnly: true, Help: "least time between two reads of a host (default 15s)"},
		{Name: "web.config.file", Kind: vsh.String, OptionOnly: true, Help: "exporter-toolkit web configuration: TLS and basic auth"},
		patternOpt,
	}),
	Examples: []vsh.Example{
		{Line: "vmoments exporter", What: "this host's domains on http://127.0.0.1:9477/metrics"},
		{Line: "vmoments exporter --listen :9477 --web.config.file /etc/vmoments/web.yml", What: "on every address, with TLS and basic auth"},
		{Line: "vmoments exporter --hosts /etc/vmoments/hosts --min-interval 1m 'web-*'", What: "the web domains of many hosts, read once a minute"},
		{Line: "curl -s localhost:9477/metrics | grep ^vmoments_domain_snapshots", What: "what Prometheus will see"},
	},
	NoConnect: true,
	Group:     "fleet", // help lists report and exporter as a group of their own
}

func runExporter(ctx context.Context, a *app, c *vsh.Parsed) error {
	fo, err := a.fleetOptions(ctx, c)
	if err != nil {
		return err
	}
	listen := "127.0.0.1:9477"
	if s, ok := c.Value("listen"); ok {
		if s == "" {
			return emptyOption("listen")
		}
		listen = s
	}
	opts := exporter.Options{PerMoment: c.Has("per-moment"),
		Logger: slog.New(slog.NewTextHandler(a.stderr, nil))}
	if s, ok := c.Value("min-interval"); ok {
		d, err := parseDuration("min-interval", s)
		if err != nil {
			return err
		}
		if d < 100*time.Millisecond {
			return vsh.Errorf("invalid --min-interval '%s': want 100ms or more", s)
		}
		opts.MinInterval = d
	}
	webConfig, _ := c.Value("web.config.file")
	e, err := exporter.New(fo, opts)
	if err != nil {
		return vsh.Errorf("%v", err)
	}
	defer e.Close()
	opts.Logger.Info("vmoments exporter", "version", version(), "hosts", len(fo.URIs), "listen", listen)
	err = e.ListenAndServe(ctx, exporter.ServeOptions{Listen: []string{listen}, WebConfigFile: webConfig, Version: version()})
	if err != nil {
		return vsh.Errorf("%v", err)
	}
	if errors.Is(ctx.Err(), context.Canceled) {
		return ctx.Err() // the dispatcher says which signal ended it
	}
	return nil
}
