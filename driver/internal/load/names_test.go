package load

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/vmoments/vmoments/conf"
)

// chain returns n moments s0 <- s1 <- ... with states cycling through states.
func chain(prefix string, n int, parent string, states ...string) []fakeMoment {
	out := make([]fakeMoment, n)
	for i := range out {
		out[i] = fakeMoment{name: fmt.Sprintf("%s%d", prefix, i), parent: parent, state: states[i%len(states)]}
		parent = out[i].name
	}
	return out
}

// roots returns n parentless moments.
func roots(prefix string, n int, state string) []fakeMoment {
	out := make([]fakeMoment, n)
	for i := range out {
		out[i] = fakeMoment{name: fmt.Sprintf("%s%d", prefix, i), state: state}
	}
	return out
}

func allNames(ms []fakeMoment) []string {
	out := make([]string, len(ms))
	for i, m := range ms {
		out[i] = m.name
	}
	slices.Sort(out)
	return out
}

func TestNamesPieces(t *testing.T) {
	mixed := chain("a", 150, "", "shutoff", "running", "disk-snapshot")
	for i := range mixed {
		mixed[i].external = i%2 == 0
	}
	wide := append(roots("r", 60, "shutoff"), chain("c", 80, "r3", "shutoff")...)
	bushy := chain("b", 40, "", "shutoff")
	for i := range 90 { // 45 leaves hanging off b10, 45 off b20
		bushy = append(bushy, fakeMoment{name: fmt.Sprintf("leaf%d", i), parent: fmt.Sprintf("b%d", 10+10*(i%2)), state: "shutoff"})
	}
	tests := []struct {
		name      string
		kind      conf.Kind
		limit     int
		moments   []fakeMoment
		wantCalls int // 0: don't check
		minRefuse int
	}{
		{"fits in one call", conf.Snapshot, 100, chain("s", 100, "", "shutoff"), 1, 0},
		{"empty", conf.Snapshot, 100, nil, 1, 0},
		{"leaves split suffices", conf.Snapshot, 100, bushy[:130], 0, 1},
		{"status split suffices", conf.Snapshot, 60, mixed, 0, 2},
		{"location split needed", conf.Snapshot, 30, mixed, 0, 3},
		{"long chain needs the tree", conf.Snapshot, 50, chain("s", 300, "", "shutoff"), 0, 4},
		{"many roots and a chain", conf.Snapshot, 70, wide, 0, 2},
		{"bushy subtree", conf.Snapshot, 50, bushy, 0, 4},
		{"checkpoint chain", conf.Checkpoint, 40, chain("c", 200, "", ""), 0, 2},
		{"checkpoint bushy", conf.Checkpoint, 50, bushy, 0, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := &fakeSource{kind: tt.kind, limit: tt.limit, moments: tt.moments}
			got, stats, err := Names(context.Background(), src)
			if err != nil {
				t.Fatalf("Names: %v", err)
			}
			if len(got) != len(tt.moments) {
				t.Errorf("got %d names, want %d", len(got), len(tt.moments))
			}
			slices.Sort(got)
			if want := allNames(tt.moments); !slices.Equal(got, want) {
				t.Errorf("names differ from the tree's: got %v, want %v", got, want)
			}
			if stats.Calls != src.calls {
				t.Errorf("stats.Calls = %d, source saw %d", stats.Calls, src.calls)
			}
			if tt.wantCalls != 0 && stats.Calls != tt.wantCalls {
				t.Errorf("calls = %d, want %d", stats.Calls, tt.wantCalls)
			}
			if stats.Refused < tt.minRefuse {
				t.Errorf("refused = %d, want at least %d (the case must exercise the pieces)", stats.Refused, tt.minRefuse)
			}
		})
	}
}

func TestNamesCannotSplit(t *testing.T) {
	wideNode := chain("b", 5, "", "shutoff")
	for i := range 60 {
		wideNode = append(wideNode, fakeMoment{name: fmt.Sprintf("leaf%d", i), parent: "b2", state: "shutoff"})
	}
	tests := []struct {
		name    string
		moments []fakeMoment
		want    string
	}{
		{"too many roots", roots("r", 120, "shutoff"),
			"cannot list the snapshots in pieces: the piece at domain level with list flags 0x125 still exceeds libvirt's RPC limit"},
		{"too many children of one moment", wideNode,
			`cannot list the snapshots in pieces: the piece below snapshot "b2" with list flags 0x124 still exceeds libvirt's RPC limit`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := &fakeSource{kind: conf.Snapshot, limit: 50, moments: tt.moments}
			_, _, err := Names(context.Background(), src)
			if !errors.Is(err, ErrTooMany) {
				t.Fatalf("err = %v, want a TooMany error", err)
			}
			if err.Error() != tt.want {
				t.Errorf("err = %q, want %q", err, tt.want)
			}
		})
	}
}

func TestNamesOtherErrorStops(t *testing.T) {
	src := &failingLister{fakeSource{kind: conf.Snapshot, limit: 10, moments: chain("s", 30, "", "shutoff")}}
	_, _, err := Names(context.Background(), src)
	if err == nil || err.Error() != "End of file while reading data: Input/output error" {
		t.Fatalf("err = %v, want the source's error unchanged", err)
	}
	if ClassOf(err) != ConnLost {
		t.Errorf("class = %v, want ConnLost kept for the caller's retry", ClassOf(err))
	}
}

func TestNamesCanceled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	src := &fakeSource{kind: conf.Snapshot, limit: 10, moments: chain("s", 30, "", "shutoff")}
	if _, _, err := Names(ctx, src); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if src.calls != 0 {
		t.Errorf("a canceled load made %d list calls", src.calls)
	}
}

// failingLister fails every list call below a moment with a connection error.
type failingLister struct{ fakeSource }

func (f *failingLister) List(ctx context.Context, from string, flags uint32) ([]string, error) {
	if from != "" {
		return nil, &Classified{Class: ConnLost, Err: errors.New("End of file while reading data: Input/output error")}
	}
	return f.fakeSource.List(ctx, from, flags)
}

// TestNamesLongChain lists an unbranched chain far past the limit, every snapshot in the same
// filter groups, so the tree must be cut level by level. The refusal of the first subtree says
// how many names it holds, so the levels below whose subtree still cannot fit are not asked
// for: no refused call below the first, two small calls per level.
func TestNamesLongChain(t *testing.T) {
	const n, limit = 500, 100
	tests := []struct {
		name        string
		msg         func(count, limit int) string // the refusal's wording
		maxRefused  int
		wantPredict int
	}{
		// Refused: all, non-leaves, non-leaves|inactive, non-leaves|inactive|internal at domain
		// level, then the root's subtree (n-2 non-leaves below s0). Below it the subtree of s_k
		// holds n-2-k: not asked while that exceeds the limit, k = 1 .. n-3-limit.
		{"libvirtd's refusal", func(c, l int) string { return fmt.Sprintf("Too many domain_snapshots '%d' for limit '%d'", c, l) }, 5, n - limit - 3},
		{"the client's refusal", func(c, l int) string { return fmt.Sprintf("too many remote strings: %d > %d", c, l) }, 5, n - limit - 3},
		{"a refusal without numbers", func(int, int) string { return "too many" }, n - limit + 3, 0},
		{"a refusal that overstates (the list changed)", func(c, l int) string {
			return fmt.Sprintf("Too many domain_snapshots '%d' for limit '%d'", c+50, l)
		}, 5, n - limit + 47},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := &rewordedSource{fakeSource{kind: conf.Snapshot, limit: limit, moments: chain("s", n, "", "shutoff")}, tt.msg}
			got, stats, err := Names(context.Background(), src)
			if err != nil {
				t.Fatal(err)
			}
			slices.Sort(got)
			if want := allNames(src.moments); !slices.Equal(got, want) {
				t.Fatalf("got %d names, want the chain's %d", len(got), len(want))
			}
			t.Logf("%+v", stats)
			if stats.Refused > tt.maxRefused {
				t.Errorf("%d calls refused, want at most %d", stats.Refused, tt.maxRefused)
			}
			if stats.Predicted != tt.wantPredict {
				t.Errorf("%d calls predicted to be refused and not made, want %d", stats.Predicted, tt.wantPredict)
			}
			if stats.Calls != src.calls {
				t.Errorf("stats.Calls = %d, source saw %d", stats.Calls, src.calls)
			}
		})
	}
}

// rewordedSource is a fakeSource whose refusals say msg(count, limit).
type rewordedSource struct {
	fakeSource
	msg func(count, limit int) string
}

func (r *rewordedSource) List(ctx context.Context, from string, flags uint32) ([]string, error) {
	names, err := r.fakeSource.List(ctx, from, flags)
	if ClassOf(err) == TooMany {
		c, l := refusalCounts(err)
		return nil, &Classified{Class: TooMany, Err: errors.New(r.msg(c, l))}
	}
	return names, err
}

func TestRefusalCounts(t *testing.T) {
	for msg, want := range map[string][2]int{
		"Too many domain_snapshots '20000' for limit '16384'":                   {20000, 16384},
		"internal error: Too many domain_checkpoints '17000' for limit '16384'": {17000, 16384},
		"too many remote strings: 20000 > 16384":                                {20000, 16384},
		"too many":                                                              {0, 0},
	} {
		c, l := refusalCounts(errors.New(msg))
		if c != want[0] || l != want[1] {
			t.Errorf("refusalCounts(%q) = %d, %d, want %d, %d", msg, c, l, want[0], want[1])
		}
	}
}
