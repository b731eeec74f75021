package queue

func (e *Engine) branch(project, branch string) *BranchState {
	k := branchKey(project, branch)
	if e.st.Branches == nil {
		e.st.Branches = map[string]*BranchState{}
	}
	b := e.st.Branches[k]
	if b == nil {
		b = &BranchState{}
		e.st.Branches[k] = b
	}
	return b
}

// onRefUpdated handles a ref that moved: the ref items it triggers are
// enqueued (refitem.go), and a branch that moved is handled as follows. A
// move gated made itself (the tip its submit reported, or a move while one
// of its submits on that branch is in flight) changes nothing; any other
// move invalidates every speculative state built on another commit of that
// branch, and those items are reset onto the new tip. Whatever this misses
// (a lost event), the check before each submit catches: Submit.Expect.
func (e *Engine) onRefUpdated(ev RefUpdated) {
	if _, ok := e.cfg.project(ev.Project); !ok || ev.NewRev == "" {
		return
	}
	e.enqueueRef(ev)
	branch := branchOf(ev.fullRef())
	if branch == "" || ev.NewRev == zeroRev {
		return
	}
	b := e.branch(ev.Project, branch)
	if b.Tip == ev.NewRev || e.submitting(ev.Project, branch) {
		return
	}
	b.Tip, b.By = ev.NewRev, nil
	e.branchMoved(ev.Project, branch, ev.NewRev)
}

// gateQueues calls f for the change queue of a project's branch in every
// dependent pipeline. Only that queue can hold states that include the
// branch: an item's state holds changes of its own queue only.
func (e *Engine) gateQueues(project, branch string, f func(*PipelineState, *ChangeQueue)) {
	name := e.cfg.queueName(project, branch)
	for _, p := range e.st.Pipelines {
		if e.pipelineConfig(p).Manager != Dependent {
			continue
		}
		if q := e.queues[p.Name][name]; q != nil {
			f(p, q)
		}
	}
}

// submitting reports whether gated is submitting a change of the project's
// branch.
func (e *Engine) submitting(project, branch string) bool {
	found := false
	e.gateQueues(project, branch, func(_ *PipelineState, q *ChangeQueue) {
		for _, it := range q.Items {
			if it.Phase == PhaseSubmitting && it.touches(project) {
				found = true
			}
		}
	})
	return found
}

// branchMoved resets the items whose state was built on a commit of the
// branch other than tip.
func (e *Engine) branchMoved(project, branch, tip string) {
	e.gateQueues(project, branch, func(p *PipelineState, q *ChangeQueue) {
		for _, it := range q.Items {
			if base, ok := it.Bases[project]; ok && base != tip {
				e.reset(p, q, it)
			}
		}
	})
}
