package policy_test

import (
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/vmoments/vmoments/conf"
	"github.com/vmoments/vmoments/momentlist"
	"github.com/vmoments/vmoments/policy"
)

// Nightly checkpoints for two weeks, one taken by hand: keep a week of dailies and the newest
// of each of the three latest weeks, and leave the hand-made one alone. The current checkpoint is
// where the next incremental backup starts, so it stays whatever the rules say.
func ExamplePlan() {
	utc := time.UTC
	list := momentlist.New(conf.Checkpoint)
	var defs []*conf.Def
	parent := ""
	for day := 1; day <= 14; day++ {
		name := fmt.Sprintf("nightly-%02d", day)
		defs = append(defs, &conf.Def{Kind: conf.Checkpoint, Name: name, Parent: parent,
			Created: time.Date(2025, 3, day, 2, 0, 0, 0, utc), HasCreated: true,
			Disks: []conf.DiskSpec{{Name: "vda", Mode: "bitmap"}}})
		parent = name
	}
	defs = append(defs, &conf.Def{Kind: conf.Checkpoint, Name: "before-upgrade", Parent: parent,
		Created: time.Date(2025, 3, 14, 9, 30, 0, 0, utc), HasCreated: true})
	if err := list.Load(defs, ""); err != nil {
		panic(err)
	}
	list.SetCurrent(list.Find("nightly-14"))

	p := policy.Policy{Daily: 7, Weekly: 3, Match: regexp.MustCompile(`^nightly-`), Location: utc}
	res, err := policy.Plan(list, p, time.Date(2025, 3, 15, 0, 0, 0, 0, utc), policy.Deletion{Active: true})
	if err != nil {
		panic(err)
	}
	fmt.Println(p)
	for _, d := range res.Moments {
		if !d.Keep {
			fmt.Printf("delete %s\n", d.Name())
			continue
		}
		var why []string
		for _, r := range d.Reasons {
			why = append(why, r.String())
		}
		fmt.Printf("keep   %s: %s\n", d.Name(), strings.Join(why, "; "))
	}
	fmt.Println("order:", strings.Join(res.Delete, " "))
	// Output:
	// keep the newest of each of the latest 7 days, the newest of each of the latest 3 weeks; only names matching ^nightly-
	// keep   before-upgrade: not matched
	// keep   nightly-14: daily 2025-03-14 (1/7); weekly 2025-W11 (1/3); current; current for vda
	// keep   nightly-13: daily 2025-03-13 (2/7)
	// keep   nightly-12: daily 2025-03-12 (3/7)
	// keep   nightly-11: daily 2025-03-11 (4/7)
	// keep   nightly-10: daily 2025-03-10 (5/7)
	// keep   nightly-09: daily 2025-03-09 (6/7); weekly 2025-W10 (2/3)
	// keep   nightly-08: daily 2025-03-08 (7/7)
	// delete nightly-07
	// delete nightly-06
	// delete nightly-05
	// delete nightly-04
	// delete nightly-03
	// keep   nightly-02: weekly 2025-W09 (3/3)
	// delete nightly-01
	// order: nightly-07 nightly-06 nightly-05 nightly-04 nightly-03 nightly-01
}
