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
	var regroup []regrouped
	for i := range ev.Changes {
		c := snaps[ev.Changes[i].Number]
		if c == nil {
			continue
		}
		regroup = append(regroup, e.revalidate(c, snaps)...)
		if !c.Open() {
			for _, p := range e.st.Pipelines {
				p.forgetRefusal(c.Number)
			}
		}
	}
	// Changes taken out because their cycle changed enter again as what
	// they are now (Zuul re-enqueues them).
	for _, r := range regroup {
		if c := snaps[r.change]; c != nil && e.itemOf(r.pipeline, c.Number) == nil {
			e.refuse(r.pipeline, c, e.enqueue(r.pipeline, c, snaps))
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

// enqueue adds c to p as p's manager does, and returns why it could not,
// or "".
func (e *Engine) enqueue(p *PipelineState, c *Change, snaps map[int]*Change) string {
	if e.pipelineConfig(p).Manager == Dependent {
		return e.enqueueDependent(p, c, snaps)
	}
	return e.enqueueAlone(p, c, snaps)
}

// regrouped is a change whose item left because its dependency cycle
// changed: it enters again as what it is now.
type regrouped struct {
	pipeline *PipelineState
	change   int
}

// revalidate dequeues the items of c that may no longer stay (leaveReason).
// A bundle leaves as a whole. It returns the changes to enqueue again.
func (e *Engine) revalidate(c *Change, snaps map[int]*Change) []regrouped {
	var again []regrouped
	for _, id := range slices.Clone(e.byChange[c.Number]) {
		l := e.items[id]
		if l == nil {
			continue // removed by an earlier dequeue in this loop
		}
		it := l.item
		if it.Phase == PhaseSubmitting {
			continue // our own submit is in flight; SubmitCompleted decides
		}
		if it.Merged {
			continue // it entered merged (promote): nothing can change that
		}
		about, why := e.leaveReason(l, snaps)
		if why == "" {
			if e.pipelineConfig(l.pipeline).Manager == Supercedent {
				continue // it builds each change of a cycle alone
			}
			if why = e.membershipChange(it, snaps); why == "" {
				continue
			}
			about = it.own()[0].Number
			for _, r := range it.own() {
				again = append(again, regrouped{l.pipeline, r.Number})
			}
		}
		merged := !it.isBundle() && snaps[about].Status == StatusMerged
		e.dequeue(l, merged, ReportDequeue, about, why)
	}
	return again
}

// leaveReason says which change of an item may no longer stay, and why, or
// "": merged or abandoned, on a newer patchset, or (in dependent pipelines)
// without a required approval or with a rejecting vote. Changes a bundle
// merged itself, and changes the snapshots lack, are not judged.
func (e *Engine) leaveReason(l *itemLoc, snaps map[int]*Change) (int, string) {
	cp := e.pipelineConfig(l.pipeline)
	for _, r := range l.item.own() {
		c := snaps[r.Number]
		switch {
		case c == nil:
		case c.Status == StatusMerged:
			return c.Number, "it was merged outside the gate"
		case c.Status == StatusAbandoned:
			return c.Number, "it was abandoned"
		case c.Patchset != r.Patchset:
			return c.Number, fmt.Sprintf("patchset %d was uploaded", c.Patchset)
		case cp.Manager == Dependent && cp.unmet(c) != "":
			return c.Number, cp.unmet(c)
		}
	}
	return 0, ""
}

// refusal is why a change was not enqueued; reportable refusals are told to
// the change's owner, others (the change is simply not approved) are not.
type refusal struct {
	text       string
	reportable bool
}

// enqueueDependent adds c to p's change queue behind everything it needs,
// enqueueing needed changes that qualify first, and then the changes that
// were waiting for c. A change in a dependency cycle enters with the whole
// cycle, as one bundle. It returns why c could not be enqueued, or "".
func (e *Engine) enqueueDependent(p *PipelineState, c *Change, snaps map[int]*Change) string {
	r := e.addDependent(p, c, snaps)
	if !r.reportable {
		return ""
	}
	return r.text
}

func (e *Engine) addDependent(p *PipelineState, c *Change, snaps map[int]*Change) refusal {
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
	if members := e.cycleOf(c, snaps); len(members) > 1 {
		return e.addBundle(p, members, snaps)
	}
	if r := e.admitNeeds(p, e.cfg.queueName(c.Project, c.Branch), c.Needs, snaps); r.text != "" {
		return r
	}
	if e.itemOf(p, c.Number) != nil {
		return refusal{} // enqueued behind one of its needs meanwhile
	}
	it := e.newChangeItem(p, c)
	it.Needs = cloneSlice(c.Needs)
	e.addBehind(p, it)
	e.enqueueDependents(p, c.Number, snaps)
	return refusal{}
}

// addBehind adds an item to a dependent pipeline, building on the item at
// the tail of its queue.
func (e *Engine) addBehind(p *PipelineState, it *Item) {
	if q := e.queueNamed(p, e.itemQueue(p, it)); len(q.Items) > 0 {
		it.Ahead = q.Items[len(q.Items)-1].ID
	}
	e.add(p, it)
}

// admitNeeds checks what a change (or a bundle) needs outside itself: each
// need is merged, or in the pipeline's change queue qname, or can be
// enqueued first by the same rules (then it is). It returns why not.
func (e *Engine) admitNeeds(p *PipelineState, qname string, needs []Need, snaps map[int]*Change) refusal {
	for _, n := range needs {
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
			continue // ahead of it in the queue
		}
		if r := e.addDependent(p, d, snaps); r.text != "" {
			return refusal{text: fmt.Sprintf("it depends on change %d, which cannot enter the %s pipeline: %s", d.Number, p.Name, strings.TrimPrefix(r.text, "it ")), reportable: true}
		}
	}
	return refusal{}
}

// enqueueDependents lets the approved changes that were waiting for change
// n follow it into p, as Zuul's enqueueChangesBehind does.
func (e *Engine) enqueueDependents(p *PipelineState, n int, snaps map[int]*Change) {
	for _, d := range dependents(n, snaps) {
		if d.Open() && e.itemOf(p, d.Number) == nil {
			e.addDependent(p, d, snaps)
		}
	}
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

// enqueueAlone adds c to an independent or supercedent pipeline, to be
// tested alone on its branch tip together with the unmerged changes it
// needs (in a supercedent pipeline, the newest replaces the one waiting),
// if it meets the pipeline's require and reject votes. In an independent
// pipeline a change in a dependency cycle is tested with the whole cycle,
// as one bundle; a supercedent pipeline builds each change of a cycle on
// its own, as Zuul's does.
func (e *Engine) enqueueAlone(p *PipelineState, c *Change, snaps map[int]*Change) string {
	cp := e.pipelineConfig(p)
	if !c.Open() || cp.unmetVotes(c) != "" {
		return ""
	}
	if l := e.itemOf(p, c.Number); l != nil {
		return "" // already being tested
	}
	if !e.wanted(p, c) {
		return ""
	}
	members := []*Change{c}
	if cp.Manager != Supercedent {
		members = e.cycleOf(c, snaps)
	}
	if len(members) > 1 {
		if why := e.cycleRefusal(members); why != "" {
			return why
		}
	}
	deps, why := e.independentDeps(members, snaps)
	if why != "" {
		return why
	}
	it := e.newChangeItem(p, members[0])
	it.Deps = deps
	if len(members) > 1 {
		e.bundle(p, it, members)
	}
	e.add(p, it)
	return ""
}

// independentDeps returns the open changes the given changes (one change,
// or a cycle) need, transitively, in an order where every change comes
// after what it needs; a needed cycle comes whole, in merge order. A
// relation-chain parent on an outdated patchset is not merged separately:
// its child's commit carries it.
func (e *Engine) independentDeps(roots []*Change, snaps map[int]*Change) ([]ChangeRef, string) {
	var out []ChangeRef
	done := map[int]bool{}
	var visit func(unit []*Change) string
	visit = func(unit []*Change) string {
		for _, x := range unit {
			done[x.Number] = true
		}
		for _, x := range unit {
			for _, n := range x.Needs {
				d := snaps[n.Number]
				switch {
				case d == nil:
					return fmt.Sprintf("it depends on change %d, which gated does not know (another project, or not visible)", n.Number)
				case done[d.Number] || d.Status == StatusMerged || (n.Patchset != 0 && n.Patchset != d.Patchset):
					continue
				case d.Status == StatusAbandoned:
					return fmt.Sprintf("it depends on change %d, which is abandoned", n.Number)
				}
				cycle := e.cycleOf(d, snaps)
				if len(cycle) > 1 {
					if why := e.cycleRefusal(cycle); why != "" {
						return fmt.Sprintf("it depends on change %d: %s", d.Number, strings.TrimPrefix(why, "it "))
					}
				}
				if why := visit(cycle); why != "" {
					return why
				}
				for _, m := range cycle {
					out = append(out, e.ref(m))
				}
			}
		}
		return ""
	}
	if why := visit(roots); why != "" {
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
	for _, r := range it.members() {
		e.emit(Report{Item: it.ID, Pipeline: p.Name, Change: r, Kind: ReportStart, Labels: cp.Start.Labels, Message: msg + bundleNote(it, r.Number)})
	}
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
