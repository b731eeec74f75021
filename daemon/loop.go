package daemon

import (
	"context"
	"log/slog"
	"strings"
	"sync/atomic"
	"time"

	"gated.dev/gated/queue"
	"gated.dev/gated/storage"
)

// loop is the gate loop: the one goroutine that owns the queue engine, the
// bbolt file's transitions and everything derived from the engine's state
// (the status snapshot, build-time estimates, workers' notes). Each batch
// of inputs is applied and committed in one transaction with the actions
// it decided (the outbox) and the builds it finished (the history); only
// then are the actions dispatched to the workers.
type loop struct {
	log     *slog.Logger
	db      *storage.DB
	eng     *queue.Engine
	now     func() time.Time
	mail    *mailbox
	work    *workers
	metrics *metrics
	hub     *hub

	gerritURL string
	notes     map[queue.ItemID]string
	// configErr is why the last reload was refused, for the status page.
	configErr string
	published time.Time
	rendering time.Duration // how long the last status took to publish
	dirty     bool

	// est learns how long builds, merges and submits take; forecast is
	// the engine's state run forward over it. A run goes on a goroutine of
	// its own (forecasting), off the gate's path, and leaves its result in
	// forecastDone; forecastAt is when the last run began, stale that the
	// state changed since.
	est          queue.Estimates
	forecast     forecastRun
	forecastAt   time.Time
	forecasting  bool
	stale        bool
	forecastDone atomic.Pointer[forecastRun]
	// timed are the merges and submits under way, by outbox id, with when
	// they were dispatched: their answers teach est.
	timed map[uint64]timedAction
}

// timedAction is a merge or a submit under way.
type timedAction struct {
	submit bool
	since  time.Time
}

// maxBatch bounds how many inputs share one transaction.
const maxBatch = 64

// run consumes the mailbox until ctx ends or the state cannot be written.
func (l *loop) run(ctx context.Context) error {
	l.publish(true)
	for {
		var batch []input
		select {
		case <-ctx.Done():
			return nil
		case x := <-l.mail.in:
			batch = append(batch, x)
		}
	drain:
		for len(batch) < maxBatch {
			select {
			case x := <-l.mail.in:
				batch = append(batch, x)
			default:
				break drain
			}
		}
		if err := l.step(batch); err != nil {
			// The engine is ahead of the file now: stop, and let the
			// restart recover from the file (the inputs are still in the
			// inbox and outbox).
			return err
		}
		n := 0
		for _, x := range batch {
			n++ // the input
			if x.inbox != 0 {
				n++ // the inbox entry it consumed
			}
			if x.done != 0 {
				n++ // the outbox entry it finished
			}
		}
		l.mail.settle(n)
		l.answer(batch)
	}
}

// dispatch hands a committed action to the workers; it counts as work
// until its answer is consumed.
func (l *loop) dispatch(id uint64, a queue.Action) {
	switch a.(type) {
	case queue.Merge:
		l.timed[id] = timedAction{since: l.now()}
	case queue.Submit:
		l.timed[id] = timedAction{submit: true, since: l.now()}
	}
	l.mail.expect(1)
	l.work.dispatch(id, a)
}

// timeAnswer learns from the answer to a merge or a submit how long it
// took.
func (l *loop) timeAnswer(done uint64, now time.Time) {
	t, ok := l.timed[done]
	if !ok {
		return
	}
	delete(l.timed, done)
	if t.submit {
		l.est.ObserveSubmit(now.Sub(t.since))
	} else {
		l.est.ObserveMerge(now.Sub(t.since))
	}
}

// step applies and commits one batch.
func (l *loop) step(batch []input) error {
	now := l.now().UTC()
	var (
		t       storage.Transition
		actions []queue.Action
		applied bool
		seen    = map[string]bool{}
		replies = map[uint64]chan<- queue.Verdict{}
		ticked  bool
	)
	for _, x := range batch {
		if x.config != nil {
			l.configErr, l.dirty = x.config.err, true
		}
		if x.tick && !ticked && x.event == nil && l.eng.Due(now) {
			// A timer is due: the engine fires it on its clock.
			x.event, ticked = queue.Tick{}, true
		}
		switch {
		case x.note != "":
			l.notes[x.item] = x.note
			l.dirty = true
		case x.done != 0 && l.notes[x.item] != "":
			delete(l.notes, x.item)
			l.dirty = true
		}
		if x.inbox != 0 {
			t.Inbox = append(t.Inbox, x.inbox)
		}
		if x.done != 0 {
			t.Done = append(t.Done, x.done)
			l.timeAnswer(x.done, now)
		}
		if x.event == nil {
			continue
		}
		if x.verdict != nil {
			replies[x.request] = x.verdict
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
		acts := l.eng.Apply(now, x.event)
		if l.log.Enabled(context.Background(), slog.LevelDebug) {
			l.log.Debug("event applied", "event", x.event, "actions", describe(acts))
		}
		actions = append(actions, acts...)
		applied = true
	}
	if !applied && len(t.Inbox) == 0 && len(t.Done) == 0 {
		return nil // notes, ticks and status requests: nothing to commit
	}
	var facts queue.Facts
	if applied {
		rd, err := l.eng.Ready()
		if err != nil {
			return err
		}
		t.State, facts = rd.State, rd.Facts
	}
	for _, f := range facts.Builds {
		b, err := storageBuild(buildRecord(f))
		if err != nil {
			return err
		}
		t.History = append(t.History, b)
	}
	for _, a := range actions {
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
	for i, a := range actions {
		l.dispatch(ids[i], a)
	}
	// Answered once committed: a crash after the answer loses nothing.
	for _, v := range facts.Verdicts {
		if reply := replies[v.Request]; reply != nil {
			reply <- v
		}
	}
	if applied {
		l.observe(actions, facts)
	}
	committed := l.now()
	for _, x := range batch {
		if x.event != nil && !x.arrived.IsZero() {
			l.metrics.eventDecision.Observe(committed.Sub(x.arrived).Seconds())
		}
	}
	return nil
}

// observe updates what derives from a committed transition: estimates,
// metrics, the status page.
func (l *loop) observe(actions []queue.Action, facts queue.Facts) {
	for _, f := range facts.Builds {
		l.est.ObserveBuild(f)
	}
	l.metrics.observe(l.eng, actions, facts)
	l.stale = true
	l.dirty = true
	l.publish(false)
}

// answer publishes the status after ticks, and gives it to those who
// asked; it gives explanations to those who asked for them.
func (l *loop) answer(batch []input) {
	var st Status
	asked := false
	for _, x := range batch {
		if r := x.explain; r != nil {
			r.reply <- l.eng.Explain(r.change, r.snapshots)
		}
		if x.tick {
			l.dirty = true // time passed: the page's clocks and forecasts moved
		}
		if x.status == nil {
			continue
		}
		if !asked {
			st, asked = l.publish(true), true
		}
		x.status <- st
	}
	if !asked {
		l.publish(false)
	}
}

// publish renders the status for the page, and returns the latest. Unless
// forced (someone asked for the status as of now), it publishes at most
// every 100ms, and at most every ten times as long as the last rendering
// took, so a long queue's status never takes more than a tenth of the loop.
func (l *loop) publish(force bool) Status {
	now := l.now()
	if force || (l.dirty && now.Sub(l.published) >= max(100*time.Millisecond, 10*l.rendering)) {
		start := time.Now()
		st := snapshot(l.eng, now, l.gerritURL, &l.est, l.forecastAsOf(now), l.notes)
		st.ConfigError = l.configErr
		l.hub.publish(st)
		l.published, l.dirty, l.rendering = now, false, time.Since(start)
	}
	st, _, _, _ := l.hub.latest()
	return st
}

// forecastRefresh is how long a forecast of an unchanged state is shown:
// as time passes, builds that run over their estimate push it back.
// forecastInterval is the least time between two runs: a run of 100
// queues of 50 items takes some 80 ms, which the gate does not wait for,
// but for the encoding of its state (a twentieth of it).
const (
	forecastRefresh  = 5 * time.Second
	forecastInterval = time.Second
)

// forecastAsOf returns the latest forecast, and starts a run when the
// state changed or the last one is older than forecastRefresh. Until the
// first run ends there is none; the page shows a new one at its next
// publication (ticks mark it dirty).
func (l *loop) forecastAsOf(now time.Time) forecastRun {
	if done := l.forecastDone.Swap(nil); done != nil {
		l.forecast, l.forecasting = *done, false
	}
	since := now.Sub(l.forecastAt)
	if !l.forecasting && since >= forecastInterval && (l.stale || since >= forecastRefresh) {
		fc := l.eng.Forecaster(now, &l.est)
		l.forecasting, l.stale, l.forecastAt = true, false, now
		go func() {
			l.forecastDone.Store(&forecastRun{at: now, merges: fc.Run()})
		}()
	}
	return l.forecast
}

// forecastRun is a forecast: when each item is expected to merge, as of
// the state at a moment.
type forecastRun struct {
	at     time.Time
	merges map[queue.ItemID]time.Time
}

// describe names actions in logs.
func describe(acts []queue.Action) string {
	s := make([]string, len(acts))
	for i, a := range acts {
		s[i] = a.String()
	}
	return strings.Join(s, "; ")
}
