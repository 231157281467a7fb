package exporter

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/prometheus/exporter-toolkit/web"
)

// scrapeMargin is what a scrape keeps of its deadline for encoding and sending the series.
const scrapeMargin = 500 * time.Millisecond

// Handler returns the /metrics handler: the exporter's series, and the Go runtime's and the
// process's (go_*, process_*). A scrape waits for a running refresh until the deadline
// Prometheus gives in X-Prometheus-Scrape-Timeout-Seconds (less half a second, at least
// half of it), or Options.Wait without one; it is then answered from the previous refresh.
func (e *Exporter) Handler() http.Handler {
	base := prometheus.NewRegistry()
	base.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	logger := slog.NewLogLogger(e.opts.Logger.Handler(), slog.LevelError)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		wait := e.opts.Wait
		if s := r.Header.Get("X-Prometheus-Scrape-Timeout-Seconds"); s != "" {
			if secs, err := strconv.ParseFloat(s, 64); err == nil && secs > 0 {
				d := time.Duration(secs * float64(time.Second))
				wait = max(d-scrapeMargin, d/2)
			}
		}
		ctx, cancel := context.WithTimeout(r.Context(), wait)
		hosts := e.Refresh(ctx)
		cancel()
		reg := prometheus.NewRegistry()
		reg.MustRegister(view{e, hosts})
		promhttp.HandlerFor(prometheus.Gatherers{base, reg}, promhttp.HandlerOpts{
			ErrorLog:      logger,
			ErrorHandling: promhttp.ContinueOnError,
		}).ServeHTTP(w, r)
	})
}

// view is the series of one scrape's hosts.
type view struct {
	e     *Exporter
	hosts []HostState
}

func (v view) Describe(ch chan<- *prometheus.Desc) { v.e.Describe(ch) }
func (v view) Collect(ch chan<- prometheus.Metric) { v.e.collect(ch, v.hosts) }

// Mux returns the exporter's HTTP routes: /metrics, and a landing page at / that links to it.
func (e *Exporter) Mux(version string) (*http.ServeMux, error) {
	landing, err := web.NewLandingPage(web.LandingConfig{
		Name:        "vmoments exporter",
		Description: "libvirt snapshots and checkpoints: snapshot sprawl and backup chains, per domain and disk",
		Version:     version,
		Profiling:   "false", // no /debug/pprof here
		Links: []web.LandingLinks{
			{Address: "/metrics", Text: "Metrics"},
		},
	})
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", e.Handler())
	mux.Handle("/", landing)
	return mux, nil
}

// ServeOptions say where and how the exporter listens.
type ServeOptions struct {
	// Listen are the addresses (default 127.0.0.1:9477).
	Listen []string
	// WebConfigFile is the exporter-toolkit web configuration (TLS, basic auth), "" for none.
	WebConfigFile string
	// Version is shown on the landing page.
	Version string
}

// ListenAndServe serves the exporter until ctx ends (prometheus/exporter-toolkit's
// web.ListenAndServe: --web.config.file gives TLS and basic auth), then shuts the server down.
func (e *Exporter) ListenAndServe(ctx context.Context, o ServeOptions) error {
	if len(o.Listen) == 0 {
		o.Listen = []string{"127.0.0.1:9477"}
	}
	mux, err := e.Mux(o.Version)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	systemd := false
	flags := &web.FlagConfig{WebListenAddresses: &o.Listen, WebSystemdSocket: &systemd, WebConfigFile: &o.WebConfigFile}
	if o.WebConfigFile != "" {
		if err := web.Validate(o.WebConfigFile); err != nil {
			return err
		}
	}
	done := make(chan error, 1)
	go func() { done <- web.ListenAndServe(srv, flags, e.opts.Logger) }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
	}
	// Scrapes under way get 5 s to finish; then their connections are closed.
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		srv.Close()
	}
	if serr := <-done; serr != nil && !errors.Is(serr, http.ErrServerClosed) {
		return serr
	}
	return nil
}
