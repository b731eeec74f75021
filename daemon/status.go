package daemon

import (
	"encoding/json"
	"fmt"
	"net/url"
	"sync"
	"time"

	"gated.dev/gated/queue"
)

// Status is what the status page and /api/status show: every pipeline and
// queue, items in order with their speculative state.
type Status struct {
	Generated time.Time        `json:"generated"`
	Pipelines []PipelineStatus `json:"pipelines"`
	// ConfigError is why the configuration file was refused when it was
	// last reloaded: the running configuration stays until it is fixed.
	ConfigError string `json:"config_error,omitempty"`
	// ForecastAt is when the state the forecasts (ItemStatus.ExpectedMerge)
	// ran on was taken: they run off the gate loop, at most once a second.
	ForecastAt *time.Time `json:"forecast_at,omitempty"`
}

// PipelineStatus is one pipeline.
type PipelineStatus struct {
	Name    string        `json:"name"`
	Manager queue.Manager `json:"manager"`
	Queues  []QueueStatus `json:"queues"`
}

// QueueStatus is one change queue.
type QueueStatus struct {
	Name string `json:"name"`
	// Window is the active window (0: unlimited); only the first Window
	// items are merged and built.
	Window int          `json:"window"`
	Items  []ItemStatus `json:"items"`
}

// ItemStatus is one queue item.
type ItemStatus struct {
	ID queue.ItemID `json:"id"`
	// Change is the item's change; for an item that is not a change (Ref
	// set), the change whose submit moved the ref (number 0 if none).
	Change queue.ChangeRef `json:"change"`
	// Subject and Owner are the change's, as Gerrit gave them.
	Subject string `json:"subject,omitempty"`
	Owner   string `json:"owner,omitempty"`
	// Ref and Commit say what an item that is not a change builds: a ref
	// update, or a branch a timer enqueued.
	Ref    *queue.RefItem `json:"ref,omitempty"`
	Commit string         `json:"commit,omitempty"`
	// ChangeURL links to the change in Gerrit; gated's own page of the
	// change is change/<number>, relative to gated's URL.
	ChangeURL string `json:"change_url"`
	// Ahead is the item whose state this one builds on (0: the branch tip).
	Ahead queue.ItemID `json:"ahead,omitempty"`
	// Active is true inside the window.
	Active bool        `json:"active"`
	Phase  queue.Phase `json:"phase"`
	// State is the speculative state: the changes merged, in order; empty
	// for an item waiting outside the window, which has none yet.
	State []queue.ChangeRef `json:"state"`
	// Bundle are the changes of a dependency cycle the item carries as
	// one (Change first), and Merged those its submits merged so far;
	// Parts its builds, one per project it touches.
	Bundle []queue.ChangeRef `json:"bundle,omitempty"`
	Merged []int             `json:"merged,omitempty"`
	Parts  []BuildStatus     `json:"parts,omitempty"`
	// Probe is set while the state is a probe: the item's change (with
	// those of its group) built on the branch tip, never submitted.
	// Cleared is set once a passed build included the change.
	Probe      bool      `json:"probe,omitempty"`
	Cleared    bool      `json:"cleared,omitempty"`
	Attempt    int       `json:"attempt"`
	Resets     int       `json:"resets,omitempty"`
	EnqueuedAt time.Time `json:"enqueued_at"`
	// Waiting is how long the item has been in the pipeline, in seconds.
	Waiting float64 `json:"waiting_seconds"`
	// ExpectedMerge is when the change is expected to merge (dependent
	// pipelines): the queue run forward over the estimated durations of
	// builds, merges and submits, all passing. Absent when it will not
	// merge, or when a build it waits on has no estimate yet.
	ExpectedMerge *time.Time `json:"expected_merge,omitempty"`
	// ExpectedIn is ExpectedMerge - Generated, in seconds.
	ExpectedIn float64      `json:"expected_merge_in_seconds,omitempty"`
	Build      *BuildStatus `json:"build,omitempty"`
	// Failure says why the item is failing.
	Failure *queue.Failure `json:"failure,omitempty"`
	// Note is a transient problem a worker is retrying (Gerrit or
	// Kubernetes unavailable, ...).
	Note string `json:"note,omitempty"`
}

// BuildStatus is an item's current build.
type BuildStatus struct {
	Name string `json:"name,omitempty"`
	// URL is the build's page in the Argo UI, where one is configured;
	// gated's own page of the build is Page, relative to gated's URL.
	URL     string    `json:"url,omitempty"`
	Page    string    `json:"page,omitempty"`
	Started time.Time `json:"started,omitzero"`
	Elapsed float64   `json:"elapsed_seconds,omitempty"`
	// Estimate is the expected duration from recent successful builds of
	// the project in the pipeline, in seconds (0: unknown).
	Estimate float64      `json:"estimate_seconds,omitempty"`
	Links    []queue.Link `json:"links,omitempty"`
	Message  string       `json:"message,omitempty"`
	// Project and Result are those of one of a bundle's builds (Parts).
	Project string       `json:"project,omitempty"`
	Result  queue.Result `json:"result,omitempty"`
}

// snapshot renders the engine's state. It runs on the loop goroutine.
func snapshot(eng *queue.Engine, now time.Time, gerritURL string, est *queue.Estimates, forecast forecastRun, notes map[queue.ItemID]string) Status {
	cfg := eng.Config()
	managers := map[string]queue.Manager{}
	for _, p := range cfg.Pipelines {
		managers[p.Name] = p.Manager
	}
	st := Status{Generated: now}
	if !forecast.at.IsZero() {
		st.ForecastAt = &forecast.at
	}
	for _, p := range eng.State().Pipelines {
		ps := PipelineStatus{Name: p.Name, Manager: managers[p.Name], Queues: make([]QueueStatus, 0, len(p.Queues))}
		for _, q := range p.Queues {
			if len(q.Items) == 0 && managers[p.Name] != queue.Dependent {
				continue
			}
			qs := QueueStatus{Name: q.Name, Window: q.Window, Items: make([]ItemStatus, 0, len(q.Items))}
			for i, it := range q.Items {
				active := managers[p.Name] == queue.Independent || q.Window == 0 || i < q.Window
				is := ItemStatus{
					ID: it.ID, Change: it.Change, Subject: it.Subject, Owner: it.Owner, ChangeURL: changeURL(gerritURL, it.Change), Ref: it.Ref, Commit: it.Commit,
					Ahead: it.Ahead, Active: active, Phase: it.Phase, Attempt: it.Attempt, Resets: it.Resets,
					EnqueuedAt: it.EnqueuedAt, Waiting: now.Sub(it.EnqueuedAt).Seconds(),
					Failure: it.Failure, Note: notes[it.ID], Probe: it.Probe, Cleared: it.Cleared,
				}
				if active || it.Phase != queue.PhaseWaiting {
					// Outside the window an item has no state yet (and
					// listing the planned one is quadratic in the queue).
					is.State = eng.Chain(it.ID)
				}
				if at, ok := forecast.merges[it.ID]; ok {
					is.ExpectedMerge, is.ExpectedIn = &at, max(at.Sub(now).Seconds(), 0)
				}
				is.Bundle, is.Merged = it.Bundle, it.Submitted
				for _, pt := range it.Parts {
					is.Parts = append(is.Parts, BuildStatus{Name: pt.Build.Name, URL: pt.Build.URL, Started: pt.Build.Started,
						Links: pt.Build.Links, Message: pt.Build.Message, Project: pt.Change.Project, Result: pt.Result})
				}
				if b := it.Build; b != nil {
					estimate, _ := est.Build(p.Name, it.Change.Project)
					bs := &BuildStatus{Name: b.Name, URL: b.URL, Started: b.Started, Links: b.Links, Message: b.Message,
						Estimate: estimate.Seconds()}
					if b.Name != "" {
						bs.Page = "build/" + url.PathEscape(b.Name)
					}
					if !b.Started.IsZero() && it.Phase == queue.PhaseBuilding {
						bs.Elapsed = now.Sub(b.Started).Seconds()
					}
					is.Build = bs
				}
				qs.Items = append(qs.Items, is)
			}
			ps.Queues = append(ps.Queues, qs)
		}
		st.Pipelines = append(st.Pipelines, ps)
	}
	return st
}

// changeURL is the change's page in Gerrit.
func changeURL(gerritURL string, c queue.ChangeRef) string {
	if gerritURL == "" || c.Number == 0 {
		return ""
	}
	return fmt.Sprintf("%s/c/%s/+/%d", gerritURL, url.PathEscape(c.Project), c.Number)
}

// hub publishes status snapshots to the HTTP handlers: the latest one, and
// a signal to the live-update streams when it changes. A snapshot's JSON is
// made by the first handler that asks for it, once per snapshot: encoding
// a long queue takes longer than rendering it, and the gate's goroutine,
// which publishes, does not wait for it.
type hub struct {
	mu      sync.Mutex
	snap    *published
	version uint64
	changed chan struct{} // closed and replaced on every publish
}

// published is a snapshot and its JSON, made once.
type published struct {
	status Status
	once   sync.Once
	data   []byte
}

func (p *published) json() []byte {
	p.once.Do(func() {
		data, err := json.Marshal(p.status)
		if err != nil { // a Status always encodes; say so if it does not
			data, _ = json.Marshal(map[string]string{"error": "status: " + err.Error()})
		}
		p.data = data
	})
	return p.data
}

func newHub() *hub {
	empty := &published{}
	empty.once.Do(func() { empty.data = []byte(`{"pipelines":[]}`) })
	return &hub{changed: make(chan struct{}), snap: empty}
}

func (h *hub) publish(st Status) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.snap = &published{status: st}
	h.version++
	close(h.changed)
	h.changed = make(chan struct{})
}

// latest returns the latest snapshot, its JSON (made when called), its
// version and a channel closed when a newer one is published.
func (h *hub) latest() (Status, func() []byte, uint64, <-chan struct{}) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.snap.status, h.snap.json, h.version, h.changed
}
