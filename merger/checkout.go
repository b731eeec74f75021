package merger

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
)

// Checkout is a request for a commit as it is, with no speculative merge:
// what a ref update (post, tag pipelines), a timer's branch or a merged
// change builds.
type Checkout struct {
	Project string
	// Ref is the full name of the ref the commit is on (refs/heads/master,
	// refs/tags/v1.0); it is fetched when the commit is not at hand.
	Ref string
	// Commit is the commit wanted (a tag object is peeled to its commit);
	// empty means the ref's tip.
	Commit string
	// OldCommit, when set, is the commit the changed files are counted
	// from (the ref's previous tip).
	OldCommit string
	// StateRef is where the commit is recorded (a ref under refs/gated/),
	// for builds to fetch it, until Forget.
	StateRef string
}

// CheckedOut is the commit of a Checkout, with the paths changed since
// its OldCommit: nil when there is none, or it is not to be had (a
// rewritten ref).
type CheckedOut struct {
	Commit string
	Files  []string
}

// Checkout fetches a commit (or a ref's tip) into the cache, records it
// under the request's state ref, and lists the files changed since
// OldCommit.
func (m *Merger) Checkout(ctx context.Context, c Checkout) (CheckedOut, error) {
	if err := checkProject(c.Project); err != nil {
		return CheckedOut{}, err
	}
	if err := checkRefName(c.Ref); err != nil {
		return CheckedOut{}, err
	}
	if err := checkStateRef(c.StateRef); err != nil {
		return CheckedOut{}, err
	}
	for _, sha := range []string{c.Commit, c.OldCommit} {
		if sha != "" && !isHash(sha) {
			return CheckedOut{}, fmt.Errorf("check out %s %s: %q is not a commit id", c.Project, c.Ref, sha)
		}
	}
	r, err := m.repo(c.Project)
	if err != nil {
		return CheckedOut{}, err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := r.open(); err != nil {
		return CheckedOut{}, err
	}
	want := plumbing.NewHash(c.Commit)
	if c.Commit == "" || !r.has(want) {
		if err := m.fetch(ctx, r, []string{c.Ref}); err != nil {
			return CheckedOut{}, err
		}
	}
	if c.Commit == "" {
		var ok bool
		if want, ok = r.resolve(c.Ref); !ok {
			return CheckedOut{}, &GoneError{Project: c.Project, Ref: c.Ref, Reason: "no such ref"}
		}
	} else if !r.has(want) {
		return CheckedOut{}, &GoneError{Project: c.Project, Ref: c.Ref, Reason: fmt.Sprintf("commit %s is not on it any more (the ref was rewritten or deleted)", c.Commit)}
	}
	commit, err := r.peel(want)
	if err != nil {
		return CheckedOut{}, err
	}
	if err := r.storage.SetReference(plumbing.NewHashReference(plumbing.ReferenceName(c.StateRef), commit.Hash)); err != nil {
		return CheckedOut{}, fmt.Errorf("%s: record %s: %w", c.Project, c.StateRef, err)
	}
	out := CheckedOut{Commit: commit.Hash.String()}
	if c.OldCommit != "" && r.has(plumbing.NewHash(c.OldCommit)) {
		old, err := r.peel(plumbing.NewHash(c.OldCommit))
		if err != nil {
			return CheckedOut{}, err
		}
		if out.Files, err = changedFiles(ctx, old, commit); err != nil {
			return CheckedOut{}, fmt.Errorf("%s: files changed from %s to %s: %w", c.Project, c.OldCommit, out.Commit, err)
		}
	}
	return out, nil
}

// GoneError says that a checkout's ref, or its commit, is not to be had
// from the remote: the ref was deleted or rewritten. It is permanent.
type GoneError struct {
	Project, Ref, Reason string
}

func (e *GoneError) Error() string {
	return fmt.Sprintf("%s %s: %s", e.Project, e.Ref, e.Reason)
}

// peel returns the commit an object is, or a tag points to.
func (r *repo) peel(h plumbing.Hash) (*object.Commit, error) {
	for range 10 {
		tag, err := object.GetTag(r.storage, h)
		if errors.Is(err, plumbing.ErrObjectNotFound) {
			break // not a tag
		}
		if err != nil {
			return nil, fmt.Errorf("%s: read %s: %w", r.project, h, err)
		}
		h = tag.Target
	}
	return r.commit(h)
}

// changedFiles lists the paths whose content or mode differs between two
// commits' trees, sorted.
func changedFiles(ctx context.Context, from, to *object.Commit) ([]string, error) {
	a, err := from.Tree()
	if err != nil {
		return nil, err
	}
	b, err := to.Tree()
	if err != nil {
		return nil, err
	}
	changes, err := object.DiffTreeWithOptions(ctx, a, b, nil)
	if err != nil {
		return nil, err
	}
	files := []string{}
	for _, ch := range changes {
		for _, name := range []string{ch.From.Name, ch.To.Name} {
			if name != "" && !slices.Contains(files, name) {
				files = append(files, name)
			}
		}
	}
	slices.Sort(files)
	return files, nil
}
