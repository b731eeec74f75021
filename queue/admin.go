package queue

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// Administrators act on pipelines as Zuul's dequeue, enqueue and promote
// do. Each request is an event like any other, so that it is committed
// with the state it changed; the engine answers each with exactly one
// Verdict (in Facts.Verdicts), which says what it did or why it did
// nothing. A refused request changes nothing.

// Admin says who made an administrator's request, and why.
type Admin struct {
	// Request identifies the request to its sender: the Verdict answering
	// it carries the same number.
	Request uint64 `json:"request,omitempty"`
	// By names the administrator (the name of the token they used).
	By string `json:"by"`
	// Reason is the administrator's explanation, told to the change's
	// owner.
	Reason string `json:"reason,omitempty"`
}

// did is "dequeued by alice: the reason", as the change's owner reads it.
func (a Admin) did(verb string) string {
	s := verb + " by " + a.By
	if a.Reason != "" {
		s += ": " + a.Reason
	}
	return s
}

// Dequeue is an administrator's request to remove a change from a
// pipeline: its builds are cancelled, the items behind whose state
// included it are rebuilt without it, and the items that need it leave
// too. In a dependent pipeline the change stays out until it is triggered
// again (approved anew) or enqueued by an administrator: gated's periodic
// reconcile does not bring it back.
type Dequeue struct {
	Admin
	Pipeline string `json:"pipeline"`
	Change   int    `json:"change"`
}

// Enqueue is an administrator's request to add a change to a pipeline as
// if the pipeline's trigger had fired: the pipeline's requirements still
// apply. Changes are fresh snapshots of the change and of its dependency
// closure, read from ReadAt on, as a ChangeEvent carries; none means
// Gerrit has no such change.
type Enqueue struct {
	Admin
	Pipeline string    `json:"pipeline"`
	Change   int       `json:"change"`
	Changes  []Change  `json:"changes"`
	ReadAt   time.Time `json:"read_at,omitzero"`
}

// Promote is an administrator's request to move changes to the head of
// their change queue, in this order (Zuul's promote); every other item of
// the queue follows in its previous order, and the items whose place
// changed are rebuilt. The changes must be in one change queue of a
// dependent pipeline.
type Promote struct {
	Admin
	Pipeline string `json:"pipeline"`
	Changes  []int  `json:"changes"`
}

func (Dequeue) event() {}
func (Enqueue) event() {}
func (Promote) event() {}

func (ev Dequeue) String() string {
	return fmt.Sprintf("dequeue of change %d from %s by %s", ev.Change, ev.Pipeline, ev.By)
}

func (ev Enqueue) String() string {
	return fmt.Sprintf("enqueue of change %d into %s by %s", ev.Change, ev.Pipeline, ev.By)
}

func (ev Promote) String() string {
	return fmt.Sprintf("promote of changes %v in %s by %s", ev.Changes, ev.Pipeline, ev.By)
}

// Outcome is how the engine answered an administrator's request.
type Outcome string

// Outcomes. Every outcome but OutcomeAccepted changed nothing.
const (
	// OutcomeAccepted: the engine did what was asked.
	OutcomeAccepted Outcome = "accepted"
	// OutcomeNotFound: the pipeline or the change is unknown.
	OutcomeNotFound Outcome = "not-found"
	// OutcomeConflict: the change's state does not allow it (not in the
	// pipeline, already in it, being submitted, requirements unmet).
	OutcomeConflict Outcome = "conflict"
	// OutcomeInvalid: the request cannot be done whatever the state (a
	// promote across two change queues, or in a pipeline that is not
	// dependent; a project gated does not gate; no change named).
	OutcomeInvalid Outcome = "invalid"
)

// Verdict is the engine's answer to an administrator's request: a fact,
// handed out by Ready, for the request's sender.
type Verdict struct {
	Request uint64  `json:"-"`
	Outcome Outcome `json:"outcome"`
	// Message says what was done, or why nothing was.
	Message string `json:"message"`
}

func (e *Engine) verdict(a Admin, o Outcome, format string, args ...any) {
	e.facts.Verdicts = append(e.facts.Verdicts, Verdict{Request: a.Request, Outcome: o, Message: fmt.Sprintf(format, args...)})
}

// pipelineOr returns the pipeline a request names, or answers OutcomeNotFound.
func (e *Engine) pipelineOr(a Admin, name string) *PipelineState {
	p := e.pipelines[name]
	if p == nil {
		names := make([]string, len(e.st.Pipelines))
		for i, p := range e.st.Pipelines {
			names[i] = p.Name
		}
		e.verdict(a, OutcomeNotFound, "there is no pipeline %q (gated has %s)", name, strings.Join(names, ", "))
	}
	return p
}

// itemOr returns the item of change n in p, or answers why there is none.
func (e *Engine) itemOr(a Admin, p *PipelineState, n int) *itemLoc {
	if l := e.itemOf(p, n); l != nil {
		return l
	}
	var in []string
	for _, id := range e.byChange[n] {
		in = append(in, e.items[id].pipeline.Name)
	}
	if len(in) == 0 {
		e.verdict(a, OutcomeNotFound, "change %d is in no pipeline", n)
	} else {
		e.verdict(a, OutcomeConflict, "change %d is not in the %s pipeline (it is in %s)", n, p.Name, strings.Join(in, ", "))
	}
	return nil
}

// onDequeue removes a change from a pipeline at an administrator's
// request. An item whose submit is in flight is not dequeued: Gerrit may
// be merging it, and its answer decides.
func (e *Engine) onDequeue(ev Dequeue) {
	p := e.pipelineOr(ev.Admin, ev.Pipeline)
	if p == nil {
		return
	}
	l := e.itemOr(ev.Admin, p, ev.Change)
	if l == nil {
		return
	}
	if l.item.Phase == PhaseSubmitting {
		e.verdict(ev.Admin, OutcomeConflict, "change %d is being submitted to Gerrit: it merges, or fails, within moments; it cannot be dequeued now", ev.Change)
		return
	}
	before := e.changesIn(p)
	why := ev.did("dequeued")
	e.dequeue(l, false, ReportDequeue, ev.Change, why)
	if e.pipelineConfig(p).Manager == Dependent {
		e.hold(p, ev.Change, why)
	}
	msg := fmt.Sprintf("change %d left the %s pipeline", ev.Change, p.Name)
	var also []int
	for _, n := range before {
		if n != ev.Change && e.itemOf(p, n) == nil {
			also = append(also, n)
		}
	}
	switch {
	case len(also) == 1:
		msg += fmt.Sprintf(", and so did %s, which depends on it", changeList(also))
	case len(also) > 1:
		msg += fmt.Sprintf(", and so did %s, which depend on it", changeList(also))
	}
	e.verdict(ev.Admin, OutcomeAccepted, "%s", msg)
}

// changesIn returns the changes with an item in p, in queue order.
func (e *Engine) changesIn(p *PipelineState) []int {
	var out []int
	for _, q := range p.Queues {
		for _, it := range q.Items {
			out = append(out, it.Change.Number)
		}
	}
	return out
}

// onEnqueue adds a change to a pipeline at an administrator's request, as
// if the pipeline's trigger had fired, if it may enter; otherwise it
// answers why, with the words of the change's explanation.
func (e *Engine) onEnqueue(ev Enqueue) {
	p := e.pipelineOr(ev.Admin, ev.Pipeline)
	if p == nil {
		return
	}
	i := slices.IndexFunc(ev.Changes, func(c Change) bool { return c.Number == ev.Change })
	if i < 0 {
		e.verdict(ev.Admin, OutcomeNotFound, "Gerrit has no change %d", ev.Change)
		return
	}
	if project := ev.Changes[i].Project; !e.configured(project) {
		e.verdict(ev.Admin, OutcomeInvalid, "%s", notGated(project))
		return
	}
	read := ChangeEvent{Changes: ev.Changes, ReadAt: ev.ReadAt}
	if e.stale(read) {
		e.verdict(ev.Admin, OutcomeConflict, "gated applied a newer read of change %d (or of a change it depends on) than this request's: ask again", ev.Change)
		return
	}
	snaps := e.snapshots(ev.Changes)
	c := snaps[ev.Change]
	if l := e.itemOf(p, c.Number); l != nil {
		e.verdict(ev.Admin, OutcomeConflict, "change %d is in the %s pipeline already: %s", c.Number, p.Name, e.explainItem(l).Text)
		return
	}
	var r refusal
	if e.pipelineConfig(p).Manager == Dependent {
		r = e.admit(p, c, snaps, c.Number)
	} else {
		_, _, r = e.admitAlone(p, c, snaps)
	}
	if r.text != "" {
		e.verdict(ev.Admin, OutcomeConflict, "%s", cannotEnter(p.Name, r.text))
		return
	}
	e.recordReads(read)
	p.unhold(c.Number)
	if e.pipelineConfig(p).Manager == Dependent {
		e.addDependent(p, c, snaps)
	} else {
		e.enqueueAlone(p, c, snaps)
	}
	l := e.itemOf(p, c.Number)
	e.reportEach(p, l.item, ReportAdmin, nil, fmt.Sprintf("gated: this change entered the %s pipeline: %s.", p.Name, ev.did("enqueued")))
	e.verdict(ev.Admin, OutcomeAccepted, "change %d entered the %s pipeline", c.Number, p.Name)
}

// configured reports whether gated gates the project.
func (e *Engine) configured(project string) bool {
	_, ok := e.cfg.project(project)
	return ok
}

// notGated says that a project is not gated.
func notGated(project string) string {
	return fmt.Sprintf("gated does not gate project %s (it is not in gated's configuration)", project)
}

// snapshots indexes the snapshots of configured projects by change number.
func (e *Engine) snapshots(changes []Change) map[int]*Change {
	snaps := map[int]*Change{}
	for i := range changes {
		c := &changes[i]
		if e.configured(c.Project) {
			snaps[c.Number] = c
		}
	}
	return snaps
}

// hold keeps a change an administrator dequeued out of a dependent
// pipeline until it is triggered again or enqueued: gated's reconcile,
// which enqueues approved changes whose events were missed, must not
// bring it back.
func (e *Engine) hold(p *PipelineState, n int, why string) {
	if p.Held == nil {
		p.Held = map[int]Hold{}
	}
	p.Held[n] = Hold{Reason: why, At: e.now}
}

func (p *PipelineState) unhold(n int) {
	delete(p.Held, n)
	if len(p.Held) == 0 {
		p.Held = nil
	}
}

// changeList formats change numbers: "change 3", "changes 3 and 4",
// "changes 3, 4 and 5".
func changeList(ns []int) string {
	s := make([]string, len(ns))
	for i, n := range ns {
		s[i] = fmt.Sprint(n)
	}
	if len(s) == 1 {
		return "change " + s[0]
	}
	return "changes " + andList(s)
}

// andList joins words as a sentence does: "a", "a and b", "a, b and c".
func andList(s []string) string {
	if len(s) <= 1 {
		return strings.Join(s, "")
	}
	return strings.Join(s[:len(s)-1], ", ") + " and " + s[len(s)-1]
}
