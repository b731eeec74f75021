package merger

import (
	"testing"

	mt "gated.dev/gated/merger/mergertest"
)

// TestSameTree compares the branch tip, after Gerrit submitted, with the
// speculative state that was tested.
func TestSameTree(t *testing.T) {
	f := newFixture(t)
	h := newHistory(f)
	res, err := f.m.Merge(t.Context(), request("refs/gated/gate/1", f.change(1, h.onBase, MergeIfNecessary)))
	if err != nil {
		t.Fatal(err)
	}
	state := res.Heads[f.project]
	// Gerrit's merge commit: another identity and time, the same tree
	submitted := f.commit([]string{h.tip, h.onBase}, "Merge \"on base\"", mt.Write("b.txt", "b on base\n"))
	other := f.commit([]string{h.tip}, "something else", mt.Write("b.txt", "something else\n"))
	cases := []struct {
		name string
		tip  string
		same bool
	}{
		{"the tip is the state", state, true},
		{"the tip has the state's tree", submitted, true},
		{"the tip has another tree", other, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if tc.tip == state {
				mt.Git(t, f.dir, "fetch", "--quiet", f.cache(f.m), state)
			}
			f.branch("master", tc.tip)
			tip, same, err := f.m.SameTree(t.Context(), f.project, "master", state)
			if err != nil || tip != tc.tip || same != tc.same {
				t.Errorf("SameTree = %s, %t, %v; want %s, %t", tip, same, err, tc.tip, tc.same)
			}
		})
	}
	t.Run("a state not in the cache", func(t *testing.T) {
		if _, _, err := f.m.SameTree(t.Context(), f.project, "master", "0123456789012345678901234567890123456789"); err == nil {
			t.Error("SameTree succeeded")
		}
	})
}
