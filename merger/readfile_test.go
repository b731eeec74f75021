package merger

import (
	"errors"
	"testing"

	mt "gated.dev/gated/merger/mergertest"
)

// TestReadFile reads the workflow definition and other paths at a
// speculative head, without a checkout.
func TestReadFile(t *testing.T) {
	f := newFixture(t)
	h := newHistory(f)
	change := f.commit([]string{h.base}, "workflow",
		mt.Write(".pipeline/argo-workflow.yaml", "kind: Workflow\n"),
		mt.Symlink("link", "a.txt"))
	res, err := f.m.Merge(t.Context(), request("refs/gated/read/1", f.change(1, change, MergeIfNecessary)))
	if err != nil {
		t.Fatal(err)
	}
	head := res.Heads[f.project]
	cases := []struct {
		name, path string
		want       string
		notFound   bool
		fails      bool
	}{
		{name: "the workflow of the change", path: DefaultWorkflowPath, want: "kind: Workflow\n"},
		{name: "a file of the tip", path: "a.txt", want: "tip\n" + lines(9, "a")[3:]},
		{name: "a leading slash", path: "/b.txt", want: "b\n"},
		{name: "a missing file", path: ".pipeline/missing.yaml", notFound: true},
		{name: "a missing directory", path: "nowhere/argo-workflow.yaml", notFound: true},
		{name: "a file as a directory", path: "a.txt/x", notFound: true},
		{name: "a directory", path: ".pipeline", fails: true},
		{name: "a symbolic link", path: "link", fails: true},
		{name: "a parent directory", path: "../a.txt", fails: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := f.m.ReadFile(t.Context(), f.project, head, tc.path)
			var nf *FileNotFoundError
			switch {
			case tc.notFound:
				if !errors.As(err, &nf) || nf.Path != tc.path || nf.Commit != head {
					t.Errorf("ReadFile = %q, %v; want a FileNotFoundError", got, err)
				}
			case tc.fails:
				if err == nil || errors.As(err, &nf) {
					t.Errorf("ReadFile = %q, %v; want an error other than not found", got, err)
				}
			case err != nil:
				t.Fatal(err)
			case string(got) != tc.want:
				t.Errorf("ReadFile = %q; want %q", got, tc.want)
			}
		})
	}
	t.Run("an unknown project", func(t *testing.T) {
		if _, err := f.m.ReadFile(t.Context(), "org/unknown", head, "a.txt"); err == nil {
			t.Error("ReadFile succeeded")
		}
	})
	t.Run("an unknown commit", func(t *testing.T) {
		if _, err := f.m.ReadFile(t.Context(), f.project, "0123456789012345678901234567890123456789", "a.txt"); err == nil {
			t.Error("ReadFile succeeded")
		}
	})
}
