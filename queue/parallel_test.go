package queue

import "testing"

// parallelMerging is the gate with parallel merges.
func parallelMerging() Config {
	c := gateOnly()
	c.Pipelines[0].ParallelMerges = true
	return c
}

// Table tests of how merges are pinned, with and without parallel merges;
// see parallel.go.
func TestPinnedMerges(t *testing.T) {
	for _, tc := range []struct {
		name     string
		parallel bool
		script   string
	}{
		{"a submit while a merge runs: the item is based on the new tip, and so are the items behind it", false, `
			change 1
			change 2
			change 3
			change 4
			approve 1
			- merge #1.1 gate [1,1]
			approve 2
			approve 3
			approve 4
			merge #1
			- build #1.1 gate [1,1]
			- merge #2.1 gate [1,1 2,1] on p=t0p
			merge #2
			- build #2.1 gate [1,1 2,1]
			- merge #3.1 gate [1,1 2,1 3,1] on p=t0p
			pass #1
			- report gate 1,1 success Verified+2
			- submit #1.1 gate 1,1 expect p=t0p
			submitted #1
			- forget #1 gate
			merge #3
			- build #3.1 gate [2,1 3,1]
			- merge #4.1 gate [2,1 3,1 4,1] on p=t1
			merge #4
			- build #4.1 gate [2,1 3,1 4,1]
			pass #2
			- report gate 2,1 success Verified+2
			- submit #2.1 gate 2,1 expect p=h1.1
			submitted #2
			- forget #2 gate
			pass #3
			- report gate 3,1 success Verified+2
			- submit #3.1 gate 3,1 expect p=h2.1
		`},
		{"once the engine knows the tip, every item's merge is asked for at once, pinned to it", true, `
			change 1
			change 2
			change 3
			refupdate p t0p
			approve 1
			- merge #1.1 gate [1,1] on p=t0p
			approve 2
			- merge #2.1 gate [1,1 2,1] on p=t0p
			approve 3
			- merge #3.1 gate [1,1 2,1 3,1] on p=t0p
			merge #3
			- build #3.1 gate [1,1 2,1 3,1]
			merge #1
			- build #1.1 gate [1,1]
			merge #2
			- build #2.1 gate [1,1 2,1]
			pass #3
			pass #1
			- report gate 1,1 success Verified+2
			- submit #1.1 gate 1,1 expect p=t0p
			submitted #1
			- forget #1 gate
			pass #2
			- report gate 2,1 success Verified+2
			- submit #2.1 gate 2,1 expect p=h1.1
			submitted #2
			- forget #2 gate
			- report gate 3,1 success Verified+2
			- submit #3.1 gate 3,1 expect p=h2.1
		`},
		{"while the engine knows no tip, the head's merge is not pinned and the items behind wait for it", true, `
			change 1
			change 2
			approve 1
			- merge #1.1 gate [1,1]
			approve 2
			merge #1
			- build #1.1 gate [1,1]
			- merge #2.1 gate [1,1 2,1] on p=t0p
		`},
		{"after a reset the items behind are merged again at once, on the same tip", true, `
			change 1
			change 2
			change 3
			refupdate p t0p
			approve 1
			- merge #1.1 gate [1,1] on p=t0p
			approve 2
			- merge #2.1 gate [1,1 2,1] on p=t0p
			approve 3
			- merge #3.1 gate [1,1 2,1 3,1] on p=t0p
			merge #1
			- build #1.1 gate [1,1]
			merge #2
			- build #2.1 gate [1,1 2,1]
			merge #3
			- build #3.1 gate [1,1 2,1 3,1]
			fail #1
			- report gate 1,1 failure Verified-2
			- cancel #2.1 gate
			- cancel #3.1 gate
			- forget #1 gate
			- merge #2.2 gate [2,1] on p=t0p
			- merge #3.2 gate [2,1 3,1] on p=t0p
		`},
		{"the branch moving while merges run resets them onto the new tip", true, `
			change 1
			change 2
			refupdate p t0p
			approve 1
			- merge #1.1 gate [1,1] on p=t0p
			approve 2
			- merge #2.1 gate [1,1 2,1] on p=t0p
			push p
			- merge #1.2 gate [1,1] on p=t1
			- merge #2.2 gate [1,1 2,1] on p=t1
			merge #2.1
			merge #2
			- build #2.2 gate [1,1 2,1]
		`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := gateOnly()
			if tc.parallel {
				cfg = parallelMerging()
			}
			newHarness(t, cfg).run(tc.script)
		})
	}
}
