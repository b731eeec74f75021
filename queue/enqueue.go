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
	snaps := map[int]*Change{}
	for i := range ev.Changes {
		c := &ev.Changes[i]
		if _, ok := e.cfg.project(c.Project); ok {
			snaps[c.Number] = c
		}
	}
	for i := range ev.Changes {
		c := snaps[ev.Changes[i].Number]
		if c == nil {
			continue
		}
		e.revalidate(c)
		if !c.Open() {
			for _, p := range e.st.Pipelines {
				p.forgetRefusal(c.Number)
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
				why = e.enqueueDependent(p, subject, snaps, nil)
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
					e.refuse(p, d, e.enqueueDependent(p, d, snaps, nil))
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

// refusal is why a change was not enqueued; reportable refusals are told to
// the change's owner, others (the change is simply not approved) are not.
type refusal struct {
	text       string
	reportable bool
}

// enqueueDependent adds c to p's change queue behind everything it needs,
// enqueueing needed changes that qualify first, and then the changes that
// were waiting for c. It returns why c could not be enqueued, or "".
func (e *Engine) enqueueDependent(p *PipelineState, c *Change, snaps map[int]*Change, path []int) string {
	r := e.addDependent(p, c, snaps, path)
	if !r.reportable {
		return ""
	}
	return r.text
}

func (e *Engine) addDependent(p *PipelineState, c *Change, snaps map[int]*Change, path []int) refusal {
	cp := e.pipelineConfig(p)
	if l := e.itemOf(p, c.Number); l != nil {
		return refusal{} // already enqueued (a newer patchset replaced it in revalidate)
	}
	if why := cp.unmet(c); why != "" {
		return refusal{text: why}
	}
	if !e.cfg.builds(c.Project, p.Name) {
		return refusal{text: fmt.Sprintf("project %s has no build in the %s pipeline", c.Project, p.Name)}
	}
	if i := slices.Index(path, c.Number); i >= 0 {
		return refusal{text: "it is part of a dependency cycle (" + cycleText(append(path[i:], c.Number)) + "), which gated does not support", reportable: true}
	}
	path = append(path, c.Number)
	qname := e.cfg.queueName(c.Project, c.Branch)
	for _, n := range c.Needs {
		d := snaps[n.Number]
		switch {
		case d == nil:
			return refusal{text: fmt.Sprintf("it depends on change %d, which gated does not know (another project, or not visible)", n.Number), reportable: true}
		case d.Status == StatusMerged:
			continue
		case d.Status == StatusAbandoned:
			return refusal{text: fmt.Sprintf("it depends on change %d, which is abandoned", n.Number), reportable: true}
		case n.Patchset != 0 && n.Patchset != d.Patchset:
			return refusal{text: fmt.Sprintf("it depends on patchset %d of change %d, which is outdated (patchset %d is current): rebase it", n.Patchset, n.Number, d.Patchset), reportable: true}
		case e.cfg.queueName(d.Project, d.Branch) != qname:
			return refusal{text: fmt.Sprintf("it depends on change %d, which is not merged and is in another change queue (%s, not %s)", n.Number, e.cfg.queueName(d.Project, d.Branch), qname), reportable: true}
		}
		if l := e.itemOf(p, d.Number); l != nil {
			continue // ahead of c in the queue
		}
		if r := e.addDependent(p, d, snaps, path); r.text != "" {
			if strings.HasPrefix(r.text, "it is part of a dependency cycle") {
				return r
			}
			return refusal{text: fmt.Sprintf("it depends on change %d, which cannot enter the %s pipeline: %s", d.Number, p.Name, strings.TrimPrefix(r.text, "it ")), reportable: true}
		}
	}
	if e.itemOf(p, c.Number) != nil {
		return refusal{} // enqueued behind one of its needs meanwhile
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
		if d.Open() && e.itemOf(p, d.Number) == nil {
			e.addDependent(p, d, snaps, nil)
		}
	}
	return refusal{}
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

func cycleText(nums []int) string {
	s := make([]string, len(nums))
	for i, n := range nums {
		s[i] = fmt.Sprint(n)
	}
	return strings.Join(s, " → ")
}

// enqueueAlone adds c to an independent or supercedent pipeline, to be
// tested alone on its branch tip together with the unmerged changes it
// needs (in a supercedent pipeline, the newest replaces the one waiting),
// if it meets the pipeline's require and reject votes.
func (e *Engine) enqueueAlone(p *PipelineState, c *Change, snaps map[int]*Change) string {
	if !c.Open() || e.pipelineConfig(p).unmetVotes(c) != "" {
		return ""
	}
	if l := e.itemOf(p, c.Number); l != nil {
		return "" // already being tested
	}
	if !e.wanted(p, c) {
		return ""
	}
	deps, why := e.independentDeps(c, snaps)
	if why != "" {
		return why
	}
	it := e.newChangeItem(p, c)
	it.Deps = deps
	e.add(p, it)
	return ""
}

// independentDeps returns the open changes c needs, transitively, in an
// order where every change comes after what it needs. A relation-chain
// parent on an outdated patchset is not merged separately: c's own commit
// carries it.
func (e *Engine) independentDeps(c *Change, snaps map[int]*Change) ([]ChangeRef, string) {
	var out []ChangeRef
	state := map[int]int{} // 1: visiting, 2: done
	var visit func(x *Change, path []int) string
	visit = func(x *Change, path []int) string {
		state[x.Number] = 1
		path = append(path, x.Number)
		for _, n := range x.Needs {
			d := snaps[n.Number]
			if d == nil {
				return fmt.Sprintf("it depends on change %d, which gated does not know (another project, or not visible)", n.Number)
			}
			if d.Status == StatusMerged || (n.Patchset != 0 && n.Patchset != d.Patchset) {
				continue
			}
			if d.Status == StatusAbandoned {
				return fmt.Sprintf("it depends on change %d, which is abandoned", n.Number)
			}
			switch state[d.Number] {
			case 1:
				return "it is part of a dependency cycle (" + cycleText(append(path[slices.Index(path, d.Number):], d.Number)) + "), which gated does not support"
			case 0:
				if why := visit(d, path); why != "" {
					return why
				}
				out = append(out, e.ref(d))
			}
		}
		state[x.Number] = 2
		return ""
	}
	if why := visit(c, nil); why != "" {
		return nil, why
	}
	return out, ""
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
		Message: fmt.Sprintf("gated: this change cannot enter the %s pipeline: %s.", p.Name, why),
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
