package queue

import (
	"fmt"
	"strings"
)

// Items that are not changes (Zuul's Ref, Branch and Tag items): a ref
// update (ref-updated triggers: post, tag, release pipelines) and a
// project's branch (timer triggers: periodic). They build a commit as it
// is, with no speculative merge, vote on nothing, and report only to the
// change whose submit by gated moved the ref, when there is one. So does
// the item of a change merged when it entered (change-merged triggers:
// promote), which builds the commit the merge made.

// Checkout asks the merger for a commit as it is: fetched from the ref
// (and recorded under the item's state ref, from which the build fetches
// it), with the paths changed since OldRev. The answer is a
// MergeCompleted whose Heads and Bases map the project to the commit.
type Checkout struct {
	Item     ItemID `json:"item"`
	Attempt  int    `json:"attempt"`
	Pipeline string `json:"pipeline"`
	Project  string `json:"project"`
	// Ref is the full ref name the commit is on.
	Ref string `json:"ref"`
	// Commit is the commit to build; "" means the ref's tip.
	Commit string `json:"commit,omitempty"`
	// OldRev, when set, is the commit the changed files are counted from.
	OldRev string `json:"old_rev,omitempty"`
}

func (a Checkout) String() string {
	return fmt.Sprintf("check out %s %s at %s for item %d attempt %d", a.Project, a.Ref, orTip(a.Commit), a.Item, a.Attempt)
}

func orTip(commit string) string {
	if commit == "" {
		return "its tip"
	}
	return commit
}

// zeroRev is Gerrit's commit of a ref that does not exist: the old commit
// of a created ref, the new one of a deleted ref.
var zeroRev = strings.Repeat("0", 40)

// enqueueRef enqueues a ref update in every pipeline one of whose
// ref-updated triggers matches it. Deleted refs are ignored (Zuul's
// ignore-deletes).
func (e *Engine) enqueueRef(ev RefUpdated) {
	if ev.NewRev == zeroRev {
		return
	}
	ref := ev.fullRef()
	branch := branchOf(ref)
	var origin ChangeRef
	if b := e.st.Branches[branchKey(ev.Project, branch)]; branch != "" && b != nil && b.Tip == ev.NewRev && b.By != nil {
		origin = *b.By
	}
	for _, p := range e.st.Pipelines {
		cp := e.pipelineConfig(p)
		if cp.Manager == Dependent || !cp.refTriggered(ref, branch) || !e.cfg.builds(ev.Project, p.Name) {
			continue
		}
		if e.findRef(p, func(it *Item) bool {
			return !it.Ref.Timer && it.Ref.Ref == ref && it.Commit == ev.NewRev && it.Change.Project == ev.Project
		}) {
			continue // already in the pipeline
		}
		it := e.newItem(ChangeRef{Project: ev.Project, Branch: branch})
		if origin.Number != 0 {
			it.Change = origin
		}
		oldRev := ev.OldRev
		if oldRev == zeroRev {
			oldRev = ""
		}
		it.Ref = &RefItem{Ref: ref, OldRev: oldRev, NewRev: ev.NewRev}
		it.Commit = ev.NewRev
		e.add(p, it)
	}
}

// findRef reports whether a ref item of pipeline p satisfies f.
func (e *Engine) findRef(p *PipelineState, f func(*Item) bool) bool {
	for _, q := range p.Queues {
		for _, it := range q.Items {
			if it.Ref != nil && f(it) {
				return true
			}
		}
	}
	return false
}

// newItem returns a fresh item of change c (or about c's project and
// branch), with the next id.
func (e *Engine) newItem(c ChangeRef) *Item {
	it := &Item{ID: e.st.NextItem, Change: c, EnqueuedAt: e.now, Attempt: 1, AttemptAt: e.now, Phase: PhaseWaiting}
	e.st.NextItem++
	e.counts.Enqueued++
	return it
}

// add puts a new item at the tail of its queue in an independent or
// supercedent pipeline; in a supercedent one it replaces the item
// waiting there, if any.
func (e *Engine) add(p *PipelineState, it *Item) {
	q := e.queueNamed(p, e.itemQueue(p, it))
	q.Items = append(q.Items, it)
	e.index(p, q, it)
	e.touch(p, q)
	if it.Ref == nil {
		for _, r := range it.members() {
			p.forgetRefusal(r.Number)
		}
		e.reportStart(p, it)
	}
	if e.pipelineConfig(p).Manager == Supercedent {
		e.supersede(p, q)
	}
}

// itemQueue names the queue an item goes to outside dependent pipelines:
// supercedent pipelines keep one per project and branch (or ref, for
// tags), ignoring shared queues, as Zuul's do; independent ones group
// changes as change queues do.
func (e *Engine) itemQueue(p *PipelineState, it *Item) string {
	c := it.Change
	if it.Ref != nil && branchOf(it.Ref.Ref) == "" {
		return c.Project + "@" + it.Ref.Ref
	}
	if it.Ref != nil || e.pipelineConfig(p).Manager == Supercedent {
		return c.Project + "@" + c.Branch
	}
	return e.cfg.queueName(c.Project, c.Branch)
}

// awaitsOrigin reports whether a ref item waits for the answer to a
// submit of gated's on its branch before it starts: the update may be
// that submit's, and then the item comes from its change (its reports go
// there).
func (e *Engine) awaitsOrigin(it *Item) bool {
	return it.Ref != nil && !it.Ref.Timer && it.Change.Number == 0 && it.Change.Branch != "" && e.submitting(it.Change.Project, it.Change.Branch)
}

// refQueues calls f for the queue of a project's branch in every pipeline
// that may hold its ref items (itemQueue names them so).
func (e *Engine) refQueues(project, branch string, f func(*PipelineState, *ChangeQueue)) {
	for _, p := range e.st.Pipelines {
		if e.pipelineConfig(p).Manager == Dependent {
			continue
		}
		if q := e.queues[p.Name][project+"@"+branch]; q != nil {
			f(p, q)
		}
	}
}

// wakeRefs touches the queues holding ref items of a project's branch,
// after a submit there was answered: those waiting for it may start.
func (e *Engine) wakeRefs(project, branch string) {
	e.refQueues(project, branch, func(p *PipelineState, q *ChangeQueue) { e.touch(p, q) })
}

// checkout asks for the commit an item builds as it is.
func (e *Engine) checkout(p *PipelineState, it *Item) {
	a := Checkout{Item: it.ID, Attempt: it.Attempt, Pipeline: p.Name, Project: it.Change.Project, Commit: it.Commit}
	if it.Ref != nil {
		a.Ref, a.OldRev = it.Ref.Ref, it.Ref.OldRev
	} else {
		a.Ref = "refs/heads/" + it.Change.Branch
	}
	e.emit(a)
	it.Phase = PhaseMerging
}

// submitted records the tip a submit of change c by gated made, and
// tells the ref items enqueued for that tip before the submit's answer
// came (Gerrit reports the ref update first; they wait for the answer)
// which change they come from.
func (e *Engine) submitted(project, branch, tip string, c ChangeRef) {
	b := e.branch(project, branch)
	b.Tip, b.By = tip, &c
	ref := "refs/heads/" + branch
	e.refQueues(project, branch, func(_ *PipelineState, q *ChangeQueue) {
		for _, it := range q.Items {
			if it.Ref != nil && !it.Ref.Timer && it.Change.Number == 0 && it.Ref.Ref == ref && it.Commit == tip {
				it.Change = c
			}
		}
	})
}

// describeRef says what a ref item built, for its reports: "refs/heads/
// master at 1a2b3c4d5e, which this change's submit made".
func describeRef(it *Item) string {
	s := it.Ref.Ref + " at " + short(it.Commit)
	if it.Ref.Timer {
		return s + " (timer)"
	}
	if it.Change.Number != 0 {
		s += ", which this change's submit made"
	}
	return s
}

func short(sha string) string {
	if len(sha) > 10 {
		return sha[:10]
	}
	return sha
}
