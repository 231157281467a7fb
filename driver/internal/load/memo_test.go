package load

import (
	"context"
	"slices"
	"testing"

	"github.com/vmoments/vmoments/conf"
)

// TestMemo lists a source several times through one Memo, changing the source between
// listings. Every listing must return what Names returns; the memo must save exactly calls
// that Names makes and libvirtd refuses, and forget them once the list shrinks.
func TestMemo(t *testing.T) {
	mixed := chain("a", 150, "", "shutoff", "running", "disk-snapshot")
	type step struct {
		moments    []fakeMoment // the source's moments for this listing
		want       *NameStats   // exact stats; nil: only the invariants
		remembered int          // refusals the memo holds afterwards
	}
	tests := []struct {
		name  string
		kind  conf.Kind
		limit int
		steps []step
	}{
		{"fits: nothing to remember", conf.Snapshot, 100, []step{
			{chain("s", 80, "", "shutoff"), &NameStats{Calls: 1}, 0},
			{chain("s", 90, "", "shutoff"), &NameStats{Calls: 1}, 0},
		}},
		{"the leaves and status splits, remembered at every level", conf.Snapshot, 60, []step{
			{mixed, nil, 2},
			{mixed, nil, 2},
			// shrank below the limit: the remembered pieces are still asked for, then forgotten
			{mixed[:50], &NameStats{Calls: 4, Skipped: 2}, 0},
			{mixed[:50], &NameStats{Calls: 1}, 0},
		}},
		{"grows past the limit, then shrinks below it", conf.Checkpoint, 40, []step{
			{chain("c", 30, "", ""), &NameStats{Calls: 1}, 0},
			// 50 names: refused, then leaves (21) and non-leaves (29)
			{append(chain("c", 30, "", ""), roots("r", 20, "")...), &NameStats{Calls: 3, Refused: 1}, 1},
			{append(chain("c", 30, "", ""), roots("r", 25, "")...), &NameStats{Calls: 2, Skipped: 1}, 1},
			// fewer names than when the refusal was learned: skipped this time, forgotten after
			{chain("c", 30, "", ""), &NameStats{Calls: 2, Skipped: 1}, 0},
			{chain("c", 30, "", ""), &NameStats{Calls: 1}, 0},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var m Memo
			for i, st := range tt.steps {
				src := &fakeSource{kind: tt.kind, limit: tt.limit, moments: st.moments}
				got, stats, err := m.Names(context.Background(), src)
				if err != nil {
					t.Fatalf("step %d: Memo.Names: %v", i, err)
				}
				want, plain, err := Names(context.Background(), &fakeSource{kind: tt.kind, limit: tt.limit, moments: st.moments})
				if err != nil {
					t.Fatalf("step %d: Names: %v", i, err)
				}
				slices.Sort(got)
				slices.Sort(want)
				if !slices.Equal(got, want) {
					t.Errorf("step %d: Memo.Names = %v, Names = %v", i, got, want)
				}
				if stats.Calls != src.calls {
					t.Errorf("step %d: stats.Calls = %d, the source saw %d", i, stats.Calls, src.calls)
				}
				shrunk := i > 0 && len(st.moments) < len(tt.steps[i-1].moments)
				if !shrunk && (stats.Calls+stats.Skipped != plain.Calls || stats.Refused+stats.Skipped != plain.Refused) {
					t.Errorf("step %d: memo stats %+v do not add up to Names' %+v (skipped calls must be refused ones)", i, stats, plain)
				}
				if i > 0 && slices.Equal(st.moments, tt.steps[i-1].moments) && stats.Refused != 0 {
					t.Errorf("step %d: the same list again, yet %d calls refused: the memo forgot", i, stats.Refused)
				}
				if st.want != nil && stats != *st.want {
					t.Errorf("step %d: stats %+v, want %+v", i, stats, *st.want)
				}
				if len(m.refused) != st.remembered {
					t.Errorf("step %d: memo remembers %v, want %d refusals", i, m.refused, st.remembered)
				}
			}
		})
	}
}
