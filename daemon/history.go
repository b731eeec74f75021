package daemon

import (
	"time"

	"gated.dev/gated/queue"
)

// BuildRecord is one finished build, kept in the history for the status page
// and for time estimates.
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

// buildRecord returns the record of a build the event finishes, if it is the
// current build of a live item (answers for older attempts are ignored by
// the engine, and not recorded either).
func buildRecord(eng *queue.Engine, now time.Time, ev queue.Event) (BuildRecord, bool) {
	bc, ok := ev.(queue.BuildCompleted)
	if !ok {
		return BuildRecord{}, false
	}
	it, pipeline, ok := eng.Item(bc.Item)
	if !ok || it.Attempt != bc.Attempt || it.Phase != queue.PhaseBuilding {
		return BuildRecord{}, false
	}
	rec := BuildRecord{
		Pipeline: pipeline, Item: it.ID, Attempt: it.Attempt, Project: it.Change.Project,
		Change: it.Change, Changes: eng.Chain(it.ID), Result: bc.Result, Message: bc.Message, URL: bc.URL, Links: bc.Links,
		Finished: now,
	}
	if it.Build != nil {
		rec.Started = it.Build.Started
		if rec.URL == "" {
			rec.URL = it.Build.URL
		}
	}
	return rec, true
}
