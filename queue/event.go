package queue

import (
	"fmt"
	"time"
)

// Event is an input to the engine: something happened in Gerrit, or a worker
// finished an action. String describes it for logs.
type Event interface {
	fmt.Stringer
	event()
}

// ChangeEvent reports that something happened to a change in Gerrit.
type ChangeEvent struct {
	// Type is the Gerrit event type (patchset-created, comment-added,
	// change-abandoned, change-restored, change-merged, vote-deleted,
	// wip-state-changed, topic-changed, ...) or "reconcile" for a periodic
	// re-query that found the change.
	Type string `json:"type"`
	// Change is the number of the change the event is about.
	Change int `json:"change"`
	// Approvals are the approvals the event carried (comment-added,
	// vote-deleted), used to match triggers.
	Approvals []Approval `json:"approvals,omitempty"`
	// Comment is the event's comment text.
	Comment string `json:"comment,omitempty"`
	// Author is the username of the account that caused the event.
	Author string `json:"author,omitempty"`
	// Changes are fresh snapshots of the change, of every change it needs
	// (transitively) and of the open changes that need it.
	Changes []Change `json:"changes"`
	// ReadAt is when the reading of these snapshots from Gerrit began
	// (zero: unknown). Reads overlap (events, reconciles) and a slow one
	// may arrive after a newer one: see Refresh.
	ReadAt time.Time `json:"read_at,omitzero"`
	// Seen is when gated first read the event's snapshots, when they were
	// read again since (see Refresh); zero: at ReadAt.
	Seen time.Time `json:"seen,omitzero"`
	// NewRev (change-merged) is the branch's tip after the merge: what a
	// merged change's item builds.
	NewRev string `json:"new_rev,omitempty"`
}

// Approval is one entry of an event's approvals.
type Approval struct {
	Label string `json:"label"`
	Value int    `json:"value"`
	// OldValue is the previous value when the event changed it.
	OldValue *int `json:"old_value,omitempty"`
}

// RefUpdated reports that a ref moved (Gerrit's ref-updated): a branch,
// a tag, any ref but a change's.
type RefUpdated struct {
	Project string `json:"project"`
	// Ref is the full ref name; empty means refs/heads/Branch.
	Ref string `json:"ref,omitempty"`
	// Branch is the short branch name when the ref is a branch.
	Branch string `json:"branch,omitempty"`
	OldRev string `json:"old_rev,omitempty"`
	NewRev string `json:"new_rev"`
}

// fullRef returns the full name of the updated ref.
func (ev RefUpdated) fullRef() string {
	if ev.Ref != "" {
		return ev.Ref
	}
	return "refs/heads/" + ev.Branch
}

// MergeCompleted is the merger's answer to a Merge action.
type MergeCompleted struct {
	Item    ItemID `json:"item"`
	Attempt int    `json:"attempt"`
	// Heads maps each project of the state to its speculative commit.
	Heads map[string]string `json:"heads,omitempty"`
	// Bases maps each project of the state to the branch commit the state
	// was built on.
	Bases map[string]string `json:"bases,omitempty"`
	// Conflict is set when the state cannot be built.
	Conflict *Conflict `json:"conflict,omitempty"`
	// Files (answers to Checkout) are the paths the ref update changed,
	// from its old commit to its new one; nil when unknown.
	Files []string `json:"files,omitempty"`
}

// Conflict says which change could not be applied, and why.
type Conflict struct {
	Change  int      `json:"change"`
	Files   []string `json:"files,omitempty"`
	Message string   `json:"message,omitempty"`
}

// BuildStarted reports that the build of an item is running. A start for
// an attempt that is no longer current (the item was reset or left while
// its build was being created) is answered with a CancelBuild, so no build
// runs for nothing.
type BuildStarted struct {
	Pipeline string `json:"pipeline"`
	Item     ItemID `json:"item"`
	Attempt  int    `json:"attempt"`
	// Part is which of a bundle's builds it is (StartBuild.Part).
	Part int    `json:"part,omitempty"`
	Name string `json:"name,omitempty"`
	URL  string `json:"url,omitempty"`
}

// Result is the outcome of a build.
type Result string

// Build results.
const (
	ResultSuccess Result = "success"
	ResultFailure Result = "failure"
	// ResultError is a build that could not run (infrastructure error).
	ResultError Result = "error"
	// ResultLost is a build that vanished without a result (its workflow
	// was deleted, the executor restarted): it runs again, and that does
	// not count as a try.
	ResultLost Result = "lost"
	// ResultConfigError is a workflow definition that is missing, invalid
	// or violates the policy: the change's own fault, never retried.
	ResultConfigError Result = "config-error"
)

// BuildCompleted reports that the build of an item finished.
type BuildCompleted struct {
	Pipeline string `json:"pipeline"`
	Item     ItemID `json:"item"`
	Attempt  int    `json:"attempt"`
	Part     int    `json:"part,omitempty"`
	Result   Result `json:"result"`
	// Message says what failed (the failing step and its message).
	Message string `json:"message,omitempty"`
	URL     string `json:"url,omitempty"`
	Links   []Link `json:"links,omitempty"`
}

// Link is a named URL shown with a result (artifacts, logs).
type Link struct {
	Name string `json:"name"`
	URL  string `json:"url"`
}

// SubmitCompleted is the reporter's answer to a Submit action.
type SubmitCompleted struct {
	Item    ItemID `json:"item"`
	Attempt int    `json:"attempt"`
	// Change is the change the Submit was for: a bundle is submitted one
	// change after another within one attempt.
	Change int `json:"change,omitempty"`
	// Merged is true when Gerrit merged the change (now or before).
	Merged bool `json:"merged"`
	// Stale is true when the submit was not attempted because a branch no
	// longer had the tree the item was built on: the item is rebuilt, not
	// failed.
	Stale bool `json:"stale,omitempty"`
	// Message is Gerrit's answer when it refused.
	Message string `json:"message,omitempty"`
	// Tips are the branch tips after the submit, per project.
	Tips map[string]string `json:"tips,omitempty"`
}

// BuildsListed is the executor's inventory when the daemon starts: every
// build it has, and the builds the daemon is about to start (actions
// decided before a restart). An item whose current build is not among them
// lost it (its workflow was deleted, or the executor died with the previous
// process): the build runs again, and that does not count as a try.
type BuildsListed struct {
	Builds []BuildRef `json:"builds"`
}

// BuildRef names one build: an attempt of an item in a pipeline (and for
// a bundle, which of its builds).
type BuildRef struct {
	Pipeline string `json:"pipeline"`
	Item     ItemID `json:"item"`
	Attempt  int    `json:"attempt"`
	Part     int    `json:"part,omitempty"`
}

// ServerInfo is what Gerrit says of its settings that the gate depends
// on (GET /config/server/info), read at start and by every reconcile.
type ServerInfo struct {
	// SubmitWholeTopic is change.submitWholeTopic: submitting a change
	// submits every open change of its topic, so those changes are one
	// dependency cycle, whatever their queue says.
	SubmitWholeTopic bool `json:"submit_whole_topic"`
}

func (ChangeEvent) event()     {}
func (Tick) event()            {}
func (Reconfigure) event()     {}
func (BranchTips) event()      {}
func (ServerInfo) event()      {}
func (RefUpdated) event()      {}
func (MergeCompleted) event()  {}
func (BuildStarted) event()    {}
func (BuildCompleted) event()  {}
func (SubmitCompleted) event() {}
func (BuildsListed) event()    {}

func (ev ChangeEvent) String() string {
	return fmt.Sprintf("%s on change %d (%d snapshots)", ev.Type, ev.Change, len(ev.Changes))
}

func (ev ServerInfo) String() string {
	return fmt.Sprintf("gerrit server info: submitWholeTopic=%v", ev.SubmitWholeTopic)
}

func (ev RefUpdated) String() string {
	return fmt.Sprintf("ref-updated %s %s → %s", ev.Project, ev.fullRef(), ev.NewRev)
}

func (ev MergeCompleted) String() string {
	if ev.Conflict != nil {
		return fmt.Sprintf("merge of item %d attempt %d: conflict", ev.Item, ev.Attempt)
	}
	return fmt.Sprintf("merge of item %d attempt %d: done", ev.Item, ev.Attempt)
}

func (ev BuildStarted) String() string {
	return fmt.Sprintf("build of item %d attempt %d started", ev.Item, ev.Attempt)
}

func (ev BuildCompleted) String() string {
	return fmt.Sprintf("build of item %d attempt %d: %s", ev.Item, ev.Attempt, ev.Result)
}

func (ev SubmitCompleted) String() string {
	return fmt.Sprintf("submit of item %d: merged=%v stale=%v", ev.Item, ev.Merged, ev.Stale)
}

func (ev BuildsListed) String() string {
	return fmt.Sprintf("%d builds listed by the executor", len(ev.Builds))
}
