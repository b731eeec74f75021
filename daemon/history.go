package daemon

import (
	"time"

	"gated.dev/gated/queue"
)

// BuildRecord is one finished build, kept in the history.
type BuildRecord struct {
	Pipeline string            `json:"pipeline"`
	Item     queue.ItemID      `json:"item"`
	Attempt  int               `json:"attempt"`
	Project  string            `json:"project"`
	Change   queue.ChangeRef   `json:"change"`
	Changes  []queue.ChangeRef `json:"changes"`
	Result   queue.Result      `json:"result"`
	Message  string            `json:"message,omitempty"`
	URL      string            `json:"url,omitempty"`
	Links    []queue.Link      `json:"links,omitempty"`
	Started  time.Time         `json:"started,omitzero"`
	Finished time.Time         `json:"finished"`
}

// buildRecord is the history's record of a build the engine saw finish.
func buildRecord(f queue.BuildFinished) BuildRecord {
	return BuildRecord{
		Pipeline: f.Pipeline, Item: f.Item, Attempt: f.Attempt, Project: f.Change.Project,
		Change: f.Change, Changes: f.Changes, Result: f.Result, Message: f.Message, URL: f.URL, Links: f.Links,
		Started: f.Started, Finished: f.Finished,
	}
}
