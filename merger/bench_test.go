package merger

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	mt "gated.dev/gated/merger/mergertest"
)

// The benchmarks run on a generated repository of benchFiles files and
// benchCommits commits, made once per run with git fast-import under a
// temporary directory (removed by TestMain), served by an upstream and
// cloned once by the merger:
//
//	go test -run '^$' -bench . -benchmem ./merger/
//
// They compare gated's merger with git doing the same merges, in the same
// run: the porcelain in a work tree as Zuul's merger uses it, and the
// modern plumbing in a bare repository (merge-tree --write-tree, then
// commit-tree), from scratch per item as Zuul structures it or
// incrementally, each item on the one ahead, as git can at best. The
// history's commits are dated an hour or so apart and the changes after
// their bases, as in a real repository, so that a merge-base walk stops
// where the histories meet.
const (
	benchFiles   = 100_000
	benchCommits = 10_000
	benchProject = "bench"
	benchQueue   = 20
)

var bench struct {
	once sync.Once
	err  error
	dir  string
	up   *mt.Upstream
	m    *Merger
	tip  string
	// now is when the history ends.
	now time.Time
	// changes are benchQueue independent changes, each on an older commit
	// of the branch and touching a file no later commit touches.
	changes []ChangeRef
	// work is a clone with a work tree, for the git porcelain.
	workOnce sync.Once
	workErr  error
	work     string
}

// benchFixture generates the repository on first use.
func benchFixture(b *testing.B) {
	b.Helper()
	bench.once.Do(func() { bench.err = setUpBench(b) })
	if bench.err != nil {
		b.Fatal(bench.err)
	}
}

func setUpBench(b *testing.B) error {
	ctx := b.Context()
	start := time.Now()
	dir, err := os.MkdirTemp("", "gated-merger-bench-")
	if err != nil {
		return err
	}
	bench.dir = dir
	upstream := filepath.Join(dir, "upstream")
	repo := filepath.Join(upstream, benchProject)
	if _, err := mt.TryGit(ctx, "", nil, "init", "--quiet", "--bare", "--initial-branch=master", repo); err != nil {
		return err
	}
	rng := rand.New(rand.NewPCG(1, 2))
	path := func(i int) string { return fmt.Sprintf("d%02d/s%d/f%05d.txt", i/1000, i/100%10, i) }
	content := func(i, rev int) string {
		return fmt.Sprintf("file %d revision %d\nline 2\nline 3\nline 4\nline 5\nline 6\nline 7\nline 8\n", i, rev)
	}
	s := mt.NewStream()
	bench.now = time.Now()
	// two years of history, a commit every 1.75 hours or so
	s.When = bench.now.Add(-2 * 365 * 24 * time.Hour).Unix()
	step := int64(2*365*24*3600) / benchCommits
	ops := make([]mt.Op, benchFiles)
	for i := range ops {
		ops[i] = mt.Write(path(i), content(i, 0))
	}
	history := []string{s.Commit("refs/heads/master", nil, "initial", ops...)}
	for c := 1; c < benchCommits; c++ {
		var ops []mt.Op
		for range 1 + rng.IntN(3) {
			// history touches the first 90% of the files; changes the rest
			i := rng.IntN(benchFiles * 9 / 10)
			ops = append(ops, mt.Write(path(i), content(i, c)))
		}
		s.When += step - 1
		history = append(history, s.Commit("refs/heads/master", history[len(history)-1:], fmt.Sprintf("commit %d", c), ops...))
	}
	var marks []string
	tipWhen := s.When - 1
	for k := range benchQueue {
		i := benchFiles*9/10 + k*100
		back := rng.IntN(50) + 1
		on := history[len(history)-1-back]
		// written a while after its base, uploaded before the tip
		s.When = tipWhen - int64(back)*step + step/2
		marks = append(marks, s.Commit(fmt.Sprintf("refs/changes/%02d/%d/1", (k+1)%100, k+1), []string{on},
			fmt.Sprintf("change %d", k+1), mt.Write(path(i), content(i, -1))))
	}
	ids := s.Import(b, repo)
	bench.tip = ids[history[len(history)-1]]
	for k, mark := range marks {
		bench.changes = append(bench.changes, ChangeRef{Project: benchProject, Branch: "master", Number: k + 1, Patchset: 1,
			Revision: ids[mark], SubmitType: MergeIfNecessary})
	}
	generated := time.Now()

	if bench.up, err = mt.StartUpstream(ctx, upstream); err != nil {
		return err
	}
	if bench.m, err = New(ctx, filepath.Join(dir, "merger"), bench.up.Remote); err != nil {
		return err
	}
	// the clone, and the fetch of every change
	if _, err := bench.m.Merge(ctx, benchQueueRequests(MergeIfNecessary)[benchQueue-1]); err != nil {
		return err
	}
	b.Logf("bench repository: %d files, %d commits, generated in %v; cloned by the merger in %v",
		benchFiles, benchCommits, generated.Sub(start).Round(time.Millisecond), time.Since(generated).Round(time.Millisecond))
	return nil
}

// benchWorkTree clones the repository with a work tree on first use, for
// the git porcelain.
func benchWorkTree(b *testing.B) {
	b.Helper()
	bench.workOnce.Do(func() {
		start := time.Now()
		ctx := b.Context()
		work := filepath.Join(bench.dir, "work")
		for _, args := range [][]string{
			{"clone", "--quiet", "--no-checkout", filepath.Join(bench.up.Dir, benchProject), work},
			{"-C", work, "fetch", "--quiet", "origin", "+refs/changes/*:refs/changes/*"},
			{"-C", work, "checkout", "--quiet", "--detach", bench.tip},
		} {
			if _, bench.workErr = mt.TryGit(ctx, "", nil, args...); bench.workErr != nil {
				return
			}
		}
		bench.work = work
		b.Logf("work tree checked out in %v", time.Since(start).Round(time.Millisecond))
	})
	if bench.workErr != nil {
		b.Fatal(bench.workErr)
	}
}

// tearDownBench stops and removes what setUpBench made.
func tearDownBench() {
	if bench.up != nil {
		bench.up.Close()
	}
	if bench.dir != "" {
		os.RemoveAll(bench.dir)
	}
}

// benchQueueRequests are the requests of the items of a queue of the bench
// changes, on the pinned tip.
func benchQueueRequests(submitType string) []Request {
	changes := make([]ChangeRef, benchQueue)
	for i, c := range bench.changes {
		c.SubmitType = submitType
		changes[i] = c
	}
	reqs := queueRequests("bench", changes)
	for i := range reqs {
		reqs[i].Bases = map[string]string{BaseKey(benchProject, "master"): bench.tip}
		// now, after the history, as a gate makes its requests
		reqs[i].Time = bench.now.Add(time.Duration(i) * time.Minute)
	}
	return reqs
}

// BenchmarkMerge is one speculative merge of a small change on an older
// base, onto the tip: "merge", "rebase" and "cherry-pick" decide the step
// (the merge base walk and JGit's tree rules, in process; git runs only
// for files both sides changed, here none) and write its commit;
// "reused" finds the outcome of an earlier identical step and only writes
// the commit; "git-merge-tree" is the baseline, the same merge by git's
// plumbing (merge-tree --write-tree, then commit-tree) in a bare
// repository.
func BenchmarkMerge(b *testing.B) {
	benchFixture(b)
	for _, bc := range []struct {
		name, submitType string
		reuse            bool
	}{
		{"merge", MergeIfNecessary, false},
		{"rebase", RebaseIfNecessary, false},
		{"cherry-pick", CherryPick, false},
		{"reused", MergeIfNecessary, true},
	} {
		b.Run(bc.name, func(b *testing.B) {
			req := benchQueueRequests(bc.submitType)[0]
			for b.Loop() {
				if !bc.reuse {
					clearMemos(bench.m)
				}
				if _, err := bench.m.Merge(b.Context(), req); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	bare := benchBare(b)
	b.Run("git-merge-tree", func(b *testing.B) {
		for b.Loop() {
			if _, err := mergeTreeChain(b.Context(), bare, bench.tip, bench.changes[:1]); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkQueue builds the states of a queue of 20 items from scratch,
// item k merging the k changes of the items ahead and its own onto the
// tip, with gated's merger and with git doing the same merges:
//
//   - gated: one request per item, as the gate sends them; each item
//     reuses the steps of the item ahead (20 merges in all);
//   - gated-no-reuse: the same requests, each merging all its changes
//     again (210 merges);
//   - merge-tree-incremental: git merge-tree --write-tree and commit-tree
//     in a bare repository, each item on the result of the one ahead (20
//     merges): git at its best;
//   - merge-tree-zuul: the same plumbing in Zuul's structure, each item
//     from the tip (210 merges);
//   - git-cli-zuul: the porcelain in a work tree as Zuul's merger uses it,
//     each item checked out at the tip then one git merge per change (210
//     merges); slow, run it alone with -benchtime=1x.
func BenchmarkQueue(b *testing.B) {
	benchFixture(b)
	for _, reuse := range []bool{true, false} {
		name := "gated"
		if !reuse {
			name = "gated-no-reuse"
		}
		b.Run(name, func(b *testing.B) {
			reqs := benchQueueRequests(MergeIfNecessary)
			for b.Loop() {
				clearMemos(bench.m)
				for _, req := range reqs {
					if !reuse {
						clearMemos(bench.m)
					}
					if _, err := bench.m.Merge(b.Context(), req); err != nil {
						b.Fatal(err)
					}
				}
			}
		})
	}
	bare := benchBare(b)
	b.Run("merge-tree-incremental", func(b *testing.B) {
		for b.Loop() {
			if _, err := mergeTreeChain(b.Context(), bare, bench.tip, bench.changes); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("merge-tree-zuul", func(b *testing.B) {
		for b.Loop() {
			for item := 1; item <= benchQueue; item++ {
				if _, err := mergeTreeChain(b.Context(), bare, bench.tip, bench.changes[:item]); err != nil {
					b.Fatal(err)
				}
			}
		}
	})
	b.Run("git-cli-zuul", func(b *testing.B) {
		benchWorkTree(b)
		for b.Loop() {
			for item := 1; item <= benchQueue; item++ {
				if err := cliMerge(b.Context(), bench.tip, bench.changes[:item]); err != nil {
					b.Fatal(err)
				}
			}
		}
	})
}

// benchBare is a bare repository sharing the upstream's objects, for the
// plumbing baselines.
func benchBare(b *testing.B) string {
	b.Helper()
	bare := filepath.Join(bench.dir, "bare.git")
	if _, err := os.Stat(bare); err == nil {
		return bare
	}
	if _, err := mt.TryGit(b.Context(), "", nil, "clone", "--quiet", "--bare", "--shared",
		filepath.Join(bench.up.Dir, benchProject), bare); err != nil {
		b.Fatal(err)
	}
	return bare
}

// mergeTreeChain merges changes one by one onto base in the bare
// repository dir, as a merger built on git's plumbing would: git merge-tree
// --write-tree for the tree, git commit-tree for the merge commit.
func mergeTreeChain(ctx context.Context, dir, base string, changes []ChangeRef) (string, error) {
	head := base
	for _, c := range changes {
		tree, err := benchGit(ctx, dir, "merge-tree", "--write-tree", head, c.Revision)
		if err != nil {
			return "", err
		}
		if head, err = benchGit(ctx, dir, "commit-tree", tree, "-p", head, "-p", c.Revision, "-m", "Merge "+c.String()); err != nil {
			return "", err
		}
	}
	return head, nil
}

// benchGit runs git in dir, in the environment of the merger's tests, but
// making commits now, after the history, as a merger does: a commit dated
// before the history it merges makes every later merge base walk the
// whole history.
func benchGit(ctx context.Context, dir string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, "git", args...)
	cmd.Dir = dir
	now := fmt.Sprintf("%d +0000", bench.now.Unix())
	cmd.Env = append(mt.Env(), "GIT_AUTHOR_DATE="+now, "GIT_COMMITTER_DATE="+now)
	out, err := cmd.Output()
	if err != nil {
		var stderr []byte
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = ee.Stderr
		}
		return "", fmt.Errorf("git %s: %w: %s", strings.Join(args, " "), err, stderr)
	}
	return strings.TrimSpace(string(out)), nil
}

// cliMerge checks the work tree out at base and merges changes into it,
// one git merge each.
func cliMerge(ctx context.Context, base string, changes []ChangeRef) error {
	if _, err := benchGit(ctx, bench.work, "checkout", "--quiet", "--force", "--detach", base); err != nil {
		return err
	}
	for _, c := range changes {
		if _, err := benchGit(ctx, bench.work, "merge", "--quiet", "--no-ff", "--no-edit", c.Revision); err != nil {
			return err
		}
	}
	return nil
}
