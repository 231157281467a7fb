package exporter

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/vmoments/vmoments/conf"
	"github.com/vmoments/vmoments/fleet"
)

// The metric families (METRICS.md documents each). Every per-domain series carries uri (the
// connection exactly as given) and domain (the domain's name).
var (
	descUp = prometheus.NewDesc("vmoments_up",
		"1 if the latest read of the host succeeded, 0 if it failed or none has finished yet.", []string{"uri"}, nil)
	descScrapeDuration = prometheus.NewDesc("vmoments_scrape_duration_seconds",
		"How long the latest read of the host took (retries included).", []string{"uri"}, nil)
	descScrapeErrors = prometheus.NewDesc("vmoments_scrape_errors_total",
		"Reads of the host that ended with an error, the host's or a domain's.", []string{"uri"}, nil)
	descRefreshes = prometheus.NewDesc("vmoments_refreshes_total",
		"Reads of the host started: how often libvirt was asked (at most once per --min-interval).", []string{"uri"}, nil)
	descRefreshTime = prometheus.NewDesc("vmoments_last_refresh_timestamp_seconds",
		"When the latest read of the host that the series come from began.", []string{"uri"}, nil)

	domainLabels = []string{"uri", "domain"}

	descDomainInfo = prometheus.NewDesc("vmoments_domain_info",
		"A domain of the host, with its UUID and state in virsh's words; always 1.", []string{"uri", "domain", "uuid", "state"}, nil)
	descSnapshots = prometheus.NewDesc("vmoments_domain_snapshots",
		"Snapshots of the domain.", domainLabels, nil)
	descCheckpoints = prometheus.NewDesc("vmoments_domain_checkpoints",
		"Checkpoints of the domain.", domainLabels, nil)
	descSnapshotOldest = prometheus.NewDesc("vmoments_domain_snapshot_oldest_timestamp_seconds",
		"Creation time of the domain's oldest snapshot (absent without snapshots).", domainLabels, nil)
	descSnapshotNewest = prometheus.NewDesc("vmoments_domain_snapshot_newest_timestamp_seconds",
		"Creation time of the domain's newest snapshot (absent without snapshots).", domainLabels, nil)
	descCheckpointOldest = prometheus.NewDesc("vmoments_domain_checkpoint_oldest_timestamp_seconds",
		"Creation time of the domain's oldest checkpoint (absent without checkpoints).", domainLabels, nil)
	descCheckpointNewest = prometheus.NewDesc("vmoments_domain_checkpoint_newest_timestamp_seconds",
		"Creation time of the domain's newest checkpoint (absent without checkpoints).", domainLabels, nil)
	descTreeDepth = prometheus.NewDesc("vmoments_domain_snapshot_tree_depth",
		"Snapshots on the longest path from a root of the domain's snapshot tree to a leaf (0 without snapshots).", domainLabels, nil)
	descExternal = prometheus.NewDesc("vmoments_domain_external_snapshots",
		"Snapshots of the domain with external memory or an external disk.", domainLabels, nil)
	descCurrentSnapshot = prometheus.NewDesc("vmoments_domain_current_snapshot_info",
		"The domain's current snapshot (libvirt's); always 1, absent when there is none.", []string{"uri", "domain", "snapshot"}, nil)
	descCurrentCheckpoint = prometheus.NewDesc("vmoments_domain_current_checkpoint_info",
		"The domain's current checkpoint (libvirt's internal pointer, derived by libvirt's rules) and the rule that decided it; "+
			"checkpoint is empty when the domain has checkpoints but none is current; always 1, absent without checkpoints.",
		[]string{"uri", "domain", "checkpoint", "rule"}, nil)
	descDiskCurrent = prometheus.NewDesc("vmoments_disk_current_checkpoint_info",
		"Where the disk's next incremental backup starts by libvirt's pointer: the nearest checkpoint at or above the current one "+
			"that covers it; always 1, absent when there is none.", []string{"uri", "domain", "disk", "checkpoint"}, nil)
	descDiskNewest = prometheus.NewDesc("vmoments_disk_newest_checkpoint_timestamp_seconds",
		"Creation time of the newest checkpoint that covers the disk (absent for a disk no checkpoint covers).",
		[]string{"uri", "domain", "disk", "checkpoint"}, nil)
	descDiskUncovered = prometheus.NewDesc("vmoments_disk_uncovered",
		"1 if no checkpoint covers the disk, else 0; for every disk of the domain's current definition a checkpoint can cover "+
			"(not empty, not read-only).", []string{"uri", "domain", "disk"}, nil)
	descSnapshotBytes = prometheus.NewDesc("vmoments_domain_snapshot_bytes",
		"Disk space the domain's snapshots hold: overlays, external memory files and internal VM state (absent when a part is unknown).",
		domainLabels, nil)
	descSnapshotPartBytes = prometheus.NewDesc("vmoments_domain_snapshot_part_bytes",
		"Disk space the domain's snapshots hold, by part: overlays, memory_files, internal_vm_state (absent where unknown).",
		[]string{"uri", "domain", "part"}, nil)
	descSnapshotCreated = prometheus.NewDesc("vmoments_snapshot_created_timestamp_seconds",
		"Creation time of each snapshot (with --per-moment).", []string{"uri", "domain", "snapshot"}, nil)
	descCheckpointCreated = prometheus.NewDesc("vmoments_checkpoint_created_timestamp_seconds",
		"Creation time of each checkpoint (with --per-moment).", []string{"uri", "domain", "checkpoint"}, nil)

	allDescs = []*prometheus.Desc{
		descUp, descScrapeDuration, descScrapeErrors, descRefreshes, descRefreshTime,
		descDomainInfo, descSnapshots, descCheckpoints, descSnapshotOldest, descSnapshotNewest,
		descCheckpointOldest, descCheckpointNewest, descTreeDepth, descExternal, descCurrentSnapshot,
		descCurrentCheckpoint, descDiskCurrent, descDiskNewest, descDiskUncovered, descSnapshotBytes,
		descSnapshotPartBytes, descSnapshotCreated, descCheckpointCreated,
	}
)

// collect sends the series of the hosts.
func (e *Exporter) collect(ch chan<- prometheus.Metric, hosts []HostState) {
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	counter := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, v, labels...)
	}
	for _, hs := range hosts {
		uri := hs.URI
		counter(descRefreshes, float64(hs.Refreshes), uri)
		counter(descScrapeErrors, float64(hs.Errors), uri)
		if !hs.Done {
			gauge(descUp, 0, uri)
			continue
		}
		h := hs.Host
		gauge(descScrapeDuration, h.Duration.Seconds(), uri)
		gauge(descRefreshTime, float64(h.Started.UnixNano())/1e9, uri)
		if h.Err != nil {
			gauge(descUp, 0, uri)
			continue
		}
		gauge(descUp, 1, uri)
		for i := range h.Domains {
			e.collectDomain(ch, &h.Domains[i], gauge)
		}
	}
}

func (e *Exporter) collectDomain(ch chan<- prometheus.Metric, d *fleet.Domain, gauge func(*prometheus.Desc, float64, ...string)) {
	uri, name := d.URI, d.Name
	if d.Err != nil {
		// Part of the domain could not be read: its series would be wrong, so there are none
		// (the error is in the log and in vmoments_scrape_errors_total).
		return
	}
	gauge(descDomainInfo, 1, uri, name, d.UUID, d.State.String())
	gauge(descSnapshots, float64(d.Snapshots.Count), uri, name)
	gauge(descCheckpoints, float64(d.Checkpoints.Count), uri, name)
	ts := func(m *fleet.Moment) float64 { return float64(m.Created.Unix()) }
	if m := d.Snapshots.Oldest; m != nil {
		gauge(descSnapshotOldest, ts(m), uri, name)
		gauge(descSnapshotNewest, ts(d.Snapshots.Newest), uri, name)
	}
	if m := d.Checkpoints.Oldest; m != nil {
		gauge(descCheckpointOldest, ts(m), uri, name)
		gauge(descCheckpointNewest, ts(d.Checkpoints.Newest), uri, name)
	}
	gauge(descTreeDepth, float64(d.Snapshots.Depth), uri, name)
	gauge(descExternal, float64(d.ExternalSnapshots), uri, name)
	if d.CurrentSnapshot != "" {
		gauge(descCurrentSnapshot, 1, uri, name, d.CurrentSnapshot)
	}
	if d.Checkpoints.Count > 0 {
		gauge(descCurrentCheckpoint, 1, uri, name, d.CurrentCheckpoint, fleet.RuleName(d.CurrentCheckpointRule))
	}
	for _, disk := range d.Disks {
		if disk.Current != "" {
			gauge(descDiskCurrent, 1, uri, name, disk.Name, disk.Current)
		}
		if disk.Newest != nil {
			gauge(descDiskNewest, ts(disk.Newest), uri, name, disk.Name, disk.Newest.Name)
		}
		uncovered := 0.0
		if disk.Uncovered {
			uncovered = 1
		}
		gauge(descDiskUncovered, uncovered, uri, name, disk.Name)
	}
	if b := d.Bytes; b.Total.Known {
		gauge(descSnapshotBytes, float64(b.Total.Bytes), uri, name)
	}
	for _, p := range []struct {
		part string
		size fleet.Size
	}{{"overlays", d.Bytes.Overlays}, {"memory_files", d.Bytes.MemoryFiles}, {"internal_vm_state", d.Bytes.InternalVMState}} {
		if p.size.Known {
			gauge(descSnapshotPartBytes, float64(p.size.Bytes), uri, name, p.part)
		}
	}
	if e.opts.PerMoment {
		for _, m := range d.Moments {
			if !m.HasCreated {
				continue
			}
			desc := descSnapshotCreated
			if m.Kind == conf.Checkpoint {
				desc = descCheckpointCreated
			}
			gauge(desc, ts(&m), uri, name, m.Name)
		}
	}
}
