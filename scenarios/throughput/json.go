package throughput

import "encoding/json"

// Row is one strategy on one workload, aggregated over seeds (means), as
// JSON prints it. The key names are read by outside tools.
type Row struct {
	Workload       string  `json:"workload"`
	Strategy       string  `json:"strategy"`
	P50Hours       float64 `json:"p50_h"`
	P95Hours       float64 `json:"p95_h"`
	BuildsPerMerge float64 `json:"builds_per_merge"`
	BadMerged      float64 `json:"bad_merged"`
	GoodRejected   float64 `json:"good_rejected"`
	MergedPerHour  float64 `json:"merged_per_h"`
	Saturated      bool    `json:"saturated"`
	// Rho is the workload's load (Workload.Rho), Seeds the number of
	// seeds, P95SD the standard deviation of p95 over them; Reusable and
	// UndecidedAhead are Result's.
	Rho            float64 `json:"rho"`
	Seeds          int     `json:"seeds"`
	P95SD          float64 `json:"p95_sd_h"`
	Reusable       float64 `json:"reusable_builds"`
	UndecidedAhead float64 `json:"undecided_ahead"`
}

// JSON renders comparisons as {"runs": [...]}, one Row per workload and
// strategy.
func JSON(comps []*Comparison) ([]byte, error) {
	out := struct {
		Runs []Row `json:"runs"`
	}{Runs: []Row{}}
	for _, c := range comps {
		for _, s := range c.Summaries() {
			out.Runs = append(out.Runs, Row{
				Workload: c.Case.Name, Strategy: s.Strategy.Name,
				P50Hours: s.P50.Mean, P95Hours: s.P95.Mean, BuildsPerMerge: s.BuildsPerMerge.Mean,
				BadMerged: s.BadMerged.Mean, GoodRejected: s.WronglyRejected.Mean,
				MergedPerHour: s.MergedPerHour.Mean, Saturated: s.Saturated,
				Rho: c.Case.Rho(), Seeds: len(c.Seeds), P95SD: s.P95.SD,
				Reusable: s.Reusable.Mean, UndecidedAhead: s.UndecidedAhead.Mean,
			})
		}
	}
	return json.MarshalIndent(out, "", "  ")
}
