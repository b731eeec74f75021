package merger

import (
	"context"
	"fmt"

	"github.com/go-git/go-git/v5/plumbing"
)

// SameTree fetches the tip of a project's branch and reports whether it
// has the same tree as commit — the state an item was built on. Before a
// submit this tells whether what Gerrit will produce is what was tested:
// after gated submitted the change ahead, the tip is Gerrit's commit, not
// the speculative one, but its tree must be the same.
func (m *Merger) SameTree(ctx context.Context, project, branch, commit string) (tip string, same bool, err error) {
	if !isHash(commit) {
		return "", false, fmt.Errorf("compare the tip of %s: %q is not a commit id", project, commit)
	}
	r, err := m.repo(project)
	if err != nil {
		return "", false, err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := r.open(); err != nil {
		return "", false, err
	}
	ref := "refs/heads/" + branch
	if err := m.fetch(ctx, r, []string{ref}); err != nil {
		return "", false, err
	}
	h, ok := r.resolve(ref)
	if !ok {
		return "", false, fmt.Errorf("%s: no branch %s", project, branch)
	}
	if h == plumbing.NewHash(commit) {
		return h.String(), true, nil
	}
	a, err := r.commit(h)
	if err != nil {
		return "", false, err
	}
	b, err := r.commit(plumbing.NewHash(commit))
	if err != nil {
		return "", false, fmt.Errorf("%s: the state %s is not in the cache: %w", project, commit, err)
	}
	return h.String(), a.TreeHash == b.TreeHash, nil
}
