package merger

import (
	"errors"
	"reflect"
	"testing"

	mt "gated.dev/gated/merger/mergertest"
)

// TestCheckout fetches commits as they are (ref updates, timers, merged
// changes), records them for builds, and counts the files a ref update
// changed.
func TestCheckout(t *testing.T) {
	f := newFixture(t)
	base := f.commit(nil, "base", mt.Write("a.txt", "a\n"), mt.Write("c.txt", "c\n"), mt.Write("docs/d.md", "d\n"))
	next := f.commit([]string{base}, "next", mt.DeleteAll(), mt.Write("a.txt", "a2\n"), mt.Write("b.txt", "b\n"), mt.Write("docs/d.md", "d\n"))
	f.branch("master", next)
	mt.Git(t, f.dir, "tag", "-a", "-m", "release", "v1", base)
	tagObject := mt.Git(t, f.dir, "rev-parse", "v1")
	ctx := t.Context()

	t.Run("a ref update: its commit, recorded for builds, with the files it changed", func(t *testing.T) {
		got, err := f.m.Checkout(ctx, Checkout{Project: f.project, Ref: "refs/heads/master", Commit: next, OldCommit: base, StateRef: "refs/gated/post/1"})
		if err != nil {
			t.Fatal(err)
		}
		if want := (CheckedOut{Commit: next, Files: []string{"a.txt", "b.txt", "c.txt"}}); !reflect.DeepEqual(got, want) {
			t.Fatalf("got %+v, want %+v", got, want)
		}
		if at := mt.Git(t, f.cache(f.m), "rev-parse", "refs/gated/post/1"); at != next {
			t.Fatalf("state ref at %s, want %s", at, next)
		}
	})
	t.Run("a branch's tip (a timer), no files", func(t *testing.T) {
		got, err := f.newMerger().Checkout(ctx, Checkout{Project: f.project, Ref: "refs/heads/master", StateRef: "refs/gated/periodic/2"})
		if err != nil || got.Commit != next || got.Files != nil {
			t.Fatalf("got %+v, %v; want the tip %s and no files", got, err, next)
		}
	})
	t.Run("an annotated tag is peeled to its commit", func(t *testing.T) {
		got, err := f.m.Checkout(ctx, Checkout{Project: f.project, Ref: "refs/tags/v1", Commit: tagObject, StateRef: "refs/gated/tag/3"})
		if err != nil || got.Commit != base {
			t.Fatalf("got %+v, %v; want %s", got, err, base)
		}
	})
	t.Run("a commit no longer on its ref is gone", func(t *testing.T) {
		lost := f.commit([]string{base}, "rewritten away")
		_, err := f.newMerger().Checkout(ctx, Checkout{Project: f.project, Ref: "refs/heads/master", Commit: lost, StateRef: "refs/gated/post/4"})
		var gone *GoneError
		if !errors.As(err, &gone) {
			t.Fatalf("got %v, want a GoneError", err)
		}
	})
	t.Run("requests that are not valid", func(t *testing.T) {
		for _, c := range []Checkout{
			{Project: "../x", Ref: "refs/heads/master", StateRef: "refs/gated/post/5"},
			{Project: f.project, Ref: "refs/heads/..", StateRef: "refs/gated/post/5"},
			{Project: f.project, Ref: "refs/heads/master", StateRef: "refs/heads/master"},
			{Project: f.project, Ref: "refs/heads/master", Commit: "HEAD", StateRef: "refs/gated/post/5"},
		} {
			if _, err := f.m.Checkout(ctx, c); err == nil {
				t.Errorf("%+v: no error", c)
			}
		}
	})
}
