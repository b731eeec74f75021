package queue

import (
	"reflect"
	"strings"
	"testing"
)

// Table tests of a new configuration given to a running engine.
func TestReconfigure(t *testing.T) {
	withPost := testConfig()
	withPost.Pipelines = append(withPost.Pipelines, PipelineConfig{Name: "post", Manager: Supercedent, Triggers: []Trigger{{Event: "ref-updated"}}})
	delete(withPost.Projects, "r")
	gateOnly := gateOnly()
	supercedentCheck := testConfig()
	supercedentCheck.Pipelines[0].Manager = Supercedent
	for _, tc := range []struct{ name, script string }{
		{"a pipeline added and a project removed while items are queued: the project's items leave with the reason, the others stay", `
			change 1
			change 2 project=r
			approve 1
			- merge #1.1 gate [1,1]
			approve 2
			- merge #2.1 gate [2,1]
			merge #1
			- build #1.1 gate [1,1]
			reconfigure post
			- forget #2 gate
			- report gate 2,1 dequeue
			queue gate: 1
			queue post:
			refupdate q t1
			- checkout #3.1 post q refs/heads/master@t1
			pass #1
			- report gate 1,1 success Verified+2
			- submit #1.1 gate 1,1 expect p=t0p
		`},
		{"a pipeline removed: its items leave with the reason; it is gone", `
			change 1
			change 2
			recheck 1
			- merge #1.1 check [1,1]
			approve 2
			- merge #2.1 gate [2,1]
			merge #1
			- build #1.1 check [1,1]
			reconfigure gateonly
			- cancel #1.1 check
			- forget #1 check
			- report check 1,1 dequeue
			queue gate: 2
		`},
		{"a pipeline whose manager changed starts empty", `
			change 1
			recheck 1
			- merge #1.1 check [1,1]
			reconfigure supercedent
			- forget #1 check
			- report check 1,1 dequeue
			recheck 1
			- merge #2.1 check [1,1]
		`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, testConfig())
			h.configs["post"] = withPost
			h.configs["gateonly"] = gateOnly
			h.configs["supercedent"] = supercedentCheck
			h.run(tc.script)
		})
	}
}

// The report says why the item left; the parts of a removed pipeline are
// deleted, so the stored state is the state.
func TestReconfigureReportsAndParts(t *testing.T) {
	h := newHarness(t, testConfig())
	h.configs["gateonly"] = gateOnly()
	h.run(`
		change 1
		change 2 project=r
		recheck 1
		- merge #1.1 check [1,1]
		recheck 2
		- merge #2.1 check [2,1]
	`)
	h.ready()
	if _, ok := h.stored[QueuePart("check", "integrated@master")]; !ok {
		t.Fatalf("no part of check's queue stored: %q", h.stored)
	}
	var msgs []string
	for _, a := range h.do("reconfigure gateonly") {
		if r, ok := a.(Report); ok {
			msgs = append(msgs, r.Message)
		}
	}
	if want := "gated: this change left the check pipeline: the check pipeline was removed from gated's configuration."; len(msgs) != 2 || msgs[0] != want {
		t.Fatalf("reports %q, want two of %q", msgs, want)
	}
	h.ready()
	for k := range h.stored {
		if strings.Contains(k, "\x00check\x00") {
			t.Errorf("part %q of the removed pipeline is still stored", k)
		}
	}
	e, err := RestoreParts(gateOnly(), h.stored)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(e.st, h.e.st) {
		t.Fatalf("restored %+v, want %+v", e.st, h.e.st)
	}
}
