package queue

import "fmt"

// Reconfigure gives the engine a new configuration (gated's file was
// reloaded). The queues are kept; the items that can no longer stay leave
// with a report that says why: those of a pipeline that was removed or
// whose manager changed, and those of a project that was removed or no
// longer builds in their pipeline. A configuration that does not compile
// is ignored: the owner validates it first.
type Reconfigure struct {
	Config Config `json:"config"`
}

func (ev Reconfigure) String() string {
	return fmt.Sprintf("reconfigure: %d pipelines, %d projects", len(ev.Config.Pipelines), len(ev.Config.Projects))
}

func (e *Engine) onReconfigure(ev Reconfigure) {
	next, err := compile(ev.Config)
	if err != nil {
		return
	}
	var gone []*PipelineState
	for _, p := range e.st.Pipelines {
		why := ""
		switch np := next.byName[p.Name]; {
		case np == nil:
			why = fmt.Sprintf("the %s pipeline was removed from gated's configuration", p.Name)
			gone = append(gone, p)
		case np.Manager != e.pipelineConfig(p).Manager:
			why = fmt.Sprintf("the %s pipeline's manager changed from %s to %s", p.Name, e.pipelineConfig(p).Manager, np.Manager)
		}
		for _, q := range p.Queues {
			for _, it := range append([]*Item(nil), q.Items...) {
				l := e.items[it.ID]
				if l == nil {
					continue // left with an item ahead of it
				}
				w := why
				switch project := it.Change.Project; {
				case w != "":
				case it.Phase == PhaseSubmitting:
					continue // it leaves when its submit is answered
				case !hasProject(next, project):
					w = fmt.Sprintf("project %s was removed from gated's configuration", project)
				case !next.builds(project, p.Name):
					w = fmt.Sprintf("project %s no longer builds in the %s pipeline", project, p.Name)
				}
				if w != "" {
					e.dequeue(l, false, ReportDequeue, 0, w)
				}
			}
		}
	}
	// The queues of removed pipelines are empty now (an item submitting
	// when its pipeline went has left too: the answer to its submit is
	// ignored): their parts go.
	changed, dirty := e.changed, e.dirty
	for _, p := range gone {
		for _, q := range p.Queues {
			delete(changed, q)
			delete(dirty, q)
			e.dropped[QueuePart(p.Name, q.Name)] = true
		}
	}
	e.cfg = next
	e.reindex()
	e.changed, e.dirty = changed, dirty
}

func hasProject(c *compiled, name string) bool {
	_, ok := c.Projects[name]
	return ok
}
