package queue

import (
	"fmt"
	"slices"
)

// Which workflow a build runs, read at which commit. Every pipeline runs
// the project's workflow file (it receives the pipeline's name and can
// branch on it) unless the project maps that pipeline to another file, or
// to none: then the project has no build there, and no report, as a
// project with no jobs in a Zuul pipeline. A ref item reads its workflow
// at the commit it builds: merged code. A trusted project's builds run
// the workflow of the branch, never the one an unmerged change proposes
// (Zuul's config projects); a change that edits it is told that its
// version is used once it merges.

// DefaultWorkflow is the workflow file of a project that names none.
const DefaultWorkflow = ".pipeline/argo-workflow.yaml"

// workflow returns the workflow file a project runs in a pipeline, and
// false when it has no build there.
func (c *compiled) workflow(project, pipeline string) (string, bool) {
	pc := c.Projects[project]
	if f, ok := pc.Workflows[pipeline]; ok {
		return f, f != ""
	}
	if pc.Workflow != "" {
		return pc.Workflow, true
	}
	return DefaultWorkflow, true
}

// builds reports whether a configured project has a build in a pipeline.
func (c *compiled) builds(project, pipeline string) bool {
	if _, ok := c.Projects[project]; !ok {
		return false
	}
	_, ok := c.workflow(project, pipeline)
	return ok
}

// newChangeItem returns a fresh item of change c for pipeline p.
func (e *Engine) newChangeItem(p *PipelineState, c *Change) *Item {
	it := e.newItem(e.ref(c))
	it.Subject, it.Owner = c.Subject, c.Owner
	it.EditsWorkflow = e.editsWorkflow(p, c)
	return it
}

// editsWorkflow reports whether c edits the workflow file of a trusted
// project, whose builds run the branch's.
func (e *Engine) editsWorkflow(p *PipelineState, c *Change) bool {
	if file, _ := e.cfg.workflow(c.Project, p.Name); e.cfg.Projects[c.Project].Trusted {
		return slices.Contains(c.Files, file)
	}
	return false
}

// workflowOf returns the StartBuild fields that say what an item's build
// runs: the workflow of project (the item's, or one of a bundle's).
func (e *Engine) workflowOf(p *PipelineState, it *Item, project string) (file, at string, trusted bool) {
	file, _ = e.cfg.workflow(project, p.Name)
	trusted = e.cfg.Projects[project].Trusted
	at = it.Heads[project]
	if trusted && !it.checksOut() {
		at = it.Bases[project]
	}
	return file, at, trusted
}

// reportResult reports an item's result on each of its changes (a
// bundle's merged changes hear only of a failure). An item that is not a
// change reports to the change whose submit moved its ref, if gated knows
// it, without votes: its failures always, its success only when the
// pipeline configures a success report.
func (e *Engine) reportResult(p *PipelineState, it *Item, kind ReportKind, labels map[string]int, msg string) {
	if it.Ref != nil {
		success := e.pipelineConfig(p).Success
		if it.Change.Number == 0 || (kind == ReportSuccess && len(success.Labels) == 0 && success.Message == "") {
			return
		}
		labels = nil
	}
	for _, c := range it.members() {
		if slices.Contains(it.Submitted, c.Number) && kind == ReportSuccess {
			continue
		}
		r := Report{Item: it.ID, Pipeline: p.Name, Change: c, Kind: kind, Labels: labels, Message: msg + bundleNote(it, c.Number)}
		if it.Build != nil {
			r.URL = it.Build.URL
			r.Links = it.Build.Links
		}
		switch {
		case it.EditsWorkflow && it.isBundle():
			r.Message += "\n\nA change of this dependency cycle edits the workflow of a trusted project: its builds run the workflow of the branch, so the edit is used once it merges."
		case it.EditsWorkflow:
			file, _ := e.cfg.workflow(c.Project, p.Name)
			r.Message += fmt.Sprintf("\n\nThis change edits %s, but %s is a trusted project: its builds run the workflow of the branch, so this change's version is used once it merges.", file, c.Project)
		}
		e.emit(r)
	}
}
