package queue

import "testing"

// Table tests of the independent (check) pipeline, and of check and gate
// together.
func TestCheck(t *testing.T) {
	for _, tc := range []struct{ name, script string }{
		{"a new patchset is tested alone on the branch tip and reported Verified ±1", `
			change 1
			patchset 1
			- merge #1.1 check [1,2]
			merge #1
			- build #1.1 check [1,2]
			pass #1
			- report check 1,2 success Verified+1
			- forget #1 check
			patchset 1
			- merge #2.1 check [1,3]
			merge #2
			- build #2.1 check [1,3]
			fail #2
			- report check 1,3 failure Verified-1
			- forget #2 check
		`},
		{"changes are tested independently: one failing does not touch another", `
			change 1
			change 2
			patchset 1
			- merge #1.1 check [1,2]
			patchset 2
			- merge #2.1 check [2,2]
			merge #1
			- build #1.1 check [1,2]
			merge #2
			- build #2.1 check [2,2]
			fail #1
			- report check 1,2 failure Verified-1
			- forget #1 check
			queue check: 2
		`},
		{"a new patchset replaces the one being tested", `
			change 1
			patchset 1
			- merge #1.1 check [1,2]
			merge #1
			- build #1.1 check [1,2]
			patchset 1
			- cancel #1.1 check
			- forget #1 check
			- report check 1,2 dequeue
			- merge #2.1 check [1,3]
		`},
		{"recheck runs the check again; a change already being checked is not enqueued twice", `
			change 1
			recheck 1
			- merge #1.1 check [1,1]
			recheck 1
			queue check: 1
		`},
		{"Depends-On targets are merged ahead of the change in its check", `
			change 1 project=r
			change 2 project=p needs=1
			recheck 2
			- merge #1.1 check [1,1 2,1]
		`},
		{"an abandoned change leaves check; a restored one is checked again", `
			change 1
			recheck 1
			- merge #1.1 check [1,1]
			abandon 1
			- forget #1 check
			- report check 1,1 dequeue
			restore 1
			- merge #2.1 check [1,1]
		`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			newHarness(t, testConfig()).run(tc.script)
		})
	}
}

func TestCheckAndGateAtOnce(t *testing.T) {
	newHarness(t, testConfig()).run(`
		change 1
		recheck 1
		- merge #1.1 check [1,1]
		approve 1
		- merge #2.1 gate [1,1]
		merge #1
		- build #1.1 check [1,1]
		merge #2
		- build #2.1 gate [1,1]
		fail #1
		- report check 1,1 failure Verified-1
		- forget #1 check
		queue gate: 1
		pass #2
		- report gate 1,1 success Verified+2
		- submit #2.1 gate 1,1 expect p=t0p
	`)
}

// After a gate failure gated voted Verified -2, which keeps the change out
// of the gate; a recheck that passes votes Verified +1, and that vote by
// gated on an approved change enqueues it again, as in OpenStack.
func TestRecheckAfterGateFailure(t *testing.T) {
	newHarness(t, testConfig()).run(`
		change 1
		approve 1
		- merge #1.1 gate [1,1]
		merge #1
		- build #1.1 gate [1,1]
		fail #1
		- report gate 1,1 failure Verified-2
		- forget #1 gate
		vote 1 Verified=-2 gated
		approve 1
		recheck 1
		- merge #2.1 check [1,1]
		merge #2
		- build #2.1 check [1,1]
		pass #2
		- report check 1,1 success Verified+1
		- forget #2 check
		vote 1 Verified=1 gated
		- merge #3.1 gate [1,1]
	`)
}

func TestRetries(t *testing.T) {
	t.Run("an infrastructure error is retried on the same state, twice", func(t *testing.T) {
		newHarness(t, gateOnly()).run(`
			change 1
			change 2
			approve 1
			- merge #1.1 gate [1,1]
			approve 2
			merge #1
			- build #1.1 gate [1,1]
			- merge #2.1 gate [1,1 2,1] on p=t0p
			error #1
			- build #1.2 gate [1,1]
			error #1
			- build #1.3 gate [1,1]
			error #1
			- report gate 1,1 failure Verified-2
			- forget #1 gate
			- merge #2.2 gate [2,1]
		`)
	})
	t.Run("a lost build runs again without counting as a try", func(t *testing.T) {
		newHarness(t, gateOnly()).run(`
			change 1
			approve 1
			- merge #1.1 gate [1,1]
			merge #1
			- build #1.1 gate [1,1]
			lost #1
			- build #1.2 gate [1,1]
			lost #1
			- build #1.3 gate [1,1]
			lost #1
			- build #1.4 gate [1,1]
			error #1
			- build #1.5 gate [1,1]
			error #1
			- build #1.6 gate [1,1]
			error #1
			- report gate 1,1 failure Verified-2
			- forget #1 gate
		`)
	})
	t.Run("with retries: 1 a failed build runs once more before the queue resets", func(t *testing.T) {
		cfg := gateOnly()
		cfg.Pipelines[0].Retries = 1
		newHarness(t, cfg).run(`
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
			- build #1.2 gate [1,1]
			pass #1
			- report gate 1,1 success Verified+2
			- submit #1.2 gate 1,1 expect p=t0p
		`)
	})
}
