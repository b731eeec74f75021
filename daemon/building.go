package daemon

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"gated.dev/gated/gitcredential"
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
	projects *projects
	argo     ArgoConfig
	// publicURL is gated's URL as build pods reach it: they fetch
	// speculative states from its /git endpoint, with a credential gitKey
	// mints for the build.
	publicURL string
	gitKey    *gitcredential.Key
	now       func() time.Time
}

func (w *building) cancel(ctx context.Context, a queue.CancelBuild) error {
	return w.exec.Cancel(ctx, scheduler.BuildName(a.Pipeline, a.Item.String(), a.Attempt, a.Part))
}

func (w *building) forget(ctx context.Context, a queue.Forget) error {
	if c, ok := w.exec.(forgetter); ok {
		if err := c.Forget(ctx, a.Pipeline, a.Item.String()); err != nil {
			return err
		}
	}
	return w.merger.Forget(ctx, speculativeRef(a.Pipeline, a.Item))
}

// start runs the workflow file the engine chose, read at the commit it
// chose (a trusted project's branch, never an unmerged change's).
func (w *building) start(ctx context.Context, a queue.StartBuild) (queue.Event, error) {
	project := a.Change.Project
	pc, _ := w.projects.get(project)
	revision := a.Heads[project]
	file, at := a.Workflow, a.WorkflowAt
	if file == "" {
		// A StartBuild an older gated wrote to the outbox: it ran the
		// project's file, at the state.
		file, at = cmp.Or(pc.WorkflowFile, w.argo.WorkflowFile), revision
	}
	wf, err := w.merger.ReadFile(ctx, project, at, file)
	var missing *merger.FileNotFoundError
	switch {
	case errors.As(err, &missing):
		wf = nil
	case err != nil:
		return nil, fmt.Errorf("read %s at %s: %w", file, at, err)
	}
	b := scheduler.Build{
		Pipeline: a.Pipeline, Item: a.Item.String(), Attempt: a.Attempt, Part: a.Part, Project: project,
		Change: a.Change.Number, Patchset: a.Change.Patchset, Revision: revision, Heads: a.Heads,
		Workflow: wf, Namespace: cmp.Or(pc.Namespace, w.argo.Namespace), Trusted: a.Trusted,
	}
	if r := a.Ref; r != nil {
		b.Ref, b.OldRev, b.NewRev = r.Ref, r.OldRev, r.NewRev
	}
	for _, c := range a.Changes {
		b.Changes = append(b.Changes, c.Number)
	}
	// The build may fetch every project of its state (gated-changes), until
	// its deadline has passed with some time to start.
	projects := slices.Sorted(maps.Keys(a.Heads))
	expiry := w.now().Add(time.Duration(w.argo.MaxDeadline) + 30*time.Minute)
	if b.GitURL, err = w.gitKey.URL(w.publicURL+"/git/"+project, b.Name(), projects, expiry); err != nil {
		return nil, fmt.Errorf("credential for build %s: %w", b.Name(), err)
	}
	u, err := w.exec.Start(ctx, b)
	var def *scheduler.DefinitionError
	switch {
	case errors.As(err, &def):
		msg := def.Error()
		if def.Kind == "missing" {
			where := "at the speculative state"
			switch {
			case a.Ref != nil:
				where = "at the commit built"
			case at != revision:
				where = "on the branch (a trusted project runs the workflow of its branch)"
			}
			msg = fmt.Sprintf("%s does not exist in %s %s", file, project, where)
		}
		return queue.BuildCompleted{Pipeline: a.Pipeline, Item: a.Item, Attempt: a.Attempt, Part: a.Part, Result: queue.ResultConfigError, Message: msg}, nil
	case err != nil:
		return nil, err
	}
	return updateEvent(u)
}

// buildRef names the build an executor's update is about.
func buildRef(u scheduler.Update) (queue.BuildRef, error) {
	id, err := strconv.ParseUint(u.Item, 10, 64)
	if err != nil || u.Attempt == 0 || u.Pipeline == "" {
		return queue.BuildRef{}, fmt.Errorf("build %s is not one of gated's (pipeline %q, item %q, attempt %d)", u.Name, u.Pipeline, u.Item, u.Attempt)
	}
	return queue.BuildRef{Pipeline: u.Pipeline, Item: queue.ItemID(id), Attempt: u.Attempt, Part: u.Part}, nil
}

// updateEvent turns an executor's update into the engine's event.
func updateEvent(u scheduler.Update) (queue.Event, error) {
	ref, err := buildRef(u)
	if err != nil {
		return nil, err
	}
	item := ref.Item
	var links []queue.Link
	for _, a := range u.Artifacts {
		links = append(links, queue.Link{Name: a.Name, URL: a.URL})
	}
	done := queue.BuildCompleted{Pipeline: u.Pipeline, Item: item, Attempt: u.Attempt, Part: u.Part, Message: u.Message, URL: u.URL, Links: links}
	switch u.Phase {
	case scheduler.PhaseSucceeded:
		done.Result, done.Message = queue.ResultSuccess, ""
	case scheduler.PhaseFailed:
		done.Result = queue.ResultFailure
		if u.FailedNode != "" && !strings.Contains(done.Message, u.FailedNode) {
			done.Message = fmt.Sprintf("step %s failed: %s", u.FailedNode, done.Message)
		}
	case scheduler.PhaseError:
		done.Result = queue.ResultError
	default:
		return queue.BuildStarted{Pipeline: u.Pipeline, Item: item, Attempt: u.Attempt, Part: u.Part, Name: u.Name, URL: u.URL}, nil
	}
	return done, nil
}
