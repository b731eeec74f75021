package throughput

import (
	"errors"
	"fmt"
	"time"
)

// Workload is the modelled world: what arrives, how builds behave, and the
// cluster they run on.
type Workload struct {
	// Rate is how many changes are approved per hour (a Poisson process).
	Rate float64
	// Hours is how long changes keep arriving; the run then goes on until
	// the queue is empty, or for Drain at most.
	Hours float64
	// Warmup is the first part of the run, in hours, whose changes are left
	// out of the latency and throughput figures (the queue starts empty).
	Warmup float64
	// Drain bounds the time after the last arrival; changes still queued
	// then are counted as unfinished, with the latency they had so far.
	Drain time.Duration
	// Build is the mean duration of a build, log-normal with shape Sigma.
	Build time.Duration
	Sigma float64
	// Bad is the share of changes that are genuinely bad.
	Bad float64
	// Catch is the probability that a build of a state that contains a bad
	// change fails because of it (drawn for each bad change and build).
	Catch float64
	// Flaky is the probability that a build fails although every change in
	// its state is good.
	Flaky float64
	// Conflict is the share of changes that conflict with the change
	// approved just before them: the later of the two in a speculative
	// state (or merged after the other) does not merge.
	Conflict float64
	// Capacity is how many builds run at once; the cluster queues the
	// others first in, first out.
	Capacity int
	// Merge is how long the merger takes to build a speculative state, and
	// Submit how long Gerrit takes to submit a change.
	Merge, Submit time.Duration
	// Recheck is how long after a wrong rejection the owner of a good
	// change asks for a recheck: a check build of the change on the tip,
	// whose pass enqueues it again (its latency counts from its first
	// approval). A check build that fails is rechecked after as long.
	Recheck time.Duration
}

// DefaultWorkload is issue 7's target workload: 20 changes an hour,
// 30-minute builds, 10% bad changes (always caught), 3% flaky builds, 2%
// conflicts and 20 concurrent builds, over four simulated days. It is
// saturated (see Rho); flags and cases change its fields.
func DefaultWorkload() Workload {
	return Workload{
		Rate: 20, Hours: 96, Warmup: 4, Drain: 24 * time.Hour,
		Build: 30 * time.Minute, Sigma: 0.25,
		Bad: 0.10, Catch: 1, Flaky: 0.03, Conflict: 0.02, Capacity: 20,
		Merge: 15 * time.Second, Submit: 5 * time.Second, Recheck: time.Hour,
	}
}

// Rho is the load of the workload on a gate that only builds nested
// speculative states: the failures of gate builds per hour (a bad change
// caught, or a flaky build) times the duration of a build. Such a gate
// resolves about one failure per build duration, since the items behind a
// failure must be built again after it; at ρ ≥ 1 its backlog grows without
// bound, whatever its window.
func (w Workload) Rho() float64 {
	caught := w.Bad * w.Catch
	fail := caught + (1-caught)*w.Flaky
	return w.Rate * w.Build.Hours() * fail
}

// Validate checks the workload and names every field out of range.
func (w Workload) Validate() error {
	var errs []error
	check := func(ok bool, field, want string) {
		if !ok {
			errs = append(errs, fmt.Errorf("%s: must be %s", field, want))
		}
	}
	check(w.Rate > 0, "rate", "> 0")
	check(w.Hours > 0, "hours", "> 0")
	check(w.Warmup >= 0 && w.Warmup < w.Hours, "warmup", ">= 0 and < hours")
	check(w.Drain >= 0, "drain", ">= 0")
	check(w.Build > 0, "build", "> 0")
	check(w.Sigma >= 0, "sigma", ">= 0")
	for _, p := range []struct {
		name string
		v    float64
	}{{"bad", w.Bad}, {"flaky", w.Flaky}, {"conflict", w.Conflict}} {
		check(p.v >= 0 && p.v < 1, p.name, "in [0, 1)")
	}
	check(w.Catch >= 0 && w.Catch <= 1, "catch", "in [0, 1]")
	check(w.Capacity > 0, "capacity", "> 0")
	check(w.Merge >= 0 && w.Submit >= 0 && w.Recheck >= 0, "merge, submit, recheck", ">= 0")
	return errors.Join(errs...)
}

// String describes the workload in one line, for reports.
func (w Workload) String() string {
	return fmt.Sprintf("%g changes/h for %gh (first %gh not measured), builds %v mean (log-normal σ=%g), %g%% bad changes (caught by %g%% of the builds that contain one), %g%% flaky builds, %g%% conflicts, capacity %d builds, merge %v, submit %v, recheck %v after a wrong rejection; ρ = %.2f",
		w.Rate, w.Hours, w.Warmup, w.Build, w.Sigma, 100*w.Bad, 100*w.Catch, 100*w.Flaky, 100*w.Conflict, w.Capacity, w.Merge, w.Submit, w.Recheck, w.Rho())
}

// change is one change of the workload.
type change struct {
	number   int
	approved time.Duration // since the start of the run
	bad      bool
	// conflicts are the changes it does not merge with: its predecessor
	// when it conflicts, and its successor when that one does.
	conflicts []int
}

// generate draws the changes of a run: the same seed gives the same changes
// whatever the strategy.
func (w Workload) generate(seed uint64) []*change {
	d := newDraws(seed, 0x776f726b6c6f6164) // "workload"
	var out []*change
	horizon := time.Duration(w.Hours * float64(time.Hour))
	gap := time.Duration(float64(time.Hour) / w.Rate)
	for t := d.exponential(gap); t < horizon; t += d.exponential(gap) {
		c := &change{number: len(out) + 1, approved: t, bad: d.float() < w.Bad}
		if d.float() < w.Conflict && len(out) > 0 {
			prev := out[len(out)-1]
			c.conflicts = append(c.conflicts, prev.number)
			prev.conflicts = append(prev.conflicts, c.number)
		}
		out = append(out, c)
	}
	return out
}
