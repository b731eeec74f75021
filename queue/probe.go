package queue

// Probes (PipelineConfig.Probe). A build in a dependent queue tells whether
// the changes of its state are good together, so it learns nothing about
// the changes behind the first bad one: they must wait for the next round
// of builds. The queue resolves about one bad change per build duration,
// whatever its window, and with bad changes arriving faster than that it
// falls behind for good. A probe builds an item that waits beyond the
// window alone on its branch tip, so that bad changes are found in
// parallel:
//
//   - a probe that passes counts as a passed build of the change
//     (Item.Passes), which clears it (Item.Cleared) unless clear_passes
//     asks for more, and the item waits for the window as before;
//   - one that fails, after Retries, fails the item: the items behind skip
//     it, and it is reported at the head like any failure. A failure ahead
//     does not void it, since the probe did not include the items ahead.
//   - an item that enters the window while its probe runs waits for the
//     probe to end (the items behind it wait too), then is built on the
//     state ahead as usual: cancelling the probe would waste it, and it is
//     most useful then.
//
// A probe is never submitted, and an item that needs a change ahead of it
// in the queue is not probed: it cannot be built alone.

// Group probes (PipelineConfig.ProbeGroup > 1) are group testing: one
// build of several waiting changes together on the tip.
//
//   - the group's last item owns the probe (Probe, ProbeWith); the others
//     wait as usual and may enter the window while it runs;
//   - a group that passes counts a pass for every change in it that is
//     still queued;
//   - one that fails, or does not merge, marks them Suspect: each is then
//     probed alone, and its own probe decides. A failed group fails none
//     of its items and is not retried (a retry costs a build, as one half
//     of a split does, and says less);
//   - a group is started once it is full, or when its first item is
//     about to enter the window (fewer than ProbeGroup places away).

// probeable reports whether a waiting item may be probed: it is not
// failing or cleared, is not a bundle (whose builds are one per project,
// on the state ahead), and needs nothing ahead of it in the queue.
func (e *Engine) probeable(p *PipelineState, it *Item) bool {
	if it.Phase != PhaseWaiting || it.Failure != nil || it.Cleared || it.Passes > 0 || it.isBundle() {
		return false
	}
	for _, n := range it.Needs {
		if e.itemOf(p, n.Number) != nil {
			return false
		}
	}
	return true
}

// probe starts a probe of an item that waits beyond the window, once.
func (e *Engine) probe(p *PipelineState, it *Item) bool {
	if !e.probeable(p, it) {
		return false
	}
	e.startProbe(p, it, nil)
	return true
}

// startProbe asks for the merge of a probe owned by it, building the
// changes of with (ahead of it in the queue) and its own.
func (e *Engine) startProbe(p *PipelineState, it *Item, with []*Item) {
	it.Probe = true
	it.ProbeWith = nil
	for _, w := range with {
		it.ProbeWith = append(it.ProbeWith, w.ID)
	}
	it.Phase = PhaseMerging
	e.emit(Merge{Item: it.ID, Attempt: it.Attempt, Pipeline: p.Name, Changes: e.chain(it), Time: it.AttemptAt})
}

// probeGroups starts the group probes of the items that wait beyond the
// window (PipelineConfig.ProbeGroup > 1), and the lone probes of suspect
// ones.
func (e *Engine) probeGroups(p *PipelineState, q *ChangeQueue) bool {
	cp := e.pipelineConfig(p)
	end := min(q.Window+cp.Probe, len(q.Items))
	if q.Window == 0 || q.Window >= end {
		return false
	}
	busy := map[ItemID]bool{} // in a group probe that runs
	for _, it := range q.Items {
		if it.Probe && (it.Phase == PhaseMerging || it.Phase == PhaseBuilding) {
			for _, id := range it.ProbeWith {
				busy[id] = true
			}
		}
	}
	changed := false
	var group []*Item
	first := 0
	for i := q.Window; i < end; i++ {
		it := q.Items[i]
		if busy[it.ID] || !e.probeable(p, it) {
			continue
		}
		if it.Suspect {
			e.startProbe(p, it, nil)
			changed = true
			continue
		}
		if len(group) == 0 {
			first = i
		}
		group = append(group, it)
		if len(group) == cp.ProbeGroup {
			e.startProbe(p, it, group[:len(group)-1])
			group = nil
			changed = true
		}
	}
	if len(group) > 0 && first < q.Window+cp.ProbeGroup {
		e.startProbe(p, group[len(group)-1], group[:len(group)-1])
		changed = true
	}
	return changed
}

// probeChain returns the changes a probe builds: those of its group, then
// the item's own.
func (e *Engine) probeChain(it *Item) []ChangeRef {
	var out []ChangeRef
	for _, id := range it.ProbeWith {
		if l := e.items[id]; l != nil {
			out = append(out, l.item.Change)
		}
	}
	return append(out, it.Change)
}

// splitProbe ends a group probe that failed: its items are probed alone.
func (e *Engine) splitProbe(l *itemLoc) {
	it := l.item
	for _, id := range it.ProbeWith {
		if m := e.items[id]; m != nil {
			m.item.Suspect = true
		}
	}
	it.Suspect = true
	e.endProbe(it)
}

// endProbe returns the owner of a probe to waiting, with a new attempt.
func (e *Engine) endProbe(it *Item) {
	it.Probe = false
	it.ProbeWith = nil
	it.Attempt++
	it.AttemptAt = e.now
	it.Phase = PhaseWaiting
	it.Bases, it.Heads, it.Expect, it.Build = nil, nil, nil, nil
}

// probeCompleted records the result of a probe: the changes are cleared
// and the item waits with a new attempt, or the probe runs again, or the
// item fails, or the group is split.
func (e *Engine) probeCompleted(l *itemLoc, ev BuildCompleted) {
	it := l.item
	tries := it.Build.Tries
	group := len(it.ProbeWith) > 0
	switch {
	case ev.Result == ResultSuccess:
		for _, id := range it.ProbeWith {
			if m := e.items[id]; m != nil {
				e.pass(m.item)
				m.item.Suspect = false
			}
		}
		e.pass(it)
		it.Suspect = false
		e.endProbe(it)
	case ev.Result == ResultError && tries < errorTries, !group && !it.Suspect && ev.Result == ResultFailure && tries <= e.pipelineConfig(l.pipeline).Retries:
		it.Attempt++
		it.AttemptAt = e.now
		e.startBuild(l)
	case group:
		e.splitProbe(l)
	default:
		kind := FailBuild
		if ev.Result == ResultConfigError {
			kind = FailConfig
		}
		it.Phase = PhaseFailed
		it.Suspect = false
		it.Failure = &Failure{Kind: kind, Message: "built alone on the branch tip: " + ev.Message}
	}
}
