package gerrit

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"strings"
)

// Event is one Gerrit event as stream-events and the webhooks plugin send
// it, normalized: numbers are ints whatever their JSON form, the project is a
// plain name, and the account that caused the event is in Actor whichever
// field Gerrit put it in.
type Event struct {
	// Type is Gerrit's event type: patchset-created, comment-added, ...
	Type string `json:"type"`
	// CreatedOn is eventCreatedOn, in seconds since the epoch.
	CreatedOn int64 `json:"created_on,omitempty"`
	// Project is the project the event concerns.
	Project string `json:"project,omitempty"`
	// RefName is the full target branch of a change event.
	RefName  string         `json:"ref_name,omitempty"`
	Change   *EventChange   `json:"change,omitempty"`
	PatchSet *EventPatchSet `json:"patch_set,omitempty"`
	// Actor is the account that caused the event: the author of a
	// comment, the uploader, submitter, abandoner, restorer, changer,
	// remover, deleter, editor or adder.
	Actor *Account `json:"actor,omitempty"`
	// Reviewer is the account whose vote was deleted (vote-deleted) or who
	// was added or removed as a reviewer.
	Reviewer *Account `json:"reviewer,omitempty"`
	// Approvals are the votes of a comment-added or vote-deleted event:
	// one entry per label of the project, with OldValue set only on the
	// labels this event changed.
	Approvals []Approval `json:"approvals,omitempty"`
	Comment   string     `json:"comment,omitempty"`
	Reason    string     `json:"reason,omitempty"`
	OldTopic  string     `json:"old_topic,omitempty"`
	// NewRev is the branch tip after a change-merged.
	NewRev    string     `json:"new_rev,omitempty"`
	RefUpdate *RefUpdate `json:"ref_update,omitempty"`
}

// EventChange is the change attribute of an event.
type EventChange struct {
	Number  int    `json:"number"`
	Project string `json:"project,omitempty"`
	Branch  string `json:"branch,omitempty"`
	Topic   string `json:"topic,omitempty"`
	// ID is the Change-Id.
	ID            string   `json:"id,omitempty"`
	Subject       string   `json:"subject,omitempty"`
	Owner         *Account `json:"owner,omitempty"`
	URL           string   `json:"url,omitempty"`
	CommitMessage string   `json:"commit_message,omitempty"`
	Status        Status   `json:"status,omitempty"`
	WIP           bool     `json:"wip,omitempty"`
	Private       bool     `json:"private,omitempty"`
	Hashtags      []string `json:"hashtags,omitempty"`
}

// EventPatchSet is the patchSet attribute of an event.
type EventPatchSet struct {
	Number   int      `json:"number"`
	Revision string   `json:"revision,omitempty"`
	Parents  []string `json:"parents,omitempty"`
	Ref      string   `json:"ref,omitempty"`
	Uploader *Account `json:"uploader,omitempty"`
	Author   *Account `json:"author,omitempty"`
	// Kind is REWORK, TRIVIAL_REBASE, MERGE_FIRST_PARENT_UPDATE,
	// NO_CODE_CHANGE or NO_CHANGE.
	Kind string `json:"kind,omitempty"`
}

// Approval is one entry of an event's approvals.
type Approval struct {
	// Type is the label name; Description repeats it (Zuul matches on
	// Description).
	Type        string `json:"type"`
	Description string `json:"description,omitempty"`
	Value       int    `json:"value"`
	// OldValue is the value before the event, present only when the event
	// changed this label.
	OldValue *int `json:"old_value,omitempty"`
}

// Label is the name of the approval's label.
func (a Approval) Label() string {
	if a.Description != "" {
		return a.Description
	}
	return a.Type
}

// Changed reports whether the event changed this vote.
func (a Approval) Changed() bool { return a.OldValue != nil && *a.OldValue != a.Value }

// RefUpdate is the refUpdate attribute of ref-updated.
type RefUpdate struct {
	Project string `json:"project,omitempty"`
	RefName string `json:"ref_name"`
	OldRev  string `json:"old_rev,omitempty"`
	NewRev  string `json:"new_rev,omitempty"`
}

// Branch is the short branch name of the updated ref, or "" when the ref is
// not a branch (tags, refs/changes/..., refs/meta/config).
func (r RefUpdate) Branch() string {
	if b, ok := strings.CutPrefix(r.RefName, "refs/heads/"); ok {
		return b
	}
	if strings.HasPrefix(r.RefName, "refs/") {
		return ""
	}
	// Gerrit before 2.13 sent bare branch names.
	return r.RefName
}

// ZeroRev is the revision of a ref that does not exist: an OldRev of a
// created ref, a NewRev of a deleted one.
const ZeroRev = "0000000000000000000000000000000000000000"

// ID is a content hash of the event, stable across transports (the same
// event read from stream-events and from a webhook has the same ID) and used
// to drop events that arrive twice. Two events that agree in every field,
// including the second they were created, are one event.
func (e Event) ID() string {
	// Event holds only strings, numbers, bools, pointers and slices of
	// them: marshalling cannot fail.
	b, _ := json.Marshal(e)
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:16])
}

// ChangeNumber is the number of the change the event concerns, or 0.
func (e Event) ChangeNumber() int {
	if e.Change == nil {
		return 0
	}
	return e.Change.Number
}

// Branch is the branch the event concerns (short name), or "".
func (e Event) Branch() string {
	switch {
	case e.Change != nil && e.Change.Branch != "":
		return e.Change.Branch
	case e.RefUpdate != nil:
		return e.RefUpdate.Branch()
	}
	return strings.TrimPrefix(e.RefName, "refs/heads/")
}

// Relevant reports whether a gate may care about the event. Like Zuul, it
// drops the ref-updated events of NoteDb and patchset refs
// (refs/changes/...), which Gerrit sends on every change mutation, and the
// replication plugin's and cache events.
func (e Event) Relevant() bool {
	switch e.Type {
	case "", "cache-eviction", "fetch-ref-replicated", "fetch-ref-replication-scheduled",
		"ref-replicated", "ref-replication-scheduled", "ref-replication-done":
		return false
	case "ref-updated":
		return e.RefUpdate != nil && !strings.HasPrefix(e.RefUpdate.RefName, "refs/changes/")
	}
	return true
}
