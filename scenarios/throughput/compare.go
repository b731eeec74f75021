package throughput

import (
	"fmt"
	"math"
	"runtime"
	"strings"
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

// Cases returns the workloads compared by default: issue 12's three
// workloads, which are not saturated, and issue 7's target, which is.
func Cases() []Case {
	with := func(rate float64, build time.Duration, bad, flaky float64, capacity int) Workload {
		w := DefaultWorkload()
		w.Rate, w.Build, w.Bad, w.Flaky, w.Capacity = rate, build, bad, flaky, capacity
		return w
	}
	return []Case{
		{Name: "slow", Why: "few changes, long builds, many bad changes", Workload: with(4, time.Hour, 0.10, 0.03, 20)},
		{Name: "medium", Why: "a busy project with half-hour builds", Workload: with(10, 30*time.Minute, 0.05, 0.02, 40)},
		{Name: "busy", Why: "many changes, few of them bad", Workload: with(20, 30*time.Minute, 0.03, 0.03, 40)},
		{Name: "saturated", Why: "issue 7's target, over 48 h: a gate that only builds nested states cannot keep up, and its latencies grow with the length of the run", Workload: saturatedWorkload()},
	}
}

// saturatedWorkload is issue 7's target over two days: its backlog grows
// without bound under a gate that builds only nested states, so a longer
// run would only take longer to simulate and make its latencies larger.
func saturatedWorkload() Workload {
	w := DefaultWorkload()
	w.Hours = 48
	return w
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
	// Growth is the backlog's growth in items per hour (Result.Growth);
	// Saturated is whether its mean is more than 5% of the arrivals.
	Growth    Stat
	Saturated bool
	// Reusable and UndecidedAhead are Result's, over seeds.
	Reusable, UndecidedAhead Stat
}

// Summaries returns the figures of every strategy.
func (c *Comparison) Summaries() []Summary {
	hours := func(f func(*Result) time.Duration) func(*Result) float64 {
		return func(r *Result) float64 { return f(r).Hours() }
	}
	var out []Summary
	for i, s := range c.Strategies {
		runs := c.Runs[i]
		growth := stat(runs, func(r *Result) float64 { return r.Growth })
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
			Growth:          growth,
			Saturated:       growth.Mean > saturation*c.Case.Rate,
			Reusable:        stat(runs, func(r *Result) float64 { return float64(r.Reusable) }),
			UndecidedAhead:  stat(runs, func(r *Result) float64 { return r.UndecidedAhead }),
		})
	}
	return out
}

// Target is issue 12's target for the recommended strategy (gated)
// against the best stock Zuul configuration: p95 latency at most
// TargetP95 times Zuul's, at no more builds per merged change and with no
// more bad changes merged.
const TargetP95 = 0.6

// Verdict compares the recommended strategy, gated, with the best stock
// Zuul configuration: the strategy named zuul… with the lowest mean p95.
type Verdict struct {
	Zuul, Gated Summary
	// P95Ratio is gated's mean p95 over zuul's, and CostChange the
	// relative difference of their builds per merge (-0.1 is 10% fewer).
	P95Ratio, CostChange float64
	// Saturated is whether either is saturated: the ratio then depends on
	// the length of the run, and the target does not apply.
	Saturated bool
	// Met is whether the target holds on a workload neither saturates:
	// p95 at most TargetP95 times zuul's, no more builds per merge, no
	// more bad changes merged.
	Met bool
}

// Verdict returns the verdict, or false if the comparison has no zuul…
// strategy or no gated.
func (c *Comparison) Verdict() (Verdict, bool) {
	var v Verdict
	var zuul, gated *Summary
	sums := c.Summaries()
	for i := range sums {
		s := &sums[i]
		switch {
		case s.Strategy.Name == "gated":
			gated = s
		case strings.HasPrefix(s.Strategy.Name, "zuul") && (zuul == nil || s.P95.Mean < zuul.P95.Mean):
			zuul = s
		}
	}
	if zuul == nil || gated == nil {
		return v, false
	}
	v.Zuul, v.Gated = *zuul, *gated
	v.P95Ratio = gated.P95.Mean / zuul.P95.Mean
	v.CostChange = gated.BuildsPerMerge.Mean/zuul.BuildsPerMerge.Mean - 1
	v.Saturated = zuul.Saturated || gated.Saturated
	v.Met = !v.Saturated && v.P95Ratio <= TargetP95 &&
		gated.BuildsPerMerge.Mean <= zuul.BuildsPerMerge.Mean && gated.BadMerged.Mean <= zuul.BadMerged.Mean
	return v, true
}
