package queue

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

// Table tests of explanations (explain.go): where a change stands in each
// pipeline and what it waits for, or why it is not there.
func TestExplainInPipeline(t *testing.T) {
	for _, tc := range []struct {
		name   string
		config func() Config
		script string
	}{
		{"waiting for a merge, a build, the item ahead", gateOnly, `
			change 1
			change 2
			approve 1
			- merge #1.1 gate [1,1]
			approve 2
			explain 1 gate: In the gate pipeline, at position 1 of 2 in change queue integrated@master: the merger is building its speculative state, 1,1.
			explain 2 gate: In the gate pipeline, at position 2 of 2 in change queue integrated@master: it waits for the item ahead, change 1, whose speculative state is not merged yet.
			mentions 2 gate: 1
			merge #1
			- build #1.1 gate [1,1]
			- merge #2.1 gate [1,1 2,1] on p=t0p
			merge #2
			- build #2.1 gate [1,1 2,1]
			started gate 2.1
			explain 2 gate: In the gate pipeline, at position 2 of 2 in change queue integrated@master: its build b runs on its speculative state, 1,1 + 2,1.
			pass #2
			explain 2 gate: In the gate pipeline, at position 2 of 2 in change queue integrated@master: its build passed; it merges once the items ahead of it (change 1) have merged.
			pass #1
			- report gate 1,1 success Verified+2
			- submit #1.1 gate 1,1 expect p=t0p
			explain 1 gate: In the gate pipeline, at position 1 of 2 in change queue integrated@master: its build passed, and gated is submitting it to Gerrit.
		`},
		{"a failure waits for the items ahead; a change that needs it waits for its outcome", gateOnly, `
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
			fail #2
			explain 2 gate: In the gate pipeline, at position 2 of 3 in change queue integrated@master: it failed (step test failed); this is reported when the items ahead of it (change 1) have merged or left, since a failure ahead would void it.
			explain 3 gate: In the gate pipeline, at position 3 of 3 in change queue integrated@master: it waits: change 2, which it depends on, is failing; it is built again if that recovers, and leaves if it is reported.
			mentions 3 gate: 2
		`},
		{"beyond the window: waiting for the window, for its probe", probing, `
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
			explain 2 gate: In the gate pipeline, at position 2 of 4 in change queue integrated@master: beyond the window of 1, it waits for its probe: the change is being merged alone on the branch tip.
			explain 4 gate: In the gate pipeline, at position 4 of 4 in change queue integrated@master: it waits for the window: only the first 1 items are built.
		`},
		{"in the window: waiting for its own probe, or for the probe of the item ahead", func() Config {
			c := probing()
			c.Pipelines[0].Window.Ceiling = 2
			return c
		}, `
			change 1
			change 2
			change 3 needs=2
			approve 1
			- merge #1.1 gate [1,1]
			approve 2
			- merge #2.1 gate [2,1]
			// 3 needs 2, ahead of it: it is not probed.
			approve 3
			merge #2
			- build #2.1 gate [2,1]
			merge #1
			- build #1.1 gate [1,1]
			pass #1
			- report gate 1,1 success Verified+2
			- submit #1.1 gate 1,1 expect p=t0p
			submitted #1
			- forget #1 gate
			explain 2 gate: In the gate pipeline, at position 1 of 2 in change queue integrated@master: it entered the window while its probe runs, and is built on the state ahead once the probe ends: the change is being built alone on the branch tip.
			explain 3 gate: In the gate pipeline, at position 2 of 2 in change queue integrated@master: it waits for the item ahead, change 2, whose probe must end before it is built in the window.
		`},
		{"post and promote: a ref update a submit made, a merged change, the newest waiting behind the head", lifecycleConfig, `
			change 1
			change 2
			change 3
			approve 1
			- merge #1.1 gate [1,1]
			merge #1
			- build #1.1 gate [1,1]
			pass #1
			- report gate 1,1 success Verified+2
			- submit #1.1 gate 1,1 expect p=t0p
			submitted #1
			- forget #1 gate
			refupdate p t1
			- checkout #2.1 post p refs/heads/master@t1
			explain 1 post: In the post pipeline, at position 1 of 1 in queue p@master: the merger is checking out refs/heads/master at t1, which this change's submit made.
			outside 2 T2
			- checkout #3.1 promote p refs/heads/master@T2
			checkout #3
			- build #3.1 promote [2,1]
			explain 2 promote: In the promote pipeline, at position 1 of 1 in queue p@master: its build runs on the commit its merge made.
			outside 3 T3
			explain 3 promote: In the promote pipeline, at position 2 of 2 in queue p@master: it waits for the build at the head of its queue to end (only the head builds); a newer item would replace it.
			mentions 3 promote: 2
		`},
		{"an independent pipeline tests each change alone", testConfig, `
			change 1
			change 2 needs=1
			recheck 2
			- merge #1.1 check [1,1 2,1]
			explain 2 check: In the check pipeline, tested on the tip of master: the merger is building its state, 1,1 + 2,1.
			mentions 2 check: 1
		`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			newHarness(t, tc.config()).run(tc.script)
		})
	}
}

func TestExplainNotInPipeline(t *testing.T) {
	for _, tc := range []struct {
		name   string
		config func() Config
		script string
	}{
		{"missing and rejecting votes, by label; work in progress; closed", testConfig, `
			change 1
			explain 1 gate: This change cannot enter the gate pipeline: it is missing the required approvals Code-Review +2 and Workflow +1.
			explain 1 check: This change is not in the check pipeline, and may enter it: it enters when one of the pipeline's triggers fires (patchset-created; change-restored; comment-added with a "recheck" comment).
			vote 1 Code-Review=2
			vote 1 Verified=-2 ci
			explain 1 gate: This change cannot enter the gate pipeline: it is missing the required approval Workflow +1, and it has the rejecting vote Verified-2 by ci.
			wip 1
			explain 1 gate: This change cannot enter the gate pipeline: the change is work in progress.
			abandon 1
			explain 1 gate: This change cannot enter the gate pipeline: the change is abandoned.
			explain 1 check: This change cannot enter the check pipeline: the change is abandoned.
		`},
		{"a needed change that is unapproved, outdated, abandoned, in another queue, unknown", gateOnly, `
			change 1
			change 2 needs=1.1
			approve 2
			- report gate 2,1 refusal
			explain 2 gate: This change cannot enter the gate pipeline: it depends on change 1, which cannot enter the gate pipeline: is missing the required approvals Code-Review +2 and Workflow +1.
			mentions 2 gate: 1
			patchset 1
			explain 2 gate: This change cannot enter the gate pipeline: it depends on patchset 1 of change 1, which is outdated (patchset 2 is current): rebase it.
			abandon 1
			explain 2 gate: This change cannot enter the gate pipeline: it depends on change 1, which is abandoned.
			change 3 project=r
			change 4 needs=3
			approve 4
			- report gate 4,1 refusal
			explain 4 gate: This change cannot enter the gate pipeline: it depends on change 3, which is not merged and is in another change queue (r@master, not integrated@master).
			mentions 4 gate: 3
			change 5 needs=9
			approve 5
			- report gate 5,1 refusal
			explain 5 gate: This change cannot enter the gate pipeline: it depends on change 9, which gated does not know (another project, or not visible).
			mentions 5 gate: 9
		`},
		{"a dependency cycle names every change in it", testConfig, `
			change 1 needs=3
			change 2 needs=1
			change 3 needs=2
			explain 2 gate: This change cannot enter the gate pipeline: it is missing the required approvals Code-Review +2 and Workflow +1.
			approve 1
			- report gate 1,1 refusal
			approve 3
			- report gate 3,1 refusal
			approve 2
			- report gate 2,1 refusal
			explain 2 gate: This change cannot enter the gate pipeline: it is part of a dependency cycle (changes 1, 2 and 3), and its change queue integrated does not allow circular dependencies (allow-circular-dependencies).
			mentions 2 gate: 1 3
			explain 2 check: This change cannot enter the check pipeline: it is part of a dependency cycle (changes 1, 2 and 3), and its change queue integrated does not allow circular dependencies (allow-circular-dependencies).
		`},
		{"a change of a project gated does not gate; a change Gerrit does not have", gateOnly, `
			change 1 project=elsewhere
			explain 1 gate: This change cannot enter the gate pipeline: gated does not gate the project of this change.
			explain 8 gate: This change is not in the gate pipeline: Gerrit has no change 8.
		`},
		{"a change an administrator dequeued is held out until approved anew", gateOnly, `
			change 1
			approve 1
			- merge #1.1 gate [1,1]
			dequeue 1
			- forget #1 gate
			- report gate 1,1 dequeue
			explain 1 gate: This change cannot enter the gate pipeline: dequeued by alice: testing; it enters again when triggered anew (approved again) or enqueued by an administrator.
			approve 1
			- merge #2.1 gate [1,1]
			explain 1 gate: In the gate pipeline, at position 1 of 1 in change queue integrated@master: the merger is building its speculative state, 1,1.
		`},
		{"an approval gated saw before the dequeue, read again after it, does not end the hold", gateOnly, `
			change 1
			approve 1
			- merge #1.1 gate [1,1]
			slow approve 1
			- refresh comment-added 1
			dequeue 1
			- forget #1 gate
			- report gate 1,1 dequeue
			refresh
			reconcile 1
			explain 1 gate: This change cannot enter the gate pipeline: dequeued by alice: testing; it enters again when triggered anew (approved again) or enqueued by an administrator.
			approve 1
			- merge #2.1 gate [1,1]
		`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			newHarness(t, tc.config()).run(tc.script)
		})
	}
}

// A long speculative state (an unlimited window) is named by its ends.
func TestExplainLongState(t *testing.T) {
	cfg := gateOnly()
	cfg.Pipelines[0].Window.Size = 0
	h := newHarness(t, cfg)
	for n := 1; n <= 12; n++ {
		h.do(fmt.Sprintf("change %d", n))
		h.do(fmt.Sprintf("approve %d", n))
		h.do(fmt.Sprintf("merge #%d", n))
	}
	x := h.e.Explain(12, h.event("", 12, nil, "", "").Changes)
	want := "In the gate pipeline, at position 12 of 12 in change queue integrated@master: its build runs on its speculative state, 1,1 + 2,1 + 3,1 + … (6 more) + 10,1 + 11,1 + 12,1."
	if pe := x.Pipelines[0]; pe.Text != want || fmt.Sprint(pe.Changes) != "[1 2 3 10 11]" {
		t.Fatalf("got  %s %v\nwant %s", pe.Text, pe.Changes, want)
	}
}

// An approved change that may enter the gate but is not in it (its event
// was missed) is told which triggers bring it in.
func TestExplainTriggers(t *testing.T) {
	h := newHarness(t, gateOnly())
	h.do("change 1")
	h.changes[1].Votes = []Vote{{Label: "Code-Review", Account: "core", Value: 2}, {Label: "Workflow", Account: "core", Value: 1}}
	got := h.e.Explain(1, h.event("", 1, nil, "", "").Changes).Text
	want := "This change is not in the gate pipeline, and may enter it: it enters when one of the pipeline's triggers fires (comment-added with Workflow +1; comment-added with Code-Review +2; gated's periodic reconcile with Gerrit; comment-added with Verified +1 by gated)."
	if got != want {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
}

// The refusal comment gated posts is the explanation's text for that
// pipeline, word for word, so the change's owner, the API and the CLI read
// the same thing.
func TestRefusalIsTheExplanation(t *testing.T) {
	for _, setup := range []string{
		"change 1 project=r\nchange 2 project=p needs=1",
		"change 1 needs=2\nchange 2 needs=1\nvote 1 Code-Review=2\nvote 1 Workflow=1",
		"change 1\nchange 2 needs=1.1\npatchset 1",
		"change 1\nchange 2 needs=1",
		"change 2 needs=9",
		"change 1\nchange 2 needs=1\nabandon 1",
		"change 1\napprove 1\ndequeue 1\nchange 2 needs=1.1",
	} {
		h := newHarness(t, gateOnly())
		for _, l := range strings.Split(setup, "\n") {
			h.do(l)
		}
		var msg string
		for _, a := range h.do("approve 2") {
			if r, ok := a.(Report); ok && r.Kind == ReportRefusal {
				msg = r.Message
			}
		}
		x := h.e.Explain(2, h.event("", 2, nil, "", "").Changes)
		if msg == "" || msg != "gated: "+x.Pipelines[0].Text {
			t.Fatalf("%s:\nrefusal     %q\nexplanation %q", setup, msg, x.Pipelines[0].Text)
		}
	}
}

// The explanation is JSON with one entry per pipeline, and its text is
// the entries' texts, one a line.
func TestExplanationJSON(t *testing.T) {
	h := newHarness(t, testConfig())
	h.run(`
		change 1
		change 2
		approve 1
		- merge #1.1 gate [1,1]
		approve 2
	`)
	x := h.e.Explain(2, h.event("", 2, nil, "", "").Changes)
	data, err := json.Marshal(x)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"change":2,"project":"p","branch":"master","patchset":1,"status":"NEW","pipelines":[` +
		`{"pipeline":"check","text":"This change is not in the check pipeline, and may enter it: it enters when one of the pipeline's triggers fires (patchset-created; change-restored; comment-added with a \"recheck\" comment)."},` +
		`{"pipeline":"gate","item":2,"queue":"integrated@master","position":2,"length":2,"window":20,"phase":"waiting","waits_for":"ahead","changes":[1],"text":"In the gate pipeline, at position 2 of 2 in change queue integrated@master: it waits for the item ahead, change 1, whose speculative state is not merged yet."}],` +
		`"text":"This change is not in the check pipeline, and may enter it: it enters when one of the pipeline's triggers fires (patchset-created; change-restored; comment-added with a \"recheck\" comment).\nIn the gate pipeline, at position 2 of 2 in change queue integrated@master: it waits for the item ahead, change 1, whose speculative state is not merged yet."}`
	if string(data) != want {
		t.Fatalf("got  %s\nwant %s", data, want)
	}
	// Of a change of a project gated does not gate, nothing Gerrit may
	// keep from the asker: anyone may ask.
	h.do("change 3 project=secret")
	if x := h.e.Explain(3, h.event("", 3, nil, "", "").Changes); x.Project != "" || x.Status != "" || strings.Contains(x.Text, "secret") {
		t.Fatalf("explanation of a change gated does not gate: %+v", x)
	}
}
