package throughput

import (
	"container/heap"
	"fmt"
	"slices"
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

	changes []*change // by number - 1
	status  map[int]status
	tip     string

	exec   *executor
	states map[attempt][]int  // changes of the state each build built
	heads  map[attempt]string // the speculative commit each build built
	passed map[attempt]bool   // builds that passed
	builds map[uint64]int     // per state (hash of its changes): builds so far

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
func Run(w Workload, s Strategy, seed uint64) (*Result, error) {
	x, err := newWorld(w, s, seed)
	if err != nil {
		return nil, err
	}
	for _, c := range x.changes {
		x.at(c.approved, func() { x.approve(c) })
	}
	x.at(0, x.sample)
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
	gate := queue.DefaultPipelines("")[1]
	s.Configure(&gate)
	e, err := queue.New(queue.Config{Pipelines: []queue.PipelineConfig{gate}, Projects: map[string]queue.ProjectConfig{project: {}}})
	if err != nil {
		return nil, fmt.Errorf("strategy %s: %w", s.Name, err)
	}
	return &world{
		w: w, seed: seed, e: e, epoch: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC),
		changes: w.generate(seed), status: map[int]status{}, tip: "t0",
		exec: newExecutor(w.Capacity), states: map[attempt][]int{}, heads: map[attempt]string{},
		passed: map[attempt]bool{}, builds: map[uint64]int{},
		res: &Result{Strategy: s.Name, Seed: seed},
	}, nil
}

// timed is something that happens at a virtual time; seq breaks ties in
// the order things were scheduled, so that runs are deterministic.
type timed struct {
	at   time.Duration
	seq  uint64
	fire func()
}

type timeline []timed

func (t timeline) Len() int { return len(t) }
func (t timeline) Less(i, j int) bool {
	return t[i].at < t[j].at || (t[i].at == t[j].at && t[i].seq < t[j].seq)
}
func (t timeline) Swap(i, j int) { t[i], t[j] = t[j], t[i] }
func (t *timeline) Push(x any)   { *t = append(*t, x.(timed)) }
func (t *timeline) Pop() any {
	old := *t
	x := old[len(old)-1]
	*t = old[:len(old)-1]
	return x
}

func (w *world) at(t time.Duration, f func()) {
	w.seq++
	heap.Push(&w.line, timed{at: t, seq: w.seq, fire: f})
}

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
}

func (w *world) perform(a queue.Action) {
	switch a := a.(type) {
	case queue.Merge:
		w.at(w.now+w.w.Merge, func() { w.apply(w.merge(a)) })
	case queue.StartBuild:
		w.startBuild(w.newBuild(a))
	case queue.CancelBuild:
		w.cancelBuild(attempt{a.Item, a.Attempt})
	case queue.Report:
		w.report(a)
	case queue.Submit:
		w.at(w.now+w.w.Submit, func() { w.apply(w.submit(a)) })
	}
}

// approve is a reviewer approving a change (Code-Review +2, Workflow +1).
func (w *world) approve(c *change) {
	w.status[c.number] = queued
	ch := queue.Change{
		Number: c.number, Project: project, Branch: "master", Status: queue.StatusNew, Patchset: 1,
		Revision: fmt.Sprintf("r%d", c.number),
		Votes:    []queue.Vote{{Label: "Code-Review", Account: "core", Value: 2}, {Label: "Workflow", Account: "core", Value: 1}},
	}
	w.apply(queue.ChangeEvent{
		Type: "comment-added", Change: c.number, Author: "core", Changes: []queue.Change{ch},
		Approvals: []queue.Approval{{Label: "Code-Review", Value: 2}, {Label: "Workflow", Value: 1}},
	})
}

func numbers(refs []queue.ChangeRef) []int {
	out := make([]int, len(refs))
	for i, r := range refs {
		out[i] = r.Number
	}
	return out
}

// merge is the merger's answer: a conflict when a change of the state
// conflicts with a change before it in the state or merged already.
func (w *world) merge(a queue.Merge) queue.MergeCompleted {
	nums := numbers(a.Changes)
	for i, n := range nums {
		for _, o := range w.changes[n-1].conflicts {
			if w.status[o] == merged || slices.Contains(nums[:i], o) {
				return queue.MergeCompleted{Item: a.Item, Attempt: a.Attempt, Conflict: &queue.Conflict{Change: n, Message: fmt.Sprintf("conflicts with change %d", o)}}
			}
		}
	}
	bases := map[string]string{project: w.tip}
	for k, v := range a.Bases {
		bases[k] = v
	}
	return queue.MergeCompleted{
		Item: a.Item, Attempt: a.Attempt, Bases: bases,
		Heads: map[string]string{project: fmt.Sprintf("h%d.%d", a.Item, a.Attempt)},
	}
}

// newBuild decides a build's duration and result from the seed and the
// state it builds: a state with a bad change fails, others fail with the
// flaky probability.
func (w *world) newBuild(a queue.StartBuild) *build {
	id := attempt{a.Item, a.Attempt}
	nums := numbers(a.Changes)
	w.states[id] = nums
	w.heads[id] = a.Heads[project]
	var h uint64
	for _, n := range nums {
		h = mix(h ^ uint64(n))
	}
	nth := w.builds[h]
	w.builds[h]++
	d := newDraws(w.seed, h, uint64(nth))
	b := &build{id: id, duration: d.lognormal(w.w.Build, w.w.Sigma), result: queue.ResultSuccess}
	flaky := d.float() < w.w.Flaky
	if flaky || slices.ContainsFunc(nums, func(n int) bool { return w.changes[n-1].bad }) {
		b.result = queue.ResultFailure
	}
	return b
}

// report is what the reporter tells Gerrit. A good change rejected by a
// failed build was unlucky (a flaky build): its owner approves it again
// after the recheck delay.
func (w *world) report(r queue.Report) {
	n := r.Change.Number
	switch r.Kind {
	case queue.ReportStart, queue.ReportSuccess:
		return
	case queue.ReportConflict:
		w.status[n] = rejected
		w.res.RejectedConflict++
	case queue.ReportFailure:
		c := w.changes[n-1]
		if c.bad {
			w.status[n] = rejected
			w.res.RejectedBad++
			return
		}
		w.status[n] = rechecking
		w.res.WronglyRejected++
		w.at(w.now+w.w.Recheck, func() { w.approve(c) })
	default:
		w.fail("change %d: unexpected %s report: %s", n, r.Kind, r.Message)
	}
}

// submit is the reporter and Gerrit submitting a change: stale if the
// branch no longer has the tree the item was built on, else merged. It
// checks the engine's promise on its own: the exact state was built and
// passed, and everything else in it is merged already.
func (w *world) submit(a queue.Submit) queue.SubmitCompleted {
	id := attempt{a.Item, a.Attempt}
	if a.Expect[project] != w.tip {
		return queue.SubmitCompleted{Item: a.Item, Attempt: a.Attempt, Stale: true, Tips: map[string]string{project: w.tip}}
	}
	n := a.Change.Number
	state := w.states[id]
	switch {
	case !w.passed[id]:
		w.fail("change %d submitted, but its build %v did not pass", n, id)
	case len(state) == 0 || state[len(state)-1] != n:
		w.fail("change %d submitted with state %v", n, state)
	case w.status[n] == merged:
		w.fail("change %d submitted twice", n)
	}
	for _, o := range state[:max(len(state)-1, 0)] {
		if w.status[o] != merged {
			w.fail("change %d submitted before change %d, with which it was tested", n, o)
		}
	}
	c := w.changes[n-1]
	if c.bad {
		w.res.BadMerged++
	}
	w.status[n] = merged
	w.tip = w.heads[id]
	w.res.merge(w, c)
	return queue.SubmitCompleted{Item: a.Item, Attempt: a.Attempt, Merged: true, Tips: map[string]string{project: w.tip}}
}

// items returns the changes with an item in the gate.
func (w *world) items() []int {
	var out []int
	for _, p := range w.e.State().Pipelines {
		for _, q := range p.Queues {
			for _, it := range q.Items {
				out = append(out, it.Change.Number)
			}
		}
	}
	return out
}

// sample records the queue length, and keeps sampling while anything is
// still to happen.
func (w *world) sample() {
	w.res.QueueLength = append(w.res.QueueLength, Point{Hours: w.now.Hours(), Value: float64(len(w.items()))})
	if w.line.Len() > 0 {
		w.at(w.now+sampleEvery, w.sample)
	}
}

// finish checks that no approved change was lost and computes the figures.
func (w *world) finish() error {
	inGate := map[int]bool{}
	for _, n := range w.items() {
		inGate[n] = true
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
