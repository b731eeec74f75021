package queue

import (
	"strconv"
	"time"
)

// ItemID identifies a queue item; ids are never reused.
type ItemID uint64

// String formats the id for names and logs.
func (id ItemID) String() string { return strconv.FormatUint(uint64(id), 10) }

// Phase is where an item is in its life.
type Phase string

// Item phases.
const (
	// PhaseWaiting: outside the window, or waiting for the state ahead.
	PhaseWaiting Phase = "waiting"
	// PhaseMerging: the merger is building the speculative state.
	PhaseMerging Phase = "merging"
	// PhaseBuilding: the build of the speculative state is running.
	PhaseBuilding Phase = "building"
	// PhasePassed: the build passed; waiting to reach the head.
	PhasePassed Phase = "passed"
	// PhaseFailed: the item failed; see Failure.
	PhaseFailed Phase = "failed"
	// PhaseSubmitting: at the head and passed; Gerrit is submitting it.
	PhaseSubmitting Phase = "submitting"
)

// FailureKind says why an item failed.
type FailureKind string

// Failure kinds.
const (
	FailBuild         FailureKind = "build-failed"
	FailMergeConflict FailureKind = "merge-conflict"
	FailConfig        FailureKind = "config-error"
	FailSubmit        FailureKind = "submit-refused"
	// FailCheckout: the commit of a ref item (or a merged change) could
	// not be had.
	FailCheckout FailureKind = "checkout-failed"
	// FailNeeds: a change this item needs is failing; the item waits for
	// its outcome without building.
	FailNeeds FailureKind = "needs-failing"
)

// Failure is why an item is failing.
type Failure struct {
	Kind    FailureKind `json:"kind"`
	Message string      `json:"message"`
}

// Build is what the engine knows of an item's current build.
type Build struct {
	Name    string    `json:"name,omitempty"`
	URL     string    `json:"url,omitempty"`
	Started time.Time `json:"started,omitzero"`
	Links   []Link    `json:"links,omitempty"`
	Message string    `json:"message,omitempty"`
	// Tries counts the builds of this attempt's state (retries of flaky
	// failures).
	Tries int `json:"tries,omitempty"`
}

// Part is one of a bundle's builds: its speculative state built with the
// workflow of one of the projects it touches.
type Part struct {
	// Change is the bundle's first change in that project.
	Change ChangeRef `json:"change"`
	Build  Build     `json:"build"`
	// Result is the build's result; empty while it runs.
	Result Result `json:"result,omitempty"`
}

// Item is one change in a pipeline, or one bundle of changes that form a
// dependency cycle.
type Item struct {
	ID ItemID `json:"id"`
	// Change is the item's change; a bundle's first change.
	Change ChangeRef `json:"change"`
	// Subject and Owner are the change's, as its snapshot at enqueue gave
	// them: for the people reading the status, never for decisions.
	Subject string `json:"subject,omitempty"`
	Owner   string `json:"owner,omitempty"`
	// Bundle are the changes of a dependency cycle that the item carries
	// as one, in merge order (Change first); empty for an item of one
	// change. See bundle.go.
	Bundle []ChangeRef `json:"bundle,omitempty"`
	// Submitted are the changes of the bundle that the item's submits
	// merged so far: a bundle is submitted one change after another, and
	// what is merged is no longer part of its speculative state.
	Submitted []int `json:"submitted,omitempty"`
	// Parts are the builds of a bundle's current attempt, one per project
	// it touches; Build then sums them up (tries, the decisive result).
	Parts []*Part `json:"parts,omitempty"`
	// Deps are changes merged ahead of Change in an independent pipeline
	// (Depends-On targets); dependent pipelines have them as items ahead.
	Deps []ChangeRef `json:"deps,omitempty"`
	// Ahead is the item whose speculative state this one builds on; 0 is
	// the branch tip. Ahead pointers form a tree: after a gate reset a
	// failing item and the items re-parented past it are siblings.
	Ahead      ItemID    `json:"ahead,omitempty"`
	EnqueuedAt time.Time `json:"enqueued_at"`
	// Attempt counts the speculative states this item was given; a gate
	// reset starts a new attempt. Results of older attempts are ignored.
	Attempt   int       `json:"attempt"`
	AttemptAt time.Time `json:"attempt_at"`
	Phase     Phase     `json:"phase"`
	// Bases and Heads are, per project, the branch commit the state was
	// built on and the speculative commit (set once merged).
	Bases map[string]string `json:"bases,omitempty"`
	Heads map[string]string `json:"heads,omitempty"`
	// Expect is, per project, the commit whose tree the branch must have
	// when this item is submitted: the state ahead of it.
	Expect map[string]string `json:"expect,omitempty"`
	// Needs are the changes this item's change depends on (dependent
	// pipelines): each is merged or ahead in the same queue.
	Needs   []Need   `json:"needs,omitempty"`
	Build   *Build   `json:"build,omitempty"`
	Failure *Failure `json:"failure,omitempty"`
	// Cleared is set once a build whose state included this item's change
	// passed (pipelines with retry_cleared), or its probe passed: the
	// change is not bad, whatever happens to its own build.
	Cleared bool `json:"cleared,omitempty"`
	// Passes counts the passed builds whose state included this item's
	// change, ahead of or as the item built (pipelines with
	// retry_cleared): PipelineConfig.ClearPasses of them clear it.
	Passes int `json:"passes,omitempty"`
	// Probe is set while the current attempt builds the change alone on
	// its branch tip (pipelines with probe), and stays set on the failure
	// of such a build: that failure is the change's own, and a failure
	// ahead does not void it.
	Probe bool `json:"probe,omitempty"`
	// ProbeWith are the other items whose changes this item's probe
	// builds with its own (PipelineConfig.ProbeGroup), in queue order.
	ProbeWith []ItemID `json:"probe_with,omitempty"`
	// Suspect is set once a group probe that included this item's change
	// failed: the item is probed alone next.
	Suspect bool `json:"suspect,omitempty"`
	// Resets counts gate resets that hit this item.
	Resets int `json:"resets,omitempty"`
	// Ref is set on an item that is not a change: a ref update, or a
	// project's branch a timer fired. Its Change is then the change whose
	// submit by gated moved the ref, if gated knows it (Number 0
	// otherwise), which its reports go to; Project and Branch are set.
	Ref *RefItem `json:"ref,omitempty"`
	// Merged is set on the item of a change that was merged when it
	// entered (change-merged triggers: promote).
	Merged bool `json:"merged,omitempty"`
	// Commit is what a ref item or a merged change's item builds, as it
	// is, with no speculative merge: the ref's new commit, the branch tip
	// a timer found, the tip a merge made; "" means the branch's tip when
	// checked out.
	Commit string `json:"commit,omitempty"`
	// EditsWorkflow is set when the item's change edits the workflow file
	// of a trusted project, whose builds run the branch's (its report
	// says that the edit is used once merged).
	EditsWorkflow bool `json:"edits_workflow,omitempty"`
}

// RefItem is what an item that is not a change is about.
type RefItem struct {
	// Ref is the full ref name: refs/heads/master, refs/tags/v1.0.
	Ref string `json:"ref"`
	// OldRev and NewRev are the ref update's commits (OldRev is empty or
	// zeros when the ref was created); both are empty for a timer.
	OldRev string `json:"old_rev,omitempty"`
	NewRev string `json:"new_rev,omitempty"`
	// Timer is set on a project's branch enqueued by a timer.
	Timer bool `json:"timer,omitempty"`
}

// checksOut reports whether an item builds a commit as it is (a ref
// item, a merged change) rather than a speculative merge.
func (it *Item) checksOut() bool { return it.Ref != nil || it.Merged }

// ChangeQueue is an ordered list of items sharing speculative states: the
// changes of one project (or of a named group of projects) on one branch.
type ChangeQueue struct {
	Name   string  `json:"name"`
	Window int     `json:"window"`
	Items  []*Item `json:"items"`
}

// PipelineState is the state of one pipeline.
type PipelineState struct {
	Name string `json:"name"`
	// Queues are ordered by name.
	Queues []*ChangeQueue `json:"queues"`
	// Refused remembers the last refusal reported per change, so a refusal
	// is reported once, not on every event.
	Refused map[int]string `json:"refused,omitempty"`
	// Held are the changes an administrator dequeued (dependent
	// pipelines), with what their owner was told: they stay out until
	// triggered anew or enqueued by an administrator, whatever gated's
	// reconcile finds. A change leaves Held when it closes.
	Held map[int]Hold `json:"held,omitempty"`
}

// Hold is an administrator's dequeue that keeps a change out of a
// dependent pipeline.
type Hold struct {
	// Reason is what the change's owner was told.
	Reason string `json:"reason"`
	// At is when the engine dequeued it: a trigger event gated saw before
	// then (a late copy, or one read again) does not end the hold.
	At time.Time `json:"at"`
}

// endedBy reports whether a trigger event ends the hold: an event gated
// first saw after the dequeue (or when: the engine's clock and the
// intake's are one), not a reconcile.
func (h Hold) endedBy(ev ChangeEvent) bool {
	seen := ev.Seen
	if seen.IsZero() {
		seen = ev.ReadAt
	}
	return ev.Type != "reconcile" && (seen.IsZero() || !seen.Before(h.At))
}

// BranchState is what the engine knows of a branch.
type BranchState struct {
	// Tip is the last known commit of the branch.
	Tip string `json:"tip"`
	// By is the change whose submit by gated made Tip, if it did.
	By *ChangeRef `json:"by,omitempty"`
}

// State is the engine's whole state. It is a plain value: MarshalState and
// Restore round-trip it exactly.
type State struct {
	NextItem  ItemID                  `json:"next_item"`
	Pipelines []*PipelineState        `json:"pipelines"`
	Branches  map[string]*BranchState `json:"branches,omitempty"`
	// Timers holds, per timer (pipeline and schedule), when it fires
	// next: kept with the state, so that a restart neither loses nor
	// repeats a firing.
	Timers map[string]time.Time `json:"timers,omitempty"`
	// SubmitWholeTopic is Gerrit's change.submitWholeTopic, as last read
	// (ServerInfo).
	SubmitWholeTopic bool `json:"submit_whole_topic,omitempty"`
}

// branchKey names a project's branch in State.Branches.
func branchKey(project, branch string) string { return project + "\x00" + branch }
