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

// Strategies returns the strategies compared by default: the baselines,
// the candidates that lost, and ours.
func Strategies() []Strategy {
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
			About:     "Zuul's dependent pipeline with its defaults: window 20, floor 3, +1 per merge, ÷2 per failure; no retries",
			Configure: func(p *queue.PipelineConfig) { p.Window = queue.DefaultWindow() },
		},
		{
			Name:  "retry",
			About: "zuul, and every failed build runs once more before it counts (retries: 1)",
			Configure: func(p *queue.PipelineConfig) {
				p.Window = queue.DefaultWindow()
				p.Retries = 1
			},
		},
		{
			Name:  "zuul-floor10",
			About: "zuul with a window floor of 10 (the window part of gated alone)",
			Configure: func(p *queue.PipelineConfig) {
				p.Window = window(10)
			},
		},
		{
			Name:  "retry-cleared",
			About: "zuul, and a failed build runs once more only if a build that included the change passed (retries: 1, retry_cleared)",
			Ours:  true,
			Configure: func(p *queue.PipelineConfig) {
				p.Window = queue.DefaultWindow()
				p.Retries, p.RetryCleared = 1, true
			},
		},
		{
			Name:  "gated",
			About: "retry-cleared with a window floor of 10",
			Ours:  true,
			Configure: func(p *queue.PipelineConfig) {
				p.Window = window(10)
				p.Retries, p.RetryCleared = 1, true
			},
		},
		{
			Name:  "gated-probe",
			About: "retry-cleared with a window floor of 20, and the next 40 items probed alone on the tip (probe: 40)",
			Ours:  false,
			Configure: func(p *queue.PipelineConfig) {
				p.Window = window(20)
				p.Retries, p.RetryCleared, p.Probe = 1, true, 40
			},
		},
		{
			Name:  "gated-group",
			About: "retry-cleared with a window floor of 10, and the next 80 items probed on the tip in groups of 4, the items of a failed group then alone (probe: 80, probe_group: 4)",
			Ours:  true,
			Configure: func(p *queue.PipelineConfig) {
				p.Window = window(10)
				p.Retries, p.RetryCleared, p.Probe, p.ProbeGroup = 1, true, 80, 4
			},
		},
	}
}
