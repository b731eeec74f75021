package merger

import (
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/go-git/go-git/v5/plumbing"

	mt "gated.dev/gated/merger/mergertest"
)

var (
	corpusSize = flag.Int("merger.corpus", 80, "number of random histories of the differential test")
	corpusSeed = flag.Uint64("merger.seed", 0, "seed of the differential test's corpus; 0 takes $GATED_MERGER_SEED, else picks one")
)

// differentialTypes are the submit types the differential test applies
// every queue with.
var differentialTypes = []string{MergeIfNecessary, FastForwardOnly, RebaseIfNecessary, RebaseAlways, MergeAlways, CherryPick}

// verdict is the outcome of one queue item: the tree of its state, or a
// conflict (with the conflicting files) or a refusal (with none) of its
// own change.
type verdict struct {
	tree     string
	conflict bool
	files    []string
	// unjudged: the reference cannot tell (git merges several merge bases
	// otherwise than JGit), nor any item after in the queue.
	unjudged bool
}

func (v verdict) String() string {
	if v.conflict {
		return fmt.Sprintf("conflict in %q", v.files)
	}
	return "tree " + v.tree
}

func sameVerdict(got, want verdict) bool {
	if got.conflict || want.conflict {
		return got.conflict == want.conflict && slices.Equal(got.files, want.files)
	}
	return got.tree == want.tree
}

// differentialSeed is the seed of a run: the flag, the environment, or
// the clock.
func differentialSeed(t *testing.T) uint64 {
	seed := *corpusSeed
	if seed == 0 {
		if env := os.Getenv("GATED_MERGER_SEED"); env != "" {
			var err error
			if seed, err = strconv.ParseUint(env, 10, 64); err != nil {
				t.Fatalf("GATED_MERGER_SEED: %v", err)
			}
		}
	}
	if seed == 0 {
		seed = uint64(time.Now().UnixNano())
	}
	return seed
}

// TestDifferential runs queues of changes through the merger, for every
// submit type, and compares each item's verdict (every prefix of the
// queue, less the items that failed before it, as a gate builds them)
// with a reference that applies the changes one by one in a work tree
// with git — merge-recursive without rename detection, with the
// histogram diff — corrected where JGit's rules differ from git's (see
// jgitRules). With a JGit at hand (mergertest.JGitEnv) the reference is
// JGit itself, and the corpus has criss-cross histories too, which git
// merges otherwise than JGit.
func TestDifferential(t *testing.T) {
	seed := differentialSeed(t)
	t.Logf("corpus of %d histories, seed %d (rerun with GATED_MERGER_SEED=%d or -merger.seed=%d -merger.corpus=%d)",
		*corpusSize, seed, seed, seed, *corpusSize)
	f := newFixture(t)
	useJGit := os.Getenv(mt.JGitEnv) != ""
	g := &corpusGen{rng: rand.New(rand.NewPCG(seed, seed))}
	s := mt.NewStream()
	cases := make([]*corpusCase, *corpusSize)
	for i := range cases {
		cases[i] = g.queueCase(s, i)
	}
	if useJGit {
		for i := range *corpusSize / 8 {
			cases = append(cases, g.crissCrossCase(s, *corpusSize+i))
		}
	}
	for _, c := range cases {
		for i, mark := range c.changes {
			s.Reset(c.change(f.project, i, mark, "").GitRef(), mark)
		}
	}
	ids := s.Import(t, f.dir)
	for _, c := range cases {
		c.resolve(ids)
	}

	f.prefetch(cases)
	var ref reference
	if useJGit {
		ref = newJGitReference(t, f.dir)
	} else {
		ref = newGitReference(t, f.dir)
	}
	// The reference works through the corpus while the merger does, and
	// the verdicts are compared at the end.
	type run struct {
		c    *corpusCase
		typ  string
		want []verdict
		got  []verdict
	}
	var runs []*run
	for _, c := range cases {
		for _, typ := range differentialTypes {
			runs = append(runs, &run{c: c, typ: typ})
		}
	}
	referenced := make(chan error, 1)
	go func() {
		for _, r := range runs {
			var err error
			if r.want, err = queueVerdicts(ref, r.c, r.typ); err != nil {
				referenced <- fmt.Errorf("case %d, %s: %w", r.c.index, r.typ, err)
				return
			}
		}
		referenced <- nil
	}()
	for ri, r := range runs {
		r.got = f.queue(r.c, r.typ, ri)
	}
	if err := <-referenced; err != nil {
		t.Fatal(err)
	}
	stats := map[string]int{}
	total, unjudged := 0, 0
	for _, r := range runs {
		for k, want := range r.want {
			if want.unjudged {
				unjudged++
				continue
			}
			total++
			got := r.got[k]
			if !sameVerdict(got, want) {
				t.Errorf("seed %d, case %d, %s, item %d (%s): merger gives %s; %s gives %s (tip %s, changes %q)",
					seed, r.c.index, r.typ, k+1, r.c.kinds[k], got, ref.name(), want, r.c.tip, r.c.changes[:k+1])
			}
			outcome := "clean"
			if want.conflict {
				outcome = "conflict or refusal"
			}
			stats[r.typ+" "+outcome]++
			stats["change "+r.c.kinds[k]]++
		}
	}
	t.Logf("%d verdicts against %s (and %d left unjudged, after a merge of several merge bases): %v; merger: %+v",
		total, ref.name(), unjudged, stats, f.m.Stats())
	if total < 2500 && *corpusSize >= 80 {
		t.Errorf("%d verdicts; the test promises at least 2,500", total)
	}
}

// queue builds the items of a case's queue with the merger, as a gate
// does: item k holds the changes ahead that did not fail, and its own.
func (f *fixture) queue(c *corpusCase, typ string, run int) []verdict {
	f.t.Helper()
	var kept []ChangeRef
	bases := map[string]string{BaseKey(f.project, c.branch): c.tip}
	out := make([]verdict, len(c.changes))
	for k, rev := range c.changes {
		ch := c.change(f.project, k, rev, typ)
		req := request(fmt.Sprintf("refs/gated/differential/%d/%d", run, k+1), append(slices.Clone(kept), ch)...)
		req.Bases = bases
		res, err := f.m.Merge(f.t.Context(), req)
		var ce *ConflictError
		switch {
		case errors.As(err, &ce):
			if ce.Change != ch {
				f.t.Fatalf("case %d, %s, item %d: conflict on change %s, not on the item's own %s", c.index, typ, k+1, ce.Change, ch)
			}
			out[k] = verdict{conflict: true, files: ce.Files}
			continue
		case err != nil:
			f.t.Fatal(err)
		}
		out[k] = verdict{tree: f.headTree(res.Heads[f.project])}
		kept = append(kept, ch)
	}
	return out
}

// headTree is the tree of a commit of the merger's cache, read in
// process: the differential test reads thousands.
func (f *fixture) headTree(head string) string {
	f.t.Helper()
	r, err := f.m.repo(f.project)
	if err != nil {
		f.t.Fatal(err)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	c, err := r.commit(plumbing.NewHash(head))
	if err != nil {
		f.t.Fatal(err)
	}
	return c.TreeHash.String()
}

// prefetch brings every branch and change of the corpus into the merger's
// cache in one fetch, as a long-running gate has them: the test is about
// merges.
func (f *fixture) prefetch(cases []*corpusCase) {
	f.t.Helper()
	r, err := f.m.repo(f.project)
	if err != nil {
		f.t.Fatal(err)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := r.open(); err != nil {
		f.t.Fatal(err)
	}
	refs := []string{"refs/heads/*"}
	for _, c := range cases {
		for i, rev := range c.changes {
			refs = append(refs, c.change(f.project, i, rev, "").GitRef())
		}
	}
	if err := f.m.fetch(f.t.Context(), r, refs); err != nil {
		f.t.Fatal(err)
	}
}
