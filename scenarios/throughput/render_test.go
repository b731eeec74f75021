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
	res := func(merged, p95h, cost float64, wrong int) *Result {
		return &Result{
			MergedPerHour: merged, P50: time.Hour, P95: time.Duration(p95h * float64(time.Hour)), Max: 30 * time.Hour,
			BuildsPerMerge: cost, Resets: 100, WronglyRejected: wrong,
			QueueLength: []Point{{0, 0}, {1, 5}, {2, 50}, {3, 20}},
			Latency:     []Point{{0.2, 0.5}, {0.7, 1.5}, {1.5, 12}, {2.5, 3}},
		}
	}
	return &Comparison{
		Case:       Case{Name: "fixed", Why: "made-up results", Workload: DefaultWorkload()},
		Strategies: []Strategy{strategy("zuul"), strategy("retry-cleared"), strategy("gated")},
		Seeds:      []uint64{1, 2},
		Runs: [][]*Result{
			{res(8, 40, 1.8, 10), res(9, 36, 1.9, 12)},
			{res(9, 35, 1.8, 4), res(10, 33, 1.8, 6)},
			{res(16, 7, 2.3, 2), res(16, 8, 2.3, 2)},
		},
	}
}

func TestMarkdown(t *testing.T) {
	golden(t, "report.md", []byte(Report("go run ./scenarios/sim -report", []*Comparison{fixed()})))
}

func TestVerdict(t *testing.T) {
	v, ok := fixed().Verdict()
	if !ok || v.Zuul.Strategy.Name != "zuul" || v.Met {
		t.Fatalf("verdict %+v: want against zuul, target not met", v)
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
