package queue

import "fmt"

// Status is the state of a change in Gerrit.
type Status string

// Gerrit change statuses.
const (
	StatusNew       Status = "NEW"
	StatusMerged    Status = "MERGED"
	StatusAbandoned Status = "ABANDONED"
)

// Change is a snapshot of a Gerrit change, as fresh as the event that
// carried it. Gerrit is the source of truth; the engine keeps the latest
// snapshot of every change its items refer to.
type Change struct {
	Number   int    `json:"number"`
	Project  string `json:"project"`
	Branch   string `json:"branch"`
	ChangeID string `json:"change_id,omitempty"`
	Status   Status `json:"status"`
	WIP      bool   `json:"wip,omitempty"`
	Patchset int    `json:"patchset"`
	Revision string `json:"revision,omitempty"`
	Subject  string `json:"subject,omitempty"`
	Owner    string `json:"owner,omitempty"`
	URL      string `json:"url,omitempty"`
	// Topic is the change's topic: with Gerrit's change.submitWholeTopic
	// (or a queue's DependenciesByTopic) the open changes of a topic need
	// each other.
	Topic string `json:"topic,omitempty"`
	// Votes are the votes on the current patchset; zero votes are omitted.
	Votes []Vote `json:"votes,omitempty"`
	// Needs are the changes this change depends on: its relation-chain
	// parent (with the patchset its commit is based on) and its Depends-On
	// footers (Patchset 0: whatever is current).
	Needs []Need `json:"needs,omitempty"`
	// Files are the paths the current patchset changes (against its first
	// parent), for file matchers and trusted projects; nil when unknown.
	Files []string `json:"files,omitempty"`
}

// Vote is one reviewer's vote on one label.
type Vote struct {
	Label   string `json:"label"`
	Account string `json:"account"`
	Value   int    `json:"value"`
}

// Need names a change another change depends on.
type Need struct {
	Number int `json:"number"`
	// Patchset is the patchset required; 0 means the current one.
	Patchset int `json:"patchset,omitempty"`
}

// Open reports whether the change is neither merged nor abandoned.
func (c *Change) Open() bool { return c.Status == StatusNew }

// ChangeRef identifies one patchset of a change, with what the merger needs
// to apply it.
type ChangeRef struct {
	Project    string `json:"project"`
	Branch     string `json:"branch"`
	Number     int    `json:"number"`
	Patchset   int    `json:"patchset"`
	Revision   string `json:"revision,omitempty"`
	SubmitType string `json:"submit_type,omitempty"`
}

// String formats the ref as Gerrit users write it: "number,patchset".
func (r ChangeRef) String() string { return fmt.Sprintf("%d,%d", r.Number, r.Patchset) }
