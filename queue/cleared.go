package queue

// Retrying cleared changes only (PipelineConfig.RetryCleared). Zuul counts
// a failed build at once: the items behind are rebuilt without the item,
// and the item is rejected when it reaches the head. When the build was
// flaky, that rejects a good change and wastes the builds behind it.
// Retrying every failure (Retries alone) saves those, but a genuinely bad
// change then keeps everything behind it waiting for one more build, and
// the items behind, which contain it, fail and are retried too.
//
// A retry pays off only when the failure is likely flaky, and the queue
// often knows it is: a build whose state included the change passed (an
// item behind it, or its probe, passed before its own build failed). Such
// a change is cleared, and only its failures are retried; the items behind
// keep building on it. A bad change that every build containing it fails
// is never cleared, so its failure still resets the queue at once.
//
// With bad changes that a build catches only sometimes, one passed build
// is weaker evidence: a bad change in the state of several builds is often
// in one that passes by luck, and once cleared its own failures are
// retried, which gives it another chance to merge. ClearPasses asks for
// more passed builds before a change counts as cleared.

// clear counts a passed build for the items of its state, and marks those
// with enough passes as cleared.
func (e *Engine) clear(it *Item) {
	for x := it; ; x = e.items[x.Ahead].item {
		e.pass(x)
		if x.Ahead == 0 {
			return
		}
	}
}

// pass counts a passed build that included an item's change (in the
// chain, or a probe), and clears the change once it has enough.
func (e *Engine) pass(it *Item) {
	it.Passes++
	it.Cleared = it.Cleared || it.Passes >= max(e.pipelineConfig(e.items[it.ID].pipeline).ClearPasses, 1)
}

// retry reports whether a failed build of an item runs again.
func retry(cp *compiledPipeline, it *Item) bool {
	return it.Build.Tries <= cp.Retries && (!cp.RetryCleared || it.Cleared)
}
