package queue

import "fmt"

// current returns the item an answer is for, if the answer is for its
// current attempt and the item is in the given phase; answers for older
// attempts are stale and ignored.
func (e *Engine) current(id ItemID, attempt int, phase Phase) *itemLoc {
	l := e.items[id]
	if l == nil || l.item.Attempt != attempt || l.item.Phase != phase {
		return nil
	}
	return l
}

// onMergeCompleted records an item's speculative state and starts its
// build, or fails the item on a merge conflict.
func (e *Engine) onMergeCompleted(ev MergeCompleted) {
	l := e.current(ev.Item, ev.Attempt, PhaseMerging)
	if l == nil {
		return
	}
	it := l.item
	e.touch(l.pipeline, l.queue)
	if ev.Conflict != nil && it.Probe && len(it.ProbeWith) > 0 {
		e.splitProbe(l) // which of them does not merge is for their own probes to say
		return
	}
	if ev.Conflict != nil && it.checksOut() {
		it.Phase = PhaseFailed
		it.Failure = &Failure{Kind: FailCheckout, Message: ev.Conflict.Message}
		return
	}
	if ev.Conflict != nil {
		it.Phase = PhaseFailed
		it.Failure = &Failure{Kind: FailMergeConflict, Message: conflictText(ev.Conflict, it)}
		return
	}
	it.Heads = clone(ev.Heads)
	it.Bases = keepPinned(it.Bases, ev.Bases)
	it.Expect = clone(it.Bases)
	if it.Ahead != 0 && !it.Probe {
		for project, sha := range e.items[it.Ahead].item.Heads {
			it.Expect[project] = sha
		}
	}
	if e.skipCheckout(l, ev.Files) {
		return
	}
	e.startBuild(l)
}

func (e *Engine) startBuild(l *itemLoc) {
	it := l.item
	tries := 0
	if it.Build != nil {
		tries = it.Build.Tries
	}
	it.Phase = PhaseBuilding
	it.Build = &Build{Tries: tries + 1}
	if it.isBundle() {
		e.startParts(l)
		return
	}
	file, at, trusted := e.workflowOf(l.pipeline, it, it.Change.Project)
	e.emit(StartBuild{
		Item: it.ID, Attempt: it.Attempt, Pipeline: l.pipeline.Name,
		Change: it.Change, Changes: e.chain(it), Heads: clone(it.Heads),
		Workflow: file, WorkflowAt: at, Trusted: trusted, Ref: it.Ref,
	})
}

func conflictText(c *Conflict, it *Item) string {
	var s string
	if c.Change == it.Change.Number || c.Change == 0 {
		s = "this change does not merge onto the state it was tested on"
	} else {
		s = fmt.Sprintf("change %d does not merge onto the state it was tested on", c.Change)
	}
	if len(c.Files) > 0 {
		s += fmt.Sprintf(" (conflicting files: %v)", c.Files)
	}
	if c.Message != "" {
		s += ": " + c.Message
	}
	return s
}

// onBuildStarted records a build's name and start. A build that started
// for an attempt that is no longer current (the item was reset or left
// while the build was being created, after its cancel was performed) is
// cancelled: no build runs for nothing.
func (e *Engine) onBuildStarted(ev BuildStarted) {
	l := e.current(ev.Item, ev.Attempt, PhaseBuilding)
	if l == nil || (l.item.isBundle() && !e.partStarted(l, ev)) {
		pipeline := ev.Pipeline
		if l := e.items[ev.Item]; l != nil {
			pipeline = l.pipeline.Name
		}
		if pipeline != "" {
			e.emit(CancelBuild{Item: ev.Item, Attempt: ev.Attempt, Pipeline: pipeline, Part: ev.Part})
		}
		return
	}
	if l.item.isBundle() {
		return
	}
	e.touch(l.pipeline, l.queue)
	b := l.item.Build
	b.Name, b.URL = ev.Name, ev.URL
	if b.Started.IsZero() {
		b.Started = e.now
	}
}

// errorTries is how often a build that could not run (an infrastructure
// error, not a test failure) is tried before it counts as a failure.
const errorTries = 3

// onBuildCompleted records a build's result. A failure of a state that may
// be retried (flaky tolerance, infrastructure errors) runs the same state
// again as a new attempt of the item, without touching the items behind.
func (e *Engine) onBuildCompleted(ev BuildCompleted) {
	l := e.current(ev.Item, ev.Attempt, PhaseBuilding)
	if l == nil {
		return
	}
	if l.item.isBundle() {
		e.partCompleted(l, ev)
		return
	}
	it := l.item
	cp := e.pipelineConfig(l.pipeline)
	e.touch(l.pipeline, l.queue)
	e.finished(l, it.Change, it.Build, ev)
	if ev.Result == ResultLost {
		it.Build.Tries-- // startBuild counts the build it starts
		it.Attempt++
		it.AttemptAt = e.now
		e.startBuild(l)
		return
	}
	if it.Probe {
		e.probeCompleted(l, ev)
		return
	}
	switch ev.Result {
	case ResultSuccess:
		it.Phase = PhasePassed
		if cp.RetryCleared {
			e.clear(it)
		}
		return
	case ResultConfigError:
		it.Phase = PhaseFailed
		it.Failure = &Failure{Kind: FailConfig, Message: ev.Message}
		return
	}
	if (ev.Result == ResultError && it.Build.Tries < errorTries) || (ev.Result == ResultFailure && retry(cp, it)) {
		it.Attempt++
		it.AttemptAt = e.now
		e.startBuild(l)
		return
	}
	it.Phase = PhaseFailed
	it.Failure = &Failure{Kind: FailBuild, Message: ev.Message}
}

// finished records the result of a build (the item's, or one of a
// bundle's, for change) and the fact that it finished.
func (e *Engine) finished(l *itemLoc, change ChangeRef, b *Build, ev BuildCompleted) {
	it := l.item
	b.URL = firstNonEmpty(ev.URL, b.URL)
	b.Links = cloneSlice(ev.Links)
	b.Message = ev.Message
	e.facts.Builds = append(e.facts.Builds, BuildFinished{
		Pipeline: l.pipeline.Name, Item: it.ID, Attempt: it.Attempt, Part: ev.Part, Change: change, Changes: e.chain(it), Ref: it.Ref,
		Subject: it.Subject, Result: ev.Result, Message: ev.Message, Name: b.Name, URL: b.URL, Links: b.Links,
		Started: b.Started, Finished: e.now,
	})
}

func firstNonEmpty(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// onSubmitCompleted finishes a submit: a merged change leaves the queue and
// the items behind keep their builds (their state included it); a refused
// one fails at the head; a stale one (the branch moved) is rebuilt.
func (e *Engine) onSubmitCompleted(ev SubmitCompleted) {
	l := e.current(ev.Item, ev.Attempt, PhaseSubmitting)
	if l == nil {
		return
	}
	p, q, it := l.pipeline, l.queue, l.item
	r := it.own()[0] // the change this submit was for
	if ev.Change != 0 && ev.Change != r.Number {
		return // the answer to an earlier submit of the bundle
	}
	e.touch(p, q)
	for project := range ev.Tips {
		defer e.wakeRefs(project, it.Change.Branch)
	}
	defer e.wakeRefs(r.Project, it.Change.Branch)
	switch {
	case ev.Merged:
		e.knownMerged(r.Number)
		for project, tip := range ev.Tips {
			e.submitted(project, it.Change.Branch, tip, it.madeBy(r, project))
			for _, behind := range q.Items {
				// The bundle itself too: what is left of it is its state
				// on the new tip, and the items behind start from that.
				if behind.Bases[project] != "" && (behind == it || e.includes(behind, it.ID)) {
					behind.Bases[project] = tip
				}
			}
		}
		if e.merged(p, it, ev.Tips) {
			q.Window = e.pipelineConfig(p).Window.increase(q.Window)
			e.dequeue(l, true, "", 0, "")
		}
		for project, tip := range ev.Tips {
			e.branchMoved(project, it.Change.Branch, tip)
		}
	case ev.Stale:
		it.Phase = PhasePassed // leave Submitting so that reset applies
		e.reset(p, q, it)
		for project, tip := range ev.Tips {
			b := e.branch(project, it.Change.Branch)
			b.Tip, b.By = tip, nil
			e.branchMoved(project, it.Change.Branch, tip)
		}
	default:
		it.Phase = PhaseFailed
		it.Failure = &Failure{Kind: FailSubmit, Message: ev.Message}
		if len(it.Submitted) > 0 {
			it.Failure.Message = fmt.Sprintf("%s of its dependency cycle merged already; then Gerrit refused to submit change %d: %s",
				changeList(it.Submitted), it.own()[0].Number, ev.Message)
		}
	}
}

// onBuildsListed restarts the builds the executor no longer has: each item
// whose current build is not in the inventory lost it.
func (e *Engine) onBuildsListed(ev BuildsListed) {
	have := map[BuildRef]bool{}
	for _, b := range ev.Builds {
		have[b] = true
	}
	for _, p := range e.st.Pipelines {
		for _, q := range p.Queues {
			for _, it := range q.Items {
				if it.Phase != PhaseBuilding {
					continue
				}
				for part := range max(1, len(it.Parts)) {
					if it.isBundle() && it.Parts[part].Result != "" {
						continue
					}
					if !have[BuildRef{Pipeline: p.Name, Item: it.ID, Attempt: it.Attempt, Part: part}] {
						e.onBuildCompleted(BuildCompleted{Pipeline: p.Name, Item: it.ID, Attempt: it.Attempt, Part: part, Result: ResultLost,
							Message: "the build disappeared while gated was down"})
						break // the item builds again, every part of it
					}
				}
			}
		}
	}
}
