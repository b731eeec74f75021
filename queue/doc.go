// Package queue is the gate's decision core: the model (changes, items,
// change queues, pipelines) and the algorithm of Zuul's independent,
// dependent and supercedent pipeline managers — enqueue with dependency
// resolution, dependency cycles as bundles, speculative chains, the active
// window, gate resets onto the nearest non-failing item, dequeue rules,
// reporting decisions, what to do about builds that outlived their state or
// vanished — and of the items that are not changes (ref updates, timers on
// the engine's clock), file matchers, which workflow each build runs,
// reconfiguration, and administrators' dequeue, enqueue and promote.
//
// The package is pure: Engine.Apply(now, event) mutates an in-memory state
// and returns the actions to perform (merge, build, cancel, report, submit,
// forget). It never reads a clock, a socket or a disk, starts no goroutine,
// and given the same configuration, state and events it returns the same
// actions. Engine.Ready then hands its owner, as raft's Ready does, what to
// persist (the encoded parts of the state that changed; RestoreParts reads
// them back) and what to observe (facts: a build finished, a change
// merged, an item was reset, the verdict on an administrator's request),
// so the daemon records history and metrics and answers administrators
// without deciding anything itself. Engine.Explain says where a change
// stands, or why it is not in a pipeline, in the words of the refusal
// comments. The throughput simulator reuses the engine unchanged on a
// virtual clock, and so does Engine.Forecaster: a copy of the state run
// forward over Estimates (learnt from the facts), every action answered as
// a success, says when each item is expected to merge.
//
// The rules, and where they differ from Zuul, are documented in rules.md.
package queue
