package throughput

import (
	"math"
	"reflect"
	"strings"
	"testing"
	"time"

	"gated.dev/gated/queue"
)

// short is a small workload that fails in every way, for tests.
func short() Workload {
	w := DefaultWorkload()
	w.Hours, w.Warmup, w.Drain = 8, 1, 8*time.Hour
	w.Bad, w.Flaky, w.Conflict = 0.2, 0.1, 0.1
	return w
}

func strategy(name string) Strategy {
	for _, s := range Strategies() {
		if s.Name == name {
			return s
		}
	}
	panic("no strategy " + name)
}

// Every strategy keeps the engine's promises (Run checks them: each
// submit's exact tree was built and passed), on a workload with many bad,
// flaky and conflicting changes, whether builds catch every bad change or
// only some; it merges a bad change only when builds may miss one; the
// cluster never runs more builds than its capacity.
func TestPromisesHold(t *testing.T) {
	for _, catch := range []float64{1, 0.5} {
		w := short()
		w.Capacity, w.Catch = 6, catch
		bad := 0
		for _, s := range Strategies() {
			for seed := uint64(1); seed <= 3; seed++ {
				r, err := Run(w, s, seed)
				if err != nil {
					t.Fatalf("catch %g: %v", catch, err)
				}
				bad += r.BadMerged
				checkRun(t, w, s, seed, r)
			}
		}
		if (catch == 1) != (bad == 0) {
			t.Errorf("catch %g: %d bad changes merged", catch, bad)
		}
	}
}

// checkRun checks what every run must show: the capacity is respected,
// and something happened.
func checkRun(t *testing.T, w Workload, s Strategy, seed uint64, r *Result) {
	t.Helper()
	if r.PeakBuilds > w.Capacity {
		t.Errorf("%s seed %d: %d builds ran at once, capacity %d", s.Name, seed, r.PeakBuilds, w.Capacity)
	}
	if r.Merged == 0 || r.RejectedBad == 0 {
		t.Errorf("%s seed %d: nothing happened: %+v", s.Name, seed, r)
	}
}

// The world's own check bites: a submit of a build that failed, or onto a
// branch whose tree is not the one the build tested, stops the run.
func TestWorldCatchesBrokenPromises(t *testing.T) {
	for _, tc := range []struct {
		name   string
		passed bool
		tree   []int // the tree the build tested
	}{
		{"the build failed", false, []int{1}},
		{"the build tested another tree", true, []int{1, 2}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			x, err := newWorld(short(), strategy("zuul"), 1)
			if err != nil {
				t.Fatal(err)
			}
			id := attempt{item: 7, attempt: 1}
			x.trees["h7.1"], x.heads[id], x.passed[id] = tc.tree, "h7.1", tc.passed
			x.submit(queue.Submit{Item: 7, Attempt: 1, Change: queue.ChangeRef{Number: 1}, Expect: map[string]string{project: "t0"}})
			if x.err == nil {
				t.Fatal("the world accepted the submit")
			}
		})
	}
}

// A wrongly rejected good change comes back through its owner's recheck:
// a check build on the tip, counted with the others, whose pass enqueues it
// again. A bad change that merged is reverted: the gate carries on.
func TestRechecksAndReverts(t *testing.T) {
	w := short()
	w.Rate, w.Flaky, w.Catch, w.Conflict = 5, 0.2, 0.5, 0 // a conflicting change's recheck does not merge: no build
	r, err := Run(w, strategy("zuul-lindec"), 2)
	if err != nil {
		t.Fatal(err)
	}
	if r.WronglyRejected == 0 || r.CheckBuilds < r.WronglyRejected || r.BadMerged == 0 {
		t.Fatalf("%d wrongly rejected, %d check builds, %d bad merged; want some of each, a check build per rejection at least", r.WronglyRejected, r.CheckBuilds, r.BadMerged)
	}
	if r.Unfinished != 0 {
		t.Fatalf("%d good changes unfinished", r.Unfinished)
	}
}

// A gate that cannot keep up is flagged saturated; one that can is not.
func TestSaturation(t *testing.T) {
	for _, tc := range []struct {
		rate, hours float64
		saturated   bool
	}{{20, 16, true}, {2, 48, false}} {
		w := DefaultWorkload()
		w.Rate, w.Hours = tc.rate, tc.hours
		r, err := Run(w, strategy("zuul"), 1)
		if err != nil {
			t.Fatal(err)
		}
		if r.Saturated != tc.saturated {
			t.Errorf("rate %g: saturated %v (backlog growth %.2f/h), want %v", tc.rate, r.Saturated, r.Growth, tc.saturated)
		}
	}
}

func TestRho(t *testing.T) {
	w := DefaultWorkload()
	w.Rate, w.Build, w.Bad, w.Catch, w.Flaky = 10, 30*time.Minute, 0.1, 0.5, 0
	if got := w.Rho(); math.Abs(got-0.25) > 1e-9 {
		t.Fatalf("ρ = %g, want 10/h × 0.5 h × 5%% = 0.25", got)
	}
}

// The same seed gives the same run, with hedges too.
func TestRunIsDeterministic(t *testing.T) {
	hedged := strategy("zuul-lindec")
	hedged.Name, hedged.Hedge = "hedged-zuul-lindec", &Hedge{}
	for _, s := range []Strategy{strategy("zuul"), strategy("gated-group"), strategy("gated"), hedged} {
		a, err := Run(short(), s, 7)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := Run(short(), s, 7)
		if !reflect.DeepEqual(a, b) {
			t.Fatalf("%s: two runs of seed 7 differ", s.Name)
		}
	}
}

// Without failures and with room to spare, every change merges one build
// after its approval, with one build per merge and no reset.
func TestEasyWorkload(t *testing.T) {
	w := DefaultWorkload()
	w.Rate, w.Hours, w.Warmup, w.Sigma = 1.5, 24, 1, 0
	w.Bad, w.Flaky, w.Conflict = 0, 0, 0
	for _, name := range []string{"serial", "zuul", "zuul-floor20", "gated", "gated-group"} {
		r, err := Run(w, strategy(name), 1)
		if err != nil {
			t.Fatal(err)
		}
		if name != "serial" && r.P95 > w.Build+5*time.Minute {
			t.Errorf("%s: p95 %v, want about one build (%v)", name, r.P95, w.Build)
		}
		if r.P50 < w.Build {
			t.Errorf("%s: p50 %v is shorter than a build", name, r.P50)
		}
		if name != "gated-group" && (r.BuildsPerMerge != 1 || r.Resets != 0) {
			t.Errorf("%s: %.2f builds per merge, %d resets; want 1 and 0", name, r.BuildsPerMerge, r.Resets)
		}
		if r.Unfinished != 0 || r.WronglyRejected != 0 {
			t.Errorf("%s: %d unfinished, %d wrongly rejected", name, r.Unfinished, r.WronglyRejected)
		}
	}
}

// Strategies compared on one seed see the same changes: those with the
// same engine configuration give the same results.
func TestCommonRandomNumbers(t *testing.T) {
	w := short()
	zuul := strategy("zuul")
	again := Strategy{Name: "again", Configure: zuul.Configure}
	a, _ := Run(w, zuul, 3)
	b, _ := Run(w, again, 3)
	a.Strategy, b.Strategy = "", ""
	if !reflect.DeepEqual(a, b) {
		t.Fatal("the same configuration under another name gave another run")
	}
}

func TestWorkloadValidate(t *testing.T) {
	w := DefaultWorkload()
	w.Rate, w.Bad, w.Capacity, w.Warmup = 0, 1, 0, 100
	err := w.Validate()
	if err == nil {
		t.Fatal("an invalid workload passed")
	}
	for _, field := range []string{"rate", "bad", "capacity", "warmup"} {
		if !strings.Contains(err.Error(), field+":") {
			t.Errorf("the error does not name %s: %v", field, err)
		}
	}
	if _, err := Run(w, strategy("zuul"), 1); err == nil {
		t.Fatal("Run accepted an invalid workload")
	}
}

// Compare gives the same comparison whatever its parallelism.
func TestCompareParallel(t *testing.T) {
	c := Case{Name: "short", Why: "test", Workload: short()}
	s := []Strategy{strategy("zuul"), strategy("gated")}
	one, err := Compare(c, s, []uint64{1, 2}, 1)
	if err != nil {
		t.Fatal(err)
	}
	two, err := Compare(c, s, []uint64{1, 2}, 2)
	if err != nil {
		t.Fatal(err)
	}
	if one.Markdown() != two.Markdown() {
		t.Fatal("the comparison depends on its parallelism")
	}
}
