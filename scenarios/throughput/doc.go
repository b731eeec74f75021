// Package throughput is the throughput simulator of the gate: it drives the
// real queue engine (queue.New, Engine.Apply, unchanged) on a virtual clock
// against a modelled world — changes approved at random (a Poisson
// process), some of them bad (they break every build that contains them),
// some conflicting with the change approved just before them, builds of
// log-normal duration that sometimes fail for no reason (flaky), and a build
// cluster of limited capacity that queues the builds beyond it in FIFO
// order — and measures what each queueing strategy costs: changes merged
// per hour, approval-to-merge latency, builds per merged change, gate
// resets, good changes wrongly rejected and bad changes merged.
//
// Runs are deterministic: a seed fixes the workload, and every build's
// duration and flaky outcome are drawn from the seed and the exact state
// built (common random numbers), so that strategies compared on one seed
// see the same changes and, where they build the same states, the same
// builds. The command scenarios/sim renders the comparison as a markdown
// table and SVG plots.
package throughput
