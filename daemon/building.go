package daemon

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"gated.dev/gated/merger"
	"gated.dev/gated/queue"
	"gated.dev/gated/scheduler"
)

// Executor runs builds: Argo Workflows on Kubernetes, or the simulated
// executor.
type Executor interface {
	// Start starts a build, or finds the one of that name. A
	// *scheduler.DefinitionError is permanent; other errors are transient.
	Start(ctx context.Context, b scheduler.Build) (scheduler.Update, error)
	// Cancel stops a build; an unknown or finished build is no error.
	Cancel(ctx context.Context, name string) error
	// Run hands every change of every build to sink until ctx ends,
	// starting with the state of all builds.
	Run(ctx context.Context, sink func(scheduler.Update)) error
	// List returns every build the executor has.
	List(ctx context.Context) ([]scheduler.Update, error)
}

// forgetter is an executor that keeps the builds of items that left their
// pipeline for a while (Argo: their workflows are deleted after a
// retention, by the executor itself).
type forgetter interface {
	Forget(ctx context.Context, pipeline, item string) error
}

// building performs StartBuild, CancelBuild and Forget actions.
type building struct {
	exec     Executor
	merger   *merger.Merger
	projects map[string]ProjectYAML
	argo     ArgoConfig
	gitURL   func(project string) string
}

func (w *building) perform(ctx context.Context, a queue.Action, _ int) (queue.Event, error) {
	switch a := a.(type) {
	case queue.StartBuild:
		return w.start(ctx, a)
	case queue.CancelBuild:
		return nil, w.exec.Cancel(ctx, scheduler.BuildName(a.Pipeline, a.Item.String(), a.Attempt))
	case queue.Forget:
		if c, ok := w.exec.(forgetter); ok {
			if err := c.Forget(ctx, a.Pipeline, a.Item.String()); err != nil {
				return nil, err
			}
		}
		return nil, w.merger.Forget(ctx, speculativeRef(a.Pipeline, a.Item))
	}
	return nil, fmt.Errorf("builder: unexpected action %T", a)
}

func (w *building) start(ctx context.Context, a queue.StartBuild) (queue.Event, error) {
	project := a.Change.Project
	pc := w.projects[project]
	file := pc.WorkflowFile
	if file == "" {
		file = w.argo.WorkflowFile
	}
	revision := a.Heads[project]
	wf, err := w.merger.ReadFile(ctx, project, revision, file)
	var missing *merger.FileNotFoundError
	switch {
	case errors.As(err, &missing):
		wf = nil
	case err != nil:
		return nil, fmt.Errorf("read %s at %s: %w", file, revision, err)
	}
	ns := pc.Namespace
	if ns == "" {
		ns = w.argo.Namespace
	}
	b := scheduler.Build{
		Pipeline: a.Pipeline, Item: a.Item.String(), Attempt: a.Attempt, Project: project,
		Change: a.Change.Number, Patchset: a.Change.Patchset, Revision: revision, Heads: a.Heads,
		GitURL: w.gitURL(project), Workflow: wf, Namespace: ns, Trusted: pc.Trusted,
	}
	for _, c := range a.Changes {
		b.Changes = append(b.Changes, c.Number)
	}
	u, err := w.exec.Start(ctx, b)
	var def *scheduler.DefinitionError
	switch {
	case errors.As(err, &def):
		msg := def.Error()
		if def.Kind == "missing" {
			msg = fmt.Sprintf("%s does not exist in %s at the speculative state", file, project)
		}
		return queue.BuildCompleted{Item: a.Item, Attempt: a.Attempt, Result: queue.ResultConfigError, Message: msg}, nil
	case err != nil:
		return nil, err
	}
	return updateEvent(u)
}

// updateEvent turns an executor's update into the engine's event.
func updateEvent(u scheduler.Update) (queue.Event, error) {
	id, err := strconv.ParseUint(u.Item, 10, 64)
	if err != nil || u.Attempt == 0 {
		return nil, fmt.Errorf("build %s is not one of gated's (item %q, attempt %d)", u.Name, u.Item, u.Attempt)
	}
	item := queue.ItemID(id)
	var links []queue.Link
	for _, a := range u.Artifacts {
		links = append(links, queue.Link{Name: a.Name, URL: a.URL})
	}
	switch u.Phase {
	case scheduler.PhaseSucceeded:
		return queue.BuildCompleted{Item: item, Attempt: u.Attempt, Result: queue.ResultSuccess, URL: u.URL, Links: links}, nil
	case scheduler.PhaseFailed:
		msg := u.Message
		if u.FailedNode != "" && !strings.Contains(msg, u.FailedNode) {
			msg = fmt.Sprintf("step %s failed: %s", u.FailedNode, msg)
		}
		return queue.BuildCompleted{Item: item, Attempt: u.Attempt, Result: queue.ResultFailure, Message: msg, URL: u.URL, Links: links}, nil
	case scheduler.PhaseError:
		return queue.BuildCompleted{Item: item, Attempt: u.Attempt, Result: queue.ResultError, Message: u.Message, URL: u.URL, Links: links}, nil
	}
	return queue.BuildStarted{Item: item, Attempt: u.Attempt, Name: u.Name, URL: u.URL}, nil
}
