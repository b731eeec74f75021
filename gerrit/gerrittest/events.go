package gerrittest

import (
	"encoding/json"
	"slices"
	"strconv"
	"sync"
)

// Event is an event the server emitted, with its stream-events JSON.
type Event struct {
	Type string
	// Change is the change number, 0 for events about no change.
	Change int
	// JSON is the event as `gerrit stream-events` writes it (one line,
	// without the newline).
	JSON []byte
	// Webhook is the event as the webhooks plugin posts it: Gerrit's
	// plain Gson, which writes the project as {"name": ...}.
	Webhook []byte
}

// The JSON shapes of Gerrit's events (EventFactory, *Attribute classes).
type (
	evAccount struct {
		Name     string `json:"name,omitempty"`
		Email    string `json:"email,omitempty"`
		Username string `json:"username,omitempty"`
	}
	evChange struct {
		Project       string     `json:"project"`
		Branch        string     `json:"branch"`
		Topic         string     `json:"topic,omitempty"`
		ID            string     `json:"id"`
		Number        int        `json:"number"`
		Subject       string     `json:"subject"`
		Owner         *evAccount `json:"owner"`
		URL           string     `json:"url"`
		CommitMessage string     `json:"commitMessage"`
		Hashtags      []string   `json:"hashtags,omitempty"`
		CreatedOn     int64      `json:"createdOn"`
		Status        string     `json:"status"`
		WIP           bool       `json:"wip,omitempty"`
		Private       bool       `json:"private,omitempty"`
	}
	evPatchSet struct {
		Number         int        `json:"number"`
		Revision       string     `json:"revision"`
		Parents        []string   `json:"parents"`
		Ref            string     `json:"ref"`
		Uploader       *evAccount `json:"uploader"`
		CreatedOn      int64      `json:"createdOn"`
		Author         *evAccount `json:"author"`
		Kind           string     `json:"kind"`
		SizeInsertions int        `json:"sizeInsertions"`
		SizeDeletions  int        `json:"sizeDeletions"`
	}
	evApproval struct {
		Type        string  `json:"type"`
		Description string  `json:"description"`
		Value       string  `json:"value"`
		OldValue    *string `json:"oldValue,omitempty"`
	}
	evRefUpdate struct {
		OldRev  string `json:"oldRev"`
		NewRev  string `json:"newRev"`
		RefName string `json:"refName"`
		Project string `json:"project"`
	}
	evChangeKey struct {
		ID string `json:"id"`
	}
	streamEvent struct {
		Type      string       `json:"type"`
		Change    *evChange    `json:"change,omitempty"`
		PatchSet  *evPatchSet  `json:"patchSet,omitempty"`
		Author    *evAccount   `json:"author,omitempty"`
		Uploader  *evAccount   `json:"uploader,omitempty"`
		Submitter *evAccount   `json:"submitter,omitempty"`
		Abandoner *evAccount   `json:"abandoner,omitempty"`
		Restorer  *evAccount   `json:"restorer,omitempty"`
		Changer   *evAccount   `json:"changer,omitempty"`
		Reviewer  *evAccount   `json:"reviewer,omitempty"`
		Remover   *evAccount   `json:"remover,omitempty"`
		Approvals []evApproval `json:"approvals,omitempty"`
		Comment   string       `json:"comment,omitempty"`
		Reason    string       `json:"reason,omitempty"`
		OldTopic  *string      `json:"oldTopic,omitempty"`
		NewRev    string       `json:"newRev,omitempty"`
		RefUpdate *evRefUpdate `json:"refUpdate,omitempty"`
		// Project is a string in stream-events, {"name": ...} in
		// webhooks.
		Project        any          `json:"project,omitempty"`
		RefName        string       `json:"refName,omitempty"`
		ChangeKey      *evChangeKey `json:"changeKey,omitempty"`
		EventCreatedOn int64        `json:"eventCreatedOn"`
	}
)

func evAcc(a *Account) *evAccount {
	if a == nil {
		return nil
	}
	return &evAccount{Name: a.Name, Email: a.Email, Username: a.Username}
}

// changeEvent starts an event about a change, with the change attribute
// as it is now.
func (s *Server) changeEvent(typ string, c *change) *streamEvent {
	return &streamEvent{
		Type: typ,
		Change: &evChange{
			Project: c.project.name, Branch: c.branch, Topic: c.topic, ID: c.changeID,
			Number: c.number, Subject: c.current().commit.subject(), Owner: evAcc(c.owner),
			URL: s.changeURL(c), CommitMessage: c.current().commit.message,
			Hashtags: slices.Clone(c.hashtags), CreatedOn: c.created.Unix(), Status: c.status,
			WIP: c.wip, Private: c.private,
		},
		Project:   c.project.name,
		RefName:   "refs/heads/" + c.branch,
		ChangeKey: &evChangeKey{ID: c.changeID},
	}
}

func (s *Server) patchSetAttr(c *change, ps *patchset) *evPatchSet {
	return &evPatchSet{
		Number: ps.number, Revision: ps.commit.sha, Parents: slices.Clone(ps.commit.parents),
		Ref: ps.ref(c.number), Uploader: evAcc(ps.uploader), CreatedOn: ps.created.Unix(),
		Author:         &evAccount{Name: ps.commit.author.Name, Email: ps.commit.author.Email},
		Kind:           ps.kind,
		SizeInsertions: ps.insertions(), SizeDeletions: -ps.deletions(),
	}
}

// approvalsOf is the approvals attribute of comment-added and vote-deleted:
// one entry per label, the account's value, oldValue on the changed ones.
func approvalsOf(ps *patchset, acc *Account, old map[string]int) []evApproval {
	var out []evApproval
	for _, l := range labels {
		value := 0
		if v := ps.vote(acc, l.name); v != nil {
			value = v.value
		}
		a := evApproval{Type: l.name, Description: l.name, Value: strconv.Itoa(value)}
		if o, ok := old[l.name]; ok && o != value {
			s := strconv.Itoa(o)
			a.OldValue = &s
		}
		out = append(out, a)
	}
	return out
}

func refUpdatedEvent(p *project, ref, oldRev, newRev string, submitter *Account) *streamEvent {
	if oldRev == "" {
		oldRev = zeroRev
	}
	return &streamEvent{
		Type:      "ref-updated",
		Submitter: evAcc(submitter),
		RefUpdate: &evRefUpdate{OldRev: oldRev, NewRev: newRev, RefName: ref, Project: p.name},
	}
}

// emit stamps and publishes an event. The caller holds s.mu, so events
// leave in the order of the state changes.
func (s *Server) emit(e *streamEvent) {
	e.EventCreatedOn = s.now().Unix()
	stream, _ := json.Marshal(e)
	if name, ok := e.Project.(string); ok {
		e.Project = struct {
			Name string `json:"name"`
		}{name}
	}
	hook, _ := json.Marshal(e)
	ev := Event{Type: e.Type, JSON: stream, Webhook: hook}
	if e.Change != nil {
		ev.Change = e.Change.Number
	}
	s.hub.publish(ev)
}

// hub fans events out to subscribers and keeps them all.
type hub struct {
	mu     sync.Mutex
	log    []Event
	subs   map[*subscriber]struct{}
	closed bool
}

func newHub() *hub { return &hub{subs: map[*subscriber]struct{}{}} }

func (h *hub) publish(e Event) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.log = append(h.log, e)
	for s := range h.subs {
		s.push(e)
	}
}

func (h *hub) events() []Event {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.log)
}

// subscribe starts a queue of the events published from now on. With a
// limit, a subscriber that falls limit events behind loses them and gets a
// dropped-output event instead, as Gerrit's stream-events does.
func (h *hub) subscribe(limit int) *subscriber {
	h.mu.Lock()
	defer h.mu.Unlock()
	s := &subscriber{limit: limit, signal: make(chan struct{}, 1)}
	if h.closed {
		s.closed = true
	} else {
		h.subs[s] = struct{}{}
	}
	return s
}

func (h *hub) unsubscribe(s *subscriber) {
	h.mu.Lock()
	defer h.mu.Unlock()
	delete(h.subs, s)
}

// close ends every subscription.
func (h *hub) close() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.closed = true
	for s := range h.subs {
		s.close()
	}
	h.subs = map[*subscriber]struct{}{}
}

type subscriber struct {
	mu      sync.Mutex
	queue   []Event
	limit   int
	dropped bool
	closed  bool
	signal  chan struct{}
}

func (s *subscriber) push(e Event) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.limit > 0 && len(s.queue) >= s.limit {
		s.queue = s.queue[:0]
		s.dropped = true
		s.wake()
		return
	}
	s.queue = append(s.queue, e)
	s.wake()
}

func (s *subscriber) close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	s.wake()
}

func (s *subscriber) wake() {
	select {
	case s.signal <- struct{}{}:
	default:
	}
}

// next waits for the next event; it returns false once the subscription is
// closed or stop is closed.
func (s *subscriber) next(stop <-chan struct{}) (Event, bool) {
	for {
		s.mu.Lock()
		switch {
		case s.dropped:
			s.dropped = false
			s.mu.Unlock()
			return droppedOutput(), true
		case len(s.queue) > 0:
			e := s.queue[0]
			s.queue = s.queue[1:]
			s.mu.Unlock()
			return e, true
		case s.closed:
			s.mu.Unlock()
			return Event{}, false
		}
		s.mu.Unlock()
		select {
		case <-s.signal:
		case <-stop:
			return Event{}, false
		}
	}
}

func droppedOutput() Event {
	b := []byte(`{"type":"dropped-output"}`)
	return Event{Type: "dropped-output", JSON: b, Webhook: b}
}
