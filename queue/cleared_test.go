package queue

import "testing"

// retryCleared is the gate with one retry for the failures of cleared
// changes (retry_cleared).
func retryCleared() Config {
	c := gateOnly()
	c.Pipelines[0].Retries = 1
	c.Pipelines[0].RetryCleared = true
	return c
}

// Table tests of retry_cleared: a failed build runs again only if a build
// that included the change passed; see cleared.go.
func TestRetryCleared(t *testing.T) {
	for _, tc := range []struct{ name, script string }{
		{"a change cleared by a passed item behind it is built again; the items behind keep their builds", `
			change 1
			change 2
			approve 1
			- merge #1.1 gate [1,1]
			approve 2
			merge #1
			- build #1.1 gate [1,1]
			- merge #2.1 gate [1,1 2,1] on p=t0p
			merge #2
			- build #2.1 gate [1,1 2,1]
			pass #2
			fail #1
			- build #1.2 gate [1,1]
			queue gate: 1 2:passed
			pass #1
			- report gate 1,1 success Verified+2
			- submit #1.2 gate 1,1 expect p=t0p
			submitted #1
			- forget #1 gate
			- report gate 2,1 success Verified+2
			- submit #2.1 gate 2,1 expect p=h1.1
		`},
		{"a failure of a change nothing cleared counts at once, as in Zuul", `
			change 1
			change 2
			approve 1
			- merge #1.1 gate [1,1]
			approve 2
			merge #1
			- build #1.1 gate [1,1]
			- merge #2.1 gate [1,1 2,1] on p=t0p
			merge #2
			- build #2.1 gate [1,1 2,1]
			fail #1
			- report gate 1,1 failure Verified-2
			- cancel #2.1 gate
			- forget #1 gate
			- merge #2.2 gate [2,1]
		`},
		{"a cleared change whose retry fails too fails, and the items behind are rebuilt without it", `
			change 1
			change 2
			approve 1
			- merge #1.1 gate [1,1]
			approve 2
			merge #1
			- build #1.1 gate [1,1]
			- merge #2.1 gate [1,1 2,1] on p=t0p
			merge #2
			- build #2.1 gate [1,1 2,1]
			pass #2
			fail #1
			- build #1.2 gate [1,1]
			fail #1
			- report gate 1,1 failure Verified-2
			- forget #1 gate
			- merge #2.2 gate [2,1]
		`},
		{"a change stays cleared across a reset: its failure on the new state is retried", `
			change 1
			change 2
			approve 1
			- merge #1.1 gate [1,1]
			approve 2
			merge #1
			- build #1.1 gate [1,1]
			- merge #2.1 gate [1,1 2,1] on p=t0p
			merge #2
			- build #2.1 gate [1,1 2,1]
			pass #2
			push p
			- cancel #1.1 gate
			- merge #1.2 gate [1,1]
			merge #1
			- build #1.2 gate [1,1]
			- merge #2.2 gate [1,1 2,1] on p=t1
			merge #2
			- build #2.2 gate [1,1 2,1]
			fail #2
			- build #2.3 gate [1,1 2,1]
		`},
		{"the failure of an item behind a cleared one is its own: it counts at once", `
			change 1
			change 2
			change 3
			approve 1
			- merge #1.1 gate [1,1]
			approve 2
			approve 3
			merge #1
			- build #1.1 gate [1,1]
			- merge #2.1 gate [1,1 2,1] on p=t0p
			merge #2
			- build #2.1 gate [1,1 2,1]
			- merge #3.1 gate [1,1 2,1 3,1] on p=t0p
			merge #3
			- build #3.1 gate [1,1 2,1 3,1]
			pass #2
			fail #3
			queue gate: 1 2:passed 3:failed
		`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			newHarness(t, retryCleared()).run(tc.script)
		})
	}
}

func TestStrategyValidation(t *testing.T) {
	for _, tc := range []struct {
		name string
		p    func(*PipelineConfig)
	}{
		{"retry_cleared without retries", func(p *PipelineConfig) { p.RetryCleared = true }},
		{"retry_cleared in an independent pipeline", func(p *PipelineConfig) { p.Manager, p.Retries, p.RetryCleared = Independent, 1, true }},
		{"negative probe", func(p *PipelineConfig) { p.Probe = -1 }},
		{"probe in an independent pipeline", func(p *PipelineConfig) { p.Manager, p.Probe = Independent, 2 }},
		{"probe_group without probe", func(p *PipelineConfig) { p.ProbeGroup = 3 }},
		{"negative probe_group", func(p *PipelineConfig) { p.Probe, p.ProbeGroup = 2, -1 }},
		{"clear_passes without retry_cleared", func(p *PipelineConfig) { p.ClearPasses = 2 }},
		{"negative clear_passes", func(p *PipelineConfig) { p.Retries, p.RetryCleared, p.ClearPasses = 1, true, -1 }},
		{"parallel_merges in an independent pipeline", func(p *PipelineConfig) { p.Manager, p.ParallelMerges = Independent, true }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := gateOnly()
			tc.p(&cfg.Pipelines[0])
			if _, err := New(cfg); err == nil {
				t.Fatal("New accepted an invalid pipeline")
			}
		})
	}
}

// Table tests of clear_passes: how many passed builds clear a change.
func TestClearPasses(t *testing.T) {
	cfg := retryCleared()
	cfg.Pipelines[0].ClearPasses = 2
	for _, tc := range []struct{ name, script string }{
		{"one passed build behind a change does not clear it: its failure counts at once", `
			change 1
			change 2
			approve 1
			- merge #1.1 gate [1,1]
			approve 2
			merge #1
			- build #1.1 gate [1,1]
			- merge #2.1 gate [1,1 2,1] on p=t0p
			merge #2
			- build #2.1 gate [1,1 2,1]
			pass #2
			cleared gate:
			fail #1
			- report gate 1,1 failure Verified-2
			- forget #1 gate
			- merge #2.2 gate [2,1]
		`},
		{"a second passed build clears it: its failure is retried, and the items behind keep their builds", `
			change 1
			change 2
			change 3
			approve 1
			- merge #1.1 gate [1,1]
			approve 2
			approve 3
			merge #1
			- build #1.1 gate [1,1]
			- merge #2.1 gate [1,1 2,1] on p=t0p
			merge #2
			- build #2.1 gate [1,1 2,1]
			- merge #3.1 gate [1,1 2,1 3,1] on p=t0p
			merge #3
			- build #3.1 gate [1,1 2,1 3,1]
			pass #3
			cleared gate:
			pass #2
			cleared gate: 1 2
			fail #1
			- build #1.2 gate [1,1]
			queue gate: 1 2:passed 3:passed
		`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			newHarness(t, cfg).run(tc.script)
		})
	}
	probed := probing()
	probed.Pipelines[0].RetryCleared, probed.Pipelines[0].ClearPasses = true, 2
	t.Run("a passed probe counts as one pass: the change is not probed again, and one more clears it", func(t *testing.T) {
		newHarness(t, probed).run(`
			change 1
			change 2
			change 3
			approve 1
			- merge #1.1 gate [1,1]
			approve 2
			- merge #2.1 gate [2,1]
			approve 3
			- merge #3.1 gate [3,1]
			merge #2
			- build #2.1 gate [2,1]
			pass #2
			cleared gate:
			queue gate: 1 2 3
			merge #1
			- build #1.1 gate [1,1]
			pass #1
			- report gate 1,1 success Verified+2
			- submit #1.1 gate 1,1 expect p=t0p
			submitted #1
			- forget #1 gate
			- merge #2.2 gate [2,1]
			merge #2
			- build #2.2 gate [2,1]
			pass #2
			- report gate 2,1 success Verified+2
			- submit #2.2 gate 2,1 expect p=t1
			cleared gate: 2
		`)
	})
}
