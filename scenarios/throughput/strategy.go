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

// Strategies returns the strategies compared by default: the baselines
// (serial, and stock Zuul configurations, named zuul…), the candidates
// that lost, and ours.
func Strategies() []Strategy {
	lindec := queue.DefaultWindow()
	lindec.DecreaseType = "linear"
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
			About:     "Zuul's dependent pipeline with its defaults: window 20, floor 3, +1 per merge, ÷2 per failure; every item's merge sent at once; no retries",
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
			Configure: zuul(lindec),
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
			Name:  "retry-cleared",
			About: "zuul-floor20, and a failed build runs once more only if a build that included the change passed (retries: 1, retry_cleared)",
			Configure: func(p *queue.PipelineConfig) {
				zuul(window(20))(p)
				p.Retries, p.RetryCleared = 1, true
			},
		},
		{
			Name:  "gated-group",
			About: "retry-cleared with a window floor of 10, and the next 80 items probed on the tip in groups of 4, the items of a failed group then alone (probe: 80, probe_group: 4)",
			Configure: func(p *queue.PipelineConfig) {
				zuul(window(10))(p)
				p.Retries, p.RetryCleared, p.Probe, p.ProbeGroup = 1, true, 80, 4
			},
		},
		{
			Name:  "gated",
			About: "retry-cleared with a window floor of 20",
			Ours:  true,
			Configure: func(p *queue.PipelineConfig) {
				zuul(window(20))(p)
				p.Retries, p.RetryCleared = 1, true
			},
		},
	}
}
