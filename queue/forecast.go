package queue

import (
	"container/heap"
	"encoding/json"
	"fmt"
	"time"
)

// forecastBudget bounds the events a forecast applies, per item it starts
// with: each item needs a handful (merge, build, submit, and again after a
// reset); the bound only stops a run that would not end.
const forecastBudget = 64

// forecastDepth is how many items of each queue, from its head, a forecast
// looks at. Nothing behind an item changes when it merges, so cutting the
// queue there changes no forecast of the items kept; it bounds the cost of
// a run forward (quadratic in the items) on long queues, where the
// forecasts far back would say little anyway (see the throughput
// simulator's figures).
const forecastDepth = 50

// Forecaster is what a forecast runs on: the dependent pipelines' state,
// encoded, and a copy of the estimates, as of a moment. Its Run may be
// called on any goroutine, while the engine goes on.
type Forecaster struct {
	cfg   *compiled
	state []byte
	est   Estimates
	now   time.Time
}

// Forecaster copies what a forecast as of now needs (see Run). The
// engine's owner pays only for encoding the state; Run decodes it, on its
// own goroutine.
func (e *Engine) Forecaster(now time.Time, est *Estimates) *Forecaster {
	data, err := e.encodeDependent()
	if err != nil {
		return &Forecaster{} // the state always encodes; nothing to forecast from otherwise
	}
	return &Forecaster{cfg: e.cfg, state: data, est: est.clone(), now: now}
}

// Run returns when each item of the dependent pipelines is expected to
// merge, by running the copy of the engine forward: every merge, build and
// submit it asks for is answered on a virtual clock after its estimated
// duration, and succeeds. Builds run at once (a cluster's capacity is not
// modelled), builds under way end their estimated duration after they
// started. Left out are the items beyond the first forecastDepth of their
// queue, the items that will not merge (failing ones, pipelines that do
// not submit) and those whose merge waits on a build of a project without
// an estimate, their own or one ahead of them in their queue. The engine
// itself is not changed.
func (fc *Forecaster) Run() map[ItemID]time.Time {
	if fc.state == nil {
		return nil
	}
	c := &Engine{cfg: fc.cfg}
	if err := json.Unmarshal(fc.state, &c.st); err != nil {
		return nil // it was encoded from a State
	}
	c.reindex()
	now := fc.now
	f := &forecast{e: c, est: &fc.est, clock: now, blind: map[string]bool{}, out: map[ItemID]time.Time{}}
	items := 0
	for _, p := range c.st.Pipelines {
		if c.pipelineConfig(p).Manager != Dependent {
			continue
		}
		for _, q := range p.Queues {
			for _, it := range q.Items {
				items++
				f.resume(p, it)
			}
		}
	}
	for budget := forecastBudget * items; f.pending.Len() > 0 && budget > 0; budget-- {
		next := heap.Pop(&f.pending).(forecastEvent)
		f.clock = next.at
		f.apply(next.ev)
	}
	return f.out
}

// encodeDependent encodes the dependent pipelines' state, each queue cut
// at forecastDepth: what a forecast needs. Its decoding, on any goroutine,
// is an exact copy (the state's encoding round-trips it).
func (e *Engine) encodeDependent() ([]byte, error) {
	st := State{NextItem: e.st.NextItem, Branches: e.st.Branches}
	for _, p := range e.st.Pipelines {
		if e.pipelineConfig(p).Manager != Dependent {
			continue
		}
		cut := &PipelineState{Name: p.Name, Refused: p.Refused}
		for _, q := range p.Queues {
			c := *q
			c.Items = c.Items[:min(len(c.Items), forecastDepth)]
			cut.Queues = append(cut.Queues, &c)
		}
		st.Pipelines = append(st.Pipelines, cut)
	}
	data, err := json.Marshal(st)
	if err != nil {
		return nil, fmt.Errorf("encode queue state: %w", err)
	}
	return data, nil
}

// forecast is one run forward of a copied engine.
type forecast struct {
	e       *Engine
	est     *Estimates
	clock   time.Time
	pending forecastEvents
	seq     int
	// blind marks the queues (pipeline + queue name) where a merge
	// already waited on a build without an estimate: every later merge
	// there waits on it too.
	blind map[string]bool
	out   map[ItemID]time.Time
}

// resume answers what an item of the copied state is waiting for.
func (f *forecast) resume(p *PipelineState, it *Item) {
	switch it.Phase {
	case PhaseMerging:
		var bases map[string]string
		if it.Ahead != 0 {
			bases = f.e.items[it.Ahead].item.Bases
		}
		f.perform(Merge{Item: it.ID, Attempt: it.Attempt, Pipeline: p.Name, Changes: f.e.chain(it), Bases: bases}, f.clock)
	case PhaseBuilding:
		started := f.clock
		if it.Build != nil && !it.Build.Started.IsZero() {
			started = it.Build.Started
		}
		if !it.isBundle() {
			f.perform(StartBuild{Item: it.ID, Attempt: it.Attempt, Pipeline: p.Name, Change: it.Change}, started)
		}
		for i, pt := range it.Parts { // a bundle's builds that run
			if pt.Result == "" {
				since := started
				if !pt.Build.Started.IsZero() {
					since = pt.Build.Started
				}
				f.perform(StartBuild{Item: it.ID, Attempt: it.Attempt, Pipeline: p.Name, Part: i, Change: pt.Change}, since)
			}
		}
	case PhaseSubmitting:
		f.perform(Submit{Item: it.ID, Attempt: it.Attempt, Pipeline: p.Name, Change: it.own()[0], Together: it.own()}, f.clock)
	}
}

// perform answers an action that started at since, as the world would if
// everything went as estimated and well.
func (f *forecast) perform(a Action, since time.Time) {
	switch a := a.(type) {
	case Merge:
		f.at(since.Add(f.est.Merge()), f.merged(a))
	case StartBuild:
		d, _ := f.est.Build(a.Pipeline, a.Change.Project)
		f.at(since.Add(d), BuildCompleted{Pipeline: a.Pipeline, Item: a.Item, Attempt: a.Attempt, Part: a.Part, Result: ResultSuccess})
	case Submit:
		tips := map[string]string{}
		if l := f.e.items[a.Item]; l != nil {
			tips[a.Change.Project] = l.item.Heads[a.Change.Project]
		}
		f.at(since.Add(f.est.Submit()), SubmitCompleted{Item: a.Item, Attempt: a.Attempt, Change: a.Change.Number, Merged: true, Tips: tips})
	}
}

// merged is the merger's answer to a merge: a new commit per project of the
// state, on the bases asked for or on the branch tips.
func (f *forecast) merged(a Merge) MergeCompleted {
	bases, heads := map[string]string{}, map[string]string{}
	for _, c := range a.Changes {
		if _, ok := bases[c.Project]; ok {
			continue
		}
		base := a.Bases[c.Project]
		if base == "" {
			base = "forecast-tip"
			if b := f.e.st.Branches[branchKey(c.Project, c.Branch)]; b != nil {
				base = b.Tip
			}
		}
		bases[c.Project] = base
		heads[c.Project] = fmt.Sprintf("forecast-%d.%d", a.Item, a.Attempt)
	}
	return MergeCompleted{Item: a.Item, Attempt: a.Attempt, Bases: bases, Heads: heads}
}

// at schedules an answer; one due in the past is due now.
func (f *forecast) at(t time.Time, ev Event) {
	if t.Before(f.clock) {
		t = f.clock
	}
	f.seq++
	heap.Push(&f.pending, forecastEvent{at: t, seq: f.seq, ev: ev})
}

// apply feeds an answer to the copy, performs what it asks for, and notes
// the merges.
func (f *forecast) apply(ev Event) {
	for _, a := range f.e.Apply(f.clock, ev) {
		f.perform(a, f.clock)
	}
	for _, m := range f.e.facts.Merged {
		q := m.Pipeline + "\x00" + f.e.cfg.queueName(m.Change.Project, m.Change.Branch)
		if _, known := f.est.Build(m.Pipeline, m.Change.Project); !known {
			f.blind[q] = true
		}
		if !f.blind[q] {
			f.out[m.Item] = m.MergedAt
		}
	}
	f.e.facts = Facts{}
}

// forecastEvent is an answer due at a virtual time; seq keeps answers due
// at the same time in the order they were decided.
type forecastEvent struct {
	at  time.Time
	seq int
	ev  Event
}

// forecastEvents is a min-heap of answers by due time.
type forecastEvents []forecastEvent

func (h forecastEvents) Len() int { return len(h) }
func (h forecastEvents) Less(i, j int) bool {
	if !h[i].at.Equal(h[j].at) {
		return h[i].at.Before(h[j].at)
	}
	return h[i].seq < h[j].seq
}
func (h forecastEvents) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *forecastEvents) Push(x any)   { *h = append(*h, x.(forecastEvent)) }
func (h *forecastEvents) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}
