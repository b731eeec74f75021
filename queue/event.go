package queue

// Event is an input to the engine: something happened in Gerrit, or a worker
// finished an action.
type Event interface{ event() }

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
}

// Approval is one entry of an event's approvals.
type Approval struct {
	Label string `json:"label"`
	Value int    `json:"value"`
	// OldValue is the previous value when the event changed it.
	OldValue *int `json:"old_value,omitempty"`
}

// RefUpdated reports that a branch moved (Gerrit's ref-updated).
type RefUpdated struct {
	Project string `json:"project"`
	Branch  string `json:"branch"` // without refs/heads/
	OldRev  string `json:"old_rev,omitempty"`
	NewRev  string `json:"new_rev"`
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
}

// Conflict says which change could not be applied, and why.
type Conflict struct {
	Change  int      `json:"change"`
	Files   []string `json:"files,omitempty"`
	Message string   `json:"message,omitempty"`
}

// BuildStarted reports that the build of an item is running.
type BuildStarted struct {
	Item    ItemID `json:"item"`
	Attempt int    `json:"attempt"`
	Name    string `json:"name,omitempty"`
	URL     string `json:"url,omitempty"`
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
	Item    ItemID `json:"item"`
	Attempt int    `json:"attempt"`
	Result  Result `json:"result"`
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

// Dequeue is an administrator's request to remove a change from a pipeline.
type Dequeue struct {
	Pipeline string `json:"pipeline"`
	Change   int    `json:"change"`
	Reason   string `json:"reason,omitempty"`
}

func (ChangeEvent) event()     {}
func (RefUpdated) event()      {}
func (MergeCompleted) event()  {}
func (BuildStarted) event()    {}
func (BuildCompleted) event()  {}
func (SubmitCompleted) event() {}
func (Dequeue) event()         {}
