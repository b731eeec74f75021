package queue

import (
	"fmt"
	"strings"
	"time"
)

// Action is an output of the engine: something a worker must do. Actions
// are idempotent by design, so the daemon may perform one again after a
// crash. String describes it for logs; kind names its type in the
// encoding (MarshalAction).
type Action interface {
	fmt.Stringer
	kind() string
}

// Merge asks the merger to build an item's speculative state: Changes
// applied in order onto the branch tips (or onto Bases where given), with
// Time as the timestamp of every commit created, so that a retry reproduces
// the same commits. The answer is a MergeCompleted event.
type Merge struct {
	Item     ItemID            `json:"item"`
	Attempt  int               `json:"attempt"`
	Pipeline string            `json:"pipeline"`
	Changes  []ChangeRef       `json:"changes"`
	Bases    map[string]string `json:"bases,omitempty"`
	Time     time.Time         `json:"time"`
}

// StartBuild asks the scheduler to build an item's speculative state (or
// a ref item's commit) with the workflow file Workflow read at commit
// WorkflowAt of the item's project. The answers are BuildStarted and
// BuildCompleted events.
type StartBuild struct {
	Item     ItemID `json:"item"`
	Attempt  int    `json:"attempt"`
	Pipeline string `json:"pipeline"`
	// Part tells a bundle's builds apart: one per project the bundle
	// touches, each with that project's workflow; 0 for other items.
	Part int `json:"part,omitempty"`
	// Change is the change whose project's workflow builds the state: the
	// item's change, or the bundle's first change in that project.
	Change   ChangeRef         `json:"change"`
	Changes  []ChangeRef       `json:"changes"`
	Heads    map[string]string `json:"heads"`
	Workflow string            `json:"workflow"`
	// WorkflowAt is the item's head, or, for a trusted project, the
	// branch commit the state was built on: a trusted project never runs
	// a workflow an unmerged change proposes.
	WorkflowAt string `json:"workflow_at"`
	Trusted    bool   `json:"trusted,omitempty"`
	// Ref is set when the item is not a change.
	Ref *RefItem `json:"ref,omitempty"`
}

// CancelBuild asks the scheduler to abort a build whose speculative state
// is no longer valid.
type CancelBuild struct {
	Item     ItemID `json:"item"`
	Attempt  int    `json:"attempt"`
	Pipeline string `json:"pipeline"`
	Part     int    `json:"part,omitempty"`
}

// ReportKind says why gated reports on a change.
type ReportKind string

// Report kinds.
const (
	ReportStart    ReportKind = "start"
	ReportSuccess  ReportKind = "success"
	ReportFailure  ReportKind = "failure"
	ReportDequeue  ReportKind = "dequeue"
	ReportRefusal  ReportKind = "refusal"
	ReportConflict ReportKind = "merge-conflict"
	// ReportSkipped: the pipeline builds nothing for these files.
	ReportSkipped ReportKind = "skipped"
	// ReportAdmin tells the change's owner what an administrator did to
	// it (enqueued, promoted); a dequeue is a ReportDequeue.
	ReportAdmin ReportKind = "admin"
)

// Report asks the reporter to vote and comment on a change.
type Report struct {
	Item     ItemID         `json:"item,omitempty"`
	Pipeline string         `json:"pipeline"`
	Change   ChangeRef      `json:"change"`
	Kind     ReportKind     `json:"kind"`
	Labels   map[string]int `json:"labels,omitempty"`
	Message  string         `json:"message"`
	URL      string         `json:"url,omitempty"`
	Links    []Link         `json:"links,omitempty"`
}

// Submit asks the reporter to submit a change in Gerrit, after checking that
// each project's branch tip still has the tree of the commit in Expect (the
// state the item was built on), so that the tree Gerrit produces is the tree
// that was tested. The answer is a SubmitCompleted event.
type Submit struct {
	Item     ItemID    `json:"item"`
	Attempt  int       `json:"attempt"`
	Pipeline string    `json:"pipeline"`
	Change   ChangeRef `json:"change"`
	// Together are the changes tested together with Change that are not
	// merged yet (Change first): what Gerrit submits with Change (its
	// ancestors, its topic with change.submitWholeTopic) must be among
	// them, or the submit would merge a change untested.
	Together []ChangeRef       `json:"together,omitempty"`
	Expect   map[string]string `json:"expect,omitempty"`
	// Labels are the votes the submit needs from gated (the success
	// report's): the reporter makes sure they are in place first, since a
	// late, out-of-order answer to an earlier review may have changed them.
	Labels map[string]int `json:"labels,omitempty"`
}

// Forget tells the workers that an item left its pipeline: its speculative
// refs and its workflows may go.
type Forget struct {
	Item     ItemID `json:"item"`
	Pipeline string `json:"pipeline"`
}

// Refresh asks for a change event to be read from Gerrit again: the engine
// already applied a snapshot of one of its changes that was read after
// this event's, so it will not decide on this one. The answer is the same
// event (its trigger kept) with fresh snapshots.
type Refresh struct {
	Event ChangeEvent `json:"event"`
}

func (Merge) kind() string        { return "merge" }
func (StartBuild) kind() string   { return "start-build" }
func (CancelBuild) kind() string  { return "cancel-build" }
func (Report) kind() string       { return "report" }
func (Submit) kind() string       { return "submit" }
func (Forget) kind() string       { return "forget" }
func (Refresh) kind() string      { return "refresh" }
func (Checkout) kind() string     { return "checkout" }
func (ListBranches) kind() string { return "list-branches" }

func (a Merge) String() string {
	return fmt.Sprintf("merge item %d attempt %d (%d changes)", a.Item, a.Attempt, len(a.Changes))
}

func (a StartBuild) String() string {
	return fmt.Sprintf("start build of item %d attempt %d (change %s)", a.Item, a.Attempt, a.Change)
}

func (a CancelBuild) String() string {
	return fmt.Sprintf("cancel build of item %d attempt %d", a.Item, a.Attempt)
}

func (a Report) String() string {
	first, _, _ := strings.Cut(a.Message, "\n")
	if len(first) > 160 {
		first = first[:160] + "…"
	}
	return fmt.Sprintf("report %s on change %s: %s", a.Kind, a.Change, first)
}

func (a Submit) String() string {
	return fmt.Sprintf("submit change %s (item %d)", a.Change, a.Item)
}

func (a Forget) String() string { return fmt.Sprintf("forget item %d", a.Item) }

func (a Refresh) String() string {
	return fmt.Sprintf("read %s of change %d again (a newer snapshot was applied)", a.Event.Type, a.Event.Change)
}
