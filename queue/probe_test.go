package queue

import "testing"

// probing is the gate with a window of one item, probes for the next two
// and one retry.
func probing() Config {
	c := gateOnly()
	c.Pipelines[0].Window = WindowConfig{Size: 1, Floor: 1, Ceiling: 1, IncreaseType: "linear", IncreaseFactor: 1, DecreaseType: "linear", DecreaseFactor: 1}
	c.Pipelines[0].Probe = 2
	c.Pipelines[0].Retries = 1
	return c
}

// Table tests of probes: items beyond the window are built alone on the
// branch tip; see probe.go.
func TestProbe(t *testing.T) {
	for _, tc := range []struct{ name, script string }{
		{"items beyond the window are built alone on the tip; a passed probe clears them and they wait", `
			change 1
			change 2
			change 3
			change 4
			approve 1
			- merge #1.1 gate [1,1]
			approve 2
			- merge #2.1 gate [2,1]
			approve 3
			- merge #3.1 gate [3,1]
			approve 4
			merge #2
			- build #2.1 gate [2,1]
			pass #2
			queue gate: 1 2 3 4
			merge #1
			- build #1.1 gate [1,1]
			pass #1
			- report gate 1,1 success Verified+2
			- submit #1.1 gate 1,1 expect p=t0p
			submitted #1
			- forget #1 gate
			- merge #2.2 gate [2,1]
			- merge #4.1 gate [4,1]
			merge #2
			- build #2.2 gate [2,1]
		`},
		{"a probe that fails twice fails the item; the items behind skip it; it is reported at the head", `
			change 1
			change 2
			change 3
			approve 1
			- merge #1.1 gate [1,1]
			approve 2
			- merge #2.1 gate [2,1]
			approve 3
			- merge #3.1 gate [3,1]
			merge #2
			- build #2.1 gate [2,1]
			fail #2
			- build #2.2 gate [2,1]
			fail #2
			queue gate: 1 2:failed 3^1
			merge #1
			- build #1.1 gate [1,1]
			pass #1
			- report gate 1,1 success Verified+2
			- submit #1.1 gate 1,1 expect p=t0p
			submitted #1
			- forget #1 gate
			- report gate 2,1 failure Verified-2
			- forget #2 gate
			queue gate: 3
		`},
		{"a failure ahead does not void a failed probe", `
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
			merge #1
			- build #1.1 gate [1,1]
			fail #1
			- build #1.2 gate [1,1]
			fail #1
			- report gate 1,1 failure Verified-2
			- forget #1 gate
			- report gate 2,1 failure Verified-2
			- forget #2 gate
		`},
		{"an item that enters the window waits for its probe, and the items behind it wait too", `
			change 1
			change 2
			change 3
			approve 1
			- merge #1.1 gate [1,1]
			approve 2
			- merge #2.1 gate [2,1]
			merge #1
			- build #1.1 gate [1,1]
			pass #1
			- report gate 1,1 success Verified+2
			- submit #1.1 gate 1,1 expect p=t0p
			submitted #1
			- forget #1 gate
			approve 3
			- merge #3.1 gate [3,1]
			merge #2
			- build #2.1 gate [2,1]
			pass #2
			- merge #2.2 gate [2,1]
			merge #2
			- build #2.2 gate [2,1]
		`},
		{"a probe is not voided by the branch moving or by a failure ahead: nothing is cancelled", `
			change 1
			change 2
			approve 1
			- merge #1.1 gate [1,1]
			approve 2
			- merge #2.1 gate [2,1]
			merge #2
			- build #2.1 gate [2,1]
			push p
			merge #1
			- build #1.1 gate [1,1]
		`},
		{"an item that needs a change ahead of it in the queue is not probed", `
			change 1
			change 2 needs=1
			approve 1
			- merge #1.1 gate [1,1]
			approve 2
			queue gate: 1 2
		`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			newHarness(t, probing()).run(tc.script)
		})
	}
}

// groupProbing is probing with two items per probe and room for four.
func groupProbing() Config {
	c := probing()
	c.Pipelines[0].Probe = 4
	c.Pipelines[0].ProbeGroup = 2
	return c
}

// Table tests of group probes; see probe.go.
func TestProbeGroup(t *testing.T) {
	// Items 2 and 3 are next to the window, so they are probed at once
	// (alone: nothing else waits); 4 and 5 make a group.
	const start = `
		change 1
		change 2
		change 3
		change 4
		change 5
		change 6
		approve 1
		- merge #1.1 gate [1,1]
		approve 2
		- merge #2.1 gate [2,1]
		approve 3
		- merge #3.1 gate [3,1]
		approve 4
		approve 5
		- merge #5.1 gate [4,1 5,1]
	`
	for _, tc := range []struct{ name, script string }{
		{"a group waits until it is full, is built on the tip, and clears every change in it", start + `
			merge #5
			- build #5.1 gate [4,1 5,1]
			pass #5
			cleared gate: 4 5
			queue gate: 1 2 3 4 5
		`},
		{"a failed group is not retried: each of its items is probed alone, and its own probe decides", start + `
			merge #5
			- build #5.1 gate [4,1 5,1]
			fail #5
			- merge #4.1 gate [4,1]
			- merge #5.2 gate [5,1]
			merge #4
			- build #4.1 gate [4,1]
			merge #5
			- build #5.2 gate [5,1]
			// a suspect's probe is not retried: the group's failure counted
			fail #4
			pass #5
			queue gate: 1 2 3 4:failed 5^3
			cleared gate: 5
		`},
		{"a group that does not merge is split the same way", start + `
			conflict #5 5
			- merge #4.1 gate [4,1]
			- merge #5.2 gate [5,1]
		`},
		{"the changes of a group still queued are cleared when one of them left", start + `
			merge #5
			- build #5.1 gate [4,1 5,1]
			abandon 4
			- forget #4 gate
			- report gate 4,1 dequeue
			pass #5
			cleared gate: 5
			// 6 waits for a second change to probe with
			approve 6
			queue gate: 1 2 3 5 6
		`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			newHarness(t, groupProbing()).run(tc.script)
		})
	}
}
