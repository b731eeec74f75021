package daemon

import (
	"context"
	"errors"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"gated.dev/gated/gerrit"
	"gated.dev/gated/queue"
	"gated.dev/gated/scheduler"
)

// shutdownGrace bounds how long Run waits for in-flight actions once
// stopped. Whatever is cut short is still in the outbox.
const shutdownGrace = 10 * time.Second

// Run runs the daemon until ctx ends or the state cannot be written: it
// replays the outbox (actions decided before a restart), starts the gate
// loop, the workers, the intake of Gerrit events, the executor's watch and
// the periodic reconcile with Gerrit.
func (d *Daemon) Run(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	for _, p := range d.pools {
		p.run(ctx, &wg)
	}
	inbox, err := d.db.Inbox()
	if err != nil {
		return err
	}
	d.work.Add(int64(len(inbox))) // events received before a restart
	starting, err := d.replayOutbox(ctx)
	if err != nil {
		return err
	}
	lost, err := d.lostBuilds(ctx, starting)
	if err != nil {
		return err
	}
	d.publish(true) // before the loop owns the engine: the reconcile reads it
	d.work.Add(1)   // the first reconcile; see reconcileLoop
	loopErr := make(chan error, 1)
	wg.Add(1)
	go func() {
		defer wg.Done()
		loopErr <- d.loop.run(ctx)
	}()
	d.background(ctx, &wg, func(ctx context.Context) { d.intake.run(ctx) })
	d.background(ctx, &wg, func(ctx context.Context) {
		if err := d.exec.Run(ctx, func(u scheduler.Update) { d.onUpdate(ctx, u) }); err != nil && ctx.Err() == nil {
			d.log.Error("the executor's watch stopped", "error", err)
		}
	})
	if st := d.cfg.Gerrit.Stream; st != nil {
		d.background(ctx, &wg, func(ctx context.Context) { d.streamEvents(ctx, st) })
	}
	d.background(ctx, &wg, d.reconcileLoop)
	d.background(ctx, &wg, d.tickLoop)
	d.background(ctx, &wg, d.pruneLoop)
	d.ready.Store(true)
	d.log.Info("gated is running", "status", d.cfg.PublicURL, "executor", d.cfg.Executor.Kind, "projects", len(d.cfg.Projects))

	for _, x := range lost { // now that the loop runs to take them
		d.send(ctx, x)
	}
	select {
	case <-ctx.Done():
	case err = <-loopErr:
		if err != nil {
			d.log.Error("cannot write the state; stopping (a restart recovers from the file)", "error", err)
		}
	}
	d.ready.Store(false)
	cancel()
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(shutdownGrace):
		d.log.Warn("some workers did not stop in time; their actions stay in the outbox")
	}
	return err
}

func (d *Daemon) background(ctx context.Context, wg *sync.WaitGroup, f func(context.Context)) {
	wg.Add(1)
	go func() {
		defer wg.Done()
		f(ctx)
	}()
}

// replayOutbox hands the workers every action decided and not finished
// before the daemon stopped. Actions are idempotent, so one performed just
// before a crash does no harm when performed again.
//
// It returns the builds the outbox still starts.
func (d *Daemon) replayOutbox(ctx context.Context) (map[string]bool, error) {
	entries, err := d.db.Outbox()
	if err != nil {
		return nil, err
	}
	starting := map[string]bool{}
	for _, e := range entries {
		a, err := queue.UnmarshalAction(e.Data)
		if err != nil {
			d.log.Error("dropping an unreadable action from the outbox", "outbox", e.ID, "error", err)
			d.send(ctx, input{done: e.ID})
			continue
		}
		if sb, ok := a.(queue.StartBuild); ok {
			starting[scheduler.BuildName(sb.Pipeline, sb.Item.String(), sb.Attempt)] = true
		}
		d.dispatch(job{id: e.ID, action: a})
	}
	if len(entries) > 0 {
		d.log.Info("replaying actions decided before the restart", "actions", len(entries))
	}
	return starting, nil
}

// lostBuilds finds the items whose build the executor no longer has (its
// workflow was deleted, or the simulated executor died with the previous
// process) and returns their builds' end as errors, so that they run again.
// It runs before the loop starts: the engine is still ours to read.
func (d *Daemon) lostBuilds(ctx context.Context, starting map[string]bool) ([]input, error) {
	var builds []scheduler.Update
	for attempt := 0; ; attempt++ {
		var err error
		if builds, err = d.exec.List(ctx); err == nil {
			break
		}
		wait := backoff{min: time.Second, max: 30 * time.Second}.delay(attempt)
		d.log.Warn("cannot list the builds at start; retrying", "error", err, "retry_in", wait.Round(time.Millisecond))
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(wait):
		}
	}
	var lost []input
	have := map[string]bool{}
	for _, b := range builds {
		have[b.Name] = true
	}
	for _, p := range d.eng.State().Pipelines {
		for _, q := range p.Queues {
			for _, it := range q.Items {
				name := scheduler.BuildName(p.Name, it.ID.String(), it.Attempt)
				if it.Phase != queue.PhaseBuilding || have[name] || starting[name] {
					continue
				}
				d.log.Warn("the build of an item is gone; running it again", "item", it.ID, "change", it.Change.String(), "build", name)
				lost = append(lost, input{event: queue.BuildCompleted{Item: it.ID, Attempt: it.Attempt, Result: queue.ResultLost,
					Message: "the build disappeared while gated was down"}})
			}
		}
	}
	return lost, nil
}

// onUpdate turns an executor's update into an event for the loop.
func (d *Daemon) onUpdate(ctx context.Context, u scheduler.Update) {
	ev, err := updateEvent(u)
	if err != nil {
		d.log.Debug("ignoring a build that is not gated's", "build", u.Name, "error", err)
		return
	}
	d.send(ctx, input{event: ev})
}

// streamEvents reads `gerrit stream-events` over SSH, reconnecting with
// backoff, into the same intake as the webhook.
func (d *Daemon) streamEvents(ctx context.Context, st *StreamConfig) {
	port := st.Port
	if port == 0 {
		port = 29418
	}
	err := gerrit.StreamEvents(ctx, gerrit.StreamConfig{
		Addr: net.JoinHostPort(st.Host, strconv.Itoa(port)), User: st.User,
		KeyFile: st.KeyFile, KnownHostsFile: st.KnownHostsFile, Logger: d.log.With("component", "stream-events"),
	}, d.sink)
	if err != nil && ctx.Err() == nil {
		d.log.Error("stream-events stopped; events come from the webhook and the reconcile only", "error", err)
	}
}

// reconcileLoop re-reads from Gerrit the changes the gate holds and the
// approved ones, at start and then periodically.
func (d *Daemon) reconcileLoop(ctx context.Context) {
	interval := time.Duration(d.cfg.Gerrit.ReconcileInterval)
	for first := true; ; first = false {
		if !first {
			d.work.Add(1)
		}
		err := d.intake.reconcile(ctx, d.cfg.Gerrit.ReconcileQuery, d.heldChanges)
		d.work.Add(-1)
		if err != nil && ctx.Err() == nil {
			d.log.Warn("reconcile with Gerrit incomplete; next try later", "error", err, "next_in", interval)
		}
		if interval <= 0 {
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(interval):
		}
	}
}

// heldChanges are the changes in any pipeline, from the latest status.
func (d *Daemon) heldChanges() []int {
	st, _, _, _ := d.hub.latest()
	var out []int
	for _, p := range st.Pipelines {
		for _, q := range p.Queues {
			for _, it := range q.Items {
				out = append(out, it.Change.Number)
			}
		}
	}
	return out
}

// tickLoop keeps the status page's clocks moving and publishes what the
// rate limit held back.
func (d *Daemon) tickLoop(ctx context.Context) {
	t := time.NewTicker(500 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			submit(ctx, d.in, input{tick: true}) // not counted: see Idle
		}
	}
}

// pruneLoop bounds the consumed-event ids, the build history and the
// merger's repositories (git gc, hourly). The Argo executor deletes old
// workflows itself.
func (d *Daemon) pruneLoop(ctx context.Context) {
	lastGC := d.now()
	for {
		if d.now().Sub(lastGC) >= time.Hour {
			if err := d.merger.GC(ctx); err != nil && ctx.Err() == nil {
				d.log.Warn("git gc of the merger's repositories failed", "error", err)
			}
			lastGC = d.now()
		}
		before := d.now().Add(-time.Duration(d.cfg.History.MaxAge))
		if n, err := d.db.Prune(before, d.cfg.History.MaxCount); err != nil {
			d.log.Warn("cannot prune the history", "error", err)
		} else if n > 0 {
			d.log.Info("pruned old records", "records", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(10 * time.Minute):
		}
	}
}

// Idle reports whether nothing is in flight: no event waiting, no action
// unfinished, no answer unconsumed. Builds that run (in the executor) do
// not count.
func (d *Daemon) Idle() bool { return d.ready.Load() && d.work.Load() == 0 }

// Close releases the state file. Call it after Run returned.
func (d *Daemon) Close() error { return d.db.Close() }

// Handler serves gated's HTTP endpoints.
func (d *Daemon) Handler() http.Handler { return d.mux }

func (d *Daemon) setupMux() {
	mux := http.NewServeMux()
	mux.Handle("GET /{$}", statusHandler(d.hub))
	mux.Handle("GET /api/status", apiStatusHandler(d.hub))
	mux.Handle("GET /api/events", eventsHandler(d.hub, 250*time.Millisecond))
	mux.Handle("/git/", d.merger.Handler())
	mux.Handle("GET /metrics", d.metrics.handler())
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("ok\n")) })
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		if !d.ready.Load() {
			http.Error(w, "starting or stopping", http.StatusServiceUnavailable)
			return
		}
		w.Write([]byte("ready\n"))
	})
	if d.webhook != nil {
		mux.Handle("/gerrit/events", d.webhook)
	} else {
		mux.HandleFunc("/gerrit/events", func(w http.ResponseWriter, r *http.Request) {
			http.Error(w, "the webhook is disabled: no secret is configured", http.StatusNotFound)
		})
	}
	d.mux = mux
}

// ErrStopped is returned by operations on a stopped daemon.
var ErrStopped = errors.New("gated is stopped")
