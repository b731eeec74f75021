package throughput

import "gated.dev/gated/queue"

// Strategy is a way to run the gate, as configuration of the engine's gate
// pipeline: every strategy runs the same engine code.
type Strategy struct {
	Name string
	// About says in one line what the strategy does.
	About string
	// Ours is false for the baselines (serial, Zuul) and for candidates
	// kept only to show what they cost.
	Ours bool
	// Configure adjusts the default gate pipeline.
	Configure func(*queue.PipelineConfig)
	// Hedge is hedging emulated by the executor (a study, see Hedge).
	Hedge *Hedge
}

// window returns Zuul's window with another floor; a floor of 20 keeps it
// at 20 or more.
func window(floor int) queue.WindowConfig {
	w := queue.DefaultWindow()
	w.Floor = floor
	return w
}

// zuul is Zuul's dependent pipeline with its window: merges are sent to the
// mergers in parallel, no retries.
func zuul(w queue.WindowConfig) func(*queue.PipelineConfig) {
	return func(p *queue.PipelineConfig) {
		p.Window = w
		p.ParallelMerges = true
	}
}

// lindec is Zuul's window with a linear decrease: −1 per failure instead
// of ÷2 (window-decrease-type: linear).
func lindec() queue.WindowConfig {
	w := queue.DefaultWindow()
	w.DecreaseType = "linear"
	return w
}

// gated is the recommended gate configuration (the strategy gated): Zuul's
// window with a linear decrease up to 30 items, merges in parallel, a
// failure retried once if two passed builds included the change
// (retry_cleared, clear_passes: 2), and the 40 items beyond the window
// probed on the tip in groups of 4 (probe, probe_group).
func gated(p *queue.PipelineConfig) {
	p.Window = lindec()
	p.Window.Ceiling = 30
	p.ParallelMerges = true
	p.Retries, p.RetryCleared, p.ClearPasses = 1, true, 2
	p.Probe, p.ProbeGroup = 40, 4
}

// Strategies returns the strategies compared by default: the baselines
// (serial, and stock Zuul configurations, named zuul…), the candidates
// that lost or trade one figure for another, and gated.
func Strategies() []Strategy {
	retryCleared := func(clearPasses int) func(*queue.PipelineConfig) {
		return func(p *queue.PipelineConfig) {
			zuul(lindec())(p)
			p.Retries, p.RetryCleared, p.ClearPasses = 1, true, clearPasses
		}
	}
	return []Strategy{
		{
			Name:  "serial",
			About: "one change at a time: window 1, floor 1, ceiling 1",
			Configure: func(p *queue.PipelineConfig) {
				p.Window = queue.WindowConfig{Size: 1, Floor: 1, Ceiling: 1, IncreaseType: "linear", IncreaseFactor: 1, DecreaseType: "linear", DecreaseFactor: 1}
			},
		},
		{
			Name:      "zuul",
			About:     "Zuul's dependent pipeline with its defaults: window 20, floor 3, +1 per merge, ÷2 per failure, every item's merge sent at once (parallel_merges), no retries",
			Configure: zuul(queue.DefaultWindow()),
		},
		{
			Name:      "zuul-floor10",
			About:     "zuul with window-floor: 10",
			Configure: zuul(window(10)),
		},
		{
			Name:      "zuul-floor20",
			About:     "zuul with window-floor: 20 (the window never shrinks below 20)",
			Configure: zuul(window(20)),
		},
		{
			Name:      "zuul-lindec",
			About:     "zuul with window-decrease-type: linear (−1 per failure)",
			Configure: zuul(lindec()),
		},
		{
			Name:  "retry",
			About: "zuul-floor20, and every failed build runs once more before it counts (retries: 1)",
			Configure: func(p *queue.PipelineConfig) {
				zuul(window(20))(p)
				p.Retries = 1
			},
		},
		{
			Name:      "retry-cleared",
			About:     "zuul-lindec, and a failed build runs once more if a passed build included the change (retries: 1, retry_cleared)",
			Configure: retryCleared(1),
		},
		{
			Name:      "retry-cleared2",
			About:     "retry-cleared, once two passed builds included the change (clear_passes: 2)",
			Configure: retryCleared(2),
		},
		{
			Name:  "gated-group",
			About: "issue 7's recommendation: retry-cleared with a window floor of 10, and the next 80 items probed on the tip in groups of 4, the items of a failed group then alone (probe: 80, probe_group: 4)",
			Configure: func(p *queue.PipelineConfig) {
				zuul(window(10))(p)
				p.Retries, p.RetryCleared, p.Probe, p.ProbeGroup = 1, true, 80, 4
			},
		},
		{
			Name:      "gated",
			About:     "retry-cleared2 with a window ceiling of 30, and the next 40 items probed on the tip in groups of 4 (window-ceiling: 30, probe: 40, probe_group: 4)",
			Ours:      true,
			Configure: gated,
		},
	}
}
