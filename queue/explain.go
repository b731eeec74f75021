package queue

import (
	"fmt"
	"slices"
	"strings"
)

// Explanation says where a change stands: for every pipeline, where it is
// and what it waits for, or why it is not there. The refusal comment gated
// posts on a change that may not enter a pipeline is the same text.
type Explanation struct {
	Change int `json:"change"`
	// Project, Branch, Patchset and Status are the change's snapshot's;
	// empty when Gerrit has no such change, or gated does not gate its
	// project.
	Project  string `json:"project,omitempty"`
	Branch   string `json:"branch,omitempty"`
	Patchset int    `json:"patchset,omitempty"`
	Status   Status `json:"status,omitempty"`
	// Pipelines has one entry per pipeline, in configuration order.
	Pipelines []PipelineExplanation `json:"pipelines"`
	// Text is the explanation as a person reads it: one line per
	// pipeline.
	Text string `json:"text"`
}

// Wait is what an item waits for.
type Wait string

// What items wait for.
const (
	// WaitWindow: it is beyond the active window of its change queue.
	WaitWindow Wait = "window"
	// WaitAhead: the items ahead of it: their states must be merged
	// first, or they must merge or leave before it is reported.
	WaitAhead Wait = "ahead"
	// WaitMerge: the merger builds its speculative state.
	WaitMerge Wait = "merge"
	// WaitBuild: its build runs.
	WaitBuild Wait = "build"
	// WaitProbe: its probe runs (the change built alone on the branch
	// tip while it waits beyond the window).
	WaitProbe Wait = "probe"
	// WaitNeeds: a change it needs is failing ahead of it.
	WaitNeeds Wait = "needed-change"
	// WaitSubmit: Gerrit is submitting it.
	WaitSubmit Wait = "submit"
)

// PipelineExplanation is where a change stands in one pipeline.
type PipelineExplanation struct {
	Pipeline string `json:"pipeline"`
	// Item, Queue, Position (1 is the head) among Length items, the
	// queue's Window (0: unlimited), Phase and Waits are set when the
	// change is in the pipeline.
	Item     ItemID `json:"item,omitempty"`
	Queue    string `json:"queue,omitempty"`
	Position int    `json:"position,omitempty"`
	Length   int    `json:"length,omitempty"`
	Window   int    `json:"window,omitempty"`
	Phase    Phase  `json:"phase,omitempty"`
	Waits    Wait   `json:"waits_for,omitempty"`
	// Changes are the other changes the text names, by number.
	Changes []int `json:"changes,omitempty"`
	// Text says it in a sentence.
	Text string `json:"text"`
}

// Explain says where change n stands, from the engine's state and from
// changes: fresh snapshots of the change and of its dependency closure (as
// a ChangeEvent carries), none if Gerrit has no such change. It changes
// nothing.
func (e *Engine) Explain(n int, changes []Change) Explanation {
	x := Explanation{Change: n, Pipelines: []PipelineExplanation{}}
	var c *Change
	if i := slices.IndexFunc(changes, func(c Change) bool { return c.Number == n }); i >= 0 {
		c = &changes[i]
		// Anyone may ask: of a change gated does not gate, gated says
		// nothing that Gerrit may keep from them.
		if e.configured(c.Project) {
			x.Project, x.Branch, x.Patchset, x.Status = c.Project, c.Branch, c.Patchset, c.Status
		}
	}
	snaps := e.snapshots(changes)
	lines := make([]string, 0, len(e.st.Pipelines))
	for _, p := range e.st.Pipelines {
		var pe PipelineExplanation
		if l := e.itemOrRefOf(p, n); l != nil {
			pe = e.explainItem(l)
		} else {
			pe = e.explainAbsent(p, n, c, snaps)
		}
		x.Pipelines = append(x.Pipelines, pe)
		lines = append(lines, pe.Text)
	}
	x.Text = strings.Join(lines, "\n")
	return x
}

// itemOrRefOf returns the item of change n in p, or else the item of a
// ref update its submit made (post pipelines), if any.
func (e *Engine) itemOrRefOf(p *PipelineState, n int) *itemLoc {
	if l := e.itemOf(p, n); l != nil {
		return l
	}
	for _, q := range p.Queues {
		for _, it := range q.Items {
			if it.Ref != nil && it.Change.Number == n {
				return e.items[it.ID]
			}
		}
	}
	return nil
}

// cannotEnter is the explanation of a change that may not enter a
// pipeline, and the refusal comment's text.
func cannotEnter(pipeline, why string) string {
	return fmt.Sprintf("This change cannot enter the %s pipeline: %s.", pipeline, why)
}

// explainAbsent says why change n (snapshot c, nil if none) is not in p.
func (e *Engine) explainAbsent(p *PipelineState, n int, c *Change, snaps map[int]*Change) PipelineExplanation {
	pe := PipelineExplanation{Pipeline: p.Name}
	cp := e.pipelineConfig(p)
	var r refusal
	switch {
	case c == nil:
		pe.Text = fmt.Sprintf("This change is not in the %s pipeline: Gerrit has no change %d.", p.Name, n)
		return pe
	case !e.configured(c.Project):
		r = refusal{text: "gated does not gate the project of this change"}
	case cp.Manager == Dependent:
		r = e.admit(p, c, snaps, 0)
	default:
		_, _, r = e.admitAlone(p, c, snaps)
	}
	if r.text != "" {
		pe.Text = cannotEnter(p.Name, r.text)
		pe.Changes = mentions(n, r.changes...)
		return pe
	}
	var triggers []string
	for _, t := range cp.Triggers {
		triggers = append(triggers, t.describe())
	}
	pe.Text = fmt.Sprintf("This change is not in the %s pipeline, and may enter it: it enters when one of the pipeline's triggers fires (%s).", p.Name, strings.Join(triggers, "; "))
	return pe
}

// describe says when a trigger fires.
func (t Trigger) describe() string {
	s := t.Event
	if t.Event == "reconcile" {
		s = "gated's periodic reconcile with Gerrit"
	}
	var with []string
	for _, a := range t.Approvals {
		with = append(with, a.describe())
	}
	switch {
	case t.Comment == RecheckComment:
		with = append(with, `a "recheck" comment`)
	case t.Comment != "":
		with = append(with, "a comment matching "+t.Comment)
	}
	if len(with) > 0 {
		s += " with " + andList(with)
	}
	if t.Username != "" {
		s += " by " + t.Username
	}
	return s
}

// explainItem says where an item stands and what it waits for.
func (e *Engine) explainItem(l *itemLoc) PipelineExplanation {
	p, q, it := l.pipeline, l.queue, l.item
	i := slices.Index(q.Items, it)
	pe := PipelineExplanation{
		Pipeline: p.Name, Item: it.ID, Queue: q.Name, Position: i + 1, Length: len(q.Items),
		Window: q.Window, Phase: it.Phase,
	}
	var where string
	var names []int
	if e.pipelineConfig(p).Manager == Dependent {
		where = fmt.Sprintf("In the %s pipeline, at position %d of %d in change queue %s", p.Name, i+1, len(q.Items), q.Name)
		pe.Waits, names, pe.Text = e.dependentWait(p, q, i)
	} else {
		switch {
		case e.pipelineConfig(p).Manager == Supercedent:
			where = fmt.Sprintf("In the %s pipeline, at position %d of %d in queue %s", p.Name, i+1, len(q.Items), q.Name)
		case it.checksOut():
			where = fmt.Sprintf("In the %s pipeline", p.Name)
		default:
			where = fmt.Sprintf("In the %s pipeline, tested on the tip of %s", p.Name, it.Change.Branch)
		}
		pe.Waits, names, pe.Text = e.aloneWait(p, q, i)
	}
	pe.Text = where + ": " + pe.Text + "."
	pe.Changes = mentions(it.Change.Number, names...)
	return pe
}

// dependentWait says what the i-th item of a dependent change queue waits
// for, naming changes by number.
func (e *Engine) dependentWait(p *PipelineState, q *ChangeQueue, i int) (Wait, []int, string) {
	it := q.Items[i]
	ahead := make([]int, i)
	for j, a := range q.Items[:i] {
		ahead[j] = a.Change.Number
	}
	switch {
	case it.Phase == PhaseSubmitting:
		return WaitSubmit, nil, "its build passed, and gated is submitting it to Gerrit"
	case it.Failure != nil && it.Failure.Kind == FailNeeds:
		var failing []int
		for _, n := range it.Needs {
			if l := e.itemOf(p, n.Number); l != nil && l.item.Failure != nil {
				failing = append(failing, n.Number)
			}
		}
		return WaitNeeds, failing, fmt.Sprintf("it waits: %s, which it depends on, is failing; it is built again if that recovers, and leaves if it is reported", changeList(failing))
	case it.Phase == PhaseFailed:
		how := "it failed"
		if it.Probe {
			how = "it failed when built alone on the branch tip"
		}
		if len(ahead) == 0 {
			return WaitAhead, nil, fmt.Sprintf("%s (%s); this is being reported", how, it.Failure.Message)
		}
		return WaitAhead, ahead, fmt.Sprintf("%s (%s); this is reported when the items ahead of it (%s) have merged or left, since a failure ahead would void it", how, it.Failure.Message, changeList(ahead))
	case it.Probe:
		with := ""
		if len(it.ProbeWith) > 0 {
			var group []int
			for _, id := range it.ProbeWith {
				if l := e.items[id]; l != nil {
					group = append(group, l.item.Change.Number)
				}
			}
			with = " with " + changeList(group)
			ahead = group
		} else {
			ahead = nil
		}
		step := "merged"
		if it.Phase == PhaseBuilding {
			step = "built"
		}
		probe := fmt.Sprintf("the change%s is being %s alone on the branch tip", with, step)
		if q.Window == 0 || i < q.Window {
			return WaitProbe, ahead, "it entered the window while its probe runs, and is built on the state ahead once the probe ends: " + probe
		}
		return WaitProbe, ahead, fmt.Sprintf("beyond the window of %d, it waits for its probe: %s", q.Window, probe)
	case it.Phase == PhaseWaiting && q.Window > 0 && i >= q.Window:
		s := fmt.Sprintf("it waits for the window: only the first %d items are built", q.Window)
		if it.Cleared {
			s += " (its probe passed)"
		}
		return WaitWindow, nil, s
	case it.Phase == PhaseWaiting && it.Ahead != 0:
		a := e.items[it.Ahead].item
		if a.Probe {
			return WaitProbe, []int{a.Change.Number}, fmt.Sprintf("it waits for the item ahead, change %d, whose probe must end before it is built in the window", a.Change.Number)
		}
		return WaitAhead, []int{a.Change.Number}, fmt.Sprintf("it waits for the item ahead, change %d, whose speculative state is not merged yet", a.Change.Number)
	case it.Phase == PhaseWaiting:
		return WaitMerge, nil, "it waits for the merge of its speculative state"
	case it.Phase == PhaseMerging:
		state := e.chain(it)
		text, named := stateText(state)
		return WaitMerge, named, "the merger is building its speculative state, " + text
	case it.Phase == PhaseBuilding:
		state := e.chain(it)
		text, named := stateText(state)
		return WaitBuild, named, buildText(it) + " on its speculative state, " + text
	}
	if len(ahead) == 0 {
		return WaitSubmit, nil, "its build passed; it is being reported"
	}
	return WaitAhead, ahead, fmt.Sprintf("its build passed; it merges once the items ahead of it (%s) have merged", changeList(ahead))
}

// aloneWait says what the i-th item of an independent or supercedent
// queue waits for: in a supercedent queue only the head builds.
func (e *Engine) aloneWait(p *PipelineState, q *ChangeQueue, i int) (Wait, []int, string) {
	it := q.Items[i]
	if it.Phase == PhaseWaiting && i > 0 && e.pipelineConfig(p).Manager == Supercedent {
		head := q.Items[0].Change.Number
		return WaitAhead, []int{head}, "it waits for the build at the head of its queue to end (only the head builds); a newer item would replace it"
	}
	what, named := stateText(e.chain(it))
	what = "its state, " + what
	if it.checksOut() {
		what, named = "the commit its merge made", nil
		if it.Ref != nil {
			what = describeRef(it)
		}
	}
	switch it.Phase {
	case PhaseWaiting:
		return WaitMerge, nil, "it waits to be merged or checked out"
	case PhaseMerging:
		if it.checksOut() {
			return WaitMerge, nil, "the merger is checking out " + what
		}
		return WaitMerge, named, "the merger is building " + what
	case PhaseBuilding:
		return WaitBuild, named, buildText(it) + " on " + what
	}
	return WaitBuild, nil, "its result is being reported"
}

func buildText(it *Item) string {
	if it.Build != nil && it.Build.Name != "" {
		return "its build " + it.Build.Name + " runs"
	}
	return "its build runs"
}

// stateText names the changes of a speculative state, "1,1 + 2,1", and
// returns their numbers; of a long state (an unlimited window), only the
// first and the last few.
func stateText(state []ChangeRef) (string, []int) {
	const ends = 3
	var s []string
	var named []int
	for i, r := range state {
		if len(state) > 3*ends && i == ends {
			s = append(s, fmt.Sprintf("… (%d more)", len(state)-2*ends))
		}
		if len(state) > 3*ends && i >= ends && i < len(state)-ends {
			continue
		}
		s = append(s, r.String())
		named = append(named, r.Number)
	}
	return strings.Join(s, " + "), named
}

// mentions returns the changes named, each once, but change self.
func mentions(self int, named ...int) []int {
	var out []int
	for _, n := range named {
		if n > 0 && n != self && !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	return out
}
