package throughput

import (
	"slices"

	"gated.dev/gated/queue"
)

// Hedging (speculating both ways, as Uber's SubmitQueue builds the likely
// outcomes), emulated by the executor: a measure of what it buys and what
// it costs, not a strategy of the engine (sim -hedge; Strategy.Hedge).
//
// When the engine starts the build of an item's speculative state, the
// executor also builds, for each undecided item ahead of it (nearest
// first, at most Limit), that state without that item: a hedge. Should the
// item fail, the engine's reset asks for exactly the hedge's tree, and the
// executor hands the hedge over, running or finished with its result: the
// rebuild has already run as long as the hedge. A hedge that can no longer
// be asked for (the item it leaves out passed, or its own item left the
// gate or was given another state) is cancelled and costs the share of its
// duration it ran; one that ran to its end costs a build. Builds per merge
// counts them all.
type Hedge struct {
	// Limit is how many undecided items ahead a build hedges against,
	// nearest first; 0 is all of them.
	Limit int
}

// hedge is one hedge build.
type hedge struct {
	seq  int // in the order hedges started: sweeps are deterministic
	tree uint64
	// item is the item whose state it builds, less skip, the item ahead
	// it leaves out (whose change is skipChange); attempt is the item's
	// attempt it hedges.
	item, skip queue.ItemID
	skipChange int
	attempt    int
	b          *build
}

// hedgeItem numbers hedge builds apart from the engine's items.
const hedgeItem = queue.ItemID(1 << 40)

// startHedges starts the hedges of the build of item it, whose state is
// tree.
func (w *world) startHedges(it *queue.Item, tree []int) {
	pol := w.hedge
	if pol == nil || it.Probe {
		return
	}
	byID := map[queue.ItemID]*queue.Item{}
	for _, x := range w.gate() {
		byID[x.ID] = x
	}
	n := 0
	for a := byID[it.Ahead]; a != nil; a = byID[a.Ahead] {
		if pol.Limit > 0 && n >= pol.Limit {
			break
		}
		if a.Failure != nil || a.Phase == queue.PhasePassed || a.Phase == queue.PhaseSubmitting || a.Probe {
			continue
		}
		n++
		without := slices.DeleteFunc(slices.Clone(tree), func(c int) bool { return c == a.Change.Number })
		h := treeHash(without)
		if w.hedges[h] != nil || w.passedTrees[h] {
			continue
		}
		w.res.Hedges++
		b := w.drawBuild(attempt{hedgeItem + queue.ItemID(w.res.Hedges), 0}, "hedge", without)
		w.hedges[h] = &hedge{seq: w.res.Hedges, tree: h, item: it.ID, attempt: it.Attempt, skip: a.ID, skipChange: a.Change.Number, b: b}
		w.startBuild(b)
	}
}

// adoptHedge gives the engine's build of tree the hedge of that tree, if
// there is one: it reports whether it did.
func (w *world) adoptHedge(id attempt, h uint64) bool {
	hg := w.hedges[h]
	if hg == nil {
		return false
	}
	delete(w.hedges, h)
	w.res.Adopted++
	b := hg.b
	x := w.exec
	if b.over { // finished: its result stands for the engine's build
		w.at(w.now, func() {
			w.apply(queue.BuildStarted{Pipeline: "gate", Item: id.item, Attempt: id.attempt, Name: "sim"})
			if b.result == queue.ResultSuccess {
				w.passed[id] = true
				w.passedTrees[h] = true
			}
			msg := ""
			if b.result != queue.ResultSuccess {
				msg = "step test failed"
			}
			w.apply(queue.BuildCompleted{Item: id.item, Attempt: id.attempt, Result: b.result, Message: msg})
		})
		return true
	}
	if _, running := x.running[b.id]; running {
		delete(x.running, b.id)
		x.running[id] = b
		w.at(w.now, func() {
			if !b.over {
				w.apply(queue.BuildStarted{Pipeline: "gate", Item: id.item, Attempt: id.attempt, Name: "sim"})
			}
		})
	}
	b.id, b.pipeline = id, "gate" // still waiting: it starts as the engine's
	return true
}

// sweepHedges cancels the hedges that can no longer be asked for: their
// item left the gate, or the item they leave out passed (or merged), or
// their item was given a new state that still has the item they leave
// out. A hedge whose left-out item failed waits for the engine to ask.
func (w *world) sweepHedges() {
	if len(w.hedges) == 0 {
		return
	}
	byID := map[queue.ItemID]*queue.Item{}
	for _, it := range w.gate() {
		byID[it.ID] = it
	}
	w.dropHedgesIf(func(hg *hedge) bool {
		it, skip := byID[hg.item], byID[hg.skip]
		switch {
		case it == nil:
			return true
		case skip == nil:
			return w.status[hg.skipChange] == merged
		case skip.Failure != nil:
			return false
		}
		return skip.Phase == queue.PhasePassed || skip.Phase == queue.PhaseSubmitting || it.Attempt != hg.attempt
	})
}

// dropHedges cancels the hedges of an item's older attempts: its new state
// did not take them.
func (w *world) dropHedges(item queue.ItemID, attempt int) {
	w.dropHedgesIf(func(hg *hedge) bool { return hg.item == item && hg.attempt < attempt })
}

// dropHedgesIf cancels the hedges drop picks, oldest first.
func (w *world) dropHedgesIf(drop func(*hedge) bool) {
	var doomed []*hedge
	for _, hg := range w.hedges {
		if drop(hg) {
			doomed = append(doomed, hg)
		}
	}
	slices.SortFunc(doomed, func(a, b *hedge) int { return a.seq - b.seq })
	for _, hg := range doomed {
		delete(w.hedges, hg.tree)
		if !hg.b.over {
			w.cancelBuild(hg.b.id)
		}
	}
}
