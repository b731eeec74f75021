package queue

// Parallel merges (PipelineConfig.ParallelMerges). By default an item's
// merge waits for the merge of the item ahead, and is pinned to the branch
// commits that one was built on: a whole chain is built on one tip, and
// after a reset the chain is merged again one item after the other. Zuul
// sends each item's chain to a merger as soon as the item is in the window;
// with ParallelMerges gated does the same. The chain still has to be built
// on one tip, so every merge of it is pinned:
//
//   - the item at the head of a chain is merged on the branch tips the
//     engine last saw (those its submits and RefUpdated reported); while
//     the engine knows no tip for the branch, its merge is not pinned and
//     the items behind wait for it, as without the option;
//   - an item behind is pinned to the commits its nearest pinned item
//     ahead was (or is being) merged on, and, for a project none of them
//     touches, to the tip the engine last saw (or waits for the item ahead
//     when it knows none);
//   - the commits an item is pinned to are its Bases from the moment its
//     merge is asked for (with or without the option), so that a branch
//     moving meanwhile resets it, and a submit of an item ahead meanwhile
//     advances them (keepPinned);
//   - its Expect, the state ahead that the branch must have when it is
//     submitted, is completed once the item ahead's merge is known.
//
// A tip the engine last saw may be stale (a lost RefUpdated): the chain is
// then built on that commit, and the check before the submit (Expect)
// finds the branch moved and rebuilds it, as it does without the option.

// parallelBases returns the branch commits an item's merge is pinned to
// when its pipeline merges in parallel and the item ahead is not merged
// yet (or it is the head of its chain), or nil when the merge must wait
// (or need not be pinned).
func (e *Engine) parallelBases(cp *compiledPipeline, it *Item) map[string]string {
	if !cp.ParallelMerges {
		return nil
	}
	var bases map[string]string
	for x := it; x.Ahead != 0; {
		x = e.items[x.Ahead].item
		if x.Probe {
			return nil // a probe's bases are not the state ahead's
		}
		if x.Bases != nil {
			bases = clone(x.Bases)
			break
		}
	}
	if bases == nil {
		bases = map[string]string{}
	}
	for x := it; ; x = e.items[x.Ahead].item {
		c := x.Change
		if bases[c.Project] == "" {
			b := e.st.Branches[branchKey(c.Project, c.Branch)]
			if b == nil || b.Tip == "" {
				return nil
			}
			bases[c.Project] = b.Tip
		}
		if x.Ahead == 0 {
			return bases
		}
	}
}

// keepPinned returns the bases of a merged item: those the merger
// reports, except where the item was pinned. A pinned base may have moved
// on while the merge ran (a submit of an item of its chain advances the
// bases of the items behind to the new tip, see onSubmitCompleted), and
// the merger reports the commit it was asked for: the chain the item
// builds no longer has the submitted change, so its base must be the tip
// that has it.
func keepPinned(pinned, reported map[string]string) map[string]string {
	out := clone(reported)
	for project, sha := range pinned {
		if out == nil {
			out = map[string]string{}
		}
		out[project] = sha
	}
	return out
}

// settleExpect completes the Expect of an item merged before the item
// ahead of it: the branch must have the state ahead when it is submitted.
func settleExpect(cp *compiledPipeline, it, ahead *Item) {
	if !cp.ParallelMerges || it.Heads == nil || ahead.Heads == nil || ahead.Probe {
		return
	}
	if it.Expect == nil {
		it.Expect = map[string]string{}
	}
	for project, sha := range ahead.Heads {
		it.Expect[project] = sha
	}
}
