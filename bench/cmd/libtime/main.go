// Command libtime times the library side of the side-by-side benchmark (bench/run) on one
// domain and one kind of moment, on a live libvirtd, for both sources of definitions: the
// metadata files libvirtd keeps (source "files", the default on qemu:///system as root) and
// libvirt's API (source "api", driver.NoLocalFiles: one GetXMLDesc per moment, what a remote URI
// or a reader that is not root gets).
//
//   - floor: the bare RPC floor of a load through the API — one list call for the names and
//     every moment's GetXMLDesc, five in flight on one read-only connection (libvirtd's
//     max_client_requests), the XML thrown away unparsed. No client can load faster over
//     the API.
//   - cold: the driver's first List on a new driver and domain handle (the connection and the
//     domain lookup excluded, as they are for the floor), per source, alternating with the
//     floor.
//   - exact: the refresh of a loaded handle on the API source, which fetches every definition
//     again (what a remote URI's handle does on every read), in the same rounds.
//   - warm: one driver handle per source loads once, then each filter is asked -n times through
//     Domain.List, which refreshes first (nothing changed), the sources alternating call by
//     call. For the files the refresh is the names and current calls and the directory's
//     identity; "api-names" is the API source with driver.NamesOnlyRefresh (the names and
//     current calls only, the refresh before the files and the exact refresh existed).
//   - cpu: libvirtd's CPU time (utime+stime from /proc/PID/stat, PID from -pid or
//     /run/libvirtd.pid) for one cold list per source: -cpuloads loads in a row, the lowest of
//     -runs rounds, since other clients of a shared libvirtd add to it.
//
// Output is one "key value..." line per figure, seconds as floats, for bench/run to read:
//
//	floor 0.2712
//	cold files 0.0211
//	cold api 0.2950
//	warm files roots 0.00112 100 0
//	cpu files 0.0035
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"runtime/pprof"
	"slices"
	"time"

	"github.com/vmoments/vmoments/conf"
	"github.com/vmoments/vmoments/driver"
	"github.com/vmoments/vmoments/driver/qemu"
)

// sources are the ways of loading that libtime compares, with the driver.Mode of each.
var sources = []struct {
	name string
	mode driver.Mode
}{
	{"files", driver.ReadOnly},
	{"api", driver.ReadOnly | driver.NoLocalFiles},
}

func main() {
	uri := flag.String("c", "qemu:///system", "libvirt URI")
	kindName := flag.String("kind", "snapshot", "snapshot or checkpoint")
	runs := flag.Int("runs", 5, "floor and cold load runs, alternating")
	n := flag.Int("n", 100, "warm refresh + filter calls per filter")
	cpuLoads := flag.Int("cpuloads", 10, "cold loads per source and round for libvirtd's CPU time")
	pid := flag.Int("pid", 0, "libvirtd's process ID for the CPU figures (default: /run/libvirtd.pid)")
	what := flag.String("what", "floor,cold,warm,cpu", "which figures: floor, cold, warm, cpu (comma separated)")
	cpuProfile := flag.String("cpuprofile", "", "write a CPU profile of the whole run to this file (go tool pprof -top)")
	flag.Parse()
	if flag.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: libtime [-c URI] [-kind snapshot|checkpoint] [-runs R] [-n N] [-what LIST] DOMAIN")
		os.Exit(2)
	}
	kind := conf.Snapshot
	switch *kindName {
	case "snapshot":
	case "checkpoint":
		kind = conf.Checkpoint
	default:
		fmt.Fprintf(os.Stderr, "libtime: unknown kind %q (snapshot or checkpoint)\n", *kindName)
		os.Exit(2)
	}
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			fmt.Fprintln(os.Stderr, "libtime:", err)
			os.Exit(1)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			fmt.Fprintln(os.Stderr, "libtime: CPU profile:", err)
			os.Exit(1)
		}
	}
	p := params{uri: *uri, domain: flag.Arg(0), kind: kind, runs: *runs, n: *n, cpuLoads: *cpuLoads, pid: *pid}
	err := p.run(context.Background(), *what)
	pprof.StopCPUProfile()
	if err != nil {
		fmt.Fprintln(os.Stderr, "libtime:", err)
		os.Exit(1)
	}
}

type params struct {
	uri, domain   string
	kind          conf.Kind
	runs, n       int
	cpuLoads, pid int
}

func (p params) run(ctx context.Context, what string) error {
	want := map[string]bool{}
	for _, w := range splitComma(what) {
		want[w] = true
	}
	var floors, exacts []time.Duration
	colds := map[string][]time.Duration{}
	// The exact refresh through the API (what a remote URI's handle does on every read) is
	// timed in the same rounds as the cold loads, on a handle loaded once.
	var exact driver.Domain
	if want["cold"] {
		drv, dom, err := open(ctx, p.uri, p.domain, driver.ReadOnly|driver.NoLocalFiles)
		if err != nil {
			return err
		}
		defer drv.Close()
		if _, err := dom.List(ctx, p.kind, "", 0); err != nil {
			return err
		}
		exact = dom
	}
	for range p.runs {
		if want["floor"] {
			d, count, err := floor(p.uri, p.domain, p.kind)
			if err != nil {
				return err
			}
			floors = append(floors, d)
			fmt.Fprintf(os.Stderr, "libtime: floor %d %ss: %v\n", count, p.kind, d.Round(time.Millisecond))
		}
		if want["cold"] {
			for _, s := range sources {
				d, err := cold(ctx, p.uri, p.domain, p.kind, s.name, s.mode)
				if err != nil {
					return err
				}
				colds[s.name] = append(colds[s.name], d)
			}
			start := time.Now()
			if _, err := exact.List(ctx, p.kind, "", 0); err != nil {
				return err
			}
			exacts = append(exacts, time.Since(start))
			if s, _ := qemu.SourceOf(exact, p.kind); s.APIFetches == 0 {
				return fmt.Errorf("the exact refresh through the API fetched nothing")
			}
		}
	}
	if len(floors) > 0 {
		fmt.Printf("floor %.5f\n", median(floors).Seconds())
	}
	for _, s := range sources {
		if ds := colds[s.name]; len(ds) > 0 {
			fmt.Printf("cold %s %.5f\n", s.name, median(ds).Seconds())
		}
	}
	if len(exacts) > 0 {
		fmt.Printf("exact %.5f\n", median(exacts).Seconds())
	}
	if want["warm"] {
		if err := p.warmAll(ctx); err != nil {
			return err
		}
	}
	if want["cpu"] {
		return p.cpu(ctx)
	}
	return nil
}

// median of durations (the lower middle for an even count).
func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[(len(s)-1)/2]
}

func splitComma(s string) []string {
	var out []string
	start := 0
	for i := 0; i <= len(s); i++ {
		if i == len(s) || s[i] == ',' {
			if i > start {
				out = append(out, s[start:i])
			}
			start = i + 1
		}
	}
	return out
}
