package queue

import (
	"fmt"
	"slices"
	"time"
)

// Timers (Zuul's timer trigger, for periodic pipelines) run on the
// engine's clock only: the now of each Apply. The state keeps, per timer,
// when it fires next; an Apply at or after that time fires it once (a
// timer that was due several times while gated was down fires once) and
// computes the next time. Since that is committed with the firing's
// actions, a restart neither loses nor repeats a firing. The owner feeds
// time with Tick when Due says a timer is due.
//
// A firing asks for the branches of every project that builds in the
// pipeline (ListBranches); the answer (BranchTips) enqueues each branch
// the project's Branches expression selects (its default branch if none)
// at its tip, unless that branch is queued at that tip already.

// Tick tells the engine that time passed, with nothing else: timers that
// are due fire.
type Tick struct{}

// ListBranches asks for a project's branches and their tips, for a timer
// of a pipeline that fired. The answer is a BranchTips event.
type ListBranches struct {
	Pipeline string `json:"pipeline"`
	Project  string `json:"project"`
}

// BranchTips answers ListBranches: the project's default branch and the
// tip of every branch (short names).
type BranchTips struct {
	Pipeline string            `json:"pipeline"`
	Project  string            `json:"project"`
	Default  string            `json:"default"`
	Tips     map[string]string `json:"tips"`
}

func (Tick) String() string { return "tick" }

func (ev BranchTips) String() string {
	return fmt.Sprintf("%d branches of %s for the %s timer", len(ev.Tips), ev.Project, ev.Pipeline)
}

func (a ListBranches) String() string {
	return fmt.Sprintf("list the branches of %s for the %s timer", a.Project, a.Pipeline)
}

// timer is one schedule of a pipeline.
type timer struct {
	key      string
	pipeline string
	cron     Cron
}

func timerKey(pipeline, spec string) string { return pipeline + "\x00" + spec }

// Due reports whether a timer is due at now (or has no time set yet):
// then a Tick makes it fire.
func (e *Engine) Due(now time.Time) bool {
	for _, t := range e.cfg.timers {
		next, ok := e.st.Timers[t.key]
		if !ok || !now.Before(next) {
			return true
		}
	}
	return false
}

// runTimers fires the timers that are due, sets the next time of each
// (the first time after now for a new one), and forgets the timers the
// configuration no longer has.
func (e *Engine) runTimers() {
	live := map[string]bool{}
	for _, t := range e.cfg.timers {
		live[t.key] = true
		next, ok := e.st.Timers[t.key]
		if ok && e.now.Before(next) {
			continue
		}
		if ok {
			e.fire(t)
		}
		if e.st.Timers == nil {
			e.st.Timers = map[string]time.Time{}
		}
		e.st.Timers[t.key] = t.cron.Next(e.now)
	}
	for k := range e.st.Timers {
		if !live[k] {
			delete(e.st.Timers, k)
		}
	}
	if len(e.st.Timers) == 0 {
		e.st.Timers = nil
	}
}

// fire asks for the branches of every project that builds in the timer's
// pipeline, in name order.
func (e *Engine) fire(t timer) {
	for _, name := range sortedKeys(e.cfg.Projects) {
		if e.cfg.builds(name, t.pipeline) {
			e.emit(ListBranches{Pipeline: t.pipeline, Project: name})
		}
	}
}

// onBranchTips enqueues the branches a timer selects, each at its tip,
// unless it is queued at that tip already (Zuul drops a firing whose
// branch is still queued).
func (e *Engine) onBranchTips(ev BranchTips) {
	p := e.pipelines[ev.Pipeline]
	if p == nil || !e.cfg.builds(ev.Project, ev.Pipeline) || e.pipelineConfig(p).Manager == Dependent {
		return
	}
	re := e.cfg.projects[ev.Project].branches
	for _, branch := range sortedKeys(ev.Tips) {
		tip := ev.Tips[branch]
		if (re == nil && branch != ev.Default) || (re != nil && !re.MatchString(branch)) || tip == "" {
			continue
		}
		ref := "refs/heads/" + branch
		if e.findRef(p, func(it *Item) bool {
			return it.Ref.Timer && it.Ref.Ref == ref && it.Commit == tip && it.Change.Project == ev.Project
		}) {
			continue
		}
		it := e.newItem(ChangeRef{Project: ev.Project, Branch: branch})
		it.Ref = &RefItem{Ref: ref, Timer: true}
		it.Commit = tip
		e.add(p, it)
	}
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
