package queue

import "testing"

// Table tests of the dependent (gate) pipeline. Each script is a sequence of
// events with the exact actions each must produce; see harness for the
// command language.
func TestGate(t *testing.T) {
	for _, tc := range []struct{ name, script string }{
		{"an approved change is merged, built, reported at the head and submitted", `
			change 1
			approve 1
			- merge #1.1 gate [1,1]
			merge #1
			- build #1.1 gate [1,1]
			pass #1
			- report gate 1,1 success Verified+2
			- submit #1.1 gate 1,1 expect p=t0p
			queue gate: 1:submitting
			submitted #1
			- forget #1 gate
			queue gate:
		`},
		{"each item builds on the speculative state of the items ahead", `
			change 1
			change 2
			change 3
			approve 1
			- merge #1.1 gate [1,1]
			approve 2
			approve 3
			queue gate: 1 2 3
			merge #1
			- build #1.1 gate [1,1]
			- merge #2.1 gate [1,1 2,1] on p=t0p
			merge #2
			- build #2.1 gate [1,1 2,1]
			- merge #3.1 gate [1,1 2,1 3,1] on p=t0p
			merge #3
			- build #3.1 gate [1,1 2,1 3,1]
		`},
		{"a passed item waits for the items ahead; items merge in queue order", `
			change 1
			change 2
			approve 1
			- merge #1.1 gate [1,1]
			approve 2
			merge #1
			- build #1.1 gate [1,1]
			- merge #2.1 gate [1,1 2,1] on p=t0p
			merge #2
			- build #2.1 gate [1,1 2,1]
			pass #2
			queue gate: 1 2:passed
			pass #1
			- report gate 1,1 success Verified+2
			- submit #1.1 gate 1,1 expect p=t0p
			submitted #1
			- forget #1 gate
			- report gate 2,1 success Verified+2
			- submit #2.1 gate 2,1 expect p=h1.1
			submitted #2
			- forget #2 gate
		`},
		{"failure at the head: reported at once, the items behind are rebuilt without it", `
			change 1
			change 2
			approve 1
			- merge #1.1 gate [1,1]
			approve 2
			merge #1
			- build #1.1 gate [1,1]
			- merge #2.1 gate [1,1 2,1] on p=t0p
			merge #2
			- build #2.1 gate [1,1 2,1]
			fail #1
			- report gate 1,1 failure Verified-2
			- cancel #2.1 gate
			- forget #1 gate
			- merge #2.2 gate [2,1]
			queue gate: 2
		`},
		{"failure in the middle: the items behind are re-parented onto the nearest non-failing item; the failure is reported at the head", `
			change 1
			change 2
			change 3
			approve 1
			- merge #1.1 gate [1,1]
			approve 2
			approve 3
			merge #1
			- build #1.1 gate [1,1]
			- merge #2.1 gate [1,1 2,1] on p=t0p
			merge #2
			- build #2.1 gate [1,1 2,1]
			- merge #3.1 gate [1,1 2,1 3,1] on p=t0p
			merge #3
			- build #3.1 gate [1,1 2,1 3,1]
			fail #2
			- cancel #3.1 gate
			- merge #3.2 gate [1,1 3,1] on p=t0p
			queue gate: 1 2:failed 3^1
			merge #3
			- build #3.2 gate [1,1 3,1]
			pass #1
			- report gate 1,1 success Verified+2
			- submit #1.1 gate 1,1 expect p=t0p
			submitted #1
			- forget #1 gate
			- report gate 2,1 failure Verified-2
			- forget #2 gate
			queue gate: 3
			pass #3
			- report gate 3,1 success Verified+2
			- submit #3.2 gate 3,1 expect p=h1.1
		`},
		{"failure at the tail: nothing else is touched", `
			change 1
			change 2
			approve 1
			- merge #1.1 gate [1,1]
			approve 2
			merge #1
			- build #1.1 gate [1,1]
			- merge #2.1 gate [1,1 2,1] on p=t0p
			merge #2
			- build #2.1 gate [1,1 2,1]
			fail #2
			queue gate: 1 2:failed
			pass #1
			- report gate 1,1 success Verified+2
			- submit #1.1 gate 1,1 expect p=t0p
			submitted #1
			- forget #1 gate
			- report gate 2,1 failure Verified-2
			- forget #2 gate
		`},
		{"two failures: each item is re-parented onto the nearest non-failing item, and a failure ahead voids the failures behind", `
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
			merge #3
			- build #3.1 gate [1,1 2,1 3,1]
			- merge #4.1 gate [1,1 2,1 3,1 4,1] on p=t0p
			merge #4
			- build #4.1 gate [1,1 2,1 3,1 4,1]
			fail #3
			- cancel #4.1 gate
			- merge #4.2 gate [1,1 2,1 4,1] on p=t0p
			fail #1
			- report gate 1,1 failure Verified-2
			- cancel #2.1 gate
			- forget #1 gate
			- merge #2.2 gate [2,1]
			// 3 failed on 1+2+3; without 1 it is tested again.
			queue gate: 2 3 4
			merge #2
			- build #2.2 gate [2,1]
			- merge #3.2 gate [2,1 3,1] on p=t0p
		`},
		{"a merge conflict fails the item; the items behind skip it", `
			change 1
			change 2
			change 3
			approve 1
			- merge #1.1 gate [1,1]
			approve 2
			approve 3
			merge #1
			- build #1.1 gate [1,1]
			- merge #2.1 gate [1,1 2,1] on p=t0p
			conflict #2
			- merge #3.1 gate [1,1 3,1] on p=t0p
			queue gate: 1 2:failed 3^1
			pass #1
			- report gate 1,1 success Verified+2
			- submit #1.1 gate 1,1 expect p=t0p
			submitted #1
			- forget #1 gate
			- report gate 2,1 merge-conflict Verified-2
			- forget #2 gate
		`},
		{"a workflow definition error fails the item like a failed build", `
			change 1
			approve 1
			- merge #1.1 gate [1,1]
			merge #1
			- build #1.1 gate [1,1]
			configerror #1
			- report gate 1,1 failure Verified-2
			- forget #1 gate
		`},
		{"results of an older attempt are ignored", `
			change 1
			change 2
			approve 1
			- merge #1.1 gate [1,1]
			approve 2
			merge #1
			- build #1.1 gate [1,1]
			- merge #2.1 gate [1,1 2,1] on p=t0p
			merge #2
			- build #2.1 gate [1,1 2,1]
			fail #1
			- report gate 1,1 failure Verified-2
			- cancel #2.1 gate
			- forget #1 gate
			- merge #2.2 gate [2,1]
			pass #2.1
			merge #2.1
			queue gate: 2
		`},
		{"a new patchset dequeues the old one and rebuilds the items behind", `
			change 1
			change 2
			change 3
			approve 1
			- merge #1.1 gate [1,1]
			approve 2
			approve 3
			merge #1
			- build #1.1 gate [1,1]
			- merge #2.1 gate [1,1 2,1] on p=t0p
			merge #2
			- build #2.1 gate [1,1 2,1]
			- merge #3.1 gate [1,1 2,1 3,1] on p=t0p
			merge #3
			- build #3.1 gate [1,1 2,1 3,1]
			patchset 2
			- cancel #3.1 gate
			- cancel #2.1 gate
			- forget #2 gate
			- report gate 2,1 dequeue
			- merge #3.2 gate [1,1 3,1] on p=t0p
			queue gate: 1 3
		`},
		{"an abandoned change leaves the queue", `
			change 1
			change 2
			approve 1
			- merge #1.1 gate [1,1]
			approve 2
			abandon 1
			- forget #1 gate
			- report gate 1,1 dequeue
			- merge #2.1 gate [2,1]
		`},
		{"a removed approval dequeues the change", `
			change 1
			approve 1
			- merge #1.1 gate [1,1]
			merge #1
			- build #1.1 gate [1,1]
			unapprove 1
			- cancel #1.1 gate
			- forget #1 gate
			- report gate 1,1 dequeue
		`},
		{"a Code-Review -2 dequeues the change and keeps it out", `
			change 1
			approve 1
			- merge #1.1 gate [1,1]
			vote 1 Code-Review=-2 other
			- forget #1 gate
			- report gate 1,1 dequeue
			approve 1
			queue gate:
		`},
		{"a change merged outside the gate leaves the queue; the items behind keep their builds", `
			change 1
			change 2
			approve 1
			- merge #1.1 gate [1,1]
			approve 2
			merge #1
			- build #1.1 gate [1,1]
			- merge #2.1 gate [1,1 2,1] on p=t0p
			merge #2
			- build #2.1 gate [1,1 2,1]
			outside 1
			- cancel #1.1 gate
			- forget #1 gate
			- report gate 1,1 dequeue
			queue gate: 2
		`},
		{"an administrator dequeues a change", `
			change 1
			approve 1
			- merge #1.1 gate [1,1]
			dequeue 1
			- forget #1 gate
			- report gate 1,1 dequeue
		`},
		{"Gerrit refusing the submit fails the head and rebuilds the items behind", `
			change 1
			change 2
			approve 1
			- merge #1.1 gate [1,1]
			approve 2
			merge #1
			- build #1.1 gate [1,1]
			- merge #2.1 gate [1,1 2,1] on p=t0p
			merge #2
			- build #2.1 gate [1,1 2,1]
			pass #2
			pass #1
			- report gate 1,1 success Verified+2
			- submit #1.1 gate 1,1 expect p=t0p
			refused #1
			- report gate 1,1 failure Verified-2
			- forget #1 gate
			- merge #2.2 gate [2,1]
		`},
		{"a stale submit (the branch moved) rebuilds the head instead of failing it", `
			change 1
			change 2
			approve 1
			- merge #1.1 gate [1,1]
			approve 2
			merge #1
			- build #1.1 gate [1,1]
			- merge #2.1 gate [1,1 2,1] on p=t0p
			merge #2
			- build #2.1 gate [1,1 2,1]
			pass #1
			- report gate 1,1 success Verified+2
			- submit #1.1 gate 1,1 expect p=t0p
			stale #1
			- cancel #2.1 gate
			- merge #1.2 gate [1,1]
			merge #1
			- build #1.2 gate [1,1]
			- merge #2.2 gate [1,1 2,1] on p=t1
		`},
		{"a branch moved outside the gate resets every item built on the old tip", `
			change 1
			change 2
			approve 1
			- merge #1.1 gate [1,1]
			approve 2
			merge #1
			- build #1.1 gate [1,1]
			- merge #2.1 gate [1,1 2,1] on p=t0p
			merge #2
			- build #2.1 gate [1,1 2,1]
			push p
			- cancel #1.1 gate
			- cancel #2.1 gate
			- merge #1.2 gate [1,1]
			push r
			merge #1
			- build #1.2 gate [1,1]
			- merge #2.2 gate [1,1 2,1] on p=t1
		`},
		{"the branch move made by gated's own submit resets nothing", `
			change 1
			change 2
			approve 1
			- merge #1.1 gate [1,1]
			approve 2
			merge #1
			- build #1.1 gate [1,1]
			- merge #2.1 gate [1,1 2,1] on p=t0p
			merge #2
			- build #2.1 gate [1,1 2,1]
			pass #1
			- report gate 1,1 success Verified+2
			- submit #1.1 gate 1,1 expect p=t0p
			// Gerrit's ref-updated arrives while the submit is in flight,
			// and again after it.
			push p
			submitted #1
			- forget #1 gate
			refupdate p t2
			queue gate: 2
		`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			newHarness(t, gateOnly()).run(tc.script)
		})
	}
}
