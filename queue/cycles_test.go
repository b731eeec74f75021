package queue

import (
	"strings"
	"testing"
)

// cyclesConfig is gateOnly whose shared queue "integrated" (projects p
// and q) allows circular dependencies.
func cyclesConfig() Config {
	c := gateOnly()
	c.Queues = []QueueConfig{{Name: "integrated", AllowCircularDependencies: true}}
	return c
}

// approvedCycle starts most scripts below: changes 1 (project p) and 2
// (project q) need each other; once both are approved they enter as one
// bundle. builtCycle: then its state is merged and its two builds start.
// passedCycle: then both pass, and its first change is submitted.
const (
	approvedCycle = `
			change 1 project=p needs=2
			change 2 project=q needs=1
			approve 1
			- report gate 1,1 refusal
			approve 2
			- merge #1.1 gate [1,1 2,1]`
	builtCycle = approvedCycle + `
			merge #1
			- build #1.1 gate [1,1 2,1]
			- build #1.1/1 q gate [1,1 2,1]`
	passedCycle = builtCycle + `
			pass #1
			pass #1/1
			- report gate 1,1 success Verified+2
			- report gate 2,1 success Verified+2
			- submit #1.1 gate 1,1 expect p=t0p,q=t0q with 2,1`
)

// Table tests of dependency cycles: bundles (bundle.go).
func TestGateCycles(t *testing.T) {
	for _, tc := range []struct {
		name   string
		config func() Config
		script string
	}{
		{"a Depends-On cycle across two projects enters as one bundle once both are approved, is built once per project, and is submitted change by change", cyclesConfig, `
			change 1 project=p needs=2
			change 2 project=q needs=1
			approve 1
			- report gate 1,1 refusal
			queue gate:
			approve 2
			- merge #1.1 gate [1,1 2,1]
			queue gate: 1+2
			merge #1
			- build #1.1 gate [1,1 2,1]
			- build #1.1/1 q gate [1,1 2,1]
			pass #1
			queue gate: 1+2
			pass #1/1
			- report gate 1,1 success Verified+2
			- report gate 2,1 success Verified+2
			- submit #1.1 gate 1,1 expect p=t0p,q=t0q with 2,1
			submitted #1
			- submit #1.1 gate 2,1 expect p=t1,q=t0q
			queue gate: 2:submitting
			submitted #1
			- forget #1 gate
			queue gate:
			facts: finished #1.1 gate [1,1 2,1] success; finished #1.1 gate [1,1 2,1] success; merged #1 gate 1,1 after 4s; merged #1 gate 2,1 after 5s
		`},
		{"a relation chain with a Depends-On back is one bundle, parent first, built once for its one project", cyclesConfig, `
			change 1 project=p needs=2
			change 2 project=p needs=1.1
			approve 2
			- report gate 2,1 refusal
			approve 1
			- merge #1.1 gate [1,1 2,1]
			merge #1
			- build #1.1 gate [1,1 2,1]
			pass #1
			- report gate 1,1 success Verified+2
			- report gate 2,1 success Verified+2
			- submit #1.1 gate 1,1 expect p=t0p with 2,1
		`},
		{"a failing part fails the bundle: every change is told, the other part is cancelled, and the items behind are rebuilt without it", cyclesConfig, `
			change 1 project=p needs=2
			change 2 project=q needs=1
			change 3 project=p
			approve 1
			- report gate 1,1 refusal
			approve 2
			- merge #1.1 gate [1,1 2,1]
			approve 3
			merge #1
			- build #1.1 gate [1,1 2,1]
			- build #1.1/1 q gate [1,1 2,1]
			- merge #2.1 gate [1,1 2,1 3,1] on p=t0p,q=t0q
			merge #2
			- build #2.1 gate [1,1 2,1 3,1]
			fail #1/1
			- cancel #1.1 gate
			- report gate 1,1 failure Verified-2
			- report gate 2,1 failure Verified-2
			- cancel #2.1 gate
			- forget #1 gate
			- merge #2.2 gate [3,1]
			queue gate: 3
		`},
		{"a new patchset on a change of a bundle that builds takes the whole bundle out, with a report on each", cyclesConfig, builtCycle + `
			patchset 2
			- cancel #1.1 gate
			- cancel #1.1/1 gate
			- forget #1 gate
			- report gate 1,1 dequeue
			- report gate 2,1 dequeue
			queue gate:
		`},
		{"an abandon or a removed vote on a change of a bundle takes it out too", cyclesConfig, `
			change 1 project=p needs=2
			change 2 project=q needs=1
			change 3 project=p needs=4
			change 4 project=q needs=3
			approve 1
			- report gate 1,1 refusal
			approve 2
			- merge #1.1 gate [1,1 2,1]
			approve 3
			- report gate 3,1 refusal
			approve 4
			queue gate: 1+2 3+4
			abandon 1
			- forget #1 gate
			- report gate 1,1 dequeue
			- report gate 2,1 dequeue
			- merge #2.1 gate [3,1 4,1]
			unapprove 4
			- forget #2 gate
			- report gate 3,1 dequeue
			- report gate 4,1 dequeue
		`},
		{"a stale submit in the middle of a bundle rebuilds what is not merged yet; Gerrit refusing the next submit fails it", cyclesConfig, passedCycle + `
			submitted #1
			- submit #1.1 gate 2,1 expect p=t1,q=t0q
			stale #1
			- merge #1.2 gate [2,1]
			queue gate: 2
			merge #1
			- build #1.2 gate [2,1]
			pass #1
			- report gate 2,1 success Verified+2
			- submit #1.2 gate 2,1 expect q=t2
			refused #1
			- report gate 1,1 failure Verified-2
			- report gate 2,1 failure Verified-2
			- forget #1 gate
		`},
		{"a submit that merged the whole bundle (submitWholeTopic): the next submit finds its change merged", cyclesConfig, passedCycle + `
			submitted #1 all
			- submit #1.1 gate 2,1 expect p=t1,q=t2
			submitted #1
			- forget #1 gate
		`},
		{"a crash between two submits of a bundle: the restored engine finishes it", cyclesConfig, passedCycle + `
			submitted #1
			- submit #1.1 gate 2,1 expect p=t1,q=t0q
			restart
			// A late repeat of the answer for 1 changes nothing; the outbox
			// replays the submit of 2, whose answer comes now.
			submitted #1 1
			queue gate: 2:submitting
			submitted #1
			- forget #1 gate
		`},
		{"with Gerrit's submitWholeTopic, a topic is one cycle", cyclesConfig, `
			serverinfo on
			change 1 project=p topic=t
			change 2 project=q topic=t
			approve 1
			- report gate 1,1 refusal
			approve 2
			- merge #1.1 gate [1,1 2,1]
			queue gate: 1+2
		`},
		{"without it, a topic means nothing", cyclesConfig, `
			change 1 project=p topic=t
			change 2 project=q topic=t
			approve 1
			- merge #1.1 gate [1,1]
			approve 2
			queue gate: 1 2
		`},
		{"with submitWholeTopic and no queue allowing cycles, a topic's changes are refused, never merged untested together", gateOnly, `
			serverinfo on
			change 1 project=p topic=t
			change 2 project=q topic=t
			approve 1
			- report gate 1,1 refusal
			approve 2
			- report gate 2,1 refusal
			queue gate:
		`},
		{"a change that joins the topic of an item takes it out; the cycle enters again as one", cyclesConfig, `
			serverinfo on
			change 1 project=p topic=t
			approve 1
			- merge #1.1 gate [1,1]
			change 2 project=q topic=t
			approve 2
			- forget #1 gate
			- report gate 1,1 dequeue
			- merge #2.1 gate [1,1 2,1]
			queue gate: 1+2
		`},
		{"a change joining the topic without approval takes the item out, and the cycle waits for it", cyclesConfig, `
			serverinfo on
			change 1 project=p topic=t
			approve 1
			- merge #1.1 gate [1,1]
			change 2 project=q topic=t
			vote 2 Code-Review=1
			- forget #1 gate
			- report gate 1,1 dequeue
			- report gate 1,1 refusal
			queue gate:
		`},
		{"a lost part builds every part again, without counting a try", cyclesConfig, builtCycle + `
			pass #1
			lost #1.1/1
			- build #1.2 gate [1,1 2,1]
			- build #1.2/1 q gate [1,1 2,1]
			started gate 1.1
			- cancel #1.1 gate
			listed gate:1.2
			- cancel #1.2 gate
			- build #1.3 gate [1,1 2,1]
			- build #1.3/1 q gate [1,1 2,1]
		`},
		{"an administrator dequeueing a change of a bundle takes the bundle out", cyclesConfig, approvedCycle + `
			dequeue 2
			- forget #1 gate
			- report gate 1,1 dequeue
			- report gate 2,1 dequeue
		`},
		{"a dequeued bundle stays out on a reconcile; an administrator's enqueue of its other change brings the whole cycle in", cyclesConfig, approvedCycle + `
			dequeue 2
			- forget #1 gate
			- report gate 1,1 dequeue
			- report gate 2,1 dequeue
			reconcile 1
			- report gate 1,1 refusal
			reconcile 2
			queue gate:
			enqueue 1
			- report gate 1,1 admin
			- report gate 2,1 admin
			- merge #2.1 gate [1,1 2,1]
			queue gate: 1+2
		`},
		{"a change needing a change of a bundle follows it in, and leaves with it", cyclesConfig, `
			change 1 project=p needs=2
			change 2 project=q needs=1
			change 3 project=p needs=2
			approve 3
			- report gate 3,1 refusal
			approve 1
			- report gate 1,1 refusal
			approve 2
			- merge #1.1 gate [1,1 2,1]
			queue gate: 1+2 3
			abandon 2
			- forget #1 gate
			- report gate 1,1 dequeue
			- report gate 2,1 dequeue
			- forget #2 gate
			- report gate 3,1 dequeue
		`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			newHarness(t, tc.config()).run(tc.script)
		})
	}
}

// The reports on a bundle say what it is, and refusals name the cycle.
func TestCycleMessages(t *testing.T) {
	for _, tc := range []struct {
		name   string
		config func() Config
		script string
		change int
		want   string
	}{
		{"refused without allow-circular-dependencies", gateOnly, "change 1 needs=2\nchange 2 needs=1\nvote 1 Code-Review=2\nvote 1 Workflow=1\napprove 2", 2,
			"it is part of a dependency cycle (changes 1 and 2), and its change queue integrated does not allow circular dependencies (allow-circular-dependencies)"},
		{"refused by a project without a named queue", gateOnly, "change 1 project=r needs=2\nchange 2 project=r needs=1\napprove 2", 2,
			"its change queue r does not allow circular dependencies"},
		{"waiting for a sibling's approval", cyclesConfig, "change 1 needs=2\nchange 2 needs=1\napprove 2", 2,
			"it is part of a dependency cycle (changes 1 and 2), which enters the gate pipeline as one once every change in it may: change 1 is missing the required approvals Code-Review +2 and Workflow +1"},
		{"across change queues", cyclesConfig, "change 1 project=p needs=2\nchange 2 project=r needs=1\napprove 2", 2,
			"change 2 of it is in another change queue (r@master, not integrated@master)"},
		{"submitWholeTopic", gateOnly, "serverinfo on\nchange 1 topic=feature\nchange 2 topic=feature project=q\napprove 2", 2,
			`Gerrit submits the changes of topic "feature" together (change.submitWholeTopic), which makes changes 1 and 2 one dependency cycle, and its change queue integrated does not allow circular dependencies`},
		{"failure of a bundle", cyclesConfig, "change 1 needs=2\nchange 2 needs=1 project=q\napprove 1\napprove 2\nmerge #1\nfail #1", 2,
			"build failed in the gate pipeline. the build of p failed. step test failed\n\nThis change is part of a dependency cycle with change 1: they are tested and submitted together."},
		{"a dequeue said of another change", cyclesConfig, "change 1 needs=2\nchange 2 needs=1 project=q\napprove 1\napprove 2\nabandon 1", 2,
			"left the gate pipeline with its dependency cycle: change 1 was abandoned."},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, tc.config())
			var msgs []string
			for _, l := range strings.Split(tc.script, "\n") {
				for _, a := range h.do(l) {
					if r, ok := a.(Report); ok && r.Change.Number == tc.change {
						msgs = append(msgs, r.Message)
					}
				}
			}
			if len(msgs) == 0 || !strings.Contains(msgs[len(msgs)-1], tc.want) {
				t.Fatalf("reports on change %d: %q\nwant the last to contain %q", tc.change, msgs, tc.want)
			}
		})
	}
}

func TestQueuesConfig(t *testing.T) {
	for _, tc := range []struct {
		name   string
		queues []QueueConfig
		want   string
	}{
		{"duplicate", []QueueConfig{{Name: "integrated"}, {Name: "integrated"}}, `queues[1].name: queue "integrated" is defined twice`},
		{"unnamed", []QueueConfig{{}}, "queues[0].name: must not be empty"},
		{"topics without cycles", []QueueConfig{{Name: "x", DependenciesByTopic: true}}, "queues[0].dependencies_by_topic: makes the changes of a topic a dependency cycle, so it needs allow_circular_dependencies"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := gateOnly()
			c.Queues = tc.queues
			if err := c.Validate(); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Validate: %v, want %q", err, tc.want)
			}
		})
	}
}
