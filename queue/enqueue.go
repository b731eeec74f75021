package queue

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// onChange refreshes the items of every change the event carries a snapshot
// of (dequeueing those that can no longer stay), then enqueues the event's
// change in every pipeline whose trigger matches.
func (e *Engine) onChange(ev ChangeEvent) {
	if e.stale(ev) {
		again := ev
		again.Changes, again.ReadAt = nil, time.Time{}
		e.emit(Refresh{Event: again})
		return
	}
	e.recordReads(ev)
	ev = e.withKnownMerges(ev)
	snaps := e.snapshots(ev.Changes)
	for i := range ev.Changes {
		c := snaps[ev.Changes[i].Number]
		if c == nil {
			continue
		}
		e.revalidate(c)
		if !c.Open() {
			for _, p := range e.st.Pipelines {
				p.forgetRefusal(c.Number)
				p.unhold(c.Number)
			}
		}
	}
	subject := snaps[ev.Change]
	if subject == nil {
		return
	}
	for _, p := range e.st.Pipelines {
		cp := e.pipelineConfig(p)
		if cp.triggered(ev, subject.Branch) {
			var why string
			switch {
			case cp.Manager == Dependent:
				if ev.Type != "reconcile" {
					p.unhold(subject.Number) // triggered anew: an administrator's dequeue is over
				}
				why = e.enqueueDependent(p, subject, snaps)
			case subject.Status == StatusMerged && ev.Type == "change-merged":
				e.enqueueMerged(p, subject, ev.NewRev)
			default:
				why = e.enqueueAlone(p, subject, snaps)
			}
			e.refuse(p, subject, why)
		}
		// Approved changes that were kept out only because they needed
		// this change (in another queue) may enter now that it merged.
		if cp.Manager == Dependent && subject.Status == StatusMerged {
			for _, d := range dependents(subject.Number, snaps) {
				if d.Open() && e.itemOf(p, d.Number) == nil {
					e.refuse(p, d, e.enqueueDependent(p, d, snaps))
				}
			}
		}
	}
}

// revalidate dequeues the items of c that may no longer stay: merged or
// abandoned changes, superseded patchsets, and (in dependent pipelines)
// changes that lost a required approval or got a rejecting vote.
func (e *Engine) revalidate(c *Change) {
	for _, id := range slices.Clone(e.byChange[c.Number]) {
		l := e.items[id]
		if l == nil {
			continue // removed by an earlier dequeue in this loop
		}
		it := l.item
		if it.Phase == PhaseSubmitting {
			continue // our own submit is in flight; SubmitCompleted decides
		}
		cp := e.pipelineConfig(l.pipeline)
		switch {
		case it.Merged:
			continue // it entered merged (promote): nothing can change that
		case c.Status == StatusMerged:
			e.dequeue(l, true, ReportDequeue, "it was merged outside the gate")
		case c.Status == StatusAbandoned:
			e.dequeue(l, false, ReportDequeue, "it was abandoned")
		case c.Patchset != it.Change.Patchset:
			e.dequeue(l, false, ReportDequeue, fmt.Sprintf("patchset %d was uploaded", c.Patchset))
		case cp.Manager == Dependent:
			if why := cp.unmet(c); why != "" {
				e.dequeue(l, false, ReportDequeue, why)
			}
		}
	}
}

// refusal is why a change may not enter a pipeline; reportable refusals
// are told to the change's owner, others (the change is simply not
// approved) are not. changes are the change numbers the text names; cycle
// is set when the change is in a dependency cycle, skip when the pipeline
// builds nothing for its files (told to its owner as such).
type refusal struct {
	text       string
	reportable bool
	changes    []int
	cycle      bool
	skip       bool
}

// enqueueDependent adds c to p's change queue behind everything it needs,
// enqueueing needed changes that qualify first, and then the changes that
// were waiting for c. It returns why c could not be enqueued, if that is
// to be reported, or "".
func (e *Engine) enqueueDependent(p *PipelineState, c *Change, snaps map[int]*Change) string {
	if e.itemOf(p, c.Number) != nil {
		return "" // already enqueued (a newer patchset replaced it in revalidate)
	}
	if r := e.admit(p, c, snaps, 0); r.text != "" {
		if !r.reportable {
			return ""
		}
		return r.text
	}
	e.addDependent(p, c, snaps)
	return ""
}

// admit returns why c may not enter the dependent pipeline p now, or a
// refusal without text when it may, changing nothing: c must meet the
// pipeline's requirements, not be held out by an administrator's dequeue
// (unless c is the change numbered override, which an administrator
// enqueues), and every change it needs must be merged, in p's same change
// queue already, or able to enter first by these same rules.
func (e *Engine) admit(p *PipelineState, c *Change, snaps map[int]*Change, override int) refusal {
	a := admission{e: e, p: p, snaps: snaps, override: override, ok: map[int]bool{}}
	return a.check(c, nil)
}

// admission is one run of admit; ok remembers the changes admitted so far
// (a change admitted once is admitted again: what it needs is a tree
// without cycles, and nothing changes meanwhile).
type admission struct {
	e        *Engine
	p        *PipelineState
	snaps    map[int]*Change
	override int
	ok       map[int]bool
}

// check admits c, whose needs are being checked for the changes on path.
func (a *admission) check(c *Change, path []int) refusal {
	if a.ok[c.Number] {
		return refusal{}
	}
	if why := a.e.pipelineConfig(a.p).unmet(c); why != "" {
		return refusal{text: why}
	}
	if why := a.e.unbuilt(a.p, c); why != "" {
		return refusal{text: why}
	}
	if why, held := a.p.Held[c.Number]; held && c.Number != a.override {
		return refusal{text: why + "; it enters again when triggered anew (approved again) or enqueued by an administrator"}
	}
	if i := slices.Index(path, c.Number); i >= 0 {
		return cycleRefusal(append(slices.Clone(path[i:]), c.Number))
	}
	path = append(path, c.Number)
	qname := a.e.cfg.queueName(c.Project, c.Branch)
	for _, n := range c.Needs {
		d := a.snaps[n.Number]
		switch {
		case d == nil:
			return needRefusal(n.Number, "which gated does not know (another project, or not visible)")
		case d.Status == StatusMerged:
			continue
		case d.Status == StatusAbandoned:
			return needRefusal(n.Number, "which is abandoned")
		case n.Patchset != 0 && n.Patchset != d.Patchset:
			return refusal{text: fmt.Sprintf("it depends on patchset %d of change %d, which is outdated (patchset %d is current): rebase it", n.Patchset, n.Number, d.Patchset), reportable: true, changes: []int{n.Number}}
		case a.e.cfg.queueName(d.Project, d.Branch) != qname:
			return needRefusal(n.Number, fmt.Sprintf("which is not merged and is in another change queue (%s, not %s)", a.e.cfg.queueName(d.Project, d.Branch), qname))
		}
		if a.e.itemOf(a.p, d.Number) != nil {
			continue // ahead of c in the queue
		}
		if r := a.check(d, path); r.text != "" {
			if r.cycle {
				return r // the same cycle, whichever of its changes is refused
			}
			r.text = fmt.Sprintf("it depends on change %d, which cannot enter the %s pipeline: %s", d.Number, a.p.Name, strings.TrimPrefix(r.text, "it "))
			r.reportable = true
			r.changes = append([]int{d.Number}, r.changes...)
			return r
		}
	}
	a.ok[c.Number] = true
	return refusal{}
}

func needRefusal(n int, which string) refusal {
	return refusal{text: fmt.Sprintf("it depends on change %d, %s", n, which), reportable: true, changes: []int{n}}
}

// addDependent enqueues c, which admit admitted, at the tail of its
// change queue, behind the changes it needs that are not there yet
// (enqueued first), and then the changes that were waiting for c.
func (e *Engine) addDependent(p *PipelineState, c *Change, snaps map[int]*Change) {
	if e.itemOf(p, c.Number) != nil {
		return
	}
	for _, n := range c.Needs {
		if d := snaps[n.Number]; d.Status != StatusMerged {
			e.addDependent(p, d, snaps)
		}
	}
	if e.itemOf(p, c.Number) != nil {
		return // it followed one of its needs in
	}
	q := e.queueFor(p, c)
	it := e.newChangeItem(p, c)
	it.Needs = cloneSlice(c.Needs)
	if n := len(q.Items); n > 0 {
		it.Ahead = q.Items[n-1].ID
	}
	q.Items = append(q.Items, it)
	e.index(p, q, it)
	e.touch(p, q)
	p.forgetRefusal(c.Number)
	e.reportStart(p, it)
	// Changes that were waiting for c follow it, as Zuul's
	// enqueueChangesBehind does.
	for _, d := range dependents(c.Number, snaps) {
		if d.Open() {
			e.enqueueDependent(p, d, snaps)
		}
	}
}

// unbuilt says why pipeline p builds nothing for c's project or branch, or
// "": the project has no build in it, or none of its triggers selects the
// branch (an administrator's enqueue stands for a trigger, not for every
// trigger).
func (e *Engine) unbuilt(p *PipelineState, c *Change) string {
	if !e.cfg.builds(c.Project, p.Name) {
		return fmt.Sprintf("project %s has no build in the %s pipeline", c.Project, p.Name)
	}
	cp := e.pipelineConfig(p)
	for i := range cp.Triggers {
		if matchesAny(cp.branches[i], c.Branch) {
			return ""
		}
	}
	return fmt.Sprintf("none of the %s pipeline's triggers selects branch %s", p.Name, c.Branch)
}

// dependents returns the snapshots that need change n, by number.
func dependents(n int, snaps map[int]*Change) []*Change {
	var out []*Change
	for _, c := range snaps {
		if slices.ContainsFunc(c.Needs, func(x Need) bool { return x.Number == n && (x.Patchset == 0 || x.Patchset == snaps[n].Patchset) }) {
			out = append(out, c)
		}
	}
	slices.SortFunc(out, func(a, b *Change) int { return a.Number - b.Number })
	return out
}

// cycleRefusal refuses a change in a dependency cycle: cycle lists its
// changes, the first again at the end.
func cycleRefusal(cycle []int) refusal {
	s := make([]string, len(cycle))
	for i, n := range cycle {
		s[i] = fmt.Sprint(n)
	}
	return refusal{
		text:       "it is part of a dependency cycle (" + strings.Join(s, " → ") + "), which gated does not support",
		reportable: true, changes: cycle[:len(cycle)-1], cycle: true,
	}
}

// enqueueAlone adds c to an independent or supercedent pipeline, to be
// tested alone on its branch tip together with the unmerged changes it
// needs (in a supercedent pipeline, the newest replaces the one waiting),
// if it meets the pipeline's require and reject votes and the pipeline
// builds for its files (else its owner is told so). It returns why c could
// not be enqueued, if that is to be reported, or "".
func (e *Engine) enqueueAlone(p *PipelineState, c *Change, snaps map[int]*Change) string {
	if l := e.itemOf(p, c.Number); l != nil {
		return "" // already being tested
	}
	deps, r := e.admitAlone(p, c, snaps)
	switch {
	case r.skip:
		e.reportSkipped(p, c, r.text)
		return ""
	case r.text != "" && !r.reportable:
		return ""
	case r.text != "":
		return r.text
	}
	it := e.newChangeItem(p, c)
	it.Deps = deps
	e.add(p, it)
	return ""
}

// admitAlone returns the changes c is tested with in an independent or
// supercedent pipeline (the open changes it needs, transitively, each
// after what it needs), or why it may not be tested, changing nothing. A
// relation-chain parent on an outdated patchset is not merged separately:
// c's own commit carries it.
func (e *Engine) admitAlone(p *PipelineState, c *Change, snaps map[int]*Change) ([]ChangeRef, refusal) {
	if !c.Open() {
		return nil, refusal{text: closed(c)}
	}
	if why := e.pipelineConfig(p).unmetVotes(c); why != "" {
		return nil, refusal{text: why}
	}
	if why := e.unbuilt(p, c); why != "" {
		return nil, refusal{text: why}
	}
	if why := e.cfg.skipFiles(c.Project, p.Name, c.Files); why != "" {
		return nil, refusal{text: why, skip: true}
	}
	var out []ChangeRef
	state := map[int]int{} // 1: visiting, 2: done
	var visit func(x *Change, path []int) refusal
	visit = func(x *Change, path []int) refusal {
		state[x.Number] = 1
		path = append(path, x.Number)
		for _, n := range x.Needs {
			d := snaps[n.Number]
			if d == nil {
				return needRefusal(n.Number, "which gated does not know (another project, or not visible)")
			}
			if d.Status == StatusMerged || (n.Patchset != 0 && n.Patchset != d.Patchset) {
				continue
			}
			if d.Status == StatusAbandoned {
				return needRefusal(n.Number, "which is abandoned")
			}
			switch state[d.Number] {
			case 1:
				return cycleRefusal(append(slices.Clone(path[slices.Index(path, d.Number):]), d.Number))
			case 0:
				if r := visit(d, path); r.text != "" {
					return r
				}
				out = append(out, e.ref(d))
			}
		}
		state[x.Number] = 2
		return refusal{}
	}
	if r := visit(c, nil); r.text != "" {
		return nil, r
	}
	return out, refusal{}
}

// refuse reports why a triggered change could not be enqueued, once per
// change and reason.
func (e *Engine) refuse(p *PipelineState, c *Change, why string) {
	if why == "" || (p.Refused != nil && p.Refused[c.Number] == why) {
		return
	}
	if p.Refused == nil {
		p.Refused = map[int]string{}
	}
	p.Refused[c.Number] = why
	e.counts.Refusals++
	e.emit(Report{
		Pipeline: p.Name, Change: e.ref(c), Kind: ReportRefusal,
		Message: "gated: " + cannotEnter(p.Name, why),
	})
}

func (e *Engine) reportStart(p *PipelineState, it *Item) {
	cp := e.pipelineConfig(p)
	if len(cp.Start.Labels) == 0 && cp.Start.Message == "" {
		return
	}
	msg := cp.Start.Message
	if msg == "" {
		msg = fmt.Sprintf("gated: %s pipeline started.", p.Name)
	}
	e.emit(Report{Item: it.ID, Pipeline: p.Name, Change: it.Change, Kind: ReportStart, Labels: cp.Start.Labels, Message: msg})
}

func (p *PipelineState) forgetRefusal(n int) {
	delete(p.Refused, n)
	if len(p.Refused) == 0 {
		p.Refused = nil
	}
}

// cloneSlice copies a slice; an empty one becomes nil (see clone).
func cloneSlice[T any](s []T) []T {
	if len(s) == 0 {
		return nil
	}
	return slices.Clone(s)
}
