package queue

import (
	"strings"
	"testing"
)

// Table tests of dependencies in the gate: relation chains (needs=N.P, the
// parent's patchset) and Depends-On footers (needs=N).
func TestGateDependencies(t *testing.T) {
	for _, tc := range []struct{ name, script string }{
		{"a stacked change approved before its parent waits, then follows the parent in", `
			change 1
			change 2 needs=1.1
			approve 2
			- report gate 2,1 refusal
			queue gate:
			approve 1
			- merge #1.1 gate [1,1]
			queue gate: 1 2
			merge #1
			- build #1.1 gate [1,1]
			- merge #2.1 gate [1,1 2,1] on p=t0p
		`},
		{"approving the tip of an approved stack enqueues the stack in order", `
			change 1
			change 2 needs=1.1
			change 3 needs=2.1
			approve 1
			- merge #1.1 gate [1,1]
			approve 2
			approve 3
			queue gate: 1 2 3
		`},
		{"a change needing an unapproved parent, then its parent's approval, enqueues both", `
			change 1
			change 2 needs=1.1
			vote 1 Code-Review=2
			approve 2
			- report gate 2,1 refusal
			// The refusal is reported once, not on every event.
			vote 2 Code-Review=2
			approve 1
			- merge #1.1 gate [1,1]
			queue gate: 1 2
		`},
		{"a change based on an outdated patchset of its parent is refused", `
			change 1
			change 2 needs=1.1
			approve 1
			- merge #1.1 gate [1,1]
			patchset 1
			- forget #1 gate
			- report gate 1,1 dequeue
			approve 1
			- merge #2.1 gate [1,2]
			approve 2
			- report gate 2,1 refusal
			queue gate: 1
		`},
		{"a failing parent keeps its child waiting; when the parent is reported the child leaves", `
			change 1
			change 2
			change 3 needs=2.1
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
			queue gate: 1 2:failed 3:failed
			pass #1
			- report gate 1,1 success Verified+2
			- submit #1.1 gate 1,1 expect p=t0p
			submitted #1
			- forget #1 gate
			- report gate 2,1 failure Verified-2
			- forget #2 gate
			- forget #3 gate
			- report gate 3,1 dequeue
			queue gate:
		`},
		{"a new patchset of a parent in the queue dequeues its children", `
			change 1
			change 2 needs=1.1
			approve 1
			- merge #1.1 gate [1,1]
			approve 2
			patchset 1
			- forget #1 gate
			- report gate 1,1 dequeue
			- forget #2 gate
			- report gate 2,1 dequeue
		`},
		{"Depends-On within a shared queue: both projects are in the speculative state", `
			change 1 project=q
			change 2 project=p needs=1
			approve 2
			- report gate 2,1 refusal
			approve 1
			- merge #1.1 gate [1,1]
			queue gate: 1 2
			merge #1
			- build #1.1 gate [1,1]
			- merge #2.1 gate [1,1 2,1] on q=t0q
			merge #2
			- build #2.1 gate [1,1 2,1]
			pass #1
			- report gate 1,1 success Verified+2
			- submit #1.1 gate 1,1 expect q=t0q
			submitted #1
			- forget #1 gate
			pass #2
			- report gate 2,1 success Verified+2
			- submit #2.1 gate 2,1 expect p=t0p,q=h1.1
		`},
		{"Depends-On across independent queues keeps the change out until the dependency merges", `
			change 1 project=r
			change 2 project=p needs=1
			approve 1
			- merge #1.1 gate [1,1]
			approve 2
			- report gate 2,1 refusal
			queue gate: 1
			merge #1
			- build #1.1 gate [1,1]
			pass #1
			- report gate 1,1 success Verified+2
			- submit #1.1 gate 1,1 expect r=t0r
			submitted #1
			- forget #1 gate
			outside 1
			- merge #2.1 gate [2,1]
			queue gate: 2
		`},
		{"a dependency cycle is refused with a report", `
			change 1 needs=2
			change 2 needs=1
			vote 1 Code-Review=2
			vote 1 Workflow=1
			- report gate 1,1 refusal
			approve 2
			- report gate 2,1 refusal
			queue gate:
		`},
		{"a change depending on an abandoned change is refused", `
			change 1
			change 2 needs=1
			abandon 1
			approve 2
			- report gate 2,1 refusal
		`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			newHarness(t, gateOnly()).run(tc.script)
		})
	}
}

// The refusal reports say why, in words the change owner can act on.
func TestRefusalMessages(t *testing.T) {
	for _, tc := range []struct{ name, setup, want string }{
		{"another queue", "change 1 project=r\nchange 2 project=p needs=1\napprove 1", "not merged and is in another change queue"},
		{"cycle", "change 1 needs=2\nchange 2 needs=1\nvote 1 Code-Review=2\nvote 1 Workflow=1", "dependency cycle (changes 1 and 2), and its change queue integrated does not allow circular dependencies"},
		{"outdated", "change 1\nchange 2 needs=1.1\npatchset 1", "outdated (patchset 2 is current): rebase it"},
		{"unapproved", "change 1\nchange 2 needs=1", "missing the required approvals Code-Review +2 and Workflow +1"},
		{"unknown", "change 2 needs=9", "gated does not know"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, gateOnly())
			for _, l := range strings.Split(tc.setup, "\n") {
				h.do(l)
			}
			var msg string
			for _, a := range h.do("approve 2") {
				if r, ok := a.(Report); ok && r.Kind == ReportRefusal {
					msg = r.Message
				}
			}
			if !strings.Contains(msg, tc.want) {
				t.Fatalf("refusal %q does not contain %q", msg, tc.want)
			}
		})
	}
}
