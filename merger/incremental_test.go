package merger

import (
	"fmt"
	"testing"
	"time"

	mt "gated.dev/gated/merger/mergertest"
)

// queueRequests returns the requests of a queue of changes: item k holds
// the changes of the items ahead and its own, and its own time.
func queueRequests(pipeline string, changes []ChangeRef) []Request {
	reqs := make([]Request, len(changes))
	for k := range changes {
		reqs[k] = Request{
			Changes: changes[:k+1],
			Ref:     fmt.Sprintf("refs/gated/%s/%d", pipeline, k+1),
			Time:    time.Unix(1750000000+int64(k)*60, 0),
		}
	}
	return reqs
}

// TestStack builds a queue of 20 stacked changes, each item on the state
// of the one ahead, and checks items against the same request built from
// scratch: equal commits, one merge per item.
func TestStack(t *testing.T) {
	f := newFixture(t)
	base := f.commit(nil, "base", mt.Write("a.txt", lines(40, "a")), mt.Write("b.txt", lines(40, "b")))
	// The branch moved on since the stack was based, so that every change
	// must be merged or rebased.
	f.branch("master", f.commit([]string{base}, "tip", mt.Write("b.txt", lines(40, "tip b"))))
	const n = 20
	revs := make([]string, n)
	parent := base
	for i := range revs {
		revs[i] = f.commit([]string{parent}, fmt.Sprintf("stack %d", i+1),
			mt.Write("a.txt", lines(i+1, "stacked a")+lines(40, "a")[len(lines(i+1, "a")):]),
			mt.Write(fmt.Sprintf("new/%02d.txt", i+1), "new\n"))
		parent = revs[i]
	}
	for _, typ := range []string{MergeIfNecessary, MergeAlways, RebaseIfNecessary, RebaseAlways, CherryPick} {
		t.Run(typ, func(t *testing.T) {
			changes := make([]ChangeRef, n)
			for i, rev := range revs {
				changes[i] = f.change(i+1, rev, typ)
			}
			incremental, scratch := f.newMerger(), f.newMerger()
			var bases map[string]string
			for k, req := range queueRequests(typ, changes) {
				req.Bases = bases // as the queue does: items build on the base of the first
				inc, err := incremental.Merge(t.Context(), req)
				if err != nil {
					t.Fatalf("item %d: %v", k+1, err)
				}
				bases = inc.Bases
				if (k+1)%5 != 0 && k != 0 {
					continue // from scratch costs k merges: check items 1, 5, 10, 15, 20
				}
				clearMemos(scratch)
				from, err := scratch.Merge(t.Context(), req)
				if err != nil {
					t.Fatalf("item %d from scratch: %v", k+1, err)
				}
				if inc.Heads[f.project] != from.Heads[f.project] {
					t.Errorf("item %d: head %s incrementally, %s from scratch", k+1, inc.Heads[f.project], from.Heads[f.project])
				}
			}
			if s := incremental.Stats(); s.Merges > n || s.Reused != n*(n-1)/2 {
				t.Errorf("incrementally: %d merges, %d steps reused; want at most %d and %d", s.Merges, s.Reused, n, n*(n-1)/2)
			}
		})
	}
}

// TestReset removes an item from the middle of a queue of independent
// changes: the items behind it are built again with one merge each, the
// state ahead of the removed item is reused.
func TestReset(t *testing.T) {
	f := newFixture(t)
	var ops []mt.Op
	for i := range 20 {
		ops = append(ops, mt.Write(fmt.Sprintf("f%02d.txt", i+1), lines(10, "f")))
	}
	base := f.commit(nil, "base", ops...)
	f.branch("master", f.commit([]string{base}, "tip", mt.Write("tip.txt", "tip\n")))
	var changes []ChangeRef
	for i := range 20 {
		rev := f.commit([]string{base}, fmt.Sprintf("change %d", i+1), mt.Write(fmt.Sprintf("f%02d.txt", i+1), lines(10, "changed f")))
		changes = append(changes, f.change(i+1, rev, MergeIfNecessary))
	}
	for _, req := range queueRequests("gate", changes) {
		if _, err := f.m.Merge(t.Context(), req); err != nil {
			t.Fatal(err)
		}
	}
	before := f.m.Stats()
	if before.Merges != 20 {
		t.Errorf("%d merges for 20 items; want 20", before.Merges)
	}
	// item 10 fails and leaves: items 11 to 20 are rebuilt without it
	without := append(append([]ChangeRef{}, changes[:9]...), changes[10:]...)
	reqs := queueRequests("gate", without)
	var last Result
	for _, req := range reqs[9:] {
		res, err := f.m.Merge(t.Context(), req)
		if err != nil {
			t.Fatal(err)
		}
		last = res
	}
	if got := f.m.Stats().Merges - before.Merges; got != 10 {
		t.Errorf("%d merges to rebuild the 10 items behind the reset; want 10", got)
	}
	clearMemos(f.m)
	scratch, err := f.m.Merge(t.Context(), reqs[len(reqs)-1])
	if err != nil {
		t.Fatal(err)
	}
	if scratch.Heads[f.project] != last.Heads[f.project] {
		t.Errorf("last item: head %s after the reset, %s from scratch", last.Heads[f.project], scratch.Heads[f.project])
	}
}

// clearMemos makes a merger forget every outcome, to build from scratch.
func clearMemos(m *Merger) {
	for _, r := range m.allRepos() {
		r.mu.Lock()
		r.memo.clear()
		r.mu.Unlock()
	}
}
