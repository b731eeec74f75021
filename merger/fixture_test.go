package merger

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"gated.dev/gated/merger/mergertest"
)

// fixture is an upstream (in Gerrit's role) with one project whose history
// a test writes, and a merger fetching from it.
type fixture struct {
	t       *testing.T
	up      *mergertest.Upstream
	project string
	dir     string // the upstream repository
	m       *Merger
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	up := mergertest.NewUpstream(t)
	f := &fixture{t: t, up: up, project: "org/project"}
	f.dir = up.Repo(t, f.project)
	f.m = f.newMerger()
	return f
}

// newMerger returns another merger on the same upstream, with its own
// cache.
func (f *fixture) newMerger() *Merger {
	f.t.Helper()
	m, err := New(f.t.Context(), f.t.TempDir(), f.up.Remote)
	if err != nil {
		f.t.Fatal(err)
	}
	return m
}

// commit writes a commit upstream; parents are commit ids, the first one's
// tree is the starting point.
func (f *fixture) commit(parents []string, msg string, ops ...mergertest.Op) string {
	f.t.Helper()
	s := mergertest.NewStream()
	mark := s.Commit("refs/fixture/scratch", parents, msg, ops...)
	return s.Import(f.t, f.dir)[mark]
}

func (f *fixture) branch(name, id string) {
	f.t.Helper()
	mergertest.Git(f.t, f.dir, "update-ref", "refs/heads/"+name, id)
}

// change publishes a commit upstream as patchset 1 of a change on master.
func (f *fixture) change(number int, id, submitType string) ChangeRef {
	f.t.Helper()
	c := ChangeRef{Project: f.project, Branch: "master", Number: number, Patchset: 1, Revision: id, SubmitType: submitType}
	mergertest.Git(f.t, f.dir, "update-ref", c.GitRef(), id)
	return c
}

// cache is the merger's repository of the project.
func (f *fixture) cache(m *Merger) string { return projectDir(m.dir, f.project) }

// tree is the tree id of a commit in the upstream repository.
func (f *fixture) tree(id string) string {
	f.t.Helper()
	return mergertest.Git(f.t, f.dir, "rev-parse", id+"^{tree}")
}

// cached returns git's view of a commit of the merger's cache: its tree
// and its parents.
func (f *fixture) cached(m *Merger, id string) (tree string, parents []string) {
	f.t.Helper()
	out := mergertest.Git(f.t, f.cache(m), "log", "-1", "--format=%T %P", id)
	fields := strings.Fields(out)
	return fields[0], fields[1:]
}

// request is a request of the fixture's changes at a fixed time.
func request(ref string, changes ...ChangeRef) Request {
	return Request{Changes: changes, Ref: ref, Time: time.Unix(1750000000, 0)}
}

func lines(n int, prefix string) string {
	var b strings.Builder
	for i := 1; i <= n; i++ {
		fmt.Fprintf(&b, "%s%d\n", prefix, i)
	}
	return b.String()
}
