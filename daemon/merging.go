package daemon

import (
	"context"
	"errors"
	"fmt"
	"time"

	"gated.dev/gated/merger"
	"gated.dev/gated/queue"
)

// mergeAttempts bounds how often a merge that fails for a reason other than
// a conflict (a patchset that cannot be fetched, ...) is tried before the
// item fails with that reason.
const mergeAttempts = 8

// speculativeRef is where the merger keeps an item's state, and where the
// git endpoint serves it from.
func speculativeRef(pipeline string, item queue.ItemID) string {
	return fmt.Sprintf("%s%s/%d", merger.RefPrefix, pipeline, item)
}

// merging performs Merge and Checkout actions with the merger.
type merging struct {
	m       *merger.Merger
	metrics *metrics
}

func (w *merging) merge(ctx context.Context, m queue.Merge, attempt int) (queue.Event, error) {
	req := merger.Request{Ref: speculativeRef(m.Pipeline, m.Item), Time: m.Time, Bases: map[string]string{}}
	branch := map[string]string{}
	for _, c := range m.Changes {
		req.Changes = append(req.Changes, merger.ChangeRef{
			Project: c.Project, Branch: c.Branch, Number: c.Number, Patchset: c.Patchset,
			Revision: c.Revision, SubmitType: c.SubmitType,
		})
		branch[c.Project] = c.Branch
	}
	for project, sha := range m.Bases {
		req.Bases[merger.BaseKey(project, branch[project])] = sha
	}
	start := time.Now()
	res, err := w.m.Merge(ctx, req)
	w.metrics.mergeSeconds.WithLabelValues(m.Pipeline).Observe(time.Since(start).Seconds())
	var conflict *merger.ConflictError
	switch {
	case errors.As(err, &conflict):
		return queue.MergeCompleted{Item: m.Item, Attempt: m.Attempt, Conflict: &queue.Conflict{
			Change: conflict.Change.Number, Files: conflict.Files, Message: conflict.Reason,
		}}, nil
	case err != nil && attempt+1 >= mergeAttempts:
		return queue.MergeCompleted{Item: m.Item, Attempt: m.Attempt, Conflict: &queue.Conflict{
			Message: fmt.Sprintf("the speculative state could not be built: %v", err),
		}}, nil
	case err != nil:
		return nil, err
	}
	done := queue.MergeCompleted{Item: m.Item, Attempt: m.Attempt, Heads: res.Heads, Bases: map[string]string{}}
	for project, b := range branch {
		if sha, ok := res.Bases[merger.BaseKey(project, b)]; ok {
			done.Bases[project] = sha
		}
	}
	return done, nil
}

// checkout fetches the commit a ref item (or a merged change) builds. A
// ref or commit that is gone, or one that cannot be fetched after
// mergeAttempts tries, fails the item.
func (w *merging) checkout(ctx context.Context, c queue.Checkout, attempt int) (queue.Event, error) {
	res, err := w.m.Checkout(ctx, merger.Checkout{
		Project: c.Project, Ref: c.Ref, Commit: c.Commit, OldCommit: c.OldRev, StateRef: speculativeRef(c.Pipeline, c.Item),
	})
	var gone *merger.GoneError
	switch {
	case errors.As(err, &gone):
		return queue.MergeCompleted{Item: c.Item, Attempt: c.Attempt, Conflict: &queue.Conflict{Message: gone.Error()}}, nil
	case err != nil && attempt+1 >= mergeAttempts:
		return queue.MergeCompleted{Item: c.Item, Attempt: c.Attempt, Conflict: &queue.Conflict{Message: err.Error()}}, nil
	case err != nil:
		return nil, err
	}
	return queue.MergeCompleted{
		Item: c.Item, Attempt: c.Attempt, Files: res.Files,
		Heads: map[string]string{c.Project: res.Commit}, Bases: map[string]string{c.Project: res.Commit},
	}, nil
}
