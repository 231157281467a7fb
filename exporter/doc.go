// Package exporter turns the summaries of [github.com/vmoments/vmoments/fleet] into Prometheus
// series: snapshot sprawl (how many, how old, how deep, how much disk space) and backup chains
// (which checkpoint each disk's next incremental backup starts from, how old the newest one is,
// which disks none covers). It is what `vmoments exporter` serves; the metric families are
// documented in METRICS.md beside this file.
//
// # Refreshes
//
// An [Exporter] is a prometheus.Collector. It keeps the fleet's driver and domain handles
// loaded between scrapes, so a refresh asks libvirt only for the names again and fetches what is
// new. Each host is refreshed at most once per [Options.MinInterval] (15 s by default) however
// often it is scraped; scrapes that arrive while a host is being refreshed wait for that one
// refresh and share it. A scrape waits for a running refresh at most until its own deadline (the
// X-Prometheus-Scrape-Timeout-Seconds header Prometheus sends, less a margin; [Options.Wait]
// otherwise) and is then answered from the host's previous refresh: a slow host never fails a
// scrape.
//
// A host whose last refresh failed because its libvirtd did not answer (restarting, say) is read
// again at the next scrape, whatever MinInterval says (nothing answered, so nothing was asked),
// and a host's domain list must answer within [Options.ListTimeout] (2 s): while its daemon is
// away a host shows vmoments_up 0, and the first scrape after it is back has its series.
//
// Series are made afresh from the latest refresh at every scrape: a domain that was undefined,
// or a moment that was deleted, is simply no longer there (no stale series). A host that cannot
// be read gives vmoments_up 0 (and no per-domain series) with its error in the log, never a
// failed scrape.
package exporter
