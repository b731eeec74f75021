// Package queue is the gate's decision core: the model (changes, items,
// change queues, pipelines) and the algorithm of Zuul's independent and
// dependent pipeline managers — enqueue with dependency resolution,
// speculative chains, the active window, gate resets onto the nearest
// non-failing item, dequeue rules and reporting decisions.
//
// The package is pure: Engine.Apply(now, event) mutates an in-memory state
// and returns the actions to perform (merge, build, cancel, report, submit,
// forget). It never reads a clock, a socket or a disk, starts no goroutine,
// and given the same configuration, state and events it returns the same
// actions. The state round-trips through MarshalState/Restore bit for bit,
// so the daemon can persist it in bbolt after every transition and the
// throughput simulator can reuse the engine unchanged on a virtual clock.
//
// The rules, and where they differ from Zuul, are documented in rules.md.
package queue
