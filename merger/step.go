package merger

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
)

// branchState is one project's branch while a request's changes are
// applied to it, one step per change.
type branchState struct {
	r      *repo
	branch string
	base   plumbing.Hash
	head   plumbing.Hash
	// headTime is head's commit time.
	headTime time.Time
	key      stateKey
	// ahead holds the commits of the changes applied so far: a change may
	// sit on one of them even when a rebase left it out of head's history.
	ahead map[plumbing.Hash]bool
	// upstream holds parents found in the branch itself, newer than the
	// state's base (see inBranch).
	upstream map[plumbing.Hash]bool
}

// stepKind says what applying a change did to the state.
type stepKind uint8

const (
	// keep: the change is already in the state.
	keep stepKind = iota
	// fastForward: the state becomes the change's own commit.
	fastForward
	// mergeCommit: a merge of the state and the change.
	mergeCommit
	// pickCommit: the change's diff applied on the state, as a rebase or a
	// cherry-pick does, keeping its author and message.
	pickCommit
)

// outcome is what applying a change to a state gives. It depends on the
// state's key alone, not on commit times, so that it can be remembered
// (see memo): nothing in it may name a commit the merger wrote.
type outcome struct {
	kind stepKind
	tree plumbing.Hash
	// refusal is set when the change cannot be applied; files are then
	// the conflicting paths.
	refusal string
	files   []string
	// unsettled marks a refusal that may not hold later (a parent not
	// merged yet): it is not remembered.
	unsettled bool
}

func refused(files []string, format string, args ...any) outcome {
	return outcome{refusal: fmt.Sprintf(format, args...), files: files}
}

// apply applies one change to the state the way its submit type makes
// Gerrit submit it.
func (m *Merger) apply(ctx context.Context, s *branchState, c ChangeRef, rev plumbing.Hash, now time.Time) error {
	commit, err := s.r.commit(rev)
	if err != nil {
		return fmt.Errorf("change %s: %w", c, err)
	}
	typ := c.submitType()
	key := s.key.next(rev, typ)
	out, ok := s.r.memo.get(key)
	if ok {
		m.reused.Add(1)
	} else {
		if out, err = m.decide(ctx, s, commit, typ); err != nil {
			return fmt.Errorf("change %s: %w", c, err)
		}
		if !out.unsettled {
			s.r.memo.put(key, out)
		}
	}
	if out.refusal != "" {
		return &ConflictError{Change: c, Files: slices.Clone(out.files), Reason: out.refusal}
	}
	head, when, err := m.materialize(s, out, c, commit, now)
	if err != nil {
		return fmt.Errorf("change %s: %w", c, err)
	}
	s.head, s.headTime, s.key = head, when, key
	s.ahead[rev] = true
	return nil
}

// decide works out the outcome of one step, running merges as needed.
func (m *Merger) decide(ctx context.Context, s *branchState, c *object.Commit, typ string) (outcome, error) {
	parents := len(c.ParentHashes)
	switch {
	case parents > 1 && (typ == CherryPick || typ == RebaseIfNecessary || typ == RebaseAlways):
		// Gerrit does not rebase merge commits: it merges them as
		// MERGE_IF_NECESSARY would.
		return m.decideMerge(ctx, s, c, MergeIfNecessary)
	case typ == CherryPick && parents == 0:
		return refused(nil, "a root commit cannot be cherry-picked onto a branch"), nil
	case typ == CherryPick:
		// Cherry-picks ignore dependencies: only the change's own diff
		// is applied.
		return m.decidePick(ctx, s, c, true)
	case typ == RebaseIfNecessary || typ == RebaseAlways:
		if parents == 0 {
			return refused(nil, "a root commit cannot be rebased onto a branch"), nil
		}
		rel, err := s.relate(c)
		switch {
		case err != nil:
			return outcome{}, err
		case rel.missing != plumbing.ZeroHash:
			return m.missingParent(ctx, s, c, rel.missing, typ)
		case rel.merged:
			return outcome{kind: keep}, nil
		case rel.fastForward && typ == RebaseIfNecessary:
			return outcome{kind: fastForward}, nil
		}
		return m.decidePick(ctx, s, c, false)
	default:
		return m.decideMerge(ctx, s, c, typ)
	}
}

// decideMerge integrates a change by fast-forward or merge commit:
// MERGE_IF_NECESSARY, MERGE_ALWAYS, FAST_FORWARD_ONLY.
func (m *Merger) decideMerge(ctx context.Context, s *branchState, c *object.Commit, typ string) (outcome, error) {
	rel, err := s.relate(c)
	switch {
	case err != nil:
		return outcome{}, err
	case rel.missing != plumbing.ZeroHash:
		return m.missingParent(ctx, s, c, rel.missing, typ)
	case rel.merged:
		return outcome{kind: keep}, nil
	case rel.fastForward && typ != MergeAlways:
		return outcome{kind: fastForward}, nil
	case typ == FastForwardOnly:
		return refused(nil, "the project allows fast-forwards only, and the change is not based on the state of %s ahead of it",
			s.branch), nil
	case rel.fastForward:
		// A merge whose base is the state itself gives the change's tree.
		return outcome{kind: mergeCommit, tree: c.TreeHash}, nil
	}
	m.merges.Add(1)
	res, err := s.r.engine.Merge(ctx, s.r.storage, s.head, c.Hash)
	if err != nil {
		return outcome{}, fmt.Errorf("%s: merge %s into %s: %w", s.r.project, c.Hash, s.head, err)
	}
	if len(res.Conflicts) > 0 {
		return refused(res.Paths(), "merge conflict: %s", strings.Join(res.Reasons(), "; ")), nil
	}
	return outcome{kind: mergeCommit, tree: res.Tree}, nil
}

// decidePick applies the change's diff against its parent onto the state,
// as a rebase or cherry-pick does: a three-way merge whose base is the
// parent's tree. JGit's "ours" is the state for a cherry-pick and the
// change for a rebase (Gerrit's RebaseChangeOp merges the new base into
// the change), which decides whose attributes apply and whose lines come
// first in a union.
func (m *Merger) decidePick(ctx context.Context, s *branchState, c *object.Commit, cherryPick bool) (outcome, error) {
	parent, err := s.r.commit(c.ParentHashes[0])
	if err != nil {
		return outcome{}, err
	}
	head, err := s.r.commit(s.head)
	if err != nil {
		return outcome{}, err
	}
	base, state, change := parent.TreeHash, head.TreeHash, c.TreeHash
	tree := change
	switch {
	case state == base:
	case change == base:
		tree = state
	default:
		verb, ours, theirs := "rebase", change, state
		if cherryPick {
			verb, ours, theirs = "cherry-pick", state, change
		}
		m.merges.Add(1)
		res, err := s.r.engine.MergeTrees(ctx, s.r.storage, base, ours, theirs)
		if err != nil {
			return outcome{}, fmt.Errorf("%s: %s %s onto %s: %w", s.r.project, verb, c.Hash, s.head, err)
		}
		if len(res.Conflicts) > 0 {
			return refused(res.Paths(), "%s conflict: %s", verb, strings.Join(res.Reasons(), "; ")), nil
		}
		tree = res.Tree
	}
	if cherryPick && tree == state {
		// Gerrit skips a cherry-pick that changes nothing.
		return outcome{kind: keep}, nil
	}
	return outcome{kind: pickCommit, tree: tree}, nil
}

// relation is how a change's commit stands to the state.
type relation struct {
	// merged: the commit is already in the state.
	merged bool
	// fastForward: the state is an ancestor of the commit.
	fastForward bool
	// missing is a parent that is neither in the state nor a change
	// ahead: Gerrit would refuse to submit the change before it.
	missing plumbing.Hash
}

func (s *branchState) relate(c *object.Commit) (relation, error) {
	if c.Hash == s.head {
		return relation{merged: true, fastForward: true}, nil
	}
	bases, err := s.r.engine.MergeBases(s.r.storage, s.head, c.Hash)
	if err != nil {
		return relation{}, fmt.Errorf("%s: merge bases of %s and %s: %w", s.r.project, s.head, c.Hash, err)
	}
	var rel relation
	if len(bases) == 1 {
		rel.merged, rel.fastForward = bases[0] == c.Hash, bases[0] == s.head
	}
	if rel.merged {
		return rel, nil
	}
	for _, p := range c.ParentHashes {
		if s.ahead[p] || p == s.head || s.upstream[p] {
			continue
		}
		in := len(bases) == 1 && bases[0] == p
		if len(c.ParentHashes) > 1 {
			// With one parent, the parent is in the state exactly when it
			// is the merge base; with several, ask.
			if in, err = s.r.isAncestor(p, s.head); err != nil {
				return relation{}, err
			}
		}
		if !in {
			rel.missing = p
			break
		}
	}
	return rel, nil
}

// missingParent decides a change whose parent is neither in the state nor a
// change ahead. When the parent is in the branch itself — the change was
// uploaded on a tip newer than the state's base, typically one that gated's
// own submit of a change in the state made — the change is applied as any
// other: the commits it brings along are already in the state tree-wise,
// and should they not be, the check before its submit finds out. Otherwise
// Gerrit would refuse to submit it before its parent: so does the merger.
func (m *Merger) missingParent(ctx context.Context, s *branchState, c *object.Commit, parent plumbing.Hash, typ string) (outcome, error) {
	in, err := m.inBranch(ctx, s, parent)
	if err != nil {
		return outcome{}, err
	}
	if in {
		if s.upstream == nil {
			s.upstream = map[plumbing.Hash]bool{}
		}
		s.upstream[parent] = true
		return m.decide(ctx, s, c, typ)
	}
	out := refused(nil, "its parent commit %s is neither in %s at %s nor a change ahead of it; submit or enqueue that change first",
		parent, s.branch, s.base)
	out.unsettled = true
	return out, nil
}

// inBranch fetches the branch and reports whether commit is in it.
// Callers hold s.r.mu.
func (m *Merger) inBranch(ctx context.Context, s *branchState, commit plumbing.Hash) (bool, error) {
	ref := "refs/heads/" + s.branch
	if err := m.fetch(ctx, s.r, []string{ref}); err != nil {
		return false, err
	}
	tip, ok := s.r.resolve(ref)
	if !ok {
		return false, nil
	}
	return s.r.isAncestor(commit, tip)
}

// materialize writes the commit of a step, dated the later of the state's
// and the change's times: a function of the two, never before its history
// (which would make every merge-base walk go through it all), nor after
// now.
func (m *Merger) materialize(s *branchState, out outcome, c ChangeRef, commit *object.Commit, now time.Time) (plumbing.Hash, time.Time, error) {
	when := s.headTime
	if commit.Committer.When.After(when) {
		when = commit.Committer.When
	}
	if when.After(now) {
		when = now
	}
	sig := m.signature(when)
	var h plumbing.Hash
	var err error
	switch out.kind {
	case keep:
		return s.head, s.headTime, nil
	case fastForward:
		return commit.Hash, commit.Committer.When, nil
	case mergeCommit:
		h, err = s.r.writeCommit(&object.Commit{
			Author: sig, Committer: sig,
			Message:  fmt.Sprintf("Merge \"%s\"\n\nSpeculative merge of change %s (%s) into %s.\n", subject(commit.Message), c, c.GitRef(), s.branch),
			TreeHash: out.tree, ParentHashes: []plumbing.Hash{s.head, commit.Hash},
		})
	default:
		h, err = s.r.writeCommit(&object.Commit{
			Author: commit.Author, Committer: sig,
			Message: commit.Message, Encoding: commit.Encoding,
			TreeHash: out.tree, ParentHashes: []plumbing.Hash{s.head},
		})
	}
	return h, sig.When, err
}
