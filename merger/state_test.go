package merger

import (
	"bytes"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	mt "gated.dev/gated/merger/mergertest"
)

// TestMergeAcrossProjects builds states spanning two projects: one head
// per project, recorded in both; a conflict in either records nothing.
func TestMergeAcrossProjects(t *testing.T) {
	f := newFixture(t)
	h := newHistory(f)
	other := &fixture{t: t, up: f.up, project: "org/other", dir: f.up.Repo(t, "org/other"), m: f.m}
	oh := newHistory(other)

	res, err := f.m.Merge(t.Context(), request("refs/gated/gate/1",
		f.change(1, h.onBase, MergeIfNecessary), other.change(2, oh.onTip, MergeIfNecessary)))
	if err != nil {
		t.Fatal(err)
	}
	if res.Heads[other.project] != oh.onTip || res.Heads[f.project] == "" {
		t.Errorf("heads = %v; want a merge in %s and %s in %s", res.Heads, f.project, oh.onTip, other.project)
	}
	if res.Bases[BaseKey(f.project, "master")] != h.tip || res.Bases[BaseKey(other.project, "master")] != oh.tip {
		t.Errorf("bases = %q; want both tips", res.Bases)
	}
	for _, p := range []*fixture{f, other} {
		if got := mt.Git(t, p.cache(f.m), "rev-parse", "refs/gated/gate/1"); got != res.Heads[p.project] {
			t.Errorf("%s: refs/gated/gate/1 = %s; want %s", p.project, got, res.Heads[p.project])
		}
	}

	// The conflict reported is the first in merge order, although the
	// project of the later one is built first.
	clash := other.change(3, oh.clash, MergeIfNecessary)
	_, err = f.m.Merge(t.Context(), request("refs/gated/gate/1",
		other.change(4, oh.onBase, MergeIfNecessary), f.change(5, h.clash, MergeIfNecessary), clash))
	var ce *ConflictError
	if !errors.As(err, &ce) || ce.Change.Number != 5 {
		t.Fatalf("Merge = %v; want a conflict on change 5", err)
	}
	for _, p := range []*fixture{f, other} {
		if out, err := mt.TryGit(t.Context(), p.cache(f.m), nil, "rev-parse", "--verify", "--quiet", "refs/gated/gate/1"); err == nil {
			t.Errorf("%s: refs/gated/gate/1 = %s after a conflict; want it deleted", p.project, out)
		}
	}
}

// TestMergeBases checks pinned bases: the state starts there, without
// fetching the branch.
func TestMergeBases(t *testing.T) {
	f := newFixture(t)
	h := newHistory(f)
	change := f.change(1, h.onBase, MergeIfNecessary)
	req := request("refs/gated/gate/1", change)
	req.Bases = map[string]string{BaseKey(f.project, "master"): h.base}
	res, err := f.m.Merge(t.Context(), req)
	if err != nil {
		t.Fatal(err)
	}
	if res.Heads[f.project] != h.onBase || res.Bases[BaseKey(f.project, "master")] != h.base {
		t.Errorf("Merge = %v; want a fast-forward from the pinned base %s to %s", res, h.base, h.onBase)
	}

	fetches := f.m.Stats().Fetches
	f.branch("master", h.onTip) // the branch moves: a pinned state does not see it
	if res, err = f.m.Merge(t.Context(), req); err != nil || res.Heads[f.project] != h.onBase {
		t.Errorf("Merge = %v, %v; want the same fast-forward", res, err)
	}
	if got := f.m.Stats().Fetches; got != fetches {
		t.Errorf("%d fetches for a state whose base and changes are cached; want none", got-fetches)
	}

	req.Bases = nil // the branch tip, fetched
	if res, err = f.m.Merge(t.Context(), req); err != nil || res.Bases[BaseKey(f.project, "master")] != h.onTip {
		t.Errorf("Merge = %v, %v; want a state on the new tip %s", res, err, h.onTip)
	}
}

// TestMergeErrors checks requests the merger cannot serve: they fail with
// an error that is not a conflict.
func TestMergeErrors(t *testing.T) {
	f := newFixture(t)
	h := newHistory(f)
	good := f.change(1, h.onBase, MergeIfNecessary)
	with := func(edit func(*Request)) Request {
		req := request("refs/gated/gate/1", good)
		edit(&req)
		return req
	}
	cases := []struct {
		name string
		req  Request
	}{
		{"a ref outside refs/gated", with(func(r *Request) { r.Ref = "refs/heads/master" })},
		{"no time", with(func(r *Request) { r.Time = time.Time{} })},
		{"an invalid ref", with(func(r *Request) { r.Ref = "refs/gated/a..b" })},
		{"a project outside the cache", with(func(r *Request) { r.Changes[0].Project = "../escape" })},
		{"an unknown submit type", with(func(r *Request) { r.Changes[0].SubmitType = "INHERIT" })},
		{"a revision that is not a commit id", with(func(r *Request) { r.Changes[0].Revision = "HEAD" })},
		{"a patchset ref elsewhere than the revision", with(func(r *Request) {
			r.Changes[0].Revision = strings.Repeat("1", 40)
		})},
		{"a missing patchset", with(func(r *Request) { r.Changes[0].Number, r.Changes[0].Revision = 99, "" })},
		{"a missing branch", with(func(r *Request) { r.Changes[0].Branch = "stable" })},
		{"a missing pinned base", with(func(r *Request) {
			r.Bases = map[string]string{BaseKey(f.project, "master"): strings.Repeat("2", 40)}
		})},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := f.m.Merge(t.Context(), tc.req)
			var ce *ConflictError
			if err == nil || errors.As(err, &ce) {
				t.Errorf("Merge = %v; want an error other than a conflict", err)
			}
		})
	}
	t.Run("two branches of a project", func(t *testing.T) {
		stable := good
		stable.Branch, stable.Number = "stable", 2
		_, err := f.m.Merge(t.Context(), request("refs/gated/gate/1", good, stable))
		var ce *ConflictError
		if !errors.As(err, &ce) || ce.Change.Number != 2 {
			t.Errorf("Merge = %v; want a refusal of change 2", err)
		}
	})
}

// TestRemoteCredentials checks that the credentials of a remote URL reach
// the server but never a log line or an error.
func TestRemoteCredentials(t *testing.T) {
	f := newFixture(t)
	newHistory(f)
	var logs bytes.Buffer
	m, err := New(t.Context(), t.TempDir(), func(project string) string {
		return strings.Replace(f.up.URL(project), "http://", "http://gated:s3cret@", 1)
	}, WithLogger(slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))))
	if err != nil {
		t.Fatal(err)
	}
	_, err = m.Merge(t.Context(), request("refs/gated/gate/1", ChangeRef{Project: "org/missing", Branch: "master", Number: 1, Patchset: 1}))
	if err == nil || strings.Contains(err.Error(), "s3cret") || strings.Contains(logs.String(), "s3cret") {
		t.Errorf("Merge = %v, logs %q; want an error, and no password anywhere", err, logs.String())
	}
}

// TestForgetAndGC deletes a dequeued item's refs in every project, then
// collects garbage: states still referenced stay readable and mergeable.
func TestForgetAndGC(t *testing.T) {
	f := newFixture(t)
	h := newHistory(f)
	other := &fixture{t: t, up: f.up, project: "org/other", dir: f.up.Repo(t, "org/other"), m: f.m}
	oh := newHistory(other)
	gone, err := f.m.Merge(t.Context(), request("refs/gated/gate/1", f.change(1, h.onBase, MergeIfNecessary), other.change(2, oh.onBase, MergeIfNecessary)))
	if err != nil {
		t.Fatal(err)
	}
	kept, err := f.m.Merge(t.Context(), request("refs/gated/gate/2", f.change(3, h.stack1, RebaseIfNecessary)))
	if err != nil {
		t.Fatal(err)
	}
	if err := f.m.Forget(t.Context(), "refs/gated/gate/1"); err != nil {
		t.Fatal(err)
	}
	for _, p := range []*fixture{f, other} {
		if out := mt.Git(t, p.cache(f.m), "for-each-ref", "refs/gated/gate/1"); out != "" {
			t.Errorf("%s: %s after Forget", p.project, out)
		}
	}
	if err := f.m.GC(t.Context()); err != nil {
		t.Fatal(err)
	}
	if out := mt.Git(t, f.cache(f.m), "for-each-ref", "refs/changes/"); out != "" {
		t.Errorf("patchset refs after GC: %s", out)
	}
	if _, err := f.m.ReadFile(t.Context(), f.project, kept.Heads[f.project], "b.txt"); err != nil {
		t.Errorf("the kept state after GC: %v", err)
	}
	// The forgotten state's change is fetched again when needed.
	again, err := f.m.Merge(t.Context(), request("refs/gated/gate/3", f.change(1, h.onBase, MergeIfNecessary)))
	if err != nil || again.Heads[f.project] != gone.Heads[f.project] {
		t.Errorf("Merge after GC = %v, %v; want %s again", again, err, gone.Heads[f.project])
	}
	// A new merger finds the cache and its refs.
	m2, err := New(t.Context(), f.m.dir, f.up.Remote)
	if err != nil {
		t.Fatal(err)
	}
	if err := m2.Forget(t.Context(), "refs/gated/gate/2"); err != nil {
		t.Fatal(err)
	}
	if out := mt.Git(t, f.cache(f.m), "for-each-ref", "refs/gated/gate/2"); out != "" {
		t.Errorf("%s after Forget by a new merger", out)
	}
	if err := f.m.Forget(t.Context(), "refs/heads/master"); err == nil {
		t.Error("Forget deleted a branch")
	}
}
