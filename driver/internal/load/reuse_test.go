package load

import (
	"context"
	"testing"

	"github.com/vmoments/vmoments/conf"
)

// TestFetchReusing: a definition whose XML comes back byte for byte is returned again,
// unparsed; one whose XML changed is parsed anew.
func TestFetchReusing(t *testing.T) {
	ctx := context.Background()
	src := &fakeSource{kind: conf.Snapshot, limit: 1000, moments: chain("s", 20, "", "shutoff", "running")}
	names := allNames(src.moments)
	first, _, err := Fetch(ctx, src, names, 3)
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]*conf.Def{}
	for _, d := range first {
		byName[d.Name] = d
	}
	src.byName("s7").parent = "s2" // redefined elsewhere
	again, _, err := FetchReusing(ctx, src, names, 3, func(n string) *conf.Def { return byName[n] })
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range again {
		reused := d == byName[d.Name]
		if d.Name == "s7" {
			if reused || d.Parent != "s2" {
				t.Errorf("s7: reused %v, parent %q; want parsed anew with parent s2", reused, d.Parent)
			}
		} else if !reused {
			t.Errorf("%s: parsed again although its XML is the same", d.Name)
		}
	}
	// A known definition without raw XML (read from libvirtd's files) is never reused.
	bare := byName["s3"].Clone()
	bare.SetRaw(nil)
	got, _, err := FetchReusing(ctx, src, []string{"s3"}, 1, func(string) *conf.Def { return bare })
	if err != nil || len(got) != 1 || got[0] == bare {
		t.Errorf("FetchReusing with a raw-less definition: %v, reused %v", err, len(got) == 1 && got[0] == bare)
	}
}
