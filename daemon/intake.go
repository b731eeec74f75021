package daemon

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"gated.dev/gated/gerrit"
	"gated.dev/gated/queue"
	"gated.dev/gated/storage"
)

// intake takes Gerrit's events (webhook, stream-events), stores them in the
// inbox before acknowledging them, and turns them, in order, into queue
// events with fresh change snapshots from the REST API (Gerrit is the
// source of truth; events are hints). An event stays in the inbox until the
// gate loop consumed it, so a crash loses none.
type intake struct {
	log      *slog.Logger
	db       *storage.DB
	gerrit   *gerrit.Client
	projects *projects
	mail     *mailbox
	metrics  *metrics
	now      func() time.Time
	limit    int // closure size
	info     *serverInfo
	// store stores an event in the inbox once: the same event by webhook
	// and stream-events, or a webhook retry, is dropped; an event that
	// could not be stored is taken when it comes again.
	store gerrit.Sink
	wake  chan struct{}
}

func newIntake(log *slog.Logger, db *storage.DB, gc *gerrit.Client, projects *projects, mail *mailbox, m *metrics, now func() time.Time) *intake {
	t := &intake{
		log: log, db: db, gerrit: gc, projects: projects, mail: mail, metrics: m, now: now,
		limit: gerrit.DefaultClosureLimit, info: &serverInfo{}, wake: make(chan struct{}, 1),
	}
	t.store = gerrit.NewDedupe(4096).Filter(t.add)
	return t
}

// take is where the webhook and the stream reader put events.
func (t *intake) take(ctx context.Context, ev gerrit.Event) error {
	if !ev.Relevant() || !t.projects.has(ev.Project) {
		return nil
	}
	return t.store(ctx, ev)
}

// inboxEntry is an event as the inbox keeps it, with the time it arrived
// (older entries are the bare event).
type inboxEntry struct {
	Received time.Time     `json:"received"`
	Event    *gerrit.Event `json:"event"`
}

// add stores an event in the inbox; it counts as work until the loop
// consumed it.
func (t *intake) add(_ context.Context, ev gerrit.Event) error {
	data, err := json.Marshal(inboxEntry{Received: t.now(), Event: &ev})
	if err != nil {
		return fmt.Errorf("encode event: %w", err)
	}
	t.mail.expect(1)
	if _, err := t.db.AddInbox(data); err != nil {
		t.mail.settle(1)
		return err // Gerrit's webhook plugin retries on the 503 this gives
	}
	select {
	case t.wake <- struct{}{}:
	default:
	}
	return nil
}

// intakeParallel is how many events the intake reads from Gerrit at once.
const intakeParallel = 8

// run hands the inbox to the gate loop, oldest first, until ctx ends. It
// reads the changes of up to intakeParallel events from Gerrit at once
// (Gerrit's answers take far longer than the gate's decisions), and posts
// them in inbox order. An event whose change cannot be read is tried
// again, alone, until it is; the events after it are then read afresh.
func (t *intake) run(ctx context.Context) {
	t.awaitServerInfo(ctx)
	var next uint64 // first inbox id not handed over yet
	for {
		entries, err := t.db.Inbox()
		if err != nil {
			t.log.Error("cannot read the inbox; retrying", "error", err)
		}
		for {
			i, _ := slices.BinarySearchFunc(entries, next, func(e storage.Entry, id uint64) int { return cmp.Compare(e.ID, id) })
			entries = entries[i:]
			if len(entries) == 0 {
				break
			}
			batch := entries[:min(len(entries), intakeParallel)]
			read := make([][]input, len(batch))
			errs := make([]error, len(batch))
			// The batch's reads count as begun together: posted in inbox
			// order, none of them is older than another (see
			// queue.ChangeEvent.ReadAt).
			readAt := t.now()
			var wg sync.WaitGroup
			for i, e := range batch {
				wg.Go(func() { read[i], errs[i] = t.read(ctx, e, readAt) })
			}
			wg.Wait()
			for i, e := range batch {
				if errs[i] != nil {
					if read[i] = t.readRetrying(ctx, e, errs[i]); read[i] == nil {
						return // ctx ended
					}
				}
				if !t.mail.post(ctx, read[i]...) {
					return
				}
				next = e.ID + 1
				if errs[i] != nil {
					break // what came after it was read before it: read it again
				}
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.wake:
		case <-time.After(time.Minute): // belt and braces
		}
	}
}

// read turns one inbox entry into the loop's inputs: the event, and the
// re-reads it calls for, dated as read from readAt on.
func (t *intake) read(ctx context.Context, e storage.Entry, readAt time.Time) ([]input, error) {
	x, err := t.enrich(ctx, e, readAt)
	if err != nil {
		return nil, err
	}
	more, err := t.followUp(ctx, x, readAt)
	if err != nil {
		return nil, err
	}
	return append([]input{x}, more...), nil
}

// readRetrying reads an entry that failed until it succeeds; nil means ctx
// ended.
func (t *intake) readRetrying(ctx context.Context, e storage.Entry, err error) []input {
	retry := backoff{min: time.Second, max: time.Minute}
	for attempt := 0; ; attempt++ {
		wait := retry.delay(attempt)
		t.log.Warn("cannot read the change of an event from Gerrit; retrying", "inbox", e.ID, "error", err, "retry_in", wait.Round(time.Millisecond))
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(wait):
		}
		var xs []input
		if xs, err = t.read(ctx, e, t.now()); err == nil {
			return xs
		}
		if ctx.Err() != nil {
			return nil
		}
	}
}

// enrich turns one inbox entry into the loop's input. Events the gate does
// not act on, and events about changes Gerrit no longer has, consume the
// entry without an event.
func (t *intake) enrich(ctx context.Context, e storage.Entry, readAt time.Time) (input, error) {
	x := input{inbox: e.ID}
	var entry inboxEntry
	if err := json.Unmarshal(e.Data, &entry); err == nil && entry.Event == nil {
		entry.Event = &gerrit.Event{}
		err = json.Unmarshal(e.Data, entry.Event)
	} else if err != nil {
		t.log.Error("dropping an unreadable event from the inbox", "inbox", e.ID, "error", err)
		return x, nil
	}
	ev := *entry.Event
	x.eventID, x.arrived = ev.ID(), entry.Received
	if ev.CreatedOn > 0 {
		t.metrics.eventLag.Observe(t.now().Sub(time.Unix(ev.CreatedOn, 0)).Seconds())
	}
	if ev.Type == "ref-updated" {
		ru := ev.RefUpdate
		if ru == nil || ru.NewRev == gerrit.ZeroRev {
			return x, nil // deleted refs build nothing (Zuul's ignore-deletes)
		}
		ref := ru.RefName
		if !strings.HasPrefix(ref, "refs/") {
			ref = "refs/heads/" + ref // Gerrit before 2.13
		}
		x.event = queue.RefUpdated{Project: ru.Project, Ref: ref, Branch: ru.Branch(), OldRev: ru.OldRev, NewRev: ru.NewRev}
		return x, nil
	}
	n := ev.ChangeNumber()
	if n == 0 {
		return x, nil
	}
	ce, err := t.changeEvent(ctx, ev.Type, n, readAt)
	if err != nil {
		if gerrit.IsNotFound(err) {
			t.log.Warn("event for a change Gerrit does not show; ignored", "change", n, "type", ev.Type)
			return x, nil
		}
		return x, err
	}
	for _, a := range ev.Approvals {
		ce.Approvals = append(ce.Approvals, queue.Approval{Label: a.Label(), Value: a.Value, OldValue: a.OldValue})
	}
	ce.Comment = ev.Comment
	if ev.Type == "change-merged" {
		ce.NewRev = ev.NewRev
	}
	if ev.Actor != nil {
		ce.Author = ev.Actor.Username
	}
	x.event = ce
	return x, nil
}

// followUp re-reads, after a change merged, the open changes connected to
// it: an approved change that was kept out of a change queue because it
// needed the merged one (from another queue) may enter now.
func (t *intake) followUp(ctx context.Context, x input, readAt time.Time) ([]input, error) {
	ce, ok := x.event.(queue.ChangeEvent)
	if !ok || ce.Type != "change-merged" {
		return nil, nil
	}
	var more []input
	for _, c := range ce.Changes {
		if c.Number == ce.Change || c.Status != queue.StatusNew {
			continue
		}
		again, err := t.changeEvent(ctx, "reconcile", c.Number, readAt)
		if gerrit.IsNotFound(err) {
			continue
		}
		if err != nil {
			return nil, err
		}
		more = append(more, input{event: again})
	}
	return more, nil
}

// changeEvent reads a change and its dependency closure from Gerrit; the
// read began at readAt or later.
func (t *intake) changeEvent(ctx context.Context, typ string, n int, readAt time.Time) (queue.ChangeEvent, error) {
	closure, err := t.gerrit.Closure(ctx, n, t.closure())
	if err != nil {
		return queue.ChangeEvent{}, err
	}
	return changeEvent(typ, closure, readAt), nil
}

// refresh reads an event's change and closure again, for the engine, which
// would not decide on a snapshot older than one it applied. A change Gerrit
// no longer shows needs nothing more.
func (t *intake) refresh(ctx context.Context, r queue.Refresh) (queue.Event, error) {
	again, err := t.changeEvent(ctx, r.Event.Type, r.Event.Change, t.now())
	if gerrit.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	again.Approvals, again.Comment, again.Author, again.Seen = r.Event.Approvals, r.Event.Comment, r.Event.Author, r.Event.Seen
	return again, nil
}

// closure says how far the closure of a change reaches.
func (t *intake) closure() gerrit.ClosureOptions {
	return gerrit.ClosureOptions{Limit: t.limit, Topic: t.info.topicJoins}
}

// changeEvent is the engine's event for a change's closure (the change
// first), read from readAt on.
func changeEvent(typ string, closure []gerrit.Change, readAt time.Time) queue.ChangeEvent {
	ce := queue.ChangeEvent{Type: typ, ReadAt: readAt}
	if len(closure) > 0 {
		ce.Change = closure[0].Number
	}
	for _, c := range closure {
		ce.Changes = append(ce.Changes, toQueueChange(c))
	}
	return ce
}

func toQueueChange(c gerrit.Change) queue.Change {
	qc := queue.Change{
		Number: c.Number, Project: c.Project, Branch: c.Branch, ChangeID: c.ChangeID,
		Status: queue.Status(c.Status), WIP: c.WIP, Patchset: c.Patchset, Revision: c.Revision,
		Subject: c.Subject, Owner: c.Owner.Username, URL: c.URL, Files: c.Files, Topic: c.Topic,
	}
	for _, v := range c.Votes {
		qc.Votes = append(qc.Votes, queue.Vote{Label: v.Label, Account: accountName(v.Account), Value: v.Value})
	}
	for _, n := range c.Needs {
		qc.Needs = append(qc.Needs, queue.Need{Number: n.Number, Patchset: n.Patchset})
	}
	return qc
}

func accountName(a gerrit.Account) string {
	switch {
	case a.Username != "":
		return a.Username
	case a.Email != "":
		return a.Email
	}
	return a.Name
}

// reconcile re-reads from Gerrit every change the gate holds and every
// change the reconcile query finds (approved changes), and feeds them to the
// loop as "reconcile" events: a missed event never strands a change.
func (t *intake) reconcile(ctx context.Context, query string, held func(context.Context) ([]int, error)) error {
	if err := t.readServerInfo(ctx); err != nil {
		t.log.Warn("cannot read Gerrit's server info; keeping what was read before", "error", err)
	}
	also, err := held(ctx)
	if err != nil {
		return err
	}
	r := gerrit.Reconcile{Query: query, Also: also, Closure: t.closure(), Project: t.projects.has, Now: t.now}
	return t.gerrit.Reconcile(ctx, r, func(ctx context.Context, closure []gerrit.Change, readAt time.Time) error {
		if !t.mail.post(ctx, input{event: changeEvent("reconcile", closure, readAt)}) {
			return ctx.Err()
		}
		return nil
	})
}

// branches reads a project's branches for a timer that fired. A project
// Gerrit no longer has has none.
func (t *intake) branches(ctx context.Context, a queue.ListBranches) (queue.Event, error) {
	head, tips, err := t.gerrit.Branches(ctx, a.Project)
	if gerrit.IsNotFound(err) {
		t.log.Warn("a timer fired for a project Gerrit does not have", "project", a.Project, "pipeline", a.Pipeline)
		return queue.BranchTips{Pipeline: a.Pipeline, Project: a.Project}, nil
	}
	if err != nil {
		return nil, err
	}
	return queue.BranchTips{Pipeline: a.Pipeline, Project: a.Project, Default: head, Tips: tips}, nil
}
