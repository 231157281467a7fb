// Command libtime times the library side of the side-by-side benchmark (bench/run) on one
// domain and one kind of moment, on a live libvirtd:
//
//   - floor: the bare RPC floor of a load — one list call for the names and every moment's
//     GetXMLDesc, five in flight on one read-only connection (libvirtd's max_client_requests),
//     the XML thrown away unparsed. No client can load faster over one connection.
//   - cold: the driver's first List on a new driver and domain handle (the connection and the
//     domain lookup excluded, as they are for the floor): names, fetch, fast parse, tree.
//   - warm: one driver handle loads once, then each filter is asked -n times through
//     Domain.List, which refreshes first (the names again, the current snapshot, nothing
//     fetched when nothing changed) and then selects.
//
// floor and cold alternate, -runs times each, so a busy moment of a shared machine hits both.
// Output is one "key value..." line per figure, seconds as floats, for bench/run to read:
//
//	floor 0.2712
//	cold 0.2950
//	warm roots 0.00412 100
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
)

func main() {
	uri := flag.String("c", "qemu:///system", "libvirt URI")
	kindName := flag.String("kind", "snapshot", "snapshot or checkpoint")
	runs := flag.Int("runs", 5, "floor and cold load runs, alternating")
	n := flag.Int("n", 100, "warm refresh + filter calls per filter")
	what := flag.String("what", "floor,cold,warm", "which figures: floor, cold, warm (comma separated)")
	cpuProfile := flag.String("cpuprofile", "", "write a CPU profile of the whole run to this file (go tool pprof -top)")
	flag.Parse()
	if flag.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: libtime [-c URI] [-kind snapshot|checkpoint] [-runs R] [-n N] DOMAIN")
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
	err := run(context.Background(), *uri, flag.Arg(0), kind, *runs, *n, *what)
	pprof.StopCPUProfile()
	if err != nil {
		fmt.Fprintln(os.Stderr, "libtime:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, uri, domain string, kind conf.Kind, runs, n int, what string) error {
	want := map[string]bool{}
	for _, w := range splitComma(what) {
		want[w] = true
	}
	var floors, colds []time.Duration
	for range runs {
		if want["floor"] {
			d, count, err := floor(uri, domain, kind)
			if err != nil {
				return err
			}
			floors = append(floors, d)
			fmt.Fprintf(os.Stderr, "libtime: floor %d %ss: %v\n", count, kind, d.Round(time.Millisecond))
		}
		if want["cold"] {
			d, err := cold(ctx, uri, domain, kind)
			if err != nil {
				return err
			}
			colds = append(colds, d)
		}
	}
	if len(floors) > 0 {
		fmt.Printf("floor %.5f\n", median(floors).Seconds())
	}
	if len(colds) > 0 {
		fmt.Printf("cold %.5f\n", median(colds).Seconds())
	}
	if want["warm"] {
		return warm(ctx, uri, domain, kind, n)
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
