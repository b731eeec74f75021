package throughput

import (
	"slices"
	"time"

	"gated.dev/gated/queue"
)

// attempt names one build: an item's attempt, as the engine numbers them.
type attempt struct {
	item    queue.ItemID
	attempt int
}

// build is one build in the simulated cluster.
type build struct {
	id       attempt
	pipeline string // gate, or check (a recheck)
	tree     uint64 // the hash of the tree it builds
	duration time.Duration
	result   queue.Result
	started  time.Duration // since the start of the run; valid when running
	over     bool          // finished or cancelled
}

// executor is the simulated build cluster: at most capacity builds run at
// once; the others wait, first in, first out. It counts what the builds
// cost.
type executor struct {
	capacity int
	running  map[attempt]*build
	waiting  []*build

	started   int     // builds that got a slot
	completed int     // builds that ran to their end
	checks    int     // of which check builds
	cancelled int     // running builds that were cancelled
	partial   float64 // sum over cancelled builds of the share of their duration they ran
	dropped   int     // builds cancelled while waiting for a slot (cost nothing)
	peak      int     // most builds running at once
}

func newExecutor(capacity int) *executor {
	return &executor{capacity: capacity, running: map[attempt]*build{}}
}

// startBuild queues a build and runs it at once if there is a free slot.
func (w *world) startBuild(b *build) {
	w.exec.waiting = append(w.exec.waiting, b)
	w.runWaiting()
}

// runWaiting gives free slots to the builds that waited longest.
func (w *world) runWaiting() {
	x := w.exec
	for len(x.running) < x.capacity && len(x.waiting) > 0 {
		b := x.waiting[0]
		x.waiting = x.waiting[1:]
		b.started = w.now
		x.running[b.id] = b
		x.started++
		x.peak = max(x.peak, len(x.running))
		w.at(w.now, func() {
			if !b.over && b.pipeline != "hedge" {
				w.apply(queue.BuildStarted{Pipeline: b.pipeline, Item: b.id.item, Attempt: b.id.attempt, Name: "sim"})
			}
		})
		w.at(w.now+b.duration, func() { w.finishBuild(b) })
	}
}

// finishBuild ends a build that ran its course and tells the engine.
func (w *world) finishBuild(b *build) {
	if b.over {
		return // cancelled meanwhile
	}
	b.over = true
	x := w.exec
	delete(x.running, b.id)
	x.completed++
	if b.pipeline == "check" {
		x.checks++
	}
	if b.pipeline == "hedge" {
		w.runWaiting()
		return // kept for the engine to ask for (see Hedge)
	}
	if b.result == queue.ResultSuccess {
		w.passed[b.id] = true
		if b.pipeline == "gate" {
			w.passedTrees[b.tree] = true
		}
	}
	w.runWaiting()
	msg := ""
	if b.result != queue.ResultSuccess {
		msg = "step test failed"
	}
	w.apply(queue.BuildCompleted{Item: b.id.item, Attempt: b.id.attempt, Result: b.result, Message: msg})
}

// cancelBuild stops a running build (its cost is the share it ran) or
// drops a waiting one.
func (w *world) cancelBuild(id attempt) {
	x := w.exec
	if b := x.running[id]; b != nil {
		b.over = true
		delete(x.running, id)
		x.cancelled++
		ran := w.now - b.started
		if b.duration > 0 {
			x.partial += float64(ran) / float64(b.duration)
		}
		w.runWaiting()
		return
	}
	if i := slices.IndexFunc(x.waiting, func(b *build) bool { return b.id == id }); i >= 0 {
		x.waiting[i].over = true
		x.waiting = slices.Delete(x.waiting, i, i+1)
		x.dropped++
	}
}
