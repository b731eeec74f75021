package merger

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	mt "gated.dev/gated/merger/mergertest"
)

var (
	corpusSize = flag.Int("merger.corpus", 150, "number of random histories of the differential test")
	corpusSeed = flag.Uint64("merger.seed", 0, "seed of the differential test's corpus; 0 picks one")
)

// verdict is the outcome of applying a chain of changes: a head, or the
// change that conflicted and the conflicting files.
type verdict struct {
	head, tree string
	conflictAt int // index of the conflicting change, -1 if none
	files      []string
}

func (v verdict) String() string {
	if v.conflictAt >= 0 {
		return fmt.Sprintf("conflict on change %d in %q", v.conflictAt, v.files)
	}
	return fmt.Sprintf("head %s, tree %s", v.head, v.tree)
}

// TestDifferential checks every merge the merger makes against git's own
// merge and cherry-pick, on a corpus of random histories, for every submit
// type that merges or rebases: the same tree when clean, the same
// conflicting change and files when not. git merge and git cherry-pick are
// merge-ort, like the merger's merges, but run on a work tree, by the
// porcelain, one step at a time as a person would.
func TestDifferential(t *testing.T) {
	seed := *corpusSeed
	if seed == 0 {
		seed = uint64(time.Now().UnixNano())
	}
	t.Logf("corpus of %d histories, seed %d (rerun with -merger.seed=%d -merger.corpus=%d)", *corpusSize, seed, seed, *corpusSize)
	f := newFixture(t)
	g := &corpusGen{rng: rand.New(rand.NewPCG(seed, seed))}
	s := mt.NewStream()
	cases := g.corpus(s, *corpusSize)
	for _, c := range cases {
		for i, mark := range c.changes {
			s.Reset(c.change(f.project, i, mark, "").GitRef(), mark)
		}
	}
	marks := s.Import(t, f.dir)
	for _, c := range cases {
		c.tip = marks[c.tip]
		for i, m := range c.changes {
			c.changes[i] = marks[m]
		}
	}
	work := t.TempDir()
	mt.Git(t, work, "clone", "--quiet", "--no-checkout", f.dir, ".")
	mt.Git(t, work, "config", "gc.auto", "0")

	// git works through the corpus in a work tree while the merger does,
	// and the verdicts are compared at the end.
	type job struct {
		c   *corpusCase
		typ string
		req Request
	}
	var jobs []job
	for _, c := range cases {
		var bases map[string]string
		for ti, typ := range []string{MergeIfNecessary, MergeAlways, RebaseIfNecessary, RebaseAlways, CherryPick} {
			changes := make([]ChangeRef, len(c.changes))
			for i, rev := range c.changes {
				changes[i] = c.change(f.project, i, rev, typ)
			}
			req := request(fmt.Sprintf("refs/gated/differential/%d/%d", c.index, ti), changes...)
			// the first request fetches the branch; the others pin it
			req.Bases = bases
			bases = map[string]string{BaseKey(f.project, c.branch): c.tip}
			jobs = append(jobs, job{c, typ, req})
		}
	}
	wants := make([]verdict, len(jobs))
	referenced := make(chan error, 1)
	go func() {
		ref := &reference{dir: work}
		for i, j := range jobs {
			var err error
			if wants[i], err = ref.apply(j.typ, j.c.tip, j.c.changes); err != nil {
				referenced <- err
				return
			}
		}
		referenced <- nil
	}()
	gots := make([]verdict, len(jobs))
	for i, j := range jobs {
		gots[i] = f.merge(j.req)
	}
	if err := <-referenced; err != nil {
		t.Fatal(err)
	}
	stats := map[string]int{}
	for i, j := range jobs {
		if !sameVerdict(gots[i], wants[i]) {
			t.Errorf("seed %d, case %d (%s), %s: merger gives %s; git gives %s (tip %s, changes %q)",
				seed, j.c.index, j.c.shape, j.typ, gots[i], wants[i], j.c.tip, j.c.changes)
		}
		if wants[i].conflictAt >= 0 {
			stats[j.typ+" conflicts"]++
		} else {
			stats[j.typ+" clean"]++
		}
		if j.typ == MergeIfNecessary {
			stats[j.c.shape]++
		}
	}
	t.Logf("verdicts: %v; merger: %+v", stats, f.m.Stats())
}

func sameVerdict(got, want verdict) bool {
	if got.conflictAt >= 0 || want.conflictAt >= 0 {
		return got.conflictAt == want.conflictAt && slices.Equal(got.files, want.files)
	}
	return got.tree == want.tree
}

// merge runs a request and reads its verdict from the cache.
func (f *fixture) merge(req Request) verdict {
	f.t.Helper()
	res, err := f.m.Merge(f.t.Context(), req)
	var ce *ConflictError
	switch {
	case errors.As(err, &ce):
		at := slices.IndexFunc(req.Changes, func(c ChangeRef) bool { return c == ce.Change })
		return verdict{conflictAt: at, files: ce.Files}
	case err != nil:
		f.t.Fatal(err)
	}
	head := res.Heads[f.project]
	tree, _ := f.cached(f.m, head)
	return verdict{head: head, tree: tree, conflictAt: -1}
}

// reference applies changes with git's porcelain in a work tree, as a
// person submitting them the way of each submit type would.
type reference struct{ dir string }

func (r *reference) git(args ...string) (string, error) {
	return mt.TryGit(context.Background(), r.dir, nil, args...)
}

func (r *reference) ancestor(a, b string) bool {
	_, err := r.git("merge-base", "--is-ancestor", a, b)
	return err == nil
}

func (r *reference) apply(typ, tip string, changes []string) (verdict, error) {
	if _, err := r.git("checkout", "--quiet", "--force", "--detach", tip); err != nil {
		return verdict{}, err
	}
	parents, err := r.git(append([]string{"log", "--no-walk=unsorted", "--format=%P"}, changes...)...)
	if err != nil {
		return verdict{}, err
	}
	for i, c := range changes {
		merge := len(strings.Fields(strings.Split(parents, "\n")[i])) > 1
		switch {
		case typ != CherryPick && r.ancestor(c, "HEAD"):
			continue // already merged
		case (typ == MergeIfNecessary || typ == RebaseIfNecessary || merge && typ != MergeAlways) && r.ancestor("HEAD", c):
			_, err = r.git("merge", "--quiet", "--ff-only", c)
		case typ == MergeIfNecessary || typ == MergeAlways || merge:
			_, err = r.git("merge", "--quiet", "--no-ff", "--no-edit", "-s", "recursive", "-X", "no-renames", "-X", "diff-algorithm=histogram", c)
		default:
			_, err = r.git("cherry-pick", "--allow-empty", "--keep-redundant-commits", "--strategy=recursive", "-X", "no-renames", "-X", "diff-algorithm=histogram", c)
		}
		if err != nil {
			return r.conflict(i)
		}
	}
	ids, err := r.git("rev-parse", "HEAD", "HEAD^{tree}")
	if err != nil {
		return verdict{}, err
	}
	id := strings.Fields(ids)
	return verdict{head: id[0], tree: id[1], conflictAt: -1}, nil
}

// conflict reads the conflicting files of a failed merge or cherry-pick,
// then cleans the work tree up.
func (r *reference) conflict(at int) (verdict, error) {
	files, err := r.git("diff", "--name-only", "--diff-filter=U")
	if err != nil {
		return verdict{}, err
	}
	r.git("merge", "--abort")
	r.git("cherry-pick", "--abort")
	if _, err := r.git("clean", "-q", "-fdx"); err != nil {
		return verdict{}, err
	}
	var list []string
	if files != "" {
		for _, p := range strings.Split(files, "\n") {
			// a file in the way of a directory is moved aside to
			// path~<side>: the conflict is about path
			p, _, _ = strings.Cut(p, "~")
			list = append(list, p)
		}
	}
	slices.Sort(list)
	return verdict{conflictAt: at, files: slices.Compact(list)}, nil
}
