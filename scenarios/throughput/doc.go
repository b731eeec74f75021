// Package throughput is the throughput simulator of the gate: it drives the
// real queue engine (queue.New, Engine.Apply, unchanged) on a virtual clock
// against a modelled world — changes approved at random (a Poisson
// process), some of them bad (a build of a tree that contains one fails
// with the catch probability; one that merges is reverted at once), some
// conflicting with the change approved just before them, builds of
// log-normal duration that sometimes fail for no reason (flaky), owners who
// recheck a wrongly rejected change through the check pipeline, and a build
// cluster of limited capacity that queues the builds beyond it in FIFO
// order — and measures what each queueing strategy costs: changes merged
// per hour, approval-to-merge latency, builds per merged change (check
// builds included), gate resets, good changes wrongly rejected, bad changes
// merged, and whether the backlog keeps growing (saturation).
//
// The world checks the engine's promise on its own at every submit: the
// build of the submitted attempt passed, and the branch with the change is
// exactly the tree that build tested.
//
// Two measures are the world's, not the engine's: hedges (Hedge), builds of
// a state without an undecided item ahead that the executor starts and
// hands over when that item fails, to measure what speculating both ways
// would buy before it is built into the engine; and what delayed each late
// change (Result.Late).
//
// Runs are deterministic: a seed fixes the workload, and every build's
// duration and outcome are drawn from the seed and the exact tree built
// (common random numbers), so that strategies compared on one seed see the
// same changes and, where they build the same trees, the same builds. The
// command scenarios/sim renders the comparison as a markdown table, SVG
// plots, or JSON.
package throughput
