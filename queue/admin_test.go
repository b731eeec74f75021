package queue

import (
	"strings"
	"testing"
)

// Table tests of administrators' requests: dequeue, enqueue, promote (see
// admin.go, promote.go). Every request gets a verdict; a refused one
// changes nothing.
func TestAdminDequeue(t *testing.T) {
	for _, tc := range []struct{ name, script string }{
		{"a change in the middle leaves; the items behind are rebuilt without it", `
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
			dequeue 2
			- cancel #3.1 gate
			- cancel #2.1 gate
			- forget #2 gate
			- report gate 2,1 dequeue
			- merge #3.2 gate [1,1 3,1] on p=t0p
			verdict: accepted: change 2 left the gate pipeline
			queue gate: 1 3
		`},
		{"the head leaves while its build runs; the items behind are rebuilt on the tip", `
			change 1
			change 2
			approve 1
			- merge #1.1 gate [1,1]
			approve 2
			merge #1
			- build #1.1 gate [1,1]
			- merge #2.1 gate [1,1 2,1] on p=t0p
			dequeue 1
			- cancel #1.1 gate
			- forget #1 gate
			- report gate 1,1 dequeue
			- merge #2.2 gate [2,1]
			verdict: accepted: change 1 left the gate pipeline
			// The merge of the old state answers late: it is ignored.
			merge #2.1
			queue gate: 2
		`},
		{"the head is not dequeued while it submits: Gerrit's answer decides", `
			change 1
			change 2
			approve 1
			- merge #1.1 gate [1,1]
			approve 2
			merge #1
			- build #1.1 gate [1,1]
			- merge #2.1 gate [1,1 2,1] on p=t0p
			pass #1
			- report gate 1,1 success Verified+2
			- submit #1.1 gate 1,1 expect p=t0p
			dequeue 1
			verdict: conflict: change 1 is being submitted to Gerrit: it merges, or fails, within moments; it cannot be dequeued now
			queue gate: 1:submitting 2
			submitted #1
			- forget #1 gate
		`},
		{"the changes that need a dequeued change leave with it", `
			change 1
			change 2 needs=1.1
			change 3
			approve 1
			- merge #1.1 gate [1,1]
			approve 2
			approve 3
			dequeue 1
			- forget #1 gate
			- report gate 1,1 dequeue
			- forget #2 gate
			- report gate 2,1 dequeue
			- merge #3.1 gate [3,1]
			verdict: accepted: change 1 left the gate pipeline, and so did change 2, which depends on it
			queue gate: 3
		`},
		{"a dequeued change stays out when gated's reconcile finds it, until it is approved anew", `
			change 1
			approve 1
			- merge #1.1 gate [1,1]
			dequeue 1
			- forget #1 gate
			- report gate 1,1 dequeue
			reconcile 1
			queue gate:
			approve 1
			- merge #2.1 gate [1,1]
			queue gate: 1
		`},
		{"a change that needs a dequeued change is told why it cannot enter", `
			change 1
			change 2 needs=1.1
			approve 1
			- merge #1.1 gate [1,1]
			dequeue 1
			- forget #1 gate
			- report gate 1,1 dequeue
			approve 2
			- report gate 2,1 refusal
			queue gate:
			explain 2 gate: This change cannot enter the gate pipeline: it depends on change 1, which cannot enter the gate pipeline: dequeued by alice: testing; it enters again when triggered anew (approved again) or enqueued by an administrator.
		`},
		{"a change in the check pipeline leaves it; its build is cancelled", `
			change 1
			recheck 1
			- merge #1.1 check [1,1]
			merge #1
			- build #1.1 check [1,1]
			dequeue 1 pipeline=check
			- cancel #1.1 check
			- forget #1 check
			- report check 1,1 dequeue
			verdict: accepted: change 1 left the check pipeline
			recheck 1
			- merge #2.1 check [1,1]
		`},
		{"bad requests are refused and change nothing", `
			change 1
			recheck 1
			- merge #1.1 check [1,1]
			dequeue 1 pipeline=post
			verdict: not-found: there is no pipeline "post" (gated has check, gate)
			dequeue 1
			verdict: conflict: change 1 is not in the gate pipeline (it is in check)
			dequeue 7
			verdict: not-found: change 7 is in no pipeline
			queue check: 1
		`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			newHarness(t, testConfig()).run(tc.script)
		})
	}
}

func TestAdminEnqueue(t *testing.T) {
	for _, tc := range []struct{ name, script string }{
		{"an approved change an administrator dequeued enters again at the tail", `
			change 1
			change 2
			approve 1
			- merge #1.1 gate [1,1]
			approve 2
			dequeue 1
			- forget #1 gate
			- report gate 1,1 dequeue
			- merge #2.1 gate [2,1]
			enqueue 1
			- report gate 1,1 admin
			verdict: accepted: change 1 entered the gate pipeline
			queue gate: 2 1
			merge #2
			- build #2.1 gate [2,1]
			- merge #3.1 gate [2,1 1,1] on p=t0p
		`},
		{"requirements still apply: an unapproved change is refused with the missing votes, by label", `
			change 1
			vote 1 Code-Review=2
			enqueue 1
			verdict: conflict: This change cannot enter the gate pipeline: it is missing the required approval Workflow +1.
			vote 1 Code-Review=-2 bob
			enqueue 1
			verdict: conflict: This change cannot enter the gate pipeline: it is missing the required approval Workflow +1, and it has the rejecting vote Code-Review-2 by bob.
			wip 1
			enqueue 1
			verdict: conflict: This change cannot enter the gate pipeline: the change is work in progress.
			queue gate:
		`},
		{"into a full window: the item waits beyond it, with nothing merged or built", `
			change 1
			change 2
			change 3
			approve 1
			- merge #1.1 gate [1,1]
			approve 2
			dequeue 2
			- forget #2 gate
			- report gate 2,1 dequeue
			approve 3
			enqueue 2
			- report gate 2,1 admin
			verdict: accepted: change 2 entered the gate pipeline
			queue gate: 1 3 2
			explain 2 gate: In the gate pipeline, at position 3 of 3 in change queue integrated@master: it waits for the window: only the first 1 items are built.
		`},
		{"a change whose parent an administrator dequeued is refused; once the parent is enqueued, it follows", `
			change 1
			change 2 needs=1.1
			approve 1
			- merge #1.1 gate [1,1]
			approve 2
			dequeue 1
			- forget #1 gate
			- report gate 1,1 dequeue
			- forget #2 gate
			- report gate 2,1 dequeue
			enqueue 2
			verdict: conflict: This change cannot enter the gate pipeline: it depends on change 1, which cannot enter the gate pipeline: dequeued by alice: testing; it enters again when triggered anew (approved again) or enqueued by an administrator.
			enqueue 1
			- report gate 1,1 admin
			- merge #3.1 gate [1,1]
			verdict: accepted: change 1 entered the gate pipeline
			queue gate: 1 2
		`},
		{"a change already in the pipeline, an unknown change or project, a closed change: refused", `
			change 1
			change 2 project=elsewhere
			change 3
			approve 1
			- merge #1.1 gate [1,1]
			enqueue 1
			verdict: conflict: change 1 is in the gate pipeline already: In the gate pipeline, at position 1 of 1 in change queue integrated@master: the merger is building its speculative state, 1,1.
			enqueue 9
			verdict: not-found: Gerrit has no change 9
			enqueue 2
			verdict: invalid: gated does not gate project elsewhere (it is not in gated's configuration)
			abandon 3
			enqueue 3 pipeline=check
			verdict: conflict: This change cannot enter the check pipeline: the change is abandoned.
			enqueue 1 pipeline=post
			verdict: not-found: there is no pipeline "post" (gated has check, gate)
			queue gate: 1
		`},
		{"a request read before a newer read gated applied is refused: ask again", `
			change 1
			approve 1
			- merge #1.1 gate [1,1]
			unapprove 1
			- forget #1 gate
			- report gate 1,1 dequeue
			// Read while the change was approved, answered after.
			slow enqueue 1
			verdict: conflict: gated applied a newer read of change 1 (or of a change it depends on) than this request's: ask again
			enqueue 1
			verdict: conflict: This change cannot enter the gate pipeline: it is missing the required approval Workflow +1.
		`},
		{"into the check pipeline: as if a recheck was asked", `
			change 1
			enqueue 1 pipeline=check
			- report check 1,1 admin
			- merge #1.1 check [1,1]
			verdict: accepted: change 1 entered the check pipeline
		`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := testConfig()
			if strings.Contains(tc.name, "full window") {
				cfg.Pipelines[1].Window = WindowConfig{Size: 1, Floor: 1, IncreaseType: "linear", IncreaseFactor: 1, DecreaseType: "linear", DecreaseFactor: 1}
			}
			newHarness(t, cfg).run(tc.script)
		})
	}
}

func TestAdminPromote(t *testing.T) {
	for _, tc := range []struct{ name, script string }{
		{"the last change moves to the head; every other item is rebuilt behind it", `
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
			promote 3
			- cancel #3.1 gate
			- cancel #1.1 gate
			- cancel #2.1 gate
			- report gate 3,1 admin
			- merge #3.2 gate [3,1]
			verdict: accepted: the integrated@master change queue of the gate pipeline is now 3, 1, 2
			queue gate: 3 1 2
			merge #3
			- build #3.2 gate [3,1]
			- merge #1.2 gate [3,1 1,1] on p=t0p
		`},
		{"the items already in the order asked keep their builds", `
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
			promote 1 3
			- cancel #2.1 gate
			- report gate 3,1 admin
			- merge #3.2 gate [1,1 3,1] on p=t0p
			verdict: accepted: the integrated@master change queue of the gate pipeline is now 1, 3, 2
			promote 1 3
			verdict: accepted: the integrated@master change queue of the gate pipeline is in that order already: 1, 3, 2; nothing changed
		`},
		{"a change that needs another: the needed change moves with it, just ahead", `
			change 1
			change 2
			change 3 needs=2.1
			approve 1
			- merge #1.1 gate [1,1]
			approve 2
			approve 3
			queue gate: 1 2 3
			promote 3
			- report gate 3,1 admin
			- merge #2.1 gate [2,1]
			verdict: accepted: the integrated@master change queue of the gate pipeline is now 2, 3, 1 (change 2 moved with change 3, which depends on it)
			queue gate: 2 3 1
		`},
		{"the head being submitted stays at the head", `
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
			pass #1
			- report gate 1,1 success Verified+2
			- submit #1.1 gate 1,1 expect p=t0p
			promote 3
			- report gate 3,1 admin
			- merge #3.1 gate [1,1 3,1] on p=t0p
			verdict: accepted: the integrated@master change queue of the gate pipeline is now 1, 3, 2
			queue gate: 1:submitting 3 2
		`},
		{"a failed change promoted to the head is built again there", `
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
			promote 2
			- cancel #1.1 gate
			- report gate 2,1 admin
			- merge #2.2 gate [2,1]
			queue gate: 2 1
		`},
		{"a change whose probe failed is built again when promoted, not reported at the head", `
			change 1
			change 2
			approve 1
			- merge #1.1 gate [1,1]
			approve 2
			- merge #2.1 gate [2,1]
			merge #2
			- build #2.1 gate [2,1]
			fail #2
			- build #2.2 gate [2,1]
			fail #2
			queue gate: 1 2:failed
			// 1 ends up beyond the window: it is probed.
			promote 2
			- report gate 2,1 admin
			- merge #2.3 gate [2,1]
			- merge #1.2 gate [1,1]
			queue gate: 2 1
		`},
		{"outside the window: the promoted change is built, the one it displaces waits", `
			change 1
			change 2
			approve 1
			- merge #1.1 gate [1,1]
			approve 2
			merge #1
			- build #1.1 gate [1,1]
			promote 2
			- cancel #1.1 gate
			- report gate 2,1 admin
			- merge #2.1 gate [2,1]
			explain 1 gate: In the gate pipeline, at position 2 of 2 in change queue integrated@master: it waits for the window: only the first 1 items are built.
		`},
		{"bad requests are refused and change nothing", `
			change 1
			change 2 project=r
			change 3
			approve 1
			- merge #1.1 gate [1,1]
			approve 2
			- merge #2.1 gate [2,1]
			promote 2 1
			verdict: invalid: changes 2 and 1 are in different change queues (r@master and integrated@master): promote the changes of each queue on their own
			promote 1 1
			verdict: invalid: change 1 is named twice
			promote 1 3
			verdict: not-found: change 3 is in no pipeline
			promote 1 pipeline=check
			verdict: invalid: the check pipeline is independent: its items are tested alone, so there is nothing to promote
			promote pipeline=gate
			verdict: invalid: name at least one change to promote
			queue gate: 1 2
		`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := gateOnly()
			if strings.Contains(tc.name, "window") {
				cfg.Pipelines[0].Window = WindowConfig{Size: 1, Floor: 1, IncreaseType: "linear", IncreaseFactor: 1, DecreaseType: "linear", DecreaseFactor: 1}
			}
			if strings.Contains(tc.name, "probe") {
				cfg = probing()
			}
			if strings.Contains(tc.name, "independent") || strings.Contains(tc.name, "bad requests") {
				cfg = testConfig()
			}
			newHarness(t, cfg).run(tc.script)
		})
	}
}
