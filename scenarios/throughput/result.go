package throughput

import (
	"cmp"
	"slices"
	"time"
)

// Result is what one run measured.
type Result struct {
	Strategy string
	Seed     uint64

	// Measured are the changes first approved after the warmup and before
	// arrivals stopped; the latency figures are theirs.
	Measured int
	// MergedPerHour is the changes merged per hour between the end of the
	// warmup and the end of arrivals.
	MergedPerHour float64
	// P50, P95 and Max are the approval-to-merge latencies of the good
	// measured changes (from their first approval, across wrong
	// rejections); a change still unmerged when the run ended counts with
	// the time it had waited so far (see Unfinished).
	P50, P95, Max time.Duration
	// Unfinished counts the good measured changes not merged when the run
	// ended: the strategy could not keep up.
	Unfinished int

	// Growth is how fast the backlog (items in the gate) grew while
	// changes arrived, in items per hour: the slope of a least-squares
	// line through its samples between the warmup and the end of
	// arrivals. Saturated is whether it grew by more than 5% of the
	// arrivals: the strategy did not keep up, and its latency figures grow
	// with the length of the run.
	Growth    float64
	Saturated bool

	// Merged is every change merged in the run.
	Merged int
	// Builds is the compute spent, in builds: every build that ran to its
	// end counts 1, a build cancelled while running counts the share of
	// its duration it ran, one cancelled before it got a slot 0.
	Builds float64
	// BuildsPerMerge is Builds / Merged.
	BuildsPerMerge float64
	// Reusable counts the gate builds of a tree an earlier gate build had
	// passed: what reusing results of exact trees could save.
	Reusable int
	// UndecidedAhead is the mean number of gate items still building, or
	// waiting to, when a change was first approved: the failures a build
	// of its state bets against.
	UndecidedAhead float64
	// CheckBuilds are the builds of Builds that ran to their end in the
	// check pipeline (the rechecks of wrongly rejected changes), and
	// CheckFailures those that failed (flaky; rechecked again).
	CheckBuilds, CheckFailures int
	// Started, Completed and Cancelled count builds that got a slot, ran
	// to their end, and were cancelled while running; Dropped those
	// cancelled before they got a slot; PeakBuilds is the most that ran at
	// once (at most the capacity).
	Started, Completed, Cancelled, Dropped, PeakBuilds int
	// Resets counts items whose speculative state was invalidated and
	// rebuilt (the engine's counter).
	Resets int
	// WronglyRejected counts rejections of good changes (flaky builds);
	// RejectedBad and RejectedConflict the rejections of bad and
	// conflicting changes.
	WronglyRejected, RejectedBad, RejectedConflict int
	// BadMerged counts bad changes merged. It must be 0.
	BadMerged int
	// Hedges counts the hedge builds started, and Adopted those the
	// engine's builds took over (see Hedge).
	Hedges, Adopted int
	// Events counts the events applied to the engine.
	Events int

	// QueueLength is the number of items in the gate over time, and
	// Latency the latency of every good change by the time it was first
	// approved (for a change not merged, the time it waited until the run
	// ended), in hours: the plots.
	QueueLength []Point
	Latency     []Point

	latencies []time.Duration
	// delays are the latencies of latencies, unsorted, with what delayed
	// each change (see Late).
	delays   []delay
	inWindow int // merges between the warmup and the end of arrivals
}

// hit is something that delayed a change.
type hit uint8

const (
	// hitRejected: wrongly rejected (a flaky build, or a bad change that
	// merged ahead), and back after its owner's recheck.
	hitRejected hit = 1 << iota
	// hitReverted: in the gate when a bad change that merged was
	// reverted, which rebuilds every item.
	hitReverted
	// hitReset: its state was built again after an item ahead failed.
	hitReset
)

type delay struct {
	latency time.Duration
	hits    hit
}

// Late is the share of the measured good changes whose latency exceeded a
// limit, and the same split by what delayed them, each change counted
// once, in this order: wrongly rejected, in the gate at a revert, rebuilt
// after a failure ahead, none of these (waiting for a build ahead, or a
// long build).
type Late struct {
	Limit                                   time.Duration
	Share, Rejected, Reverted, Reset, Other float64
}

// Late splits the changes later than limit by what delayed them.
func (r *Result) Late(limit time.Duration) Late {
	l := Late{Limit: limit}
	if len(r.delays) == 0 {
		return l
	}
	one := 1 / float64(len(r.delays))
	for _, d := range r.delays {
		if d.latency <= limit {
			continue
		}
		l.Share += one
		switch {
		case d.hits&hitRejected != 0:
			l.Rejected += one
		case d.hits&hitReverted != 0:
			l.Reverted += one
		case d.hits&hitReset != 0:
			l.Reset += one
		default:
			l.Other += one
		}
	}
	return l
}

// Point is one point of a plot.
type Point struct{ Hours, Value float64 }

// measured reports whether a change is counted in the latency figures.
func (w *world) measured(c *change) bool {
	return c.approved.Hours() >= w.w.Warmup && c.approved.Hours() < w.w.Hours
}

// merge records a merged change.
func (r *Result) merge(w *world, c *change) {
	r.Merged++
	if h := w.now.Hours(); h >= w.w.Warmup && h < w.w.Hours {
		r.inWindow++
	}
	lat := w.now - c.approved
	r.Latency = append(r.Latency, Point{Hours: c.approved.Hours(), Value: lat.Hours()})
	if w.measured(c) {
		r.latencies = append(r.latencies, lat)
		r.delays = append(r.delays, delay{lat, w.hits[c.number]})
	}
}

// compute derives the figures at the end of a run.
func (r *Result) compute(w *world) {
	for _, c := range w.changes {
		s := w.status[c.number]
		if c.bad || c.approved > w.now || (s != queued && s != rechecking) {
			continue
		}
		lat := w.now - c.approved
		r.Latency = append(r.Latency, Point{Hours: c.approved.Hours(), Value: lat.Hours()})
		if w.measured(c) {
			r.Unfinished++
			r.latencies = append(r.latencies, lat)
			r.delays = append(r.delays, delay{lat, w.hits[c.number]})
		}
	}
	slices.SortFunc(r.Latency, func(a, b Point) int { return cmp.Compare(a.Hours, b.Hours) })
	for _, c := range w.changes {
		if w.measured(c) {
			r.Measured++
		}
	}
	r.MergedPerHour = float64(r.inWindow) / (w.w.Hours - w.w.Warmup)
	slices.Sort(r.latencies)
	r.P50, r.P95 = percentile(r.latencies, 50), percentile(r.latencies, 95)
	if n := len(r.latencies); n > 0 {
		r.Max = r.latencies[n-1]
	}
	x := w.exec
	r.Started, r.Completed, r.Cancelled, r.Dropped, r.PeakBuilds = x.started, x.completed, x.cancelled, x.dropped, x.peak
	r.Builds = float64(x.completed) + x.partial
	if r.Merged > 0 {
		r.BuildsPerMerge = r.Builds / float64(r.Merged)
	}
	r.Resets = w.e.Counters().Resets
	r.CheckBuilds = x.checks
	if len(w.changes) > 0 {
		r.UndecidedAhead = float64(w.undecided) / float64(len(w.changes))
	}
	r.Growth = slope(r.QueueLength, w.w.Warmup, w.w.Hours)
	r.Saturated = r.Growth > saturation*w.w.Rate
}

// saturation is the backlog growth, as a share of the arrivals, beyond
// which a run is saturated.
const saturation = 0.05

// slope returns the slope of the least-squares line through the points
// whose x is in [from, to).
func slope(points []Point, from, to float64) float64 {
	var n, sx, sy, sxx, sxy float64
	for _, p := range points {
		if p.Hours < from || p.Hours >= to {
			continue
		}
		n++
		sx += p.Hours
		sy += p.Value
		sxx += p.Hours * p.Hours
		sxy += p.Hours * p.Value
	}
	d := n*sxx - sx*sx
	if n < 2 || d == 0 {
		return 0
	}
	return (n*sxy - sx*sy) / d
}

// percentile returns the nearest-rank percentile of sorted values.
func percentile(sorted []time.Duration, p int) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := (p*len(sorted)+99)/100 - 1
	return sorted[max(i, 0)]
}
