package throughput

import (
	"fmt"
	"math"
	"runtime"
	"sync"
	"time"
)

// Case is a named workload of the comparison.
type Case struct {
	Name string
	// Why says what the case shows.
	Why string
	Workload
}

// Cases returns the workloads compared by default: issue 7's target, the
// same with twice the build capacity, and half the rate.
func Cases() []Case {
	target := DefaultWorkload()
	wide := target
	wide.Capacity = 40
	half := target
	half.Rate = 10
	return []Case{
		{Name: "target", Why: "issue 7's target workload", Workload: target},
		{Name: "capacity40", Why: "the target workload with twice the build capacity", Workload: wide},
		{Name: "rate10", Why: "the target workload at half the rate", Workload: half},
	}
}

// Comparison is every strategy run on every seed of one workload.
type Comparison struct {
	Case       Case
	Strategies []Strategy
	Seeds      []uint64
	// Runs[i][j] is strategy i on seed j.
	Runs [][]*Result
}

// Compare runs every strategy on every seed of a workload, parallel runs at
// a time (GOMAXPROCS if 0). Each run is independent and deterministic, so
// the comparison does not depend on parallel.
func Compare(c Case, strategies []Strategy, seeds []uint64, parallel int) (*Comparison, error) {
	if parallel <= 0 {
		parallel = runtime.GOMAXPROCS(0)
	}
	out := &Comparison{Case: c, Strategies: strategies, Seeds: seeds, Runs: make([][]*Result, len(strategies))}
	type job struct{ i, j int }
	jobs := make(chan job)
	errs := make([]error, len(strategies)*len(seeds))
	var wg sync.WaitGroup
	for range parallel {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for jb := range jobs {
				r, err := Run(c.Workload, strategies[jb.i], seeds[jb.j])
				out.Runs[jb.i][jb.j] = r
				errs[jb.i*len(seeds)+jb.j] = err
			}
		}()
	}
	for i := range strategies {
		out.Runs[i] = make([]*Result, len(seeds))
		for j := range seeds {
			jobs <- job{i, j}
		}
	}
	close(jobs)
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, fmt.Errorf("workload %s: %w", c.Name, err)
		}
	}
	return out, nil
}

// Stat is a figure over seeds.
type Stat struct{ Mean, SD float64 }

// stat returns the mean and sample standard deviation of f over runs.
func stat(runs []*Result, f func(*Result) float64) Stat {
	var sum float64
	for _, r := range runs {
		sum += f(r)
	}
	mean := sum / float64(len(runs))
	var sq float64
	for _, r := range runs {
		sq += (f(r) - mean) * (f(r) - mean)
	}
	sd := 0.0
	if len(runs) > 1 {
		sd = math.Sqrt(sq / float64(len(runs)-1))
	}
	return Stat{mean, sd}
}

// Summary is one strategy's figures over seeds.
type Summary struct {
	Strategy                           Strategy
	MergedPerHour                      Stat
	P50, P95, Max                      Stat // hours
	BuildsPerMerge                     Stat
	Resets, WronglyRejected, BadMerged Stat
	Unfinished                         Stat
}

// Summaries returns the figures of every strategy.
func (c *Comparison) Summaries() []Summary {
	hours := func(f func(*Result) time.Duration) func(*Result) float64 {
		return func(r *Result) float64 { return f(r).Hours() }
	}
	var out []Summary
	for i, s := range c.Strategies {
		runs := c.Runs[i]
		out = append(out, Summary{
			Strategy:        s,
			MergedPerHour:   stat(runs, func(r *Result) float64 { return r.MergedPerHour }),
			P50:             stat(runs, hours(func(r *Result) time.Duration { return r.P50 })),
			P95:             stat(runs, hours(func(r *Result) time.Duration { return r.P95 })),
			Max:             stat(runs, hours(func(r *Result) time.Duration { return r.Max })),
			BuildsPerMerge:  stat(runs, func(r *Result) float64 { return r.BuildsPerMerge }),
			Resets:          stat(runs, func(r *Result) float64 { return float64(r.Resets) }),
			WronglyRejected: stat(runs, func(r *Result) float64 { return float64(r.WronglyRejected) }),
			BadMerged:       stat(runs, func(r *Result) float64 { return float64(r.BadMerged) }),
			Unfinished:      stat(runs, func(r *Result) float64 { return float64(r.Unfinished) }),
		})
	}
	return out
}

// Verdict compares our best strategy with zuul: the one with the lowest
// mean p95 latency among ours that spend no more builds per merged change
// than zuul, or, if none does, the one with the lowest p95 at any cost.
type Verdict struct {
	Zuul, Best Summary
	// WithinCost is whether Best spends no more builds per merge than
	// zuul.
	WithinCost bool
	// P95Change and CostChange are Best's relative differences with zuul
	// (-0.3 is 30% lower).
	P95Change, CostChange float64
	// Met is whether the target holds: p95 at least 30% lower, no more
	// builds per merge, no bad change merged.
	Met bool
}

// Verdict returns the verdict, or false if there is no zuul or none of ours.
func (c *Comparison) Verdict() (Verdict, bool) {
	var v Verdict
	var zuul, best, cheap *Summary
	sums := c.Summaries()
	for i := range sums {
		if sums[i].Strategy.Name == "zuul" {
			zuul = &sums[i]
		}
	}
	if zuul == nil {
		return v, false
	}
	for i := range sums {
		s := &sums[i]
		if !s.Strategy.Ours {
			continue
		}
		if best == nil || s.P95.Mean < best.P95.Mean {
			best = s
		}
		if s.BuildsPerMerge.Mean <= zuul.BuildsPerMerge.Mean && (cheap == nil || s.P95.Mean < cheap.P95.Mean) {
			cheap = s
		}
	}
	if best == nil {
		return v, false
	}
	if cheap != nil {
		best, v.WithinCost = cheap, true
	}
	v.Zuul, v.Best = *zuul, *best
	v.P95Change = best.P95.Mean/zuul.P95.Mean - 1
	v.CostChange = best.BuildsPerMerge.Mean/zuul.BuildsPerMerge.Mean - 1
	v.Met = v.WithinCost && v.P95Change <= -0.3 && best.BadMerged.Mean == 0
	return v, true
}
