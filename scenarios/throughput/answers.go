package throughput

import (
	"fmt"
	"slices"

	"gated.dev/gated/queue"
)

// How the modelled world answers the engine: reviewers approving, the
// merger, the builds' outcomes, the reporter and Gerrit.

// approve is a reviewer approving a change (Code-Review +2, Workflow +1).
func (w *world) approve(c *change) {
	w.status[c.number] = queued
	ch := queue.Change{
		Number: c.number, Project: project, Branch: "master", Status: queue.StatusNew, Patchset: 1,
		Revision: fmt.Sprintf("r%d", c.number),
		Votes:    []queue.Vote{{Label: "Code-Review", Account: "core", Value: 2}, {Label: "Workflow", Account: "core", Value: 1}},
	}
	w.apply(queue.ChangeEvent{
		Type: "comment-added", Change: c.number, Author: "core", Changes: []queue.Change{ch},
		Approvals: []queue.Approval{{Label: "Code-Review", Value: 2}, {Label: "Workflow", Value: 1}},
	})
}

func numbers(refs []queue.ChangeRef) []int {
	out := make([]int, len(refs))
	for i, r := range refs {
		out[i] = r.Number
	}
	return out
}

// merge is the merger's answer: a conflict when a change of the state
// conflicts with a change before it in the state or merged already.
func (w *world) merge(a queue.Merge) queue.MergeCompleted {
	nums := numbers(a.Changes)
	for i, n := range nums {
		for _, o := range w.changes[n-1].conflicts {
			if w.status[o] == merged || slices.Contains(nums[:i], o) {
				return queue.MergeCompleted{Item: a.Item, Attempt: a.Attempt, Conflict: &queue.Conflict{Change: n, Message: fmt.Sprintf("conflicts with change %d", o)}}
			}
		}
	}
	bases := map[string]string{project: w.tip}
	for k, v := range a.Bases {
		bases[k] = v
	}
	return queue.MergeCompleted{
		Item: a.Item, Attempt: a.Attempt, Bases: bases,
		Heads: map[string]string{project: fmt.Sprintf("h%d.%d", a.Item, a.Attempt)},
	}
}

// newBuild decides a build's duration and result from the seed and the
// state it builds: a state with a bad change fails, others fail with the
// flaky probability.
func (w *world) newBuild(a queue.StartBuild) *build {
	id := attempt{a.Item, a.Attempt}
	nums := numbers(a.Changes)
	w.states[id] = nums
	w.heads[id] = a.Heads[project]
	var h uint64
	for _, n := range nums {
		h = mix(h ^ uint64(n))
	}
	nth := w.builds[h]
	w.builds[h]++
	d := newDraws(w.seed, h, uint64(nth))
	b := &build{id: id, duration: d.lognormal(w.w.Build, w.w.Sigma), result: queue.ResultSuccess}
	flaky := d.float() < w.w.Flaky
	if flaky || slices.ContainsFunc(nums, func(n int) bool { return w.changes[n-1].bad }) {
		b.result = queue.ResultFailure
	}
	return b
}

// report is what the reporter tells Gerrit. A good change rejected by a
// failed build was unlucky (a flaky build): its owner approves it again
// after the recheck delay.
func (w *world) report(r queue.Report) {
	n := r.Change.Number
	switch r.Kind {
	case queue.ReportStart, queue.ReportSuccess:
		return
	case queue.ReportConflict:
		w.status[n] = rejected
		w.res.RejectedConflict++
	case queue.ReportFailure:
		c := w.changes[n-1]
		if c.bad {
			w.status[n] = rejected
			w.res.RejectedBad++
			return
		}
		w.status[n] = rechecking
		w.res.WronglyRejected++
		w.at(w.now+w.w.Recheck, func() { w.approve(c) })
	default:
		w.fail("change %d: unexpected %s report: %s", n, r.Kind, r.Message)
	}
}

// submit is the reporter and Gerrit submitting a change: stale if the
// branch no longer has the tree the item was built on, else merged. It
// checks the engine's promise on its own: the exact state was built and
// passed, and everything else in it is merged already.
func (w *world) submit(a queue.Submit) queue.SubmitCompleted {
	id := attempt{a.Item, a.Attempt}
	if a.Expect[project] != w.tip {
		return queue.SubmitCompleted{Item: a.Item, Attempt: a.Attempt, Stale: true, Tips: map[string]string{project: w.tip}}
	}
	n := a.Change.Number
	state := w.states[id]
	switch {
	case !w.passed[id]:
		w.fail("change %d submitted, but its build %v did not pass", n, id)
	case len(state) == 0 || state[len(state)-1] != n:
		w.fail("change %d submitted with state %v", n, state)
	case w.status[n] == merged:
		w.fail("change %d submitted twice", n)
	}
	for _, o := range state[:max(len(state)-1, 0)] {
		if w.status[o] != merged {
			w.fail("change %d submitted before change %d, with which it was tested", n, o)
		}
	}
	c := w.changes[n-1]
	if c.bad {
		w.res.BadMerged++
	}
	w.status[n] = merged
	w.tip = w.heads[id]
	w.res.merge(w, c)
	return queue.SubmitCompleted{Item: a.Item, Attempt: a.Attempt, Merged: true, Tips: map[string]string{project: w.tip}}
}
