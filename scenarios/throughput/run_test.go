package throughput

import (
	"reflect"
	"strings"
	"testing"
	"time"
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

// Every strategy keeps the engine's promises (Run checks them) and never
// merges a bad change, on a workload with many bad, flaky and conflicting
// changes, and the cluster never runs more builds than its capacity.
func TestPromisesHold(t *testing.T) {
	w := short()
	w.Capacity = 6
	for _, s := range Strategies() {
		for seed := uint64(1); seed <= 3; seed++ {
			r, err := Run(w, s, seed)
			if err != nil {
				t.Fatal(err)
			}
			if r.BadMerged != 0 {
				t.Errorf("%s seed %d: %d bad changes merged", s.Name, seed, r.BadMerged)
			}
			if r.PeakBuilds > w.Capacity {
				t.Errorf("%s seed %d: %d builds ran at once, capacity %d", s.Name, seed, r.PeakBuilds, w.Capacity)
			}
			if r.Merged == 0 || r.RejectedBad == 0 {
				t.Errorf("%s seed %d: nothing happened: %+v", s.Name, seed, r)
			}
		}
	}
}

// The same seed gives the same run.
func TestRunIsDeterministic(t *testing.T) {
	for _, name := range []string{"zuul", "gated-group", "gated"} {
		a, err := Run(short(), strategy(name), 7)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := Run(short(), strategy(name), 7)
		if !reflect.DeepEqual(a, b) {
			t.Fatalf("%s: two runs of seed 7 differ", name)
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
		if !strings.HasPrefix(name, "gated-") && (r.BuildsPerMerge != 1 || r.Resets != 0) {
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
