package merger

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	mt "gated.dev/gated/merger/mergertest"
)

// history is the upstream of the submit type tests:
//
//	first ── base ── tip (master)     a.txt line 1 changed
//	  ├── onTip is on tip             c.txt changed
//	  ├── onBase                      b.txt changed
//	  ├── clash                       a.txt line 1 changed otherwise
//	  ├── stack1 ── stack2            b.txt, then c.txt changed
//	  └── unmerged ── orphan          d.txt added, then e.txt added
//	root (no parent)                  f.txt only
type history struct {
	base, tip, onTip, onBase, clash, stack1, stack2, unmerged, orphan, root string
	merged                                                                  string
}

func newHistory(f *fixture) history {
	var h history
	first := f.commit(nil, "first", mt.Write("README", "hello\n"))
	h.base = f.commit([]string{first}, "base", mt.Write("a.txt", lines(9, "a")), mt.Write("b.txt", "b\n"), mt.Write("c.txt", "c\n"))
	h.tip = f.commit([]string{h.base}, "tip", mt.Write("a.txt", "tip\n"+lines(9, "a")[3:]))
	h.onTip = f.commit([]string{h.tip}, "on tip", mt.Write("c.txt", "c on tip\n"))
	h.onBase = f.commit([]string{h.base}, "on base", mt.Write("b.txt", "b on base\n"))
	h.clash = f.commit([]string{h.base}, "clash", mt.Write("a.txt", "clash\n"+lines(9, "a")[3:]))
	h.stack1 = f.commit([]string{h.base}, "stack 1", mt.Write("b.txt", "b stack\n"))
	h.stack2 = f.commit([]string{h.stack1}, "stack 2", mt.Write("c.txt", "c stack\n"))
	h.unmerged = f.commit([]string{h.base}, "unmerged", mt.Write("d.txt", "d\n"))
	h.orphan = f.commit([]string{h.unmerged}, "orphan", mt.Write("e.txt", "e\n"))
	h.root = f.commit(nil, "root", mt.Write("f.txt", "f\n"))
	h.merged = h.base
	f.branch("master", h.tip)
	return h
}

// TestMergeSubmitTypes checks each submit type against Gerrit's rules:
// what becomes of the state (kept, fast-forwarded, merged, rebased or
// cherry-picked), its tree, and the refusals.
func TestMergeSubmitTypes(t *testing.T) {
	f := newFixture(t)
	h := newHistory(f)
	// expected trees, written upstream as commits on the tip
	tipPlus := func(ops ...mt.Op) string { return f.tree(f.commit([]string{h.tip}, "expected", ops...)) }
	var (
		onTipTree  = f.tree(h.onTip)
		onBaseTree = tipPlus(mt.Write("b.txt", "b on base\n"))
		stackTree  = tipPlus(mt.Write("b.txt", "b stack\n"), mt.Write("c.txt", "c stack\n"))
		orphanTree = tipPlus(mt.Write("e.txt", "e\n"))
		rootTree   = tipPlus(mt.Write("f.txt", "f\n"))
	)
	type want struct {
		fastForward string   // the head is this commit
		kept        bool     // the head is the tip
		merge       bool     // the head is a merge commit of the state and the change
		pick        bool     // the head is a new commit on the state
		tree        string   // tree of the head
		conflict    string   // the change refused, with this in the reason
		files       []string // and these files
	}
	cases := []struct {
		name       string
		submitType string
		changes    []string
		want       want
	}{
		{"merge if necessary fast-forwards a change on the tip", MergeIfNecessary, []string{h.onTip}, want{fastForward: h.onTip}},
		{"merge if necessary merges a change on an older base", MergeIfNecessary, []string{h.onBase}, want{merge: true, tree: onBaseTree}},
		{"merge if necessary merges a stack change by change", MergeIfNecessary, []string{h.stack1, h.stack2}, want{merge: true, tree: stackTree}},
		{"merge if necessary keeps a change already merged", MergeIfNecessary, []string{h.merged}, want{kept: true}},
		{"merge if necessary merges a root commit", MergeIfNecessary, []string{h.root}, want{merge: true, tree: rootTree}},
		{"merge if necessary refuses a change whose parent is not merged", MergeIfNecessary, []string{h.orphan}, want{conflict: "neither in master"}},
		{"merge if necessary refuses a conflict", MergeIfNecessary, []string{h.clash}, want{conflict: "merge conflict", files: []string{"a.txt"}}},

		{"merge always merges a change on the tip", MergeAlways, []string{h.onTip}, want{merge: true, tree: onTipTree}},
		{"merge always merges a change on an older base", MergeAlways, []string{h.onBase}, want{merge: true, tree: onBaseTree}},
		{"merge always refuses a conflict", MergeAlways, []string{h.clash}, want{conflict: "merge conflict", files: []string{"a.txt"}}},

		{"fast forward only fast-forwards a change on the tip", FastForwardOnly, []string{h.onTip}, want{fastForward: h.onTip}},
		{"fast forward only refuses a change on an older base", FastForwardOnly, []string{h.onBase}, want{conflict: "fast-forwards only"}},
		{"fast forward only keeps a change already merged", FastForwardOnly, []string{h.merged}, want{kept: true}},

		{"rebase if necessary fast-forwards a change on the tip", RebaseIfNecessary, []string{h.onTip}, want{fastForward: h.onTip}},
		{"rebase if necessary rebases a change on an older base", RebaseIfNecessary, []string{h.onBase}, want{pick: true, tree: onBaseTree}},
		{"rebase if necessary rebases a stack change by change", RebaseIfNecessary, []string{h.stack1, h.stack2}, want{pick: true, tree: stackTree}},
		{"rebase if necessary refuses a root commit", RebaseIfNecessary, []string{h.root}, want{conflict: "root commit"}},
		{"rebase if necessary refuses a change whose parent is not merged", RebaseIfNecessary, []string{h.orphan}, want{conflict: "neither in master"}},
		{"rebase if necessary refuses a conflict", RebaseIfNecessary, []string{h.clash}, want{conflict: "rebase conflict", files: []string{"a.txt"}}},

		{"rebase always rebases a change on the tip", RebaseAlways, []string{h.onTip}, want{pick: true, tree: onTipTree}},
		{"rebase always rebases a stack", RebaseAlways, []string{h.stack1, h.stack2}, want{pick: true, tree: stackTree}},
		{"rebase always refuses a conflict", RebaseAlways, []string{h.clash}, want{conflict: "rebase conflict", files: []string{"a.txt"}}},

		{"cherry pick picks a change on the tip", CherryPick, []string{h.onTip}, want{pick: true, tree: onTipTree}},
		{"cherry pick picks a change on an older base", CherryPick, []string{h.onBase}, want{pick: true, tree: onBaseTree}},
		{"cherry pick ignores an unmerged parent", CherryPick, []string{h.orphan}, want{pick: true, tree: orphanTree}},
		{"cherry pick picks only the top of a stack", CherryPick, []string{h.stack2}, want{pick: true, tree: tipPlus(mt.Write("c.txt", "c stack\n"))}},
		{"cherry pick skips a change already merged", CherryPick, []string{h.tip}, want{kept: true}},
		{"cherry pick refuses a root commit", CherryPick, []string{h.root}, want{conflict: "root commit"}},
		{"cherry pick refuses a conflict", CherryPick, []string{h.clash}, want{conflict: "cherry-pick conflict", files: []string{"a.txt"}}},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var changes []ChangeRef
			for j, id := range tc.changes {
				changes = append(changes, f.change(100*i+j+1, id, tc.submitType))
			}
			res, err := f.m.Merge(t.Context(), request(fmt.Sprintf("refs/gated/test/%d", i), changes...))
			if tc.want.conflict != "" {
				var ce *ConflictError
				if !errors.As(err, &ce) {
					t.Fatalf("Merge = %v, %v; want a conflict", res, err)
				}
				if ce.Change != changes[0] || !strings.Contains(ce.Reason, tc.want.conflict) || !slices.Equal(ce.Files, tc.want.files) {
					t.Errorf("conflict = %+v; want change %s, reason with %q, files %q", ce, changes[0], tc.want.conflict, tc.want.files)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			head := res.Heads[f.project]
			if got := res.Bases[BaseKey(f.project, "master")]; got != h.tip {
				t.Errorf("base = %s; want the tip %s", got, h.tip)
			}
			tree, parents := f.cached(f.m, head)
			last := changes[len(changes)-1].Revision
			switch {
			case tc.want.fastForward != "":
				if head != tc.want.fastForward {
					t.Errorf("head = %s; want a fast-forward to %s", head, tc.want.fastForward)
				}
			case tc.want.kept:
				if head != h.tip {
					t.Errorf("head = %s; want the tip %s kept", head, h.tip)
				}
			case tc.want.merge:
				if len(parents) != 2 || parents[1] != last {
					t.Errorf("parents of head = %q; want a merge of the state and %s", parents, last)
				}
			case tc.want.pick:
				if len(parents) != 1 || parents[0] == last || head == last {
					t.Errorf("parents of head = %q; want a new commit on the state, not %s", parents, last)
				}
			}
			if tc.want.tree != "" && tree != tc.want.tree {
				t.Errorf("tree = %s; want %s", tree, tc.want.tree)
			}
		})
	}
}

// TestMergeIsDeterministic checks that a request gives the same commits
// every time, in any merger, and for any request of the same state.
func TestMergeIsDeterministic(t *testing.T) {
	f := newFixture(t)
	h := newHistory(f)
	for _, typ := range []string{MergeIfNecessary, RebaseIfNecessary, CherryPick} {
		t.Run(typ, func(t *testing.T) {
			req := request("refs/gated/determinism/"+strings.ToLower(typ), f.change(1, h.stack1, typ), f.change(2, h.stack2, typ))
			first, err := f.m.Merge(t.Context(), req)
			if err != nil {
				t.Fatal(err)
			}
			again, err := f.m.Merge(t.Context(), req)
			if err != nil {
				t.Fatal(err)
			}
			other, err := f.newMerger().Merge(t.Context(), req)
			if err != nil {
				t.Fatal(err)
			}
			if first.Heads[f.project] != again.Heads[f.project] || first.Heads[f.project] != other.Heads[f.project] {
				t.Errorf("heads = %s, %s, %s; want one commit", first.Heads, again.Heads, other.Heads)
			}
			// the same state for another item, later: the same commit, dated
			// as the later of the tip and the change
			req.Ref += "-later"
			later, err := f.m.Merge(t.Context(), req)
			if err != nil {
				t.Fatal(err)
			}
			if later.Heads[f.project] != first.Heads[f.project] {
				t.Errorf("the same state for another request: head %s, want %s", later.Heads[f.project], first.Heads[f.project])
			}
			when := mt.Git(t, f.cache(f.m), "log", "-1", "--format=%ct", later.Heads[f.project])
			if newest := max(mt.Git(t, f.dir, "log", "-1", "--format=%ct", h.tip), mt.Git(t, f.dir, "log", "-1", "--format=%ct", h.stack2)); when != newest {
				t.Errorf("head dated %s, want %s, the later of the tip and the change", when, newest)
			}
		})
	}
}

// A change uploaded on a branch tip newer than the state's pinned base —
// after gated's own submit of a change ahead, say — is applied: its parent
// is in the branch. A parent merged neither in the branch nor ahead is
// refused, and only until it merges: the refusal is not remembered.
func TestMergeParentNewerThanThePinnedBase(t *testing.T) {
	f := newFixture(t)
	h := newHistory(f)
	pinned := func(ref string, changes ...ChangeRef) Request {
		req := request(ref, changes...)
		req.Bases = map[string]string{BaseKey(f.project, "master"): h.base}
		return req
	}
	res, err := f.m.Merge(t.Context(), pinned("refs/gated/test/newer", f.change(1, h.onTip, MergeIfNecessary)))
	if err != nil {
		t.Fatalf("a change on a newer tip than the base: %v", err)
	}
	if tree, _ := f.cached(f.m, res.Heads[f.project]); tree != f.tree(h.onTip) {
		t.Fatalf("tree %s, want the change's %s", tree, f.tree(h.onTip))
	}
	orphan := f.change(2, h.orphan, MergeIfNecessary)
	_, err = f.m.Merge(t.Context(), pinned("refs/gated/test/orphan", orphan))
	var ce *ConflictError
	if !errors.As(err, &ce) || !strings.Contains(ce.Reason, "neither in master") {
		t.Fatalf("a change whose parent is not merged: %v, want a refusal", err)
	}
	f.branch("master", f.commit([]string{h.tip, h.unmerged}, "merge unmerged"))
	if _, err := f.m.Merge(t.Context(), pinned("refs/gated/test/orphan", orphan)); err != nil {
		t.Fatalf("once its parent merged, the change still refused: %v", err)
	}
}
