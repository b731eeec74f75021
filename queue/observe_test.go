package queue

import "testing"

// Table tests of what the engine tells its owner besides actions: how it
// answers the executor's reports about builds it no longer wants or never
// heard of, and the facts (Ready) that the history and metrics record.
func TestObserve(t *testing.T) {
	for _, tc := range []struct{ name, script string }{
		{"a build that starts for the current attempt is recorded, nothing else", `
			change 1
			approve 1
			- merge #1.1 gate [1,1]
			merge #1
			- build #1.1 gate [1,1]
			started gate 1.1
			facts:
		`},
		{"a build that starts after its item was reset is cancelled", `
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
			started gate 2.1
			- cancel #2.1 gate
			facts: finished #1.1 gate [1,1] failure; reset #2 gate
		`},
		{"a build that starts after its item left is cancelled in the pipeline it names", `
			change 1
			approve 1
			- merge #1.1 gate [1,1]
			merge #1
			- build #1.1 gate [1,1]
			abandon 1
			- cancel #1.1 gate
			- forget #1 gate
			- report gate 1,1 dequeue
			started gate 1.1
			- cancel #1.1 gate
			started check 7.3
			- cancel #7.3 check
		`},
		{"a start reported again after the build finished is cancelled (a no-op for a finished build)", `
			change 1
			approve 1
			- merge #1.1 gate [1,1]
			merge #1
			- build #1.1 gate [1,1]
			pass #1
			- report gate 1,1 success Verified+2
			- submit #1.1 gate 1,1 expect p=t0p
			started gate 1.1
			- cancel #1.1 gate
			queue gate: 1:submitting
		`},
		{"an item whose build the executor does not list lost it: the build runs again", `
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
			listed gate:1.1 gate:2.2 check:9.1
			- build #2.2 gate [1,1 2,1]
			facts: finished #2.1 gate [1,1 2,1] lost
			queue gate: 1 2 3
		`},
		{"a lost build does not count as a try, and leaves the items behind alone", `
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
			listed
			- build #1.2 gate [1,1]
			- build #2.2 gate [1,1 2,1]
			fail #1
			- report gate 1,1 failure Verified-2
			- cancel #2.2 gate
			- forget #1 gate
			- merge #2.3 gate [2,1]
			facts: finished #1.1 gate [1,1] lost; finished #2.1 gate [1,1 2,1] lost; finished #1.2 gate [1,1] failure; reset #2 gate
		`},
		{"facts: builds finished, a change merged with its time in the queue, resets", `
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
			push p
			- cancel #1.1 gate
			- merge #1.2 gate [1,1]
			facts: finished #2.1 gate [1,1 2,1] success; reset #1 gate; reset #2 gate
			merge #1
			- build #1.2 gate [1,1]
			- merge #2.2 gate [1,1 2,1] on p=t1
			pass #1
			- report gate 1,1 success Verified+2
			- submit #1.2 gate 1,1 expect p=t1
			submitted #1
			- forget #1 gate
			facts: finished #1.2 gate [1,1] success; merged #1 gate 1,1 after 8s
		`},
		{"a snapshot read before one already applied decides nothing: its event is read again", `
			change 1
			approve 1
			- merge #1.1 gate [1,1]
			// Gerrit lost the approval, but the read that says so began
			// before the approval's: it must not dequeue.
			slow unapprove 1
			- refresh comment-added 1
			queue gate: 1
			refresh
			- forget #1 gate
			- report gate 1,1 dequeue
			queue gate:
		`},
		{"a slow read does not enqueue a change unapproved meanwhile; its trigger is kept for the fresh read", `
			change 1
			change 2 needs=1
			approve 2
			- report gate 2,1 refusal
			slow approve 1
			- refresh comment-added 1
			queue gate:
			refresh
			- merge #1.1 gate [1,1]
			queue gate: 1 2
		`},
		{"a slow read is applied when nothing newer of its changes was", `
			change 1
			slow approve 1
			- merge #1.1 gate [1,1]
		`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			newHarness(t, gateOnly()).run(tc.script)
		})
	}
}
