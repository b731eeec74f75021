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
		if again.Seen.IsZero() {
			again.Seen = ev.ReadAt // it stays an event seen then
		}
		e.emit(Refresh{Event: again})
		return
	}
	e.recordReads(ev)
	ev = e.withKnownMerges(ev)
	snaps := e.snapshots(ev.Changes)
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
				p.unhold(c.Number)
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
				if h, ok := p.Held[subject.Number]; ok && h.endedBy(ev) {
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

// refusal is why a change may not enter a pipeline; reportable refusals
// are told to the change's owner, others (the change is simply not
// approved) are not. changes are the change numbers the text names; skip
// is set when the pipeline builds nothing for its files (told to its owner
// as such).
type refusal struct {
	text       string
	reportable bool
	changes    []int
	skip       bool
}

// enqueueDependent adds c to p's change queue behind everything it needs,
// enqueueing needed changes that qualify first, and then the changes that
// were waiting for c. A change in a dependency cycle enters with the whole
// cycle, as one bundle. It returns why c could not be enqueued, if that is
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
// refusal without text when it may, changing nothing: c (and, when it is
// part of a dependency cycle, every change of the cycle, which enters as
// one) must meet the pipeline's requirements, not be held out by an
// administrator's dequeue (unless an administrator enqueues the change
// numbered override, or a change of its cycle), and every change they need
// must be merged, in p's same change queue already, or able to enter first
// by these same rules.
func (e *Engine) admit(p *PipelineState, c *Change, snaps map[int]*Change, override int) refusal {
	a := admission{e: e, p: p, snaps: snaps, override: override, ok: map[int]bool{}}
	return a.check(c)
}

// admission is one run of admit; ok remembers the changes admitted so far
// (a change admitted once is admitted again: what a cycle needs outside
// itself is a graph without cycles, and nothing changes meanwhile).
type admission struct {
	e        *Engine
	p        *PipelineState
	snaps    map[int]*Change
	override int
	ok       map[int]bool
}

// check admits c with its dependency cycle, if it is in one.
func (a *admission) check(c *Change) refusal {
	if a.ok[c.Number] {
		return refusal{}
	}
	unit := a.e.cycleOf(c, a.snaps)
	overridden := slices.ContainsFunc(unit, func(m *Change) bool { return m.Number == a.override })
	if r := a.member(c, []*Change{c}, overridden); r.text != "" {
		return r // c itself first: a change that may not enter is not told of its cycle
	}
	if len(unit) > 1 {
		if r := a.e.cycleRefusal(unit); r.text != "" {
			return r
		}
		for _, m := range unit {
			if l := a.e.itemOf(a.p, m.Number); l != nil {
				// Its old bundle, whose submit was in flight when the cycle
				// changed: Gerrit's answer takes it out, and gated's
				// reconcile brings the new cycle in.
				return cycleRefused(unit, fmt.Sprintf("it is part of a dependency cycle (%s), and change %d of it is still in the %s pipeline as part of %s: the cycle enters as one once that item leaves",
					changeListOf(unit), m.Number, a.p.Name, changeList(refNumbers(l.item.own(), 0))))
			}
		}
	}
	for _, m := range unit {
		if m == c {
			continue // checked above
		}
		if r := a.member(m, unit, overridden); r.text != "" {
			return r
		}
	}
	in := map[int]bool{}
	for _, m := range unit {
		in[m.Number] = true
	}
	qname := a.e.cfg.queueName(c.Project, c.Branch)
	for _, m := range unit {
		for _, n := range m.Needs {
			d := a.snaps[n.Number]
			switch {
			case in[n.Number]:
				if n.Patchset != 0 && n.Patchset != d.Patchset {
					return refusal{text: fmt.Sprintf("change %d of its dependency cycle is based on patchset %d of change %d, which is outdated (patchset %d is current): rebase it",
						m.Number, n.Patchset, n.Number, d.Patchset), reportable: true, changes: []int{m.Number, n.Number}}
				}
				continue
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
			if r := a.check(d); r.text != "" {
				r.text = fmt.Sprintf("it depends on change %d, which cannot enter the %s pipeline: %s", d.Number, a.p.Name, strings.TrimPrefix(r.text, "it "))
				r.reportable = true
				r.changes = append([]int{d.Number}, r.changes...)
				return r
			}
		}
	}
	for _, m := range unit {
		a.ok[m.Number] = true
	}
	return refusal{}
}

// member checks one change of a unit (a change, or the changes of its
// dependency cycle) against the pipeline's requirements and holds.
func (a *admission) member(m *Change, unit []*Change, overridden bool) refusal {
	about := func(r refusal) refusal {
		if len(unit) > 1 {
			r.text = fmt.Sprintf("it is part of a dependency cycle (%s), which enters the %s pipeline as one once every change in it may: %s",
				changeListOf(unit), a.p.Name, aboutChange(m.Number, r.text))
			r.reportable = true
			r.changes = append(r.changes, m.Number)
		}
		return r
	}
	if why := a.e.pipelineConfig(a.p).unmet(m); why != "" {
		return about(refusal{text: why})
	}
	if why := a.e.unbuilt(a.p, m); why != "" {
		return refusal{text: why} // said of its project, not of it
	}
	if h, held := a.p.Held[m.Number]; held && !overridden {
		return about(refusal{text: h.Reason + "; it enters again when triggered anew (approved again) or enqueued by an administrator"})
	}
	return refusal{}
}

func needRefusal(n int, which string) refusal {
	return refusal{text: fmt.Sprintf("it depends on change %d, %s", n, which), reportable: true, changes: []int{n}}
}

// addDependent enqueues c, which admit admitted, at the tail of its
// change queue (with its dependency cycle, as one bundle), behind the
// changes it needs that are not there yet (enqueued first), and then the
// changes that were waiting for it.
func (e *Engine) addDependent(p *PipelineState, c *Change, snaps map[int]*Change) {
	if e.itemOf(p, c.Number) != nil {
		return
	}
	unit := e.cycleOf(c, snaps)
	in := map[int]bool{}
	for _, m := range unit {
		in[m.Number] = true
	}
	var needs []Need
	for _, m := range unit {
		for _, n := range m.Needs {
			if in[n.Number] {
				continue
			}
			needs = append(needs, n)
			if d := snaps[n.Number]; d.Status != StatusMerged {
				e.addDependent(p, d, snaps)
			}
		}
	}
	if slices.ContainsFunc(unit, func(m *Change) bool { return e.itemOf(p, m.Number) != nil }) {
		return // it followed one of its needs in
	}
	it := e.newChangeItem(p, unit[0])
	it.Needs = compactNeeds(needs)
	if len(unit) > 1 {
		e.bundle(p, it, unit)
	}
	e.addBehind(p, it)
	// Changes that were waiting for it follow, as Zuul's
	// enqueueChangesBehind does.
	for _, m := range unit {
		for _, d := range dependents(m.Number, snaps) {
			if d.Open() {
				e.enqueueDependent(p, d, snaps)
			}
		}
	}
}

// addBehind adds an item to a dependent pipeline, building on the item at
// the tail of its queue.
func (e *Engine) addBehind(p *PipelineState, it *Item) {
	if q := e.queueNamed(p, e.itemQueue(p, it)); len(q.Items) > 0 {
		it.Ahead = q.Items[len(q.Items)-1].ID
	}
	e.add(p, it)
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

// enqueueAlone adds c to an independent or supercedent pipeline, to be
// tested alone on its branch tip together with the unmerged changes it
// needs (in a supercedent pipeline, the newest replaces the one waiting),
// if it meets the pipeline's require and reject votes and the pipeline
// builds for its files (else its owner is told so). In an independent
// pipeline a change in a dependency cycle is tested with the whole cycle,
// as one bundle; a supercedent pipeline builds each change of a cycle on
// its own, as Zuul's does. It returns why c could not be enqueued, if that
// is to be reported, or "".
func (e *Engine) enqueueAlone(p *PipelineState, c *Change, snaps map[int]*Change) string {
	if l := e.itemOf(p, c.Number); l != nil {
		return "" // already being tested
	}
	members, deps, r := e.admitAlone(p, c, snaps)
	switch {
	case r.skip:
		e.reportSkipped(p, c, r.text)
		return ""
	case r.text != "" && !r.reportable:
		return ""
	case r.text != "":
		return r.text
	}
	it := e.newChangeItem(p, members[0])
	it.Deps = deps
	if len(members) > 1 {
		e.bundle(p, it, members)
	}
	e.add(p, it)
	return ""
}

// admitAlone returns the changes tested as c's item in an independent or
// supercedent pipeline (c, or its dependency cycle in merge order) and the
// changes they are tested with (see independentDeps), or why c may not be
// tested, changing nothing.
func (e *Engine) admitAlone(p *PipelineState, c *Change, snaps map[int]*Change) ([]*Change, []ChangeRef, refusal) {
	if !c.Open() {
		return nil, nil, refusal{text: closed(c)}
	}
	if why := e.pipelineConfig(p).unmetVotes(c); why != "" {
		return nil, nil, refusal{text: why}
	}
	if why := e.unbuilt(p, c); why != "" {
		return nil, nil, refusal{text: why}
	}
	if why := e.cfg.skipFiles(c.Project, p.Name, c.Files); why != "" {
		return nil, nil, refusal{text: why, skip: true}
	}
	members := []*Change{c}
	if e.pipelineConfig(p).Manager != Supercedent {
		members = e.cycleOf(c, snaps)
	}
	if len(members) > 1 {
		if r := e.cycleRefusal(members); r.text != "" {
			return nil, nil, r
		}
	}
	deps, r := e.independentDeps(members, snaps)
	if r.text != "" {
		return nil, nil, r
	}
	return members, deps, refusal{}
}

// independentDeps returns the open changes the given changes (one change,
// or a cycle) need, transitively, in an order where every change comes
// after what it needs; a needed cycle comes whole, in merge order. A
// relation-chain parent on an outdated patchset is not merged separately:
// its child's commit carries it.
func (e *Engine) independentDeps(roots []*Change, snaps map[int]*Change) ([]ChangeRef, refusal) {
	var out []ChangeRef
	done := map[int]bool{}
	var visit func(unit []*Change) refusal
	visit = func(unit []*Change) refusal {
		for _, x := range unit {
			done[x.Number] = true
		}
		for _, x := range unit {
			for _, n := range x.Needs {
				d := snaps[n.Number]
				switch {
				case d == nil:
					return needRefusal(n.Number, "which gated does not know (another project, or not visible)")
				case done[d.Number] || d.Status == StatusMerged || (n.Patchset != 0 && n.Patchset != d.Patchset):
					continue
				case d.Status == StatusAbandoned:
					return needRefusal(n.Number, "which is abandoned")
				}
				cycle := e.cycleOf(d, snaps)
				if len(cycle) > 1 {
					if r := e.cycleRefusal(cycle); r.text != "" {
						r.text = fmt.Sprintf("it depends on change %d: %s", d.Number, strings.TrimPrefix(r.text, "it "))
						r.changes = append([]int{d.Number}, r.changes...)
						return r
					}
				}
				if r := visit(cycle); r.text != "" {
					return r
				}
				for _, m := range cycle {
					out = append(out, e.ref(m))
				}
			}
		}
		return refusal{}
	}
	if r := visit(roots); r.text != "" {
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
	e.reportEach(p, it, ReportStart, cp.Start.Labels, msg)
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
