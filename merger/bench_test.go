package merger

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
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
// They compare gated's merger with the way Zuul's merger works, the git
// porcelain in a work tree, in the same run.
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
		history = append(history, s.Commit("refs/heads/master", history[len(history)-1:], fmt.Sprintf("commit %d", c), ops...))
	}
	var marks []string
	for k := range benchQueue {
		i := benchFiles*9/10 + k*100
		on := history[len(history)-1-rng.IntN(50)-1]
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
	}
	return reqs
}

// BenchmarkMerge is one speculative merge of a small change on an older
// base, onto the tip: "merge" runs merge-ort; "rebase" and "cherry-pick"
// also write the scaffolding of the pick; "reused" finds the outcome of an
// earlier identical step and only writes the commit.
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
}

// BenchmarkQueue builds the states of a queue of 20 items from scratch,
// each item on the one ahead: with gated's merger, and with the git
// porcelain in a work tree as Zuul's merger does — each item starting
// over from the branch (checkout, then git merge of every change ahead
// and its own) — and, as the porcelain's best case, incrementally.
func BenchmarkQueue(b *testing.B) {
	benchFixture(b)
	b.Run("gated", func(b *testing.B) {
		reqs := benchQueueRequests(MergeIfNecessary)
		for b.Loop() {
			clearMemos(bench.m)
			for _, req := range reqs {
				if _, err := bench.m.Merge(b.Context(), req); err != nil {
					b.Fatal(err)
				}
			}
		}
	})
	benchWorkTree(b)
	b.Run("git-cli-zuul", func(b *testing.B) {
		for b.Loop() {
			for item := 1; item <= benchQueue; item++ {
				if err := cliMerge(b.Context(), bench.tip, bench.changes[:item]); err != nil {
					b.Fatal(err)
				}
			}
		}
	})
	b.Run("git-cli-incremental", func(b *testing.B) {
		for b.Loop() {
			if err := cliMerge(b.Context(), bench.tip, bench.changes); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// cliMerge checks the work tree out at base and merges changes into it,
// one git merge each.
func cliMerge(ctx context.Context, base string, changes []ChangeRef) error {
	if _, err := mt.TryGit(ctx, bench.work, nil, "checkout", "--quiet", "--force", "--detach", base); err != nil {
		return err
	}
	for _, c := range changes {
		if _, err := mt.TryGit(ctx, bench.work, nil, "merge", "--quiet", "--no-ff", "--no-edit", c.Revision); err != nil {
			return err
		}
	}
	return nil
}
