package daemon

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"time"

	"gated.dev/gated/gerrit"
	"gated.dev/gated/queue"
)

// serverInfo is what the intake knows of Gerrit's change.submitWholeTopic:
// read at start and by every reconcile (Gerrit must restart to change it),
// handed to the engine (queue.ServerInfo) whenever it changes, and used to
// make the closure of a change take its topic's changes in.
type serverInfo struct {
	// reading is held while the setting is read and handed to the
	// engine, so that whoever reads it next (the start, a reconcile)
	// waits until the engine has it, before posting events read with it.
	reading    sync.Mutex
	mu         sync.Mutex
	read       bool // read once at least
	wholeTopic bool
	// byTopic are the projects whose queue makes a topic's changes depend
	// on each other (dependencies-by-topic).
	byTopic map[string]bool
}

// setByTopic records which projects' queues make a topic's changes one
// cycle (dependencies-by-topic), at start and at every reload.
func (s *serverInfo) setByTopic(cfg Config) {
	byTopic := map[string]bool{}
	for name, p := range cfg.Projects {
		for _, q := range cfg.Queues {
			byTopic[name] = byTopic[name] || (p.Queue != "" && q.Name == p.Queue && q.DependenciesByTopic)
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.byTopic = byTopic
}

// topicJoins reports whether a change's closure takes in the open changes
// of its topic.
func (s *serverInfo) topicJoins(c gerrit.Change) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return c.Topic != "" && (s.wholeTopic || s.byTopic[c.Project])
}

// update records what Gerrit says, and reports whether the engine must be
// told.
func (s *serverInfo) update(wholeTopic bool) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	changed := !s.read || s.wholeTopic != wholeTopic
	s.read, s.wholeTopic = true, wholeTopic
	return changed
}

// readServerInfo reads Gerrit's change.submitWholeTopic and tells the
// engine when it changed. A refusal (a 4xx: an old or restricted Gerrit)
// is taken as the setting being off, with a warning; other errors are
// returned.
func (t *intake) readServerInfo(ctx context.Context) error {
	t.info.reading.Lock()
	defer t.info.reading.Unlock()
	on, err := t.gerrit.SubmitWholeTopic(ctx)
	var api *gerrit.APIError
	if errors.As(err, &api) && api.StatusCode/100 == 4 && api.StatusCode != http.StatusTooManyRequests && api.StatusCode != http.StatusRequestTimeout {
		t.log.Warn("cannot read Gerrit's change.submitWholeTopic; taking it as off", "error", err)
		on, err = false, nil
	}
	if err != nil {
		return err
	}
	if t.info.update(on) {
		t.log.Info("Gerrit's change.submitWholeTopic", "submit_whole_topic", on)
		t.mail.post(ctx, input{event: queue.ServerInfo{SubmitWholeTopic: on}})
	}
	return nil
}

// awaitServerInfo reads the setting at start, until Gerrit answers: the
// events that follow are read with it.
func (t *intake) awaitServerInfo(ctx context.Context) {
	retry := backoff{min: time.Second, max: time.Minute}
	for attempt := 0; ; attempt++ {
		err := t.readServerInfo(ctx)
		if err == nil || ctx.Err() != nil {
			return
		}
		wait := retry.delay(attempt)
		t.log.Warn("cannot read Gerrit's server info; retrying", "error", err, "retry_in", wait.Round(time.Millisecond))
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
	}
}
