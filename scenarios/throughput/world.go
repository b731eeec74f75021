package throughput

import (
	"container/heap"
	"fmt"
	"time"

	"gated.dev/gated/queue"
)

// project is the one project of the modelled world; its changes share one
// change queue on master.
const project = "p"

// sampleEvery is how often the queue length is recorded for the plots.
const sampleEvery = 10 * time.Minute

// world is one run: the engine, and around it a fake Gerrit, merger,
// executor and reporter on a virtual clock.
type world struct {
	w     Workload
	seed  uint64
	e     *queue.Engine
	epoch time.Time
	now   time.Duration // virtual time since epoch
	line  timeline
	seq   uint64

	changes  []*change // by number - 1
	status   map[int]status
	verified map[int]int // gated's Verified vote on each change
	tip      string
	trees    map[string][]int // commit → the changes its tree has, sorted

	exec   *executor
	heads  map[attempt]string // the speculative commit each build built
	passed map[attempt]bool   // builds that passed
	builds map[uint64]int     // per tree (a hash of its changes): builds so far
	// passedTrees are the trees a gate build passed.
	passedTrees map[uint64]bool
	// hedge is the strategy's hedging, emulated here (nil: none), and
	// hedges the hedge builds by tree.
	hedge  *Hedge
	hedges map[uint64]*hedge
	// hits are what delayed each change so far.
	hits map[int]hit
	// undecided sums, over first approvals, the gate items still building
	// or waiting for a build then.
	undecided int

	res *Result
	err error
}

type status int

const (
	queued status = iota
	merged
	rejected
	rechecking
)

// Run simulates the workload under one strategy with one seed and returns
// what it measured. It fails if the engine breaks one of its promises: a
// submitted change whose exact state was not built and passed, a state
// submitted before the changes it was tested with, an approved change lost
// without a report.
func Run(w Workload, s Strategy, seed uint64) (*Result, error) { return run(w, s, seed, nil) }

// run is Run with an observer: it runs at the start of the run, on the
// world, and may schedule itself again (see forecaster).
func run(w Workload, s Strategy, seed uint64, observe func(*world)) (*Result, error) {
	x, err := newWorld(w, s, seed)
	if err != nil {
		return nil, err
	}
	for _, c := range x.changes {
		x.at(c.approved, func() { x.approve(c) })
	}
	x.at(0, func() { x.apply(queue.RefUpdated{Project: project, Branch: "master", NewRev: x.tip}) })
	x.at(0, x.sample)
	if observe != nil {
		x.at(0, func() { observe(x) })
	}
	limit := time.Duration(w.Hours*float64(time.Hour)) + w.Drain
	for x.line.Len() > 0 && x.err == nil {
		next := heap.Pop(&x.line).(timed)
		if next.at > limit {
			break
		}
		x.now = next.at
		next.fire()
	}
	if x.err != nil {
		return nil, fmt.Errorf("strategy %s, seed %d, at %v: %w", s.Name, seed, x.now, x.err)
	}
	if err := x.finish(); err != nil {
		return nil, fmt.Errorf("strategy %s, seed %d: %w", s.Name, seed, err)
	}
	return x.res, nil
}

func newWorld(w Workload, s Strategy, seed uint64) (*world, error) {
	if err := w.Validate(); err != nil {
		return nil, fmt.Errorf("workload: %w", err)
	}
	pipelines := queue.DefaultPipelines(bot)
	s.Configure(&pipelines[1])
	e, err := queue.New(queue.Config{Pipelines: pipelines, Projects: map[string]queue.ProjectConfig{project: {}}})
	if err != nil {
		return nil, fmt.Errorf("strategy %s: %w", s.Name, err)
	}
	return &world{
		w: w, seed: seed, e: e, epoch: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC),
		changes: w.generate(seed), status: map[int]status{}, verified: map[int]int{},
		tip: "t0", trees: map[string][]int{"t0": {}},
		exec: newExecutor(w.Capacity), heads: map[attempt]string{},
		passed: map[attempt]bool{}, builds: map[uint64]int{}, passedTrees: map[uint64]bool{},
		res:   &Result{Strategy: s.Name, Seed: seed},
		hedge: s.Hedge, hedges: map[uint64]*hedge{}, hits: map[int]hit{},
	}, nil
}

// fail records the first broken promise; the run stops.
func (w *world) fail(format string, args ...any) {
	if w.err == nil {
		w.err = fmt.Errorf(format, args...)
	}
}

// apply feeds an event to the engine and performs its actions.
func (w *world) apply(ev queue.Event) {
	w.res.Events++
	for _, a := range w.e.Apply(w.epoch.Add(w.now), ev) {
		w.perform(a)
	}
	w.sweepHedges()
}

// item returns the gate item with this id.
func (w *world) item(id queue.ItemID) *queue.Item {
	for _, it := range w.gate() {
		if it.ID == id {
			return it
		}
	}
	return nil
}

func (w *world) perform(a queue.Action) {
	switch a := a.(type) {
	case queue.Merge:
		w.at(w.now+w.w.Merge, func() { w.apply(w.merge(a)) })
	case queue.StartBuild:
		id := attempt{a.Item, a.Attempt}
		if w.hedge != nil && a.Pipeline == "gate" {
			w.heads[id] = a.Heads[project]
			tree := w.trees[w.heads[id]]
			adopted := w.adoptHedge(id, treeHash(tree))
			w.dropHedges(a.Item, a.Attempt)
			if it := w.item(a.Item); it != nil {
				w.startHedges(it, tree)
			}
			if adopted {
				return
			}
		}
		w.startBuild(w.newBuild(a))
	case queue.CancelBuild:
		w.cancelBuild(attempt{a.Item, a.Attempt})
	case queue.Report:
		w.report(a)
	case queue.Submit:
		w.at(w.now+w.w.Submit, func() { w.apply(w.submit(a)) })
	}
}

// gate returns the items in the gate.
func (w *world) gate() []*queue.Item {
	var out []*queue.Item
	for _, p := range w.e.State().Pipelines {
		if p.Name == "gate" {
			for _, q := range p.Queues {
				out = append(out, q.Items...)
			}
		}
	}
	return out
}

// sample records the queue length, and keeps sampling while anything is
// still to happen.
func (w *world) sample() {
	w.res.QueueLength = append(w.res.QueueLength, Point{Hours: w.now.Hours(), Value: float64(len(w.gate()))})
	if w.line.Len() > 0 {
		w.at(w.now+sampleEvery, w.sample)
	}
}

// finish checks that no approved change was lost and computes the figures.
func (w *world) finish() error {
	inGate := map[int]bool{}
	for _, it := range w.gate() {
		inGate[it.Change.Number] = true
	}
	for _, c := range w.changes {
		if c.approved > w.now {
			continue // not approved before the run ended
		}
		if s := w.status[c.number]; s == queued && !inGate[c.number] {
			return fmt.Errorf("change %d was approved but is neither merged, nor rejected, nor in the gate", c.number)
		} else if s == merged && inGate[c.number] {
			return fmt.Errorf("change %d is merged but still in the gate", c.number)
		}
	}
	w.res.compute(w)
	return nil
}
