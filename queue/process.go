package queue

import (
	"fmt"
	"slices"
)

// process makes one pass over a change queue, as Zuul's processQueue does,
// and reports whether it changed anything (the caller repeats until not).
func (e *Engine) process(p *PipelineState, q *ChangeQueue) bool {
	switch e.pipelineConfig(p).Manager {
	case Independent:
		return e.processIndependent(p, q)
	case Supercedent:
		return e.processSupercedent(p, q)
	}
	return e.processDependent(p, q)
}

// processDependent walks the queue head first, keeping the nearest
// non-failing item (NNFI) seen so far. Every item must build on the NNFI: an
// item whose ahead is anything else is re-parented onto it and rebuilt, with
// everything behind it (a gate reset). Items in the window are merged and
// built; an item that completed is reported only at the head, where nothing
// ahead of it can change its result any more.
func (e *Engine) processDependent(p *PipelineState, q *ChangeQueue) bool {
	cp := e.pipelineConfig(p)
	changed := false
	var nnfi ItemID
	for i := 0; i < len(q.Items); i++ {
		it := q.Items[i]
		if why := e.failingNeed(p, it); why != "" {
			if it.Failure == nil || it.Failure.Kind != FailNeeds {
				e.cancel(p, it)
				it.Phase = PhaseFailed
				it.Failure = &Failure{Kind: FailNeeds, Message: why}
				changed = true
			}
			continue
		}
		if it.Failure != nil && it.Failure.Kind == FailNeeds {
			e.reset(p, q, it) // what it needs is no longer failing
			changed = true
		}
		if it.Ahead != nnfi {
			it.Ahead = nnfi
			e.resetSubtree(p, q, i)
			changed = true
		}
		if it.Ahead != 0 {
			settleExpect(cp, it, e.items[it.Ahead].item)
		}
		if q.Window == 0 || i < q.Window {
			changed = e.prepare(p, it) || changed
		} else if i < q.Window+cp.Probe && cp.ProbeGroup <= 1 {
			changed = e.probe(p, it) || changed
		}
		if it.Ahead == 0 {
			switch it.Phase {
			case PhasePassed:
				e.submit(p, q, it)
				changed = true
			case PhaseFailed:
				e.reportFailure(p, q, it)
				return true // the queue changed shape; start a new pass
			}
		}
		if it.Failure == nil {
			nnfi = it.ID
		}
	}
	if cp.ProbeGroup > 1 {
		changed = e.probeGroups(p, q) || changed
	}
	return changed
}

// processIndependent tests every item on its own and reports it when done.
func (e *Engine) processIndependent(p *PipelineState, q *ChangeQueue) bool {
	changed := false
	for i := 0; i < len(q.Items); i++ {
		started, left := e.processAlone(p, q.Items[i])
		if left {
			return true
		}
		changed = started || changed
	}
	return changed
}

// processAlone starts an item built on its own (independent and
// supercedent pipelines), or reports it and removes it when done; it
// reports whether it started the item, and whether the item left.
func (e *Engine) processAlone(p *PipelineState, it *Item) (started, left bool) {
	started = e.prepare(p, it)
	switch it.Phase {
	case PhasePassed:
		cp := e.pipelineConfig(p)
		e.reportResult(p, it, ReportSuccess, cp.Success.Labels, e.successMessage(p, it))
		e.dequeue(e.items[it.ID], false, "", 0, "")
		return started, true
	case PhaseFailed:
		e.reportFailure(p, e.items[it.ID].queue, it)
		return started, true
	}
	return started, false
}

// failingNeed returns why an item cannot pass because a change it needs is
// failing ahead of it, or "".
func (e *Engine) failingNeed(p *PipelineState, it *Item) string {
	for _, n := range it.Needs {
		if l := e.itemOf(p, n.Number); l != nil && l.item.Failure != nil {
			return fmt.Sprintf("change %d, which it depends on, is failing", n.Number)
		}
	}
	return ""
}

// prepare starts the next step of an item that is waiting: a merge of its
// speculative state once the state ahead of it is known.
func (e *Engine) prepare(p *PipelineState, it *Item) bool {
	if it.Phase != PhaseWaiting {
		return false
	}
	if it.checksOut() {
		if e.awaitsOrigin(it) {
			return false
		}
		e.checkout(p, it)
		return true
	}
	cp := e.pipelineConfig(p)
	bases := e.parallelBases(cp, it)
	if it.Ahead != 0 {
		a := e.items[it.Ahead].item
		if a.Probe || (a.Heads == nil && bases == nil) {
			return false // the state ahead is not merged yet (a probe's is not a state ahead)
		}
		if a.Heads != nil {
			bases = clone(a.Bases)
		}
	}
	e.emit(Merge{Item: it.ID, Attempt: it.Attempt, Pipeline: p.Name, Changes: e.chain(it), Bases: bases, Time: it.AttemptAt})
	it.Phase = PhaseMerging
	it.Bases = clone(bases) // pinned: a submit meanwhile advances them
	return true
}

// chain returns the changes of an item's speculative state in merge order:
// those of the items ahead of it, then its own dependencies and itself.
func (e *Engine) chain(it *Item) []ChangeRef {
	if it.Probe {
		return e.probeChain(it)
	}
	if it.Ref != nil && it.Change.Number == 0 {
		return nil // a ref item from no change of gated's
	}
	// One allocation: count the state's changes, then fill it from the
	// end, walking from the item to the tip.
	n := 0
	for x := it; ; x = e.items[x.Ahead].item {
		n += len(x.Deps) + x.ownLen()
		if x.Ahead == 0 {
			break
		}
	}
	out := make([]ChangeRef, n)
	for x := it; ; x = e.items[x.Ahead].item {
		n -= x.ownLen()
		x.copyOwn(out[n:])
		n -= len(x.Deps)
		copy(out[n:], x.Deps)
		if x.Ahead == 0 {
			break
		}
	}
	return out
}

// submit reports success for the passed head of a dependent queue and asks
// Gerrit to submit it (a bundle: its first change not merged yet).
func (e *Engine) submit(p *PipelineState, q *ChangeQueue, it *Item) {
	cp := e.pipelineConfig(p)
	e.reportResult(p, it, ReportSuccess, cp.Success.Labels, e.successMessage(p, it))
	if !cp.Success.Submit {
		e.dequeue(e.items[it.ID], false, "", 0, "")
		return
	}
	it.Phase = PhaseSubmitting
	e.emit(e.submitAction(p, it))
}

// reportFailure reports a failed item and dequeues it. The window shrinks,
// except when the failure was Gerrit refusing a submit (as in Zuul).
func (e *Engine) reportFailure(p *PipelineState, q *ChangeQueue, it *Item) {
	cp := e.pipelineConfig(p)
	kind := ReportFailure
	if it.Failure.Kind == FailMergeConflict {
		kind = ReportConflict
	}
	e.reportResult(p, it, kind, cp.Failure.Labels, e.failureMessage(p, it))
	e.counts.Failed++
	if cp.Manager == Dependent && it.Failure.Kind != FailSubmit {
		q.Window = cp.Window.decrease(q.Window)
	}
	e.dequeue(e.items[it.ID], false, "", 0, "")
}

// cancel aborts an item's running build (a bundle's running builds).
func (e *Engine) cancel(p *PipelineState, it *Item) {
	switch {
	case it.Phase != PhaseBuilding:
	case it.isBundle():
		e.cancelParts(p, it)
	default:
		e.emit(CancelBuild{Item: it.ID, Attempt: it.Attempt, Pipeline: p.Name})
	}
}

// reset gives an item a new attempt: its build is cancelled and its state
// will be merged again; so is every item behind it whose state includes it
// (their states include its old one). An item whose submit is in flight is
// left alone.
func (e *Engine) reset(p *PipelineState, q *ChangeQueue, it *Item) {
	if e.resetItem(p, q, it) {
		e.resetBehind(p, q, it)
	}
}

// resetBehind resets every item behind it whose state includes it: those
// that build on it, or on an item that does. Ahead pointers point ahead in
// the queue, so one pass in queue order finds them all.
func (e *Engine) resetBehind(p *PipelineState, q *ChangeQueue, it *Item) {
	in := map[ItemID]bool{it.ID: true}
	for _, behind := range q.Items[slices.Index(q.Items, it)+1:] {
		if in[behind.Ahead] {
			in[behind.ID] = true
			e.resetItem(p, q, behind)
		}
	}
}

// resetItem gives an item alone a new attempt, as reset does, and reports
// whether it did.
func (e *Engine) resetItem(p *PipelineState, q *ChangeQueue, it *Item) bool {
	if it.Phase == PhaseSubmitting || (it.Phase == PhaseWaiting && it.Failure == nil) {
		return false // in flight, or nothing started yet that could be invalid
	}
	if it.Probe {
		return false // built alone: nothing ahead or on the branch can void it
	}
	e.cancel(p, it)
	e.counts.Resets++
	e.facts.Resets = append(e.facts.Resets, ItemReset{Pipeline: p.Name, Item: it.ID, Change: it.Change})
	it.Resets++
	it.Attempt++
	it.AttemptAt = e.now
	it.Phase = PhaseWaiting
	it.Bases, it.Heads, it.Expect, it.Build, it.Failure, it.Parts = nil, nil, nil, nil, nil, nil
	e.touch(p, q)
	return true
}

// resetSubtree resets q.Items[i] and every item behind it whose state
// includes it.
func (e *Engine) resetSubtree(p *PipelineState, q *ChangeQueue, i int) {
	e.reset(p, q, q.Items[i])
}

// clone copies a map; an empty map becomes nil, so that the state is the
// same before and after a round trip through its encoding.
func clone(m map[string]string) map[string]string {
	if len(m) == 0 {
		return nil
	}
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}
