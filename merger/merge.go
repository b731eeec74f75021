package merger

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/go-git/go-git/v5/plumbing"
)

// Merge builds the speculative state of a request: in each project, the
// branch's base (pinned or fetched) with every change of the project
// applied in order, the way its submit type makes Gerrit submit it. It
// records each project's result under req.Ref and returns the heads.
//
// A change that cannot be applied gives a *ConflictError naming it, the
// first in merge order; nothing is recorded then. Equal requests give
// equal commits, and so do equal states of different requests: merge,
// rebase and cherry-pick commits carry the merger's identity as committer
// and, as time, the later of the state's and the change's, unless that is
// after req.Time (so that the state of a queue item shares the commits of
// the item ahead, and a retry, even by another process, makes the same
// ones). Steps already taken by an
// earlier request on the same base with the same changes before them are
// not merged again.
func (m *Merger) Merge(ctx context.Context, req Request) (Result, error) {
	if err := req.validate(); err != nil {
		return Result{}, err
	}
	start := time.Now()
	reused, merges := m.reused.Load(), m.merges.Load()
	groups := groupChanges(req.Changes)
	states := make([]*branchState, 0, len(groups))
	var first error
	firstAt := len(req.Changes)
	for _, g := range groups {
		s, at, err := m.build(ctx, g, req)
		if err != nil {
			var ce *ConflictError
			if !errors.As(err, &ce) {
				first, firstAt = err, -1
				break
			}
			if at < firstAt {
				first, firstAt = err, at
			}
			continue
		}
		states = append(states, s)
	}
	if first != nil {
		// No project keeps a ref to a state that is not whole, nor to
		// the state of an earlier attempt.
		for _, g := range groups {
			if r, err := m.repo(g.project); err == nil {
				if err := r.deleteRef(req.Ref); err != nil {
					m.log.ErrorContext(ctx, "cannot delete the ref of a state that failed; it stays until Forget",
						"ref", req.Ref, "project", g.project, "err", err)
				}
			}
		}
		var ce *ConflictError
		if errors.As(first, &ce) {
			m.log.InfoContext(ctx, "change cannot be merged; the state is not built",
				"ref", req.Ref, "project", ce.Change.Project, "change", ce.Change.String(), "reason", ce.Reason, "files", ce.Files)
		}
		return Result{}, first
	}
	res := Result{Heads: map[string]string{}, Bases: map[string]string{}}
	for _, s := range states {
		res.Heads[s.r.project] = s.head.String()
		res.Bases[BaseKey(s.r.project, s.branch)] = s.base.String()
	}
	m.log.DebugContext(ctx, "speculative state built", "ref", req.Ref, "changes", len(req.Changes),
		"merges", m.merges.Load()-merges, "reused", m.reused.Load()-reused, "duration", time.Since(start))
	return res, nil
}

// projectChanges are the changes of one project in a request, with their
// positions in it.
type projectChanges struct {
	project, branch string
	changes         []ChangeRef
	at              []int
}

// groupChanges splits changes by project, in order of first appearance.
func groupChanges(changes []ChangeRef) []*projectChanges {
	var groups []*projectChanges
	byProject := map[string]*projectChanges{}
	for i, c := range changes {
		g, ok := byProject[c.Project]
		if !ok {
			g = &projectChanges{project: c.Project, branch: c.Branch}
			byProject[c.Project] = g
			groups = append(groups, g)
		}
		g.changes = append(g.changes, c)
		g.at = append(g.at, i)
	}
	return groups
}

// build fetches what a project's part of a request needs, applies its
// changes and records the result. On a conflict it also returns the
// conflicting change's position in the request.
func (m *Merger) build(ctx context.Context, g *projectChanges, req Request) (*branchState, int, error) {
	r, err := m.repo(g.project)
	if err != nil {
		return nil, 0, err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := r.open(); err != nil {
		return nil, 0, err
	}
	base, revs, err := m.prepare(ctx, r, g, req.Bases[BaseKey(g.project, g.branch)])
	if err != nil {
		return nil, 0, err
	}
	bc, err := r.commit(base)
	if err != nil {
		return nil, 0, err
	}
	s := &branchState{
		r: r, branch: g.branch, base: base, head: base, headTime: bc.Committer.When,
		key:   baseStateKey(g.project, g.branch, base),
		ahead: map[plumbing.Hash]bool{},
	}
	for i, c := range g.changes {
		if err := m.apply(ctx, s, c, revs[i], req.Time); err != nil {
			return nil, g.at[i], err
		}
	}
	ref := plumbing.NewHashReference(plumbing.ReferenceName(req.Ref), s.head)
	if err := r.storage.SetReference(ref); err != nil {
		return nil, 0, fmt.Errorf("%s: record %s: %w", g.project, req.Ref, err)
	}
	return s, 0, nil
}

// prepare fetches what is missing — the branch unless its pinned base is
// at hand, the patchsets not in the cache — and returns the base and the
// changes' commits. Callers hold r.mu.
func (m *Merger) prepare(ctx context.Context, r *repo, g *projectChanges, pinned string) (plumbing.Hash, []plumbing.Hash, error) {
	branchRef := "refs/heads/" + g.branch
	var want []string
	if pinned == "" || !r.has(plumbing.NewHash(pinned)) {
		want = append(want, branchRef)
	}
	fetched := map[string]bool{}
	for _, c := range g.changes {
		if (c.Revision == "" || !r.has(plumbing.NewHash(c.Revision))) && !fetched[c.GitRef()] {
			want = append(want, c.GitRef())
			fetched[c.GitRef()] = true
		}
	}
	if len(want) > 0 {
		m.log.DebugContext(ctx, "fetching", "project", g.project, "refs", want)
		if err := m.fetch(ctx, r, want); err != nil {
			return plumbing.ZeroHash, nil, err
		}
	}
	var base plumbing.Hash
	if pinned != "" {
		if base = plumbing.NewHash(pinned); !r.has(base) {
			return plumbing.ZeroHash, nil, fmt.Errorf("%s: base %s of branch %s not found, even after fetching the branch",
				g.project, pinned, g.branch)
		}
	} else {
		var ok bool
		if base, ok = r.resolve(branchRef); !ok {
			return plumbing.ZeroHash, nil, fmt.Errorf("%s: no branch %s", g.project, g.branch)
		}
	}
	revs := make([]plumbing.Hash, len(g.changes))
	for i, c := range g.changes {
		revs[i] = plumbing.NewHash(c.Revision)
		if !fetched[c.GitRef()] {
			continue // the revision was at hand
		}
		at, ok := r.resolve(c.GitRef())
		switch {
		case !ok:
			return plumbing.ZeroHash, nil, fmt.Errorf("%s: change %s: no ref %s after fetching it", g.project, c, c.GitRef())
		case c.Revision == "":
			revs[i] = at
		case at != revs[i]:
			return plumbing.ZeroHash, nil, fmt.Errorf("%s: change %s: %s is at %s, not at the expected revision %s",
				g.project, c, c.GitRef(), at, c.Revision)
		}
	}
	return base, revs, nil
}
