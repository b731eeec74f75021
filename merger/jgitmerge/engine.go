package jgitmerge

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/storer"
)

// maxBases is where JGit's RecursiveMerger gives up (MAX_BASES).
const maxBases = 200

// Engine merges in one repository. It keeps what it learns of the
// repository's commit graph between merges. It is not safe for concurrent
// use.
type Engine struct {
	gitDir     string
	attributes bool
	graph      *graph
	attrs      *attrCache
	// trees holds the trees merges read, by id: trees never change, and
	// the merges of a queue read the same ones over and over.
	trees map[plumbing.Hash]map[string]entry
}

// New returns an engine for the repository whose git directory is gitDir,
// which merges as JGit does when Gerrit's core.useGitattributesForMerge
// is attributes (false by default, and in every Gerrit before 3.12).
func New(gitDir string, attributes bool) *Engine {
	e := &Engine{gitDir: gitDir, attributes: attributes, graph: newGraph(), trees: map[plumbing.Hash]map[string]entry{}}
	if attributes {
		e.attrs = newAttrCache()
	}
	return e
}

// Close removes what the engine keeps on disk.
func (e *Engine) Close() error {
	if e.attrs != nil {
		return e.attrs.close()
	}
	return nil
}

// Conflict is a path a merge cannot resolve, and why.
type Conflict struct {
	Path   string
	Reason string
}

// Result is the outcome of a merge: a tree, or conflicts.
type Result struct {
	// Tree is the merged tree, written to the store; zero when the merge
	// conflicts.
	Tree plumbing.Hash
	// Conflicts are sorted by path; empty when the merge is clean.
	Conflicts []Conflict
}

// Paths are the conflicting paths.
func (r Result) Paths() []string {
	out := make([]string, len(r.Conflicts))
	for i, c := range r.Conflicts {
		out[i] = c.Path
	}
	return out
}

// Reasons are the conflicts as sentences, one per path.
func (r Result) Reasons() []string {
	out := make([]string, len(r.Conflicts))
	for i, c := range r.Conflicts {
		out[i] = c.Reason + ": " + c.Path
	}
	return out
}

// Merge merges commit theirs into commit ours as JGit's RecursiveMerger
// does, as Gerrit merges a change (theirs) into its branch (ours): on
// their merge base, or on a virtual base merged from several, or on the
// empty tree when their histories are unrelated.
func (e *Engine) Merge(ctx context.Context, st storer.EncodedObjectStorer, ours, theirs plumbing.Hash) (Result, error) {
	e.graph.virtual = map[plumbing.Hash]*node{}
	defer func() { e.graph.virtual = nil }()
	base, err := e.baseTree(ctx, st, ours, theirs, 0)
	if err != nil {
		return Result{}, err
	}
	o, err := e.graph.node(st, ours)
	if err != nil {
		return Result{}, err
	}
	t, err := e.graph.node(st, theirs)
	if err != nil {
		return Result{}, err
	}
	return e.merge(ctx, st, base, o.tree, t.tree, false)
}

// MergeTrees merges tree theirs into tree ours on tree base, as a
// cherry-pick or a rebase does (a ResolveMerger given its base).
func (e *Engine) MergeTrees(ctx context.Context, st storer.EncodedObjectStorer, base, ours, theirs plumbing.Hash) (Result, error) {
	return e.merge(ctx, st, base, ours, theirs, false)
}

// baseTree is the tree of the merge base of a and b, merging several into
// a virtual one as RecursiveMerger.getBaseCommit does.
func (e *Engine) baseTree(ctx context.Context, st storer.EncodedObjectStorer, a, b plumbing.Hash, depth int) (plumbing.Hash, error) {
	h, err := e.baseCommit(ctx, st, a, b, depth)
	if err != nil || h == plumbing.ZeroHash {
		return plumbing.ZeroHash, err
	}
	n, err := e.graph.node(st, h)
	if err != nil {
		return plumbing.ZeroHash, err
	}
	return n.tree, nil
}

func (e *Engine) baseCommit(ctx context.Context, st storer.EncodedObjectStorer, a, b plumbing.Hash, depth int) (plumbing.Hash, error) {
	bases, err := e.MergeBases(st, a, b)
	switch {
	case err != nil:
		return plumbing.ZeroHash, err
	case len(bases) == 0:
		return plumbing.ZeroHash, nil
	case len(bases) == 1:
		return bases[0], nil
	case len(bases) >= maxBases:
		return plumbing.ZeroHash, fmt.Errorf("merge %s and %s: %d merge bases, more than JGit merges", a, b, len(bases))
	}
	current := bases[0]
	parents := []plumbing.Hash{current}
	for _, next := range bases[1:] {
		parents = append(parents, next)
		bc, err := e.baseTree(ctx, st, current, next, depth+1)
		if err != nil {
			return plumbing.ZeroHash, err
		}
		cn, err := e.graph.node(st, current)
		if err != nil {
			return plumbing.ZeroHash, err
		}
		nn, err := e.graph.node(st, next)
		if err != nil {
			return plumbing.ZeroHash, err
		}
		res, err := e.merge(ctx, st, bc, cn.tree, nn.tree, true)
		if err != nil {
			return plumbing.ZeroHash, err
		}
		// JGit makes the virtual base a commit (not stored) on every base
		// merged so far, one second newer than the newest.
		v := &node{parents: slices.Clone(parents), tree: res.Tree}
		for _, p := range parents {
			pn, err := e.graph.node(st, p)
			if err != nil {
				return plumbing.ZeroHash, err
			}
			v.when = max(v.when, pn.when+1)
		}
		current = virtualHash(res.Tree, parents, depth)
		e.graph.virtual[current] = v
	}
	return current, nil
}

// virtualHash names a virtual base; it is never looked up in the store.
func virtualHash(tree plumbing.Hash, parents []plumbing.Hash, depth int) plumbing.Hash {
	var b strings.Builder
	fmt.Fprintf(&b, "virtual %d %s", depth, tree)
	for _, p := range parents {
		b.WriteString(" " + p.String())
	}
	return plumbing.ComputeHash(plumbing.CommitObject, []byte(b.String()))
}
