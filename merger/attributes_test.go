package merger

import (
	"errors"
	"testing"

	mt "gated.dev/gated/merger/mergertest"
)

// TestGitattributesForMerge merges a change to a file the project marks
// binary in .gitattributes, edited far from the branch's edit: Gerrit
// merges it line by line unless core.useGitattributesForMerge is set, and
// so does the merger unless WithGitattributesForMerge says so.
func TestGitattributesForMerge(t *testing.T) {
	f := newFixture(t)
	attrs := mt.Write(".gitattributes", "*.dat binary\n")
	base := f.commit(nil, "base", attrs, mt.Write("x.dat", lines(20, "x")))
	f.branch("master", f.commit([]string{base}, "tip", mt.Write("x.dat", "tip\n"+lines(20, "x")[3:])))
	c := f.change(1, f.commit([]string{base}, "change", mt.Write("x.dat", lines(19, "x")+"change\n")), MergeIfNecessary)
	for _, on := range []bool{false, true} {
		m, err := New(t.Context(), t.TempDir(), f.up.Remote, WithGitattributesForMerge(on))
		if err != nil {
			t.Fatal(err)
		}
		_, err = m.Merge(t.Context(), request("refs/gated/gate/1", c))
		var ce *ConflictError
		switch {
		case on && !errors.As(err, &ce):
			t.Errorf("with attributes: %v; Gerrit refuses a binary file changed on both sides", err)
		case !on && err != nil:
			t.Errorf("without attributes: %v; Gerrit merges the file line by line", err)
		}
	}
}

// TestCommitter checks that the commits the merger writes carry gated's
// identity, which no real account has.
func TestCommitter(t *testing.T) {
	f := newFixture(t)
	h := newHistory(f)
	m, err := New(t.Context(), t.TempDir(), f.up.Remote)
	if err != nil {
		t.Fatal(err)
	}
	res, err := m.Merge(t.Context(), request("refs/gated/gate/1", f.change(1, h.onBase, MergeAlways)))
	if err != nil {
		t.Fatal(err)
	}
	if got := mt.Git(t, f.cache(m), "log", "-1", "--format=%cn <%ce>", res.Heads[f.project]); got != "gated <gated@gated.invalid>" {
		t.Errorf("committer %q", got)
	}
}
