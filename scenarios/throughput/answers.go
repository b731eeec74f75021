package throughput

import (
	"fmt"
	"slices"

	"gated.dev/gated/queue"
)

// How the modelled world answers the engine: reviewers approving, owners
// rechecking, the merger, the builds' outcomes, the reporter and Gerrit.

// owner is the account of every change's owner, and bot gated's own.
const (
	owner = "dev"
	bot   = "gated"
)

// snapshot is the change as Gerrit shows it: approved, with gated's last
// Verified vote.
func (w *world) snapshot(c *change) queue.Change {
	ch := queue.Change{
		Number: c.number, Project: project, Branch: "master", Status: queue.StatusNew, Patchset: 1,
		Revision: fmt.Sprintf("r%d", c.number),
		Votes:    []queue.Vote{{Label: "Code-Review", Account: "core", Value: 2}, {Label: "Workflow", Account: "core", Value: 1}},
	}
	if v := w.verified[c.number]; v != 0 {
		ch.Votes = append(ch.Votes, queue.Vote{Label: "Verified", Account: bot, Value: v})
	}
	return ch
}

// approve is a reviewer approving a change (Code-Review +2, Workflow +1).
func (w *world) approve(c *change) {
	w.status[c.number] = queued
	for _, it := range w.gate() {
		if it.Failure == nil && it.Phase != queue.PhasePassed && it.Phase != queue.PhaseSubmitting {
			w.undecided++
		}
	}
	w.apply(queue.ChangeEvent{
		Type: "comment-added", Change: c.number, Author: "core", Changes: []queue.Change{w.snapshot(c)},
		Approvals: []queue.Approval{{Label: "Code-Review", Value: 2}, {Label: "Workflow", Value: 1}},
	})
}

// recheck is the owner of a good change that was rejected asking for a
// check build ("recheck"); gated's check pipeline runs it.
func (w *world) recheck(c *change) {
	w.apply(queue.ChangeEvent{
		Type: "comment-added", Change: c.number, Author: owner, Comment: "recheck",
		Changes: []queue.Change{w.snapshot(c)},
	})
}

// verifiedByCheck is gated's check pipeline voting Verified +1 on a
// rechecked change: the vote enqueues it into the gate again.
func (w *world) verifiedByCheck(c *change) {
	w.verified[c.number] = 1
	w.status[c.number] = queued
	w.apply(queue.ChangeEvent{
		Type: "comment-added", Change: c.number, Author: bot, Changes: []queue.Change{w.snapshot(c)},
		Approvals: []queue.Approval{{Label: "Verified", Value: 1}},
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
// conflicts with a change before it in the state or merged already; else
// the state's commit, whose tree is its base's and the changes'.
func (w *world) merge(a queue.Merge) queue.MergeCompleted {
	nums := numbers(a.Changes)
	for i, n := range nums {
		for _, o := range w.changes[n-1].conflicts {
			if w.status[o] == merged || slices.Contains(nums[:i], o) {
				return queue.MergeCompleted{Item: a.Item, Attempt: a.Attempt, Conflict: &queue.Conflict{Change: n, Message: fmt.Sprintf("conflicts with change %d", o)}}
			}
		}
	}
	base := w.tip
	if b, ok := a.Bases[project]; ok {
		base = b
	}
	if _, ok := w.trees[base]; !ok {
		w.fail("item %d merged onto %s, which is not a commit of the branch", a.Item, base)
	}
	head := fmt.Sprintf("h%d.%d", a.Item, a.Attempt)
	w.trees[head] = union(w.trees[base], nums)
	return queue.MergeCompleted{
		Item: a.Item, Attempt: a.Attempt, Bases: map[string]string{project: base},
		Heads: map[string]string{project: head},
	}
}

// union returns the sorted tree of a tree and more changes.
func union(tree, nums []int) []int {
	out := slices.Concat(tree, nums)
	slices.Sort(out)
	return slices.Compact(out)
}

// newBuild decides a build's duration and result from the seed and the
// exact tree it builds (and how often that tree was built before): each
// bad change of the tree makes it fail with the catch probability, and
// any build fails with the flaky probability.
func (w *world) newBuild(a queue.StartBuild) *build {
	id := attempt{a.Item, a.Attempt}
	w.heads[id] = a.Heads[project]
	b := w.drawBuild(id, a.Pipeline, w.trees[w.heads[id]])
	if b.pipeline == "gate" && w.passedTrees[b.tree] {
		w.res.Reusable++
	}
	return b
}

// treeHash identifies a tree by its changes.
func treeHash(tree []int) uint64 {
	var h uint64
	for _, n := range tree {
		h = mix(h ^ uint64(n))
	}
	return h
}

// drawBuild draws the duration and result of a build of tree.
func (w *world) drawBuild(id attempt, pipeline string, tree []int) *build {
	h := treeHash(tree)
	nth := w.builds[h]
	w.builds[h]++
	d := newDraws(w.seed, h, uint64(nth))
	b := &build{id: id, pipeline: pipeline, tree: h, duration: d.lognormal(w.w.Build, w.w.Sigma), result: queue.ResultSuccess}
	fails := d.float() < w.w.Flaky
	for _, n := range tree {
		if w.changes[n-1].bad && d.float() < w.w.Catch {
			fails = true
		}
	}
	if fails {
		b.result = queue.ResultFailure
	}
	return b
}

// report is what the reporter tells Gerrit. A good change rejected by the
// gate was unlucky (a flaky build): its owner asks for a recheck after the
// recheck delay, and a check build that passes enqueues it again.
func (w *world) report(r queue.Report) {
	n := r.Change.Number
	c := w.changes[n-1]
	if v, ok := r.Labels["Verified"]; ok {
		w.verified[n] = v
	}
	switch {
	case r.Kind == queue.ReportStart || (r.Kind == queue.ReportSuccess && r.Pipeline == "gate"):
	case r.Kind == queue.ReportConflict:
		w.status[n] = rejected
		w.res.RejectedConflict++
	case r.Kind == queue.ReportSuccess:
		w.verifiedByCheck(c)
	case r.Kind == queue.ReportFailure && r.Pipeline == "check":
		w.res.CheckFailures++
		w.at(w.now+w.w.Recheck, func() { w.recheck(c) })
	case r.Kind == queue.ReportFailure && c.bad:
		w.status[n] = rejected
		w.res.RejectedBad++
	case r.Kind == queue.ReportFailure:
		w.status[n] = rechecking
		w.hits[n] |= hitRejected
		w.res.WronglyRejected++
		w.at(w.now+w.w.Recheck, func() { w.recheck(c) })
	default:
		w.fail("change %d: unexpected %s report in %s: %s", n, r.Kind, r.Pipeline, r.Message)
	}
}

// submit is the reporter and Gerrit submitting a change: stale if the
// branch no longer has the tree of Expect, else merged. It checks the
// engine's promise on its own, against the trees it made: the build of
// this attempt passed, and the branch with the change is exactly the tree
// it built.
func (w *world) submit(a queue.Submit) queue.SubmitCompleted {
	id := attempt{a.Item, a.Attempt}
	expect, ok := w.trees[a.Expect[project]]
	if !ok || !slices.Equal(expect, w.trees[w.tip]) {
		return queue.SubmitCompleted{Item: a.Item, Attempt: a.Attempt, Stale: true, Tips: map[string]string{project: w.tip}}
	}
	n := a.Change.Number
	built := w.trees[w.heads[id]]
	switch {
	case !w.passed[id]:
		w.fail("change %d submitted, but its build %v did not pass", n, id)
	case w.status[n] == merged:
		w.fail("change %d submitted twice", n)
	case !slices.Equal(union(w.trees[w.tip], []int{n}), built):
		w.fail("change %d submitted onto a branch with %v, but its build %v tested %v", n, w.trees[w.tip], id, built)
	}
	if it := w.item(a.Item); it != nil && it.Resets > 0 {
		w.hits[n] |= hitReset
	}
	c := w.changes[n-1]
	if c.bad {
		w.res.BadMerged++
		w.at(w.now, func() { w.revert(c) })
	}
	w.status[n] = merged
	w.tip = w.heads[id]
	w.res.merge(w, c)
	return queue.SubmitCompleted{Item: a.Item, Attempt: a.Attempt, Merged: true, Tips: map[string]string{project: w.tip}}
}

// revert is someone reverting a bad change that merged, at once, by a
// push outside the gate: the branch no longer has it, and the gate starts
// over on the new tip. In reality the branch stays broken until someone
// notices; this counts the damage of a bad merge as one gate reset.
func (w *world) revert(c *change) {
	head := fmt.Sprintf("revert%d", c.number)
	w.trees[head] = slices.DeleteFunc(slices.Clone(w.trees[w.tip]), func(n int) bool { return n == c.number })
	w.tip = head
	for _, it := range w.gate() {
		w.hits[it.Change.Number] |= hitReverted
	}
	w.apply(queue.RefUpdated{Project: project, Branch: "master", NewRev: head})
}
