package queue

import (
	"slices"
	"time"
)

// estimateSamples is how many recent durations an estimate is the median
// of: enough to ignore one odd build, few enough to follow a project whose
// builds got slower.
const estimateSamples = 10

// Estimates are the expected durations of what the gate waits for, learnt
// from what happened: the median of the latest successful builds of each
// project in each pipeline, of the latest merges and of the latest
// submits. The zero value knows nothing. Like the engine it is a plain
// value, fed by its owner.
type Estimates struct {
	samples map[string][]time.Duration // key → durations, oldest first
}

// Keys of Estimates.samples besides builds (pipeline + "\x00" + project).
const (
	estimateMerge  = "\x00merge"
	estimateSubmit = "\x00submit"
)

func buildKey(pipeline, project string) string { return pipeline + "\x00" + project }

// ObserveBuild learns from a finished build. Only builds that passed, and
// whose start was seen, say how long a build takes: a failure stops
// early, and a build adopted after a restart has no known start.
func (e *Estimates) ObserveBuild(f BuildFinished) {
	if f.Result != ResultSuccess || f.Started.IsZero() || f.Finished.Before(f.Started) {
		return
	}
	e.observe(buildKey(f.Pipeline, f.Change.Project), f.Finished.Sub(f.Started))
}

// ObserveMerge learns how long the merger took to build a speculative
// state.
func (e *Estimates) ObserveMerge(d time.Duration) { e.observe(estimateMerge, d) }

// ObserveSubmit learns how long a submit took.
func (e *Estimates) ObserveSubmit(d time.Duration) { e.observe(estimateSubmit, d) }

// clone returns a copy that later observations leave alone.
func (e *Estimates) clone() Estimates {
	c := Estimates{samples: make(map[string][]time.Duration, len(e.samples))}
	for k, s := range e.samples {
		c.samples[k] = slices.Clone(s)
	}
	return c
}

func (e *Estimates) observe(key string, d time.Duration) {
	if e.samples == nil {
		e.samples = map[string][]time.Duration{}
	}
	s := append(e.samples[key], d)
	if len(s) > estimateSamples {
		s = slices.Delete(s, 0, len(s)-estimateSamples)
	}
	e.samples[key] = s
}

// Build returns the expected duration of a build of project's changes in
// pipeline; false when none of them passed yet.
func (e *Estimates) Build(pipeline, project string) (time.Duration, bool) {
	return e.median(buildKey(pipeline, project))
}

// Merge returns the expected duration of a merge (0 before any).
func (e *Estimates) Merge() time.Duration { d, _ := e.median(estimateMerge); return d }

// Submit returns the expected duration of a submit (0 before any).
func (e *Estimates) Submit() time.Duration { d, _ := e.median(estimateSubmit); return d }

func (e *Estimates) median(key string) (time.Duration, bool) {
	s := e.samples[key]
	if len(s) == 0 {
		return 0, false
	}
	s = slices.Clone(s)
	slices.Sort(s)
	return s[len(s)/2], true
}
