package throughput

import (
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != string(want) {
		t.Fatalf("%s differs from the golden file (go test -update rewrites it):\n%s", name, got)
	}
}

// fixed is a comparison with made-up results, so that the rendering is
// tested apart from the simulation.
func fixed() *Comparison {
	res := func(merged, p95h, cost float64, wrong, bad int) *Result {
		return &Result{
			MergedPerHour: merged, P50: time.Hour, P95: time.Duration(p95h * float64(time.Hour)), Max: 30 * time.Hour,
			BuildsPerMerge: cost, Resets: 100, WronglyRejected: wrong, BadMerged: bad,
			QueueLength: []Point{{0, 0}, {1, 5}, {2, 50}, {3, 20}},
			Latency:     []Point{{0.2, 0.5}, {0.7, 1.5}, {1.5, 12}, {2.5, 3}},
		}
	}
	return &Comparison{
		Case:       Case{Name: "fixed", Why: "made-up results", Workload: DefaultWorkload()},
		Strategies: []Strategy{strategy("zuul"), strategy("zuul-lindec"), strategy("gated")},
		Seeds:      []uint64{1, 2},
		Runs: [][]*Result{
			{res(8, 4, 1.8, 10, 2), res(9, 3.6, 1.9, 12, 3)},
			{res(9, 3.5, 1.8, 4, 2), res(10, 3.3, 1.8, 6, 2)},
			{res(16, 2, 1.7, 2, 2), res(16, 2, 1.8, 2, 1)},
		},
	}
}

func TestMarkdown(t *testing.T) {
	golden(t, "report.md", []byte(Report("go run ./scenarios/sim -report", []*Comparison{fixed()})))
}

func TestJSON(t *testing.T) {
	data, err := JSON([]*Comparison{fixed()})
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "runs.json", data)
}

// The verdict is against the best zuul… strategy: the target holds when
// gated's p95 is at most 0.6 times its, at no more builds per merge and
// with no more bad changes merged, on a workload neither saturates.
func TestVerdict(t *testing.T) {
	for _, tc := range []struct {
		name   string
		change func(gated []*Result)
		met    bool
	}{
		{"p95 ×0.6, fewer builds, fewer bad merges", func([]*Result) {}, true},
		{"one more bad change merged", func(g []*Result) { g[0].BadMerged += 2 }, false},
		{"more builds per merge", func(g []*Result) { g[0].BuildsPerMerge = 2 }, false},
		{"p95 ×0.7", func(g []*Result) { g[0].P95, g[1].P95 = 144*time.Minute, 144*time.Minute }, false},
		{"saturated", func(g []*Result) { g[0].Growth, g[1].Growth = 10, 10 }, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := fixed()
			tc.change(c.Runs[2])
			v, ok := c.Verdict()
			if !ok || v.Zuul.Strategy.Name != "zuul-lindec" {
				t.Fatalf("verdict %+v: want against zuul-lindec, the best zuul", v)
			}
			if v.Met != tc.met {
				t.Fatalf("target met %v, want %v: %s", v.Met, tc.met, v)
			}
		})
	}
}

func TestPlots(t *testing.T) {
	plots := fixed().Plots()
	if len(plots) != 2 {
		t.Fatalf("%d plots, want 2", len(plots))
	}
	golden(t, "queue.svg", plots["fixed-queue.svg"])
	golden(t, "latency.svg", plots["fixed-latency.svg"])
}
