package queue

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"
)

// Engine is the gate's state machine. It is not safe for concurrent use:
// one goroutine owns it.
type Engine struct {
	cfg *compiled
	st  State

	// Indexes derived from st, rebuilt by RestoreParts and kept in step by the
	// mutators below; never encoded.
	pipelines map[string]*PipelineState
	queues    map[string]map[string]*ChangeQueue // pipeline → queue name
	items     map[ItemID]*itemLoc
	byChange  map[int][]ItemID // change number → live items, in any pipeline

	// Per Apply: the actions emitted so far, the queues to process and
	// the queues emptied; the dependency cycles among the snapshots of a
	// ChangeEvent (cycles.go).
	out     []Action
	dirty   map[*ChangeQueue]*PipelineState
	emptied map[*ChangeQueue]*PipelineState
	now     time.Time
	comps   map[int][]*Change
	compsOf map[int]*Change // the snapshots comps were found in

	// changed accumulates the queues touched, dropped the parts of the
	// queues removed, and facts what happened, since the last Ready.
	changed map[*ChangeQueue]*PipelineState
	dropped map[string]bool
	facts   Facts

	// reads is when the newest applied read of each change began, and
	// merges when gated's submit of a change was answered merged (see
	// snapshots.go); not part of the state.
	reads  map[int]time.Time
	merges map[int]time.Time

	counts Counters
}

// Counters count what the engine did since it was created or restored
// (for metrics; not part of the state).
type Counters struct {
	Enqueued int // items enqueued
	Resets   int // items whose state was invalidated and rebuilt
	Merged   int // changes merged by the gate
	Failed   int // items reported as failed
	Dequeued int // items that left without a result (new patchset, abandon, ...)
	Refusals int // changes refused with a report
}

// Counters returns the engine's counters.
func (e *Engine) Counters() Counters { return e.counts }

type itemLoc struct {
	item     *Item
	pipeline *PipelineState
	queue    *ChangeQueue
}

// New returns an engine with an empty state.
func New(cfg Config) (*Engine, error) {
	c, err := compile(cfg)
	if err != nil {
		return nil, fmt.Errorf("queue config: %w", err)
	}
	e := &Engine{cfg: c, st: State{NextItem: 1}}
	e.reindex()
	return e, nil
}

// State returns the engine's state for reading (status pages, tests). The
// caller must not modify it.
func (e *Engine) State() *State { return &e.st }

// Chain returns the changes of a live item's speculative state, in merge
// order (the items ahead of it, then its own dependencies and its own
// changes).
func (e *Engine) Chain(id ItemID) []ChangeRef {
	l := e.items[id]
	if l == nil {
		return nil
	}
	return e.chain(l.item)
}

// Config returns the engine's configuration.
func (e *Engine) Config() Config { return e.cfg.Config }

// reindex rebuilds the derived indexes and makes the pipeline list follow
// the configuration.
func (e *Engine) reindex() {
	old := map[string]*PipelineState{}
	for _, p := range e.st.Pipelines {
		old[p.Name] = p
	}
	e.st.Pipelines = e.st.Pipelines[:0]
	e.pipelines = map[string]*PipelineState{}
	e.queues = map[string]map[string]*ChangeQueue{}
	e.changed = map[*ChangeQueue]*PipelineState{}
	if e.dropped == nil {
		e.dropped = map[string]bool{}
	}
	e.items = map[ItemID]*itemLoc{}
	e.byChange = map[int][]ItemID{}
	for _, pc := range e.cfg.pipelines {
		p := old[pc.Name]
		if p == nil {
			p = &PipelineState{Name: pc.Name, Queues: []*ChangeQueue{}}
		}
		e.st.Pipelines = append(e.st.Pipelines, p)
		e.pipelines[p.Name] = p
		e.queues[p.Name] = map[string]*ChangeQueue{}
		slices.SortFunc(p.Queues, func(a, b *ChangeQueue) int { return strings.Compare(a.Name, b.Name) })
		for _, q := range p.Queues {
			e.queues[p.Name][q.Name] = q
			for _, it := range q.Items {
				e.index(p, q, it)
			}
		}
	}
	// Ids grow with time: keep each change's items in the order they were
	// enqueued, as index does, so a restored engine acts as the original.
	for _, ids := range e.byChange {
		slices.Sort(ids)
	}
}

// index records where an item lives; items of changes are also found by
// change number (ref items are about no change of their own).
func (e *Engine) index(p *PipelineState, q *ChangeQueue, it *Item) {
	e.items[it.ID] = &itemLoc{item: it, pipeline: p, queue: q}
	if it.Ref != nil {
		return
	}
	for _, r := range it.members() {
		e.byChange[r.Number] = append(e.byChange[r.Number], it.ID)
	}
}

func (e *Engine) unindex(it *Item) {
	delete(e.items, it.ID)
	if it.Ref != nil {
		return
	}
	for _, r := range it.members() {
		ids := e.byChange[r.Number]
		for i, id := range ids {
			if id == it.ID {
				ids = append(ids[:i:i], ids[i+1:]...)
				break
			}
		}
		if len(ids) == 0 {
			delete(e.byChange, r.Number)
		} else {
			e.byChange[r.Number] = ids
		}
	}
}

// Apply feeds one event to the engine at time now and returns the actions to
// perform, in order.
func (e *Engine) Apply(now time.Time, ev Event) []Action {
	e.now = now.UTC().Round(0)
	e.out = nil
	e.dirty = map[*ChangeQueue]*PipelineState{}
	if e.emptied == nil {
		e.emptied = map[*ChangeQueue]*PipelineState{}
	}
	switch ev := ev.(type) {
	case ChangeEvent:
		e.onChange(ev)
	case ServerInfo:
		e.st.SubmitWholeTopic = ev.SubmitWholeTopic
	case RefUpdated:
		e.onRefUpdated(ev)
	case MergeCompleted:
		e.onMergeCompleted(ev)
	case BuildStarted:
		e.onBuildStarted(ev)
	case BuildCompleted:
		e.onBuildCompleted(ev)
	case SubmitCompleted:
		e.onSubmitCompleted(ev)
	case BuildsListed:
		e.onBuildsListed(ev)
	case Dequeue:
		e.onDequeue(ev)
	case Enqueue:
		e.onEnqueue(ev)
	case Promote:
		e.onPromote(ev)
	case BranchTips:
		e.onBranchTips(ev)
	case Reconfigure:
		e.onReconfigure(ev)
	case Tick:
		// Time passed: the timers below see it.
	}
	e.runTimers()
	e.processDirty()
	e.dropEmptyQueues()
	out := e.out
	e.out, e.dirty, e.comps, e.compsOf = nil, nil, nil, nil
	return out
}

func (e *Engine) emit(a Action) { e.out = append(e.out, a) }

func (e *Engine) touch(p *PipelineState, q *ChangeQueue) {
	e.dirty[q] = p
	e.changed[q] = p
}

// processDirty runs the queue processor over every touched queue until no
// queue changes, in a deterministic order.
func (e *Engine) processDirty() {
	for len(e.dirty) > 0 {
		type pq struct {
			p *PipelineState
			q *ChangeQueue
		}
		work := make([]pq, 0, len(e.dirty))
		for q, p := range e.dirty {
			work = append(work, pq{p, q})
		}
		sort.Slice(work, func(i, j int) bool {
			if work[i].p.Name != work[j].p.Name {
				return work[i].p.Name < work[j].p.Name
			}
			return work[i].q.Name < work[j].q.Name
		})
		clear(e.dirty)
		for _, w := range work {
			for e.process(w.p, w.q) {
			}
		}
	}
}

// pipelineConfig returns the configuration of a pipeline state.
func (e *Engine) pipelineConfig(p *PipelineState) *compiledPipeline { return e.cfg.byName[p.Name] }

// queueNamed returns (creating it) the queue of that name in p.
func (e *Engine) queueNamed(p *PipelineState, name string) *ChangeQueue {
	if q := e.queues[p.Name][name]; q != nil {
		return q
	}
	window := e.pipelineConfig(p).Window.Size
	if e.pipelineConfig(p).Manager == Supercedent {
		window = 1 // only the head builds
	}
	q := &ChangeQueue{Name: name, Window: window, Items: []*Item{}}
	i, _ := slices.BinarySearchFunc(p.Queues, name, func(q *ChangeQueue, name string) int { return strings.Compare(q.Name, name) })
	p.Queues = slices.Insert(p.Queues, i, q)
	e.queues[p.Name][name] = q
	return q
}

// itemOf returns the live item of change number n in pipeline p.
func (e *Engine) itemOf(p *PipelineState, n int) *itemLoc {
	for _, id := range e.byChange[n] {
		if l := e.items[id]; l.pipeline == p {
			return l
		}
	}
	return nil
}

func (e *Engine) ref(c *Change) ChangeRef {
	return ChangeRef{
		Project: c.Project, Branch: c.Branch, Number: c.Number, Patchset: c.Patchset,
		Revision: c.Revision, SubmitType: e.cfg.submitType(c.Project),
	}
}
