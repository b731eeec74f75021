package daemon

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/url"
	"time"

	"gated.dev/gated/queue"
	"gated.dev/gated/scheduler"
	"gated.dev/gated/storage"
)

// BuildRecord is one finished build, as the history keeps it and as
// /api/builds serves it.
type BuildRecord struct {
	// ID is the build's place in the history (a cursor: /api/builds?before=ID
	// lists the builds before it).
	ID       string       `json:"id,omitempty"`
	Pipeline string       `json:"pipeline"`
	Project  string       `json:"project"`
	Branch   string       `json:"branch"`
	Change   int          `json:"change"`
	Patchset int          `json:"patchset"`
	Subject  string       `json:"subject,omitempty"`
	Item     queue.ItemID `json:"item"`
	Attempt  int          `json:"attempt"`
	// Changes are the speculative state built, in merge order (the item's
	// own change last).
	Changes []queue.ChangeRef `json:"changes"`
	Result  queue.Result      `json:"result"`
	Message string            `json:"message,omitempty"`
	// Started is null when the build's start was never seen (it failed
	// before it ran, or ran while gated was down).
	Started  *time.Time `json:"started"`
	Finished time.Time  `json:"finished"`
	// Duration is Finished - Started in seconds, null without Started.
	Duration *float64 `json:"duration_seconds"`
	// Workflow is the build's name in the executor (the Argo Workflow).
	Workflow string `json:"workflow"`
	// URL is the build's page: in the Argo UI (ArgoURL) where one is
	// configured, else gated's own (Page). Set when served, not stored.
	URL     string `json:"url,omitempty"`
	Page    string `json:"page,omitempty"`
	ArgoURL string `json:"argo_url,omitempty"`
	// Artifacts link to what the build stored.
	Artifacts []queue.Link `json:"artifacts,omitempty"`
	// Ref is set when the build was not a change's: a ref update, or a
	// branch a timer enqueued (Change is then the change whose submit
	// moved the ref, or 0).
	Ref *queue.RefItem `json:"ref,omitempty"`
}

// buildRecord is the history's record of a build the engine saw finish.
func buildRecord(f queue.BuildFinished) BuildRecord {
	r := BuildRecord{
		Pipeline: f.Pipeline, Project: f.Change.Project, Branch: f.Change.Branch, Change: f.Change.Number, Patchset: f.Change.Patchset,
		Subject: f.Subject, Item: f.Item, Attempt: f.Attempt, Changes: f.Changes, Ref: f.Ref, Result: f.Result, Message: f.Message,
		Finished: f.Finished, Workflow: f.Name, ArgoURL: f.URL, Artifacts: f.Links,
	}
	if r.Workflow == "" { // the build never started: name it as it would have been
		r.Workflow = scheduler.BuildName(f.Pipeline, f.Item.String(), f.Attempt, f.Part)
	}
	if !f.Started.IsZero() {
		started := f.Started
		d := f.Finished.Sub(f.Started).Seconds()
		r.Started, r.Duration = &started, &d
	}
	return r
}

// storageBuild is how the history stores a record: the fields it is found
// by, and the record.
func storageBuild(r BuildRecord) (storage.Build, error) {
	data, err := json.Marshal(r)
	if err != nil {
		return storage.Build{}, fmt.Errorf("encode build record: %w", err)
	}
	return storage.Build{Pipeline: r.Pipeline, Project: r.Project, Change: r.Change, Result: string(r.Result), Name: r.Workflow, Data: data}, nil
}

// decodeBuild reads a stored build, and links it: URL is the Argo UI's
// page where there is one, else gated's own page, which publicURL makes
// absolute.
func decodeBuild(b storage.Build, publicURL string) (BuildRecord, error) {
	var r BuildRecord
	if err := r.unmarshal(b.Data); err != nil {
		return BuildRecord{}, fmt.Errorf("build %s: %w", b.ID, err)
	}
	r.ID = b.ID
	if r.Workflow != "" {
		r.Page = publicURL + "/build/" + url.PathEscape(r.Workflow)
	}
	r.URL = r.ArgoURL
	if r.URL == "" {
		r.URL = r.Page
	}
	return r, nil
}

// unmarshal decodes a record, also as the first gated wrote them (the
// change as an object, the executor's link as url, artifacts as links).
func (r *BuildRecord) unmarshal(data []byte) error {
	type plain BuildRecord
	var rec struct {
		plain
		Change json.RawMessage `json:"change"`
		Links  []queue.Link    `json:"links"`
	}
	if err := json.Unmarshal(data, &rec); err != nil {
		return err
	}
	*r = BuildRecord(rec.plain)
	if bytes.HasPrefix(bytes.TrimSpace(rec.Change), []byte("{")) {
		var c queue.ChangeRef
		if err := json.Unmarshal(rec.Change, &c); err != nil {
			return fmt.Errorf("change: %w", err)
		}
		r.Change, r.Patchset, r.Branch = c.Number, c.Patchset, c.Branch
		r.ArgoURL, r.URL, r.Artifacts = r.URL, "", rec.Links
		if r.Started != nil && r.Started.IsZero() {
			r.Started = nil
		}
		if r.Started != nil {
			d := r.Finished.Sub(*r.Started).Seconds()
			r.Duration = &d
		}
		return nil
	}
	if len(rec.Change) > 0 {
		if err := json.Unmarshal(rec.Change, &r.Change); err != nil {
			return fmt.Errorf("change: %w", err)
		}
	}
	return nil
}

// learnedBuilds is how many of the newest successful builds teach the
// estimates at start.
const learnedBuilds = 2000

// learnHistory feeds est the newest successful builds of the history,
// oldest first: the estimates survive restarts. It returns how many
// builds it read.
func learnHistory(db *storage.DB, est *queue.Estimates) (int, error) {
	var builds []BuildRecord
	q := storage.HistoryQuery{Result: string(queue.ResultSuccess), Limit: 500}
	for len(builds) < learnedBuilds {
		page, err := db.History(q)
		if err != nil {
			return 0, err
		}
		for _, b := range page.Builds {
			r, err := decodeBuild(b, "")
			if err != nil {
				continue // an unreadable record teaches nothing; /builds shows the error
			}
			builds = append(builds, r)
		}
		if page.Next == "" {
			break
		}
		q.Before = page.Next
	}
	for i := len(builds) - 1; i >= 0; i-- {
		r := builds[i]
		f := queue.BuildFinished{Pipeline: r.Pipeline, Change: queue.ChangeRef{Project: r.Project}, Result: r.Result, Finished: r.Finished}
		if r.Started != nil {
			f.Started = *r.Started
		}
		est.ObserveBuild(f)
	}
	return len(builds), nil
}
