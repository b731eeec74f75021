package queue

import (
	"fmt"
	"slices"
	"strings"
)

// Bundles: a dependency cycle (cycles.go) in a queue that allows circular
// dependencies is one item whose Bundle holds its changes, as in Zuul since
// 10.0 (one QueueItem with item.changes).
//
//   - It enters once every change in it may enter (approved, in dependent
//     pipelines), behind what its changes need outside it, and takes one
//     place in the window.
//   - Its changes are merged into one speculative state, in merge order,
//     and that state is built once per project the bundle touches, each
//     with that project's workflow: the item's Parts, told apart by
//     StartBuild.Part. It passes when every part passed; the first part
//     that fails (after the usual retries, which build every part again)
//     fails it, and the other parts are cancelled.
//   - It is submitted one change after another, each Submit carrying the
//     changes not merged yet (Together): with change.submitWholeTopic the
//     first submit merges them all, and the next ones find their change
//     merged. Each merged change is recorded (Submitted) before the next
//     Submit is decided, so a crash between two submits leads to the next
//     one (the outbox keeps it, and a submit of a merged change is a
//     success), never to a bundle half merged and forgotten. A branch that
//     moved meanwhile (a stale answer) rebuilds what is not merged yet;
//     only Gerrit refusing a submit can leave the bundle half merged, and
//     that is reported on every change of it.
//   - A new patchset, an abandon, a lost approval on any change of it, or
//     a change to the cycle itself, takes the whole bundle out, with a
//     report on each change. Its failure is reported on each change.

// isBundle reports whether the item carries a dependency cycle.
func (it *Item) isBundle() bool { return len(it.Bundle) > 0 }

// ownLen is how many changes the item itself adds to a speculative state:
// its change, or the changes of its bundle not merged yet.
func (it *Item) ownLen() int {
	if !it.isBundle() {
		return 1
	}
	return len(it.Bundle) - len(it.Submitted)
}

// copyOwn copies the item's own changes (see ownLen) into dst.
func (it *Item) copyOwn(dst []ChangeRef) {
	if !it.isBundle() {
		dst[0] = it.Change
		return
	}
	i := 0
	for _, r := range it.Bundle {
		if !slices.Contains(it.Submitted, r.Number) {
			dst[i] = r
			i++
		}
	}
}

// own returns the item's own changes (see ownLen).
func (it *Item) own() []ChangeRef {
	out := make([]ChangeRef, it.ownLen())
	it.copyOwn(out)
	return out
}

// members returns every change of the item: its change, or its bundle.
func (it *Item) members() []ChangeRef {
	if !it.isBundle() {
		return []ChangeRef{it.Change}
	}
	return it.Bundle
}

// hasMember reports whether change n is one of the item's changes.
func (it *Item) hasMember(n int) bool {
	return slices.ContainsFunc(it.members(), func(r ChangeRef) bool { return r.Number == n })
}

// touches reports whether the item's own changes include one of project.
func (it *Item) touches(project string) bool {
	return slices.ContainsFunc(it.own(), func(r ChangeRef) bool { return r.Project == project })
}

// bundle makes an item (of the cycle's first change) carry the whole cycle.
func (e *Engine) bundle(p *PipelineState, it *Item, members []*Change) {
	for _, m := range members {
		it.Bundle = append(it.Bundle, e.ref(m))
		it.EditsWorkflow = it.EditsWorkflow || e.editsWorkflow(p, m)
	}
}

// compactNeeds drops repeated needs of one change, keeping the first.
func compactNeeds(needs []Need) []Need {
	var out []Need
	for _, n := range needs {
		if !slices.ContainsFunc(out, func(x Need) bool { return x.Number == n.Number }) {
			out = append(out, n)
		}
	}
	return out
}

// aboutChange rewrites a reason said of "it" (the change) as said of
// change n.
func aboutChange(n int, why string) string {
	for _, prefix := range []string{"it ", "the change "} {
		if rest, ok := strings.CutPrefix(why, prefix); ok {
			return fmt.Sprintf("change %d %s", n, rest)
		}
	}
	return fmt.Sprintf("change %d: %s", n, why)
}

// membershipChange says how the cycle of the item's changes differs from
// the changes it holds (not merged yet), or "" when they agree or the
// snapshots cannot tell (they lack one of those changes). A change that
// joined a cycle, left one, or whose cycle changed must enter again as
// what it is now.
func (e *Engine) membershipChange(it *Item, snaps map[int]*Change) string {
	own := it.own()
	for _, r := range own {
		if snaps[r.Number] == nil {
			return ""
		}
	}
	c := snaps[own[0].Number]
	now := e.cycleOf(c, snaps)
	same := len(now) == len(own)
	for _, x := range now {
		same = same && slices.ContainsFunc(own, func(r ChangeRef) bool { return r.Number == x.Number })
	}
	switch {
	case same:
		return ""
	case len(now) == 1:
		return "it is no longer in a dependency cycle with " + changeList(refNumbers(own, c.Number))
	case !it.isBundle():
		return fmt.Sprintf("it is now part of a dependency cycle (%s), which enters as one", changeListOf(now))
	}
	return fmt.Sprintf("its dependency cycle changed (now %s), and enters again as one", changeListOf(now))
}

// refNumbers returns the numbers of refs, but skip.
func refNumbers(refs []ChangeRef, skip int) []int {
	var out []int
	for _, r := range refs {
		if r.Number != skip {
			out = append(out, r.Number)
		}
	}
	return out
}

// Builds of a bundle: one part per project of its own changes.

// startParts starts a bundle's builds, one per project its own changes
// touch, each with the workflow of that project's first change.
func (e *Engine) startParts(l *itemLoc) {
	it := l.item
	it.Parts = nil
	chain := e.chain(it)
	for _, r := range it.own() {
		if slices.ContainsFunc(it.Parts, func(pt *Part) bool { return pt.Change.Project == r.Project }) {
			continue
		}
		it.Parts = append(it.Parts, &Part{Change: r})
		file, at, trusted := e.workflowOf(l.pipeline, it, r.Project)
		e.emit(StartBuild{
			Item: it.ID, Attempt: it.Attempt, Pipeline: l.pipeline.Name, Part: len(it.Parts) - 1,
			Change: r, Changes: chain, Heads: clone(it.Heads),
			Workflow: file, WorkflowAt: at, Trusted: trusted,
		})
	}
}

// part returns the running part a build answer is for, or nil.
func (it *Item) part(i int) *Part {
	if i < 0 || i >= len(it.Parts) || it.Parts[i].Result != "" {
		return nil
	}
	return it.Parts[i]
}

// partStarted records the start of one of a bundle's builds.
func (e *Engine) partStarted(l *itemLoc, ev BuildStarted) bool {
	pt := l.item.part(ev.Part)
	if pt == nil {
		return false
	}
	e.touch(l.pipeline, l.queue)
	pt.Build.Name, pt.Build.URL = ev.Name, ev.URL
	if pt.Build.Started.IsZero() {
		pt.Build.Started = e.now
	}
	if b := l.item.Build; b.Started.IsZero() {
		b.Name, b.URL, b.Started = ev.Name, ev.URL, e.now
	}
	return true
}

// partCompleted records the result of one of a bundle's builds: the
// bundle passes once every part passed, and fails (or is built again, as
// one build would be) on the first part that does not pass; the parts
// still running are then cancelled.
func (e *Engine) partCompleted(l *itemLoc, ev BuildCompleted) {
	it := l.item
	pt := it.part(ev.Part)
	if pt == nil {
		return
	}
	cp := e.pipelineConfig(l.pipeline)
	e.touch(l.pipeline, l.queue)
	pt.Result = ev.Result
	e.finished(l, pt.Change, &pt.Build, ev)
	if ev.Result == ResultSuccess {
		if slices.ContainsFunc(it.Parts, func(x *Part) bool { return x.Result != ResultSuccess }) {
			return
		}
		it.Phase = PhasePassed
		if cp.RetryCleared {
			e.clear(it)
		}
		return
	}
	e.cancelParts(l.pipeline, it)
	b := it.Build
	b.URL, b.Links, b.Message = pt.Build.URL, pt.Build.Links, ev.Message
	switch {
	case ev.Result == ResultLost:
		b.Tries-- // startBuild counts the builds it starts
	case ev.Result == ResultConfigError:
		it.Phase = PhaseFailed
		it.Failure = &Failure{Kind: FailConfig, Message: fmt.Sprintf("the workflow of %s: %s", pt.Change.Project, ev.Message)}
		return
	case (ev.Result == ResultError && b.Tries < errorTries) || (ev.Result == ResultFailure && retry(cp, it)):
	default:
		it.Phase = PhaseFailed
		it.Failure = &Failure{Kind: FailBuild, Message: fmt.Sprintf("the build of %s failed. %s", pt.Change.Project, ev.Message)}
		return
	}
	it.Attempt++
	it.AttemptAt = e.now
	e.startBuild(l)
}

// cancelParts aborts the builds of a bundle that still run.
func (e *Engine) cancelParts(p *PipelineState, it *Item) {
	for i, pt := range it.Parts {
		if pt.Result == "" {
			e.emit(CancelBuild{Item: it.ID, Attempt: it.Attempt, Pipeline: p.Name, Part: i})
		}
	}
}

// Submits of a bundle: one change after another.

// submitAction asks for the submit of the item's next change, with the
// changes it was tested with that are not merged yet.
func (e *Engine) submitAction(p *PipelineState, it *Item) Submit {
	own := it.own()
	return Submit{
		Item: it.ID, Attempt: it.Attempt, Pipeline: p.Name, Change: own[0], Together: own,
		Expect: clone(it.Expect), Labels: e.pipelineConfig(p).Success.Labels,
	}
}

// merged records that the item's submit merged its next change, and
// reports whether the item is done: a bundle with changes left asks for
// the next submit, on the branches as they are now.
func (e *Engine) merged(p *PipelineState, it *Item, tips map[string]string) bool {
	r := it.own()[0]
	e.counts.Merged++
	e.facts.Merged = append(e.facts.Merged, ChangeMerged{Pipeline: p.Name, Item: it.ID, Change: r, EnqueuedAt: it.EnqueuedAt, MergedAt: e.now})
	if !it.isBundle() {
		return true
	}
	it.Submitted = append(it.Submitted, r.Number)
	if it.ownLen() == 0 {
		return true
	}
	for project, tip := range tips {
		if it.Expect == nil {
			it.Expect = map[string]string{}
		}
		it.Expect[project] = tip
	}
	e.emit(e.submitAction(p, it))
	return false
}

// madeBy is the change whose merge made a branch tip of project, when the
// submit of r merged it: r, or the change of the bundle in that project
// that was submitted along with r (Gerrit's submitWholeTopic).
func (it *Item) madeBy(r ChangeRef, project string) ChangeRef {
	if r.Project == project {
		return r
	}
	for _, x := range it.own() {
		if x.Project == project {
			return x
		}
	}
	return r
}

// reportEach tells every change of an item the same (a bundle's changes
// each with the bundle note).
func (e *Engine) reportEach(p *PipelineState, it *Item, kind ReportKind, labels map[string]int, msg string) {
	for _, r := range it.members() {
		e.emit(Report{Item: it.ID, Pipeline: p.Name, Change: r, Kind: kind, Labels: labels, Message: msg + bundleNote(it, r.Number)})
	}
}

// bundleNote is what a report on one change of a bundle adds: the other
// changes it was tested with.
func bundleNote(it *Item, n int) string {
	if !it.isBundle() {
		return ""
	}
	return fmt.Sprintf("\n\nThis change is part of a dependency cycle with %s: they are tested and submitted together.", changeList(refNumbers(it.Bundle, n)))
}
