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
//   - a probe that passes clears the change (Item.Cleared), and the item
//     waits for the window as before;
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

// probe starts a probe of an item that waits beyond the window, once.
func (e *Engine) probe(p *PipelineState, it *Item) bool {
	if it.Phase != PhaseWaiting || it.Failure != nil || it.Cleared {
		return false
	}
	for _, n := range it.Needs {
		if e.itemOf(p, n.Number) != nil {
			return false
		}
	}
	it.Probe = true
	it.Phase = PhaseMerging
	e.emit(Merge{Item: it.ID, Attempt: it.Attempt, Pipeline: p.Name, Changes: e.chain(it), Time: it.AttemptAt})
	return true
}

// probeCompleted records the result of a probe: the change is cleared and
// the item waits with a new attempt, or the probe runs again, or the item
// fails.
func (e *Engine) probeCompleted(l *itemLoc, ev BuildCompleted) {
	it := l.item
	tries := it.Build.Tries
	switch {
	case ev.Result == ResultSuccess:
		it.Cleared = true
		it.Probe = false
		it.Attempt++
		it.AttemptAt = e.now
		it.Phase = PhaseWaiting
		it.Bases, it.Heads, it.Expect, it.Build = nil, nil, nil, nil
	case ev.Result == ResultError && tries < errorTries, ev.Result == ResultFailure && tries <= e.pipelineConfig(l.pipeline).Retries:
		it.Attempt++
		it.AttemptAt = e.now
		e.startBuild(l)
	default:
		kind := FailBuild
		if ev.Result == ResultConfigError {
			kind = FailConfig
		}
		it.Phase = PhaseFailed
		it.Failure = &Failure{Kind: kind, Message: "built alone on the branch tip: " + ev.Message}
	}
}
