package merger

import (
	"os"
	"path/filepath"
	"testing"
)

// A ref file left empty by a crash (go-git truncates before it writes) is
// removed when the repository is opened again, instead of failing every
// fetch from then on.
func TestEmptyRefLeftByACrashIsRepaired(t *testing.T) {
	f := newFixture(t)
	h := newHistory(f)
	dir := t.TempDir()
	m, err := New(t.Context(), dir, f.up.Remote)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Merge(t.Context(), request("refs/gated/test/1", f.change(1, h.onTip, MergeIfNecessary))); err != nil {
		t.Fatal(err)
	}
	// The crash: a new process finds an empty ref file.
	if err := os.WriteFile(filepath.Join(f.cache(m), "refs", "gated", "test", "1"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	again, err := New(t.Context(), dir, f.up.Remote)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := again.Merge(t.Context(), request("refs/gated/test/2", f.change(2, h.onBase, MergeIfNecessary))); err != nil {
		t.Fatalf("merge after the crash: %v", err)
	}
}
