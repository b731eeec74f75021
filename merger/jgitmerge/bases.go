package jgitmerge

import (
	"container/heap"
	"fmt"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/plumbing/storer"
)

// graphLimit bounds the commits the graph keeps; past it, it starts over.
const graphLimit = 1 << 20

// graph is the commit graph of one repository as far as walks have read
// it: parents and commit time, which never change for a commit id.
type graph struct {
	nodes map[plumbing.Hash]*node
	// virtual holds the commits of virtual merge bases while a merge
	// builds them; they are not in the object store.
	virtual map[plumbing.Hash]*node
}

type node struct {
	parents []plumbing.Hash
	when    int64
	tree    plumbing.Hash
}

func newGraph() *graph { return &graph{nodes: map[plumbing.Hash]*node{}} }

func (g *graph) node(st storer.EncodedObjectStorer, h plumbing.Hash) (*node, error) {
	if n, ok := g.virtual[h]; ok {
		return n, nil
	}
	if n, ok := g.nodes[h]; ok {
		return n, nil
	}
	c, err := object.GetCommit(st, h)
	if err != nil {
		return nil, fmt.Errorf("read commit %s: %w", h, err)
	}
	if len(g.nodes) >= graphLimit {
		clear(g.nodes)
	}
	n := &node{parents: c.ParentHashes, when: c.Committer.When.Unix(), tree: c.TreeHash}
	g.nodes[h] = n
	return n, nil
}

// Paint flags of the merge-base walk.
const (
	fromA uint8 = 1 << iota
	fromB
	stale
	result
)

// walkItem is a commit in the walk's queue, newest first.
type walkItem struct {
	hash plumbing.Hash
	when int64
	seq  int
}

type walkQueue []walkItem

func (q walkQueue) Len() int { return len(q) }
func (q walkQueue) Less(i, j int) bool {
	if q[i].when != q[j].when {
		return q[i].when > q[j].when
	}
	return q[i].seq < q[j].seq
}
func (q walkQueue) Swap(i, j int) { q[i], q[j] = q[j], q[i] }
func (q *walkQueue) Push(x any)   { *q = append(*q, x.(walkItem)) }

// hasNonStale reports whether a commit in the queue is not yet known to be
// an ancestor of a common ancestor: the walk goes on while one is.
func (q walkQueue) hasNonStale(flags map[plumbing.Hash]uint8) bool {
	for _, it := range q {
		if flags[it.hash]&stale == 0 {
			return true
		}
	}
	return false
}

func (q *walkQueue) Pop() any {
	old := *q
	it := old[len(old)-1]
	*q = old[:len(old)-1]
	return it
}

// paint walks down from a and b, newest first, painting each commit with
// the sides it is reachable from, until every commit left to visit is
// reachable from a common ancestor already found (git's
// paint_down_to_common). It returns the common ancestors found, in the
// order found, and the paint.
func (g *graph) paint(st storer.EncodedObjectStorer, a, b plumbing.Hash) ([]plumbing.Hash, map[plumbing.Hash]uint8, error) {
	flags := map[plumbing.Hash]uint8{}
	var q walkQueue
	push := func(h plumbing.Hash) error {
		n, err := g.node(st, h)
		if err != nil {
			return err
		}
		heap.Push(&q, walkItem{hash: h, when: n.when, seq: len(flags)})
		return nil
	}
	flags[a] |= fromA
	flags[b] |= fromB
	if err := push(a); err != nil {
		return nil, nil, err
	}
	if a != b {
		if err := push(b); err != nil {
			return nil, nil, err
		}
	}
	var found []plumbing.Hash
	for q.hasNonStale(flags) {
		it := heap.Pop(&q).(walkItem)
		f := flags[it.hash] & (fromA | fromB | stale)
		if f == fromA|fromB {
			if flags[it.hash]&result == 0 {
				flags[it.hash] |= result
				found = append(found, it.hash)
			}
			f |= stale
		}
		n, err := g.node(st, it.hash)
		if err != nil {
			return nil, nil, err
		}
		for _, p := range n.parents {
			if flags[p]&f == f {
				continue
			}
			flags[p] |= f
			if err := push(p); err != nil {
				return nil, nil, err
			}
		}
	}
	return found, flags, nil
}

// MergeBases returns the best common ancestors of commits a and b (git
// merge-base --all), newest first.
func (e *Engine) MergeBases(st storer.EncodedObjectStorer, a, b plumbing.Hash) ([]plumbing.Hash, error) {
	if a == b {
		return []plumbing.Hash{a}, nil
	}
	found, _, err := e.graph.paint(st, a, b)
	if err != nil || len(found) < 2 {
		return found, err
	}
	// A common ancestor found may be an ancestor of another one found.
	var best []plumbing.Hash
	for i, x := range found {
		redundant := false
		for j, y := range found {
			if i == j {
				continue
			}
			in, err := e.IsAncestor(st, x, y)
			if err != nil {
				return nil, err
			}
			if in {
				redundant = true
				break
			}
		}
		if !redundant {
			best = append(best, x)
		}
	}
	return best, nil
}

// IsAncestor reports whether commit a is b or one of b's ancestors.
func (e *Engine) IsAncestor(st storer.EncodedObjectStorer, a, b plumbing.Hash) (bool, error) {
	if a == b {
		return true, nil
	}
	_, flags, err := e.graph.paint(st, a, b)
	if err != nil {
		return false, err
	}
	return flags[a]&fromB != 0, nil
}
