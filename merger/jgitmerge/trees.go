package jgitmerge

import (
	"context"
	"fmt"
	"path"
	"slices"
	"sort"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/plumbing/storer"
)

// entry is a path in one of the three trees of a merge; mode 0 is absent.
type entry struct {
	mode filemode.FileMode
	hash plumbing.Hash
}

func (x entry) absent() bool  { return x.mode == 0 }
func (x entry) isTree() bool  { return x.mode == filemode.Dir }
func (x entry) nonTree() bool { return x.mode != 0 && x.mode != filemode.Dir }
func (x entry) regular() bool { return x.mode == filemode.Regular || x.mode == filemode.Executable }

// same is JGit's "mode equal and idEqual" of two sides.
func (x entry) same(y entry) bool { return x.mode == y.mode && x.hash == y.hash }

// dirNode is a directory of the result while the merge runs; its content
// merges are done last, all in one git.
type dirNode struct {
	entries []resultEntry
}

type resultEntry struct {
	name  string
	entry entry
	dir   *dirNode
	job   *contentJob
}

// treeMerge is one three-way merge of trees.
type treeMerge struct {
	ctx context.Context
	st  storer.EncodedObjectStorer
	e   *Engine
	// ignoreConflicts: the merge of a virtual base, which takes a side, or
	// content with conflict markers, where a merge would conflict.
	ignoreConflicts bool
	ours            plumbing.Hash
	jobs            []*contentJob
	conflicts       []Conflict
}

func (e *Engine) merge(ctx context.Context, st storer.EncodedObjectStorer, base, ours, theirs plumbing.Hash, ignoreConflicts bool) (Result, error) {
	m := &treeMerge{ctx: ctx, st: st, e: e, ignoreConflicts: ignoreConflicts, ours: ours}
	root, err := m.dir("", base, ours, theirs)
	if err != nil {
		return Result{}, err
	}
	if err := m.contentMerges(); err != nil {
		return Result{}, err
	}
	if len(m.conflicts) > 0 {
		sort.Slice(m.conflicts, func(i, j int) bool { return m.conflicts[i].Path < m.conflicts[j].Path })
		return Result{Conflicts: m.conflicts}, nil
	}
	tree, err := m.write(root)
	if err != nil {
		return Result{}, err
	}
	return Result{Tree: tree}, nil
}

func (m *treeMerge) conflict(p, reason string) {
	m.conflicts = append(m.conflicts, Conflict{Path: p, Reason: reason})
}

// treeLimit bounds the trees an engine keeps; past it, it starts over.
const treeLimit = 1 << 16

// readTree reads a tree's entries by name; the zero hash is an empty tree.
// The result is shared: callers do not change it.
func (m *treeMerge) readTree(h plumbing.Hash) (map[string]entry, error) {
	if h == plumbing.ZeroHash || h.String() == EmptyTree {
		return nil, nil
	}
	if out, ok := m.e.trees[h]; ok {
		return out, nil
	}
	t, err := object.GetTree(m.st, h)
	if err != nil {
		return nil, fmt.Errorf("read tree %s: %w", h, err)
	}
	out := make(map[string]entry, len(t.Entries))
	for _, te := range t.Entries {
		out[te.Name] = entry{mode: te.Mode, hash: te.Hash}
	}
	if len(m.e.trees) >= treeLimit {
		clear(m.e.trees)
	}
	m.e.trees[h] = out
	return out, nil
}

// dir merges the directories at p of the three trees (zero: absent).
func (m *treeMerge) dir(p string, b, o, t plumbing.Hash) (*dirNode, error) {
	if err := m.ctx.Err(); err != nil {
		return nil, err
	}
	bt, err := m.readTree(b)
	if err != nil {
		return nil, err
	}
	ot, err := m.readTree(o)
	if err != nil {
		return nil, err
	}
	tt, err := m.readTree(t)
	if err != nil {
		return nil, err
	}
	names := map[string]bool{}
	for _, tree := range []map[string]entry{bt, ot, tt} {
		for name := range tree {
			names[name] = true
		}
	}
	d := &dirNode{}
	for _, name := range slices.Sorted(func(yield func(string) bool) {
		for n := range names {
			if !yield(n) {
				return
			}
		}
	}) {
		r, err := m.entry(path.Join(p, name), bt[name], ot[name], tt[name])
		if err != nil {
			return nil, err
		}
		if r != nil {
			r.name = name
			d.entries = append(d.entries, *r)
		}
	}
	return d, nil
}

func take(x entry) *resultEntry {
	if x.absent() {
		return nil
	}
	return &resultEntry{entry: x}
}

func treeOf(x entry) plumbing.Hash {
	if x.isTree() {
		return x.hash
	}
	return plumbing.ZeroHash
}

// entry merges one path, as JGit's ResolveMerger.processEntry does.
func (m *treeMerge) entry(p string, b, o, t entry) (*resultEntry, error) {
	gitlinks := b.mode == filemode.Submodule || o.mode == filemode.Submodule || t.mode == filemode.Submodule
	switch {
	case o.nonTree() && t.nonTree() && o.hash == t.hash:
		if o.mode == t.mode {
			return take(o), nil
		}
		if mode := mergeModes(b.mode, o.mode, t.mode); mode != 0 {
			return take(entry{mode: mode, hash: o.hash}), nil
		}
		if !m.ignoreConflicts {
			m.conflict(p, "modes changed differently on both sides")
		}
		return nil, nil
	case b.same(t):
		return take(o), nil
	case b.same(o):
		return take(t), nil
	}
	if b.isTree() || o.isTree() || t.isTree() {
		if o.nonTree() != t.nonTree() {
			if !m.ignoreConflicts {
				m.conflict(p, "a file on one side is a directory on the other")
			}
			return nil, nil
		}
		if !o.nonTree() {
			d, err := m.dir(p, treeOf(b), treeOf(o), treeOf(t))
			if err != nil || len(d.entries) == 0 {
				return nil, err
			}
			return &resultEntry{dir: d}, nil
		}
		if !b.nonTree() {
			b = entry{}
		}
	}
	if o.nonTree() && t.nonTree() {
		return m.bothChanged(p, b, o, t, gitlinks)
	}
	if (!o.absent() && o.hash != b.hash) || (!t.absent() && t.hash != b.hash) {
		return m.modifyDelete(p, b, o, t, gitlinks)
	}
	return nil, nil
}

// bothChanged merges a file both sides changed, differently.
func (m *treeMerge) bothChanged(p string, b, o, t entry, gitlinks bool) (*resultEntry, error) {
	symlinks := o.mode == filemode.Symlink || t.mode == filemode.Symlink
	switch {
	case gitlinks && m.ignoreConflicts:
		return take(o), nil
	case gitlinks:
		m.conflict(p, "submodule changed on both sides")
		return nil, nil
	case symlinks && m.ignoreConflicts:
		if t.regular() {
			return take(t), nil
		}
		return take(o), nil
	case symlinks:
		m.conflict(p, "symbolic link changed on both sides")
		return nil, nil
	}
	binary, err := m.binary(b, o, t)
	if err != nil {
		return nil, err
	}
	if binary {
		if m.ignoreConflicts {
			return take(o), nil
		}
		m.conflict(p, "binary file changed on both sides")
		return nil, nil
	}
	return m.job(p, b, o, t), nil
}

// modifyDelete merges a file one side deleted and the other changed.
func (m *treeMerge) modifyDelete(p string, b, o, t entry, gitlinks bool) (*resultEntry, error) {
	switch {
	case gitlinks && m.ignoreConflicts:
		return take(o), nil
	case !m.ignoreConflicts:
		m.conflict(p, "changed on one side, deleted on the other")
		return nil, nil
	case o.mode == filemode.Symlink || t.mode == filemode.Symlink:
		if !o.absent() {
			return take(o), nil
		}
		return take(t), nil
	}
	// A virtual base keeps the content merge with its conflict markers:
	// all of one side against nothing.
	binary, err := m.binary(b, o, t)
	if err != nil {
		return nil, err
	}
	j := m.job(p, b, o, t)
	if binary {
		j.job.done, j.job.result = true, emptyBlob
	}
	return j, nil
}

// mergeModes is JGit's mergeFileModes: the side that changed the mode,
// or 0 when both did, differently.
func mergeModes(b, o, t filemode.FileMode) filemode.FileMode {
	switch {
	case o == t:
		return o
	case b == o:
		if t == 0 {
			return o
		}
		return t
	case b == t:
		if o == 0 {
			return t
		}
		return o
	}
	return 0
}

// write stores the result's trees, deepest first, and returns the root's.
func (m *treeMerge) write(d *dirNode) (plumbing.Hash, error) {
	var entries []object.TreeEntry
	for _, r := range d.entries {
		e := r.entry
		switch {
		case r.dir != nil:
			h, err := m.write(r.dir)
			if err != nil {
				return plumbing.ZeroHash, err
			}
			if h.String() == EmptyTree {
				continue
			}
			e = entry{mode: filemode.Dir, hash: h}
		case r.job != nil:
			e = entry{mode: r.job.mode, hash: r.job.result}
		}
		entries = append(entries, object.TreeEntry{Name: r.name, Mode: e.mode, Hash: e.hash})
	}
	return writeTree(m.st, entries)
}

// writeTree stores a tree of entries, in git's order.
func writeTree(st storer.EncodedObjectStorer, entries []object.TreeEntry) (plumbing.Hash, error) {
	sort.Sort(object.TreeEntrySorter(entries))
	return store(st, "tree", (&object.Tree{Entries: entries}).Encode)
}
