package throughput

import (
	"cmp"
	"fmt"
	"slices"
	"time"

	"gated.dev/gated/queue"
)

// ForecastError is how far the gate's forecasts (queue.Engine.Forecaster, as
// the status page shows them) were from what happened in a run: at every
// sample, each item's expected merge is compared with when its change
// merged.
type ForecastError struct {
	// Forecasts counts the forecasts of changes that merged later; Missed
	// those of changes that did not merge after the forecast (rejected, or
	// still queued when the run ended). Unknown counts items left out of
	// a forecast (no estimate yet for a build they wait on).
	Forecasts, Missed, Unknown int
	// P50, P90, Max and Mean are the absolute errors; Bias the mean
	// signed error (negative: the forecast was too early, optimistic).
	P50, P90, Max, Mean, Bias time.Duration
}

// String says it in one line, for logs and reports.
func (f ForecastError) String() string {
	return fmt.Sprintf("%d forecasts: absolute error p50 %v, p90 %v, max %v, mean %v, bias %v; %d forecasts of changes that did not merge after, %d items without a forecast",
		f.Forecasts, f.P50.Round(time.Second), f.P90.Round(time.Second), f.Max.Round(time.Second), f.Mean.Round(time.Second), f.Bias.Round(time.Second), f.Missed, f.Unknown)
}

// ForecastErrors are the errors of a run's forecasts: all of them, and by
// the item's place in its queue when forecast.
type ForecastErrors struct {
	All, Head, Next4, Behind ForecastError // places 1, 2-5, 6 and beyond
}

// MeasureForecast runs the workload under a strategy and measures its
// forecasts: every so often, the engine's state is run forward over
// estimates learnt from the builds that finished so far (as the daemon
// learns them), with the workload's merge and submit durations.
func MeasureForecast(w Workload, s Strategy, seed uint64, every time.Duration) (ForecastErrors, error) {
	f := &forecaster{every: every, merged: map[int]time.Time{}}
	f.est.ObserveMerge(w.Merge)
	f.est.ObserveSubmit(w.Submit)
	if _, err := run(w, s, seed, f.sample); err != nil {
		return ForecastErrors{}, err
	}
	all := func(int) bool { return true }
	return ForecastErrors{
		All:    f.result(all),
		Head:   f.result(func(p int) bool { return p == 1 }),
		Next4:  f.result(func(p int) bool { return p >= 2 && p <= 5 }),
		Behind: f.result(func(p int) bool { return p > 5 }),
	}, nil
}

// forecaster samples forecasts during a run.
type forecaster struct {
	every     time.Duration
	est       queue.Estimates
	forecasts []forecast
	merged    map[int]time.Time // change → when it merged
}

// forecast is one item's expected merge (zero: none), forecast at a time,
// when the item was at place in its queue (1: the head).
type forecast struct {
	change, place int
	at, merge     time.Time
}

// sample learns from what the engine saw since the last sample, forecasts,
// and comes again while the run goes on.
func (f *forecaster) sample(x *world) {
	f.learn(x)
	now := x.epoch.Add(x.now)
	fc := x.e.Forecaster(now, &f.est).Run()
	for _, p := range x.e.State().Pipelines {
		for _, q := range p.Queues {
			for i, it := range q.Items {
				if t, ok := fc[it.ID]; ok || it.Failure == nil {
					f.forecasts = append(f.forecasts, forecast{change: it.Change.Number, place: i + 1, at: now, merge: t})
				}
			}
		}
	}
	if x.line.Len() > 0 {
		x.at(x.now+f.every, func() { f.sample(x) })
	} else {
		f.learn(x)
	}
}

// learn reads the engine's facts: builds teach the estimates, merges are
// what forecasts are checked against.
func (f *forecaster) learn(x *world) {
	rd, err := x.e.Ready()
	if err != nil {
		x.fail("read the engine's facts: %v", err)
		return
	}
	for _, b := range rd.Facts.Builds {
		f.est.ObserveBuild(b)
	}
	for _, m := range rd.Facts.Merged {
		f.merged[m.Change.Number] = m.MergedAt
	}
}

// result measures the forecasts of items at the places given.
func (f *forecaster) result(places func(int) bool) ForecastError {
	var (
		r      ForecastError
		abs    []time.Duration
		signed time.Duration
	)
	for _, fc := range f.forecasts {
		if !places(fc.place) {
			continue
		}
		if fc.merge.IsZero() {
			r.Unknown++
			continue
		}
		merged, ok := f.merged[fc.change]
		if !ok || merged.Before(fc.at) {
			r.Missed++
			continue
		}
		e := fc.merge.Sub(merged)
		abs = append(abs, max(e, -e))
		signed += e
	}
	if len(abs) == 0 {
		return r
	}
	slices.SortFunc(abs, cmp.Compare)
	var sum time.Duration
	for _, d := range abs {
		sum += d
	}
	n := len(abs)
	r.Forecasts = n
	r.P50, r.P90, r.Max = abs[n/2], abs[n*9/10], abs[n-1]
	r.Mean, r.Bias = sum/time.Duration(n), signed/time.Duration(n)
	return r
}
