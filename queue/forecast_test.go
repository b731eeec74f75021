package queue

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"
)

// estimatesOf returns estimates that learnt builds of the given durations
// per project of the gate, merges of 10s and submits of 5s.
func estimatesOf(builds map[string]time.Duration) *Estimates {
	est := &Estimates{}
	t := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for project, d := range builds {
		est.ObserveBuild(BuildFinished{Pipeline: "gate", Change: ChangeRef{Project: project}, Result: ResultSuccess, Started: t, Finished: t.Add(d)})
	}
	est.ObserveMerge(10 * time.Second)
	est.ObserveSubmit(5 * time.Second)
	return est
}

// forecastText renders a forecast as "change:+duration" by queue order of
// the gate, "change:?" for an item left out.
func forecastText(h *harness, fc map[ItemID]time.Time) string {
	var out []string
	for _, q := range h.e.pipelines["gate"].Queues {
		for _, it := range q.Items {
			at, ok := fc[it.ID]
			if !ok {
				out = append(out, fmt.Sprintf("%d:?", it.Change.Number))
				continue
			}
			out = append(out, fmt.Sprintf("%d:+%s", it.Change.Number, at.Sub(h.now)))
		}
	}
	return strings.Join(out, " ")
}

func TestForecast(t *testing.T) {
	builds := map[string]time.Duration{"p": 10 * time.Minute, "r": 20 * time.Minute}
	for _, tc := range []struct {
		name, script string
		est          *Estimates
		want         string
	}{
		{"items merge in queue order, each after its build and the submit ahead", `
			change 1
			change 2
			change 3
			approve 1
			approve 2
			approve 3
		`, estimatesOf(builds),
			// 1: merge 10s, build 10m, submit 5s. 2: merged after 1's merge
			// (10s + 10s), built by 10m20s, submitted once 1 merged.
			"1:+10m15s 2:+10m25s 3:+10m35s"},
		{"a build under way ends its estimate after it started", `
			change 1
			approve 1
			merge #1
			started gate 1.1
		`, estimatesOf(builds),
			"1:+10m5s"},
		{"a passed item waits for the slower build ahead of it", `
			change 1
			change 2
			approve 1
			approve 2
			merge #1
			merge #2
			pass #2
		`, estimatesOf(builds),
			// 1's start was not seen: it counts from now.
			"1:+10m5s 2:+10m10s"},
		{"queues go forward independently", `
			change 1
			change 2 project=r
			approve 1
			approve 2
		`, estimatesOf(builds),
			"1:+10m15s 2:+20m15s"},
		{"without an estimate an item and those behind it in its queue are left out", `
			change 1
			change 2 project=q
			change 3
			change 4 project=r
			approve 1
			approve 2
			approve 3
			approve 4
		`, estimatesOf(builds),
			"1:+10m15s 2:? 3:? 4:+20m15s"},
		{"a failing item will not merge; the items re-parented past it do", `
			change 1
			change 2
			change 3
			approve 1
			approve 2
			approve 3
			merge #1
			merge #2
			merge #3
			fail #2
		`, estimatesOf(builds),
			// 3 restarts on 1: merge 10s, build 10m, submit after 1's.
			"1:+10m5s 2:? 3:+10m15s"},
		{"nothing learnt, nothing forecast", `
			change 1
			approve 1
		`, &Estimates{},
			"1:?"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, gateOnly())
			for _, line := range strings.Split(strings.TrimSpace(tc.script), "\n") {
				h.do(strings.TrimSpace(line))
			}
			if got := forecastText(h, h.e.Forecaster(h.now, tc.est).Run()); got != tc.want {
				t.Fatalf("forecast %s, want %s", got, tc.want)
			}
		})
	}
}

// A bundle merges once its slowest build passed and its changes were
// submitted one after the other; what is behind it follows.
func TestForecastOfABundle(t *testing.T) {
	h := newHarness(t, cyclesConfig())
	for _, line := range []string{"change 1 project=p needs=2", "change 2 project=q needs=1", "change 3 project=p", "approve 1", "approve 2", "approve 3"} {
		h.do(line)
	}
	// 1+2: merge 10s, builds of p (10m) and q (20m) at once, two submits
	// of 5s. 3: merged after 1+2's merge, built by 10m20s, submitted once
	// 1+2 merged.
	if got := forecastText(h, h.e.Forecaster(h.now, estimatesOf(map[string]time.Duration{"p": 10 * time.Minute, "q": 20 * time.Minute})).Run()); got != "1:+20m20s 3:+20m25s" {
		t.Fatalf("forecast %s", got)
	}
}

// Only the first forecastDepth items of a queue are forecast: the cost of
// a forecast stays bounded however long the queue.
func TestForecastStopsAtItsDepth(t *testing.T) {
	h := newHarness(t, gateOnly())
	for n := 1; n <= forecastDepth+5; n++ {
		h.do(fmt.Sprintf("change %d", n))
		h.do(fmt.Sprintf("approve %d", n))
	}
	fc := h.e.Forecaster(h.now, estimatesOf(map[string]time.Duration{"p": time.Minute})).Run()
	q := h.e.pipelines["gate"].Queues[0]
	for i, it := range q.Items {
		if _, ok := fc[it.ID]; ok != (i < forecastDepth) {
			t.Fatalf("item %d of the queue: forecast %v", i+1, ok)
		}
	}
}

// A forecast runs a copy: the engine's state, its facts and what it does
// next are as if it never ran.
func TestForecastLeavesTheEngineAlone(t *testing.T) {
	script := []string{"change 1", "change 2", "approve 1", "approve 2", "merge #1"}
	plain, forecasted := newHarness(t, testConfig()), newHarness(t, testConfig())
	for _, line := range script {
		plain.do(line)
		forecasted.do(line)
		forecasted.e.Forecaster(forecasted.now, estimatesOf(map[string]time.Duration{"p": time.Minute})).Run()
	}
	for _, h := range []*harness{plain, forecasted} {
		h.now = h.now.Add(time.Minute)
	}
	a, b := plain.do("pass #1"), forecasted.do("pass #1")
	if fa, fb := strings.Join(formatActions(a), "\n"), strings.Join(formatActions(b), "\n"); fa != fb {
		t.Fatalf("actions after a forecast:\n%s\nwithout:\n%s", fb, fa)
	}
	ra, _ := plain.e.Ready()
	rb, _ := forecasted.e.Ready()
	if !slices.Equal(slices.Sorted(maps.Keys(ra.State)), slices.Sorted(maps.Keys(rb.State))) || len(ra.Facts.Builds) != len(rb.Facts.Builds) {
		t.Fatalf("ready after forecasts differs: %v / %v", ra.Facts, rb.Facts)
	}
	sa, _ := json.Marshal(plain.e.State())
	sb, _ := json.Marshal(forecasted.e.State())
	if string(sa) != string(sb) {
		t.Fatalf("state after forecasts:\n%s\nwithout:\n%s", sb, sa)
	}
}

func TestEstimates(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var est Estimates
	build := func(project string, r Result, d time.Duration, started bool) {
		f := BuildFinished{Pipeline: "gate", Change: ChangeRef{Project: project}, Result: r, Finished: t0.Add(d)}
		if started {
			f.Started = t0
		}
		est.ObserveBuild(f)
	}
	for i := 1; i <= 15; i++ { // the first five fall out of the window
		build("p", ResultSuccess, time.Duration(i)*time.Minute, true)
	}
	build("p", ResultFailure, time.Hour, true)  // failures stop early
	build("p", ResultSuccess, time.Hour, false) // start never seen
	if d, ok := est.Build("gate", "p"); !ok || d != 11*time.Minute {
		t.Fatalf("estimate of p: %v %v, want the median of the last ten passed builds, 11m", d, ok)
	}
	if _, ok := est.Build("check", "p"); ok {
		t.Fatal("an estimate for a pipeline without builds")
	}
	if est.Merge() != 0 || est.Submit() != 0 {
		t.Fatal("merge and submit estimates before any was seen")
	}
	est.ObserveMerge(time.Second)
	est.ObserveMerge(3 * time.Second)
	if est.Merge() != 3*time.Second {
		t.Fatalf("merge estimate %v", est.Merge())
	}
}

// BenchmarkForecast runs gates of 20, 50 and 10,000 items forward (of
// which a forecast looks at the first forecastDepth); the baseline is the
// encoding of the state every forecast makes first, on the engine's
// goroutine (the run, its decoding included, goes on elsewhere).
func BenchmarkForecast(b *testing.B) {
	est := estimatesOf(map[string]time.Duration{"p": 30 * time.Minute})
	for _, items := range []int{20, 50, 10_000} {
		h := newHarness(&testing.T{}, gateOnly())
		for n := 1; n <= items; n++ {
			h.do(fmt.Sprintf("change %d", n))
			h.do(fmt.Sprintf("approve %d", n))
		}
		b.Run(fmt.Sprintf("items=%d/encode", items), func(b *testing.B) {
			for b.Loop() {
				if _, err := h.e.encodeDependent(); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(fmt.Sprintf("items=%d/forecast", items), func(b *testing.B) {
			for b.Loop() {
				if fc := h.e.Forecaster(h.now, est).Run(); len(fc) != min(items, forecastDepth) {
					b.Fatalf("forecast of %d items", len(fc))
				}
			}
		})
	}
}
