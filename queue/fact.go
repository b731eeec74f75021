package queue

import "time"

// Facts are what happened in the engine, for observers (the build
// history, metrics, the status page's estimates): unlike actions, nothing
// performs them. Engine.Ready hands out the facts since its last call, as
// raft's Ready hands out what to persist and send.
type Facts struct {
	Builds []BuildFinished
	Merged []ChangeMerged
	Resets []ItemReset
	// Verdicts answer administrators' requests, one per request.
	Verdicts []Verdict
}

// BuildFinished is the end of an item's current build, with what the
// history keeps of it. Answers for older attempts are stale and make no
// fact.
type BuildFinished struct {
	Pipeline string
	Item     ItemID
	Attempt  int
	Part     int // which of a bundle's builds (StartBuild.Part)
	// Change is the item's change (for a bundle's build, its change in the
	// project built); Changes the speculative state built, in merge order.
	Change  ChangeRef
	Changes []ChangeRef
	Subject string // the change's subject, for the history's readers
	// Ref is set when the item is not a change.
	Ref      *RefItem
	Result   Result
	Message  string
	Name     string // the build's name in the executor
	URL      string
	Links    []Link
	Started  time.Time // zero when the start was never seen
	Finished time.Time
}

// ChangeMerged is a change that the gate submitted and Gerrit merged.
type ChangeMerged struct {
	Pipeline   string
	Item       ItemID
	Change     ChangeRef
	EnqueuedAt time.Time
	MergedAt   time.Time
}

// ItemReset is a gate reset of one item: its speculative state became
// invalid, and it is built again on a new one.
type ItemReset struct {
	Pipeline string
	Item     ItemID
	Change   ChangeRef
}
