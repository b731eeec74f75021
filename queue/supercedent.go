package queue

// The supercedent manager (Zuul's, for post and promote pipelines): one
// queue per project and branch (per ref for tags), created on its first
// item and dropped when empty. Only the head builds; behind it waits at
// most one item, the newest: an item that arrives replaces the one
// waiting, never the one that builds, so a burst of merges builds the
// first and the last. A replaced item never started, so it leaves
// quietly, as in Zuul.

// supersede removes every item between the head and the newest of a
// supercedent queue.
func (e *Engine) supersede(p *PipelineState, q *ChangeQueue) {
	for len(q.Items) > 2 {
		e.dequeue(e.items[q.Items[1].ID], false, "", 0, "")
	}
}

// enqueueMerged adds a change that a change-merged event says merged, in
// an independent or supercedent pipeline (promote): its item builds the
// commit the merge made (newRev, or the branch's tip if unknown).
func (e *Engine) enqueueMerged(p *PipelineState, c *Change, newRev string) {
	if e.itemOf(p, c.Number) != nil || e.pipelineConfig(p).unmetVotes(c) != "" || !e.wanted(p, c) {
		return
	}
	it := e.newChangeItem(p, c)
	it.Merged, it.Commit = true, newRev
	e.add(p, it)
}

// processSupercedent builds the head of a supercedent queue and reports
// it when done; the item behind it starts next.
func (e *Engine) processSupercedent(p *PipelineState, q *ChangeQueue) bool {
	if len(q.Items) == 0 {
		return false
	}
	started, left := e.processAlone(p, q.Items[0])
	return started || left
}

// dropEmptyQueues removes the queues that an event emptied in independent
// and supercedent pipelines: their items never share a state, so a queue
// holds nothing worth keeping (dependent queues keep their window). Ready
// then deletes their stored parts.
func (e *Engine) dropEmptyQueues() {
	for q, p := range e.emptied {
		if len(q.Items) > 0 || e.pipelines[p.Name] != p || e.pipelineConfig(p).Manager == Dependent {
			continue
		}
		e.dropQueue(p, q)
	}
	clear(e.emptied)
}

// dropQueue removes an empty queue from its pipeline; Ready deletes its
// stored part.
func (e *Engine) dropQueue(p *PipelineState, q *ChangeQueue) {
	for i, x := range p.Queues {
		if x == q {
			p.Queues = append(p.Queues[:i:i], p.Queues[i+1:]...)
			break
		}
	}
	if e.queues[p.Name][q.Name] == q {
		delete(e.queues[p.Name], q.Name)
	}
	delete(e.changed, q)
	e.dropped[QueuePart(p.Name, q.Name)] = true
}
