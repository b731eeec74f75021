package daemon

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"time"

	"gated.dev/gated/queue"
	"gated.dev/gated/storage"
)

// input is one thing for the gate loop to consume: an event (from Gerrit,
// or a worker's answer), and the inbox or outbox entries it finishes.
type input struct {
	event   queue.Event
	eventID string // Gerrit event id, for deduplication
	inbox   uint64 // inbox entry consumed
	done    uint64 // outbox entry finished
	tick    bool   // nothing happened; time passed (status page clocks)
	// status, if set, receives the status once the batch is applied.
	status chan<- Status
}

// loop is the gate loop: the one goroutine that owns the queue engine and
// writes the bbolt file. Each batch of inputs is applied and committed in
// one transaction with the actions it decided (the outbox); only then are
// the actions handed to the workers.
type loop struct {
	log  *slog.Logger
	db   *storage.DB
	eng  *queue.Engine
	now  func() time.Time
	in   chan input
	jobs func(job) // hands an action to its workers; never blocks

	// observe is told about every transition (status page, metrics), and
	// tick about time passing; both run on the loop goroutine.
	observe func(transition)
	tick    func() Status
	// consumed is told how many inputs a batch consumed.
	consumed func(n int)
}

// transition is what one committed batch did, for observers.
type transition struct {
	now     time.Time
	events  []queue.Event
	actions []queue.Action
	records []BuildRecord
	// enqueued has the enqueue time of the items a SubmitCompleted is for.
	enqueued map[queue.ItemID]time.Time
}

// maxBatch bounds how many inputs share one transaction.
const maxBatch = 64

func (l *loop) run(ctx context.Context) error {
	for {
		var batch []input
		select {
		case <-ctx.Done():
			return nil
		case x := <-l.in:
			batch = append(batch, x)
		}
	drain:
		for len(batch) < maxBatch {
			select {
			case x := <-l.in:
				batch = append(batch, x)
			default:
				break drain
			}
		}
		err := l.step(batch)
		if l.consumed != nil {
			n := 0
			for _, x := range batch {
				if !x.tick {
					n++ // the input
				}
				if x.inbox != 0 {
					n++ // and the inbox entry it consumed
				}
			}
			l.consumed(n)
		}
		if err != nil {
			// The engine is ahead of the file now: stop, and let the
			// restart recover from the file (the inputs are still in the
			// inbox and outbox).
			return err
		}
	}
}

// step applies and commits one batch.
func (l *loop) step(batch []input) error {
	now := l.now().UTC()
	var (
		t    storage.Transition
		tr   = transition{now: now, enqueued: map[queue.ItemID]time.Time{}}
		seen = map[string]bool{}
	)
	ticks := 0
	for _, x := range batch {
		if x.tick {
			ticks++
			continue
		}
		if x.inbox != 0 {
			t.Inbox = append(t.Inbox, x.inbox)
		}
		if x.done != 0 {
			t.Done = append(t.Done, x.done)
		}
		if x.event == nil {
			continue
		}
		if x.eventID != "" {
			dup := seen[x.eventID]
			if !dup {
				var err error
				if dup, err = l.db.Seen(x.eventID); err != nil {
					return err
				}
			}
			if dup {
				l.log.Debug("duplicate Gerrit event ignored", "event", x.eventID)
				continue
			}
			seen[x.eventID] = true
			t.EventIDs = append(t.EventIDs, x.eventID)
		}
		if rec, ok := buildRecord(l.eng, now, x.event); ok {
			data, err := json.Marshal(rec)
			if err != nil {
				return fmt.Errorf("encode build record: %w", err)
			}
			t.History = append(t.History, data)
			tr.records = append(tr.records, rec)
		}
		if sc, ok := x.event.(queue.SubmitCompleted); ok {
			if it, _, ok := l.eng.Item(sc.Item); ok {
				tr.enqueued[sc.Item] = it.EnqueuedAt
			}
		}
		tr.events = append(tr.events, x.event)
		acts := l.eng.Apply(now, x.event)
		if l.log.Enabled(context.Background(), slog.LevelDebug) {
			l.log.Debug("event applied", "event", describeEvent(x.event), "actions", describeActions(acts))
		}
		tr.actions = append(tr.actions, acts...)
	}
	if ticks == len(batch) {
		l.answer(batch)
		return nil
	}
	parts, err := l.eng.TakeChanges()
	if err != nil {
		return err
	}
	t.State = parts
	for _, a := range tr.actions {
		data, err := queue.MarshalAction(a)
		if err != nil {
			return err
		}
		t.Actions = append(t.Actions, data)
	}
	ids, err := l.db.Commit(t, now)
	if err != nil {
		return err
	}
	for i, a := range tr.actions {
		l.jobs(job{id: ids[i], action: a})
	}
	if l.observe != nil {
		l.observe(tr)
	}
	l.answer(batch)
	return nil
}

// answer publishes the status after ticks, and gives it to those who asked.
func (l *loop) answer(batch []input) {
	var st Status
	published := false
	for _, x := range batch {
		if !x.tick || l.tick == nil {
			continue
		}
		if !published {
			st, published = l.tick(), true
		}
		if x.status != nil {
			x.status <- st
		}
	}
}

// submit hands an input to the loop, unless ctx ends first.
func submit(ctx context.Context, in chan<- input, x input) bool {
	select {
	case in <- x:
		return true
	case <-ctx.Done():
		return false
	}
}

// describeAction names an action in logs.
func describeAction(a queue.Action) string {
	switch a := a.(type) {
	case queue.Merge:
		return fmt.Sprintf("merge item %d attempt %d (%d changes)", a.Item, a.Attempt, len(a.Changes))
	case queue.StartBuild:
		return fmt.Sprintf("start build of item %d attempt %d (change %s)", a.Item, a.Attempt, a.Change)
	case queue.CancelBuild:
		return fmt.Sprintf("cancel build of item %d attempt %d", a.Item, a.Attempt)
	case queue.Report:
		return fmt.Sprintf("report %s on change %s", a.Kind, a.Change)
	case queue.Submit:
		return fmt.Sprintf("submit change %s (item %d)", a.Change, a.Item)
	case queue.Forget:
		return fmt.Sprintf("forget item %d", a.Item)
	}
	return fmt.Sprintf("%T", a)
}

// describeEvent names an event in logs.
func describeEvent(ev queue.Event) string {
	switch ev := ev.(type) {
	case queue.ChangeEvent:
		return fmt.Sprintf("%s on change %d (%d snapshots)", ev.Type, ev.Change, len(ev.Changes))
	case queue.RefUpdated:
		return fmt.Sprintf("ref-updated %s %s → %s", ev.Project, ev.Branch, ev.NewRev)
	case queue.MergeCompleted:
		if ev.Conflict != nil {
			return fmt.Sprintf("merge of item %d attempt %d: conflict", ev.Item, ev.Attempt)
		}
		return fmt.Sprintf("merge of item %d attempt %d: done", ev.Item, ev.Attempt)
	case queue.BuildStarted:
		return fmt.Sprintf("build of item %d attempt %d started", ev.Item, ev.Attempt)
	case queue.BuildCompleted:
		return fmt.Sprintf("build of item %d attempt %d: %s", ev.Item, ev.Attempt, ev.Result)
	case queue.SubmitCompleted:
		return fmt.Sprintf("submit of item %d: merged=%v stale=%v", ev.Item, ev.Merged, ev.Stale)
	}
	return fmt.Sprintf("%T", ev)
}

func describeActions(acts []queue.Action) []string {
	out := make([]string, len(acts))
	for i, a := range acts {
		out[i] = describeAction(a)
	}
	return out
}
