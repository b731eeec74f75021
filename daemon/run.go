package daemon

import (
	"context"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"gated.dev/gated/gerrit"
	"gated.dev/gated/merger"
	"gated.dev/gated/queue"
	"gated.dev/gated/scheduler"
)

// shutdownGrace bounds how long Run waits for in-flight actions once
// stopped. Whatever is cut short is still in the outbox.
const shutdownGrace = 10 * time.Second

// Run runs the daemon until ctx ends or the state cannot be written: it
// recovers (the outbox, the executor's builds), starts the gate loop, the
// workers, the intake of Gerrit events, the executor's watch and the
// periodic reconcile with Gerrit.
func (d *Daemon) Run(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	first, err := d.recover(ctx)
	if err != nil {
		return err
	}
	loopErr := make(chan error, 1)
	d.background(ctx, &wg, func(ctx context.Context) { loopErr <- d.loop.run(ctx) })
	// The recovery's inputs go first, before any worker answers: the
	// inventory must be applied before a new build can start.
	d.mail.post(ctx, first...)
	d.work.run(ctx, &wg)
	d.background(ctx, &wg, d.intake.run)
	d.background(ctx, &wg, func(ctx context.Context) {
		if err := d.exec.Run(ctx, func(u scheduler.Update) { d.onUpdate(ctx, u) }); err != nil && ctx.Err() == nil {
			d.log.Error("the executor's watch stopped", "error", err)
		}
	})
	if st := d.cfg.Gerrit.Stream; st != nil {
		d.background(ctx, &wg, func(ctx context.Context) { d.streamEvents(ctx, st) })
	}
	d.mail.expect(1) // the first reconcile, which reconcileLoop settles
	d.background(ctx, &wg, d.reconcileLoop)
	d.background(ctx, &wg, d.tickLoop)
	d.background(ctx, &wg, d.pruneLoop)
	if d.configFile != "" {
		d.background(ctx, &wg, d.watchConfig)
	}
	d.ready.Store(true)
	d.log.Info("gated is running", "status", d.cfg.PublicURL, "executor", d.cfg.Executor.Kind, "projects", len(d.cfg.Projects))
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

// recover hands the workers every action decided and not finished before
// the daemon stopped (actions are idempotent, so one performed just before
// a crash does no harm when performed again), and returns the loop's first
// inputs: the unreadable outbox entries to drop, and the executor's
// inventory, with the builds the outbox is about to start, from which the
// engine tells which builds were lost.
func (d *Daemon) recover(ctx context.Context) ([]input, error) {
	inbox, err := d.db.Inbox()
	if err != nil {
		return nil, err
	}
	d.mail.expect(len(inbox)) // events received before a restart
	entries, err := d.db.Outbox()
	if err != nil {
		return nil, err
	}
	var (
		first  []input
		listed queue.BuildsListed
	)
	for _, e := range entries {
		a, err := queue.UnmarshalAction(e.Data)
		if err != nil {
			d.log.Error("dropping an unreadable action from the outbox", "outbox", e.ID, "error", err)
			d.mail.expect(1)
			first = append(first, input{done: e.ID})
			continue
		}
		if sb, ok := a.(queue.StartBuild); ok {
			listed.Builds = append(listed.Builds, queue.BuildRef{Pipeline: sb.Pipeline, Item: sb.Item, Attempt: sb.Attempt, Part: sb.Part})
		}
		d.loop.dispatch(e.ID, a)
	}
	if len(entries) > 0 {
		d.log.Info("replaying actions decided before the restart", "actions", len(entries))
	}
	builds, err := d.listBuilds(ctx)
	if err != nil {
		return nil, err
	}
	for _, b := range builds {
		if ref, err := buildRef(b); err == nil {
			listed.Builds = append(listed.Builds, ref)
		}
	}
	// The configuration may have changed while gated was down: the engine
	// sends the items of projects that went away out, with the reason, as
	// a reload does. (A pipeline that went away is gone with its items:
	// the state has no configuration of it to act on; the executor's
	// watch reports its builds, which the engine then stops.)
	reconfigure := input{event: queue.Reconfigure{Config: d.cfg.QueueConfig()}}
	return append(first, reconfigure, input{event: listed}), nil
}

// listBuilds asks the executor for every build it has, until it answers.
func (d *Daemon) listBuilds(ctx context.Context) ([]scheduler.Update, error) {
	for attempt := 0; ; attempt++ {
		builds, err := d.exec.List(ctx)
		if err == nil {
			return builds, nil
		}
		wait := backoff{min: time.Second, max: 30 * time.Second}.delay(attempt)
		d.log.Warn("cannot list the builds at start; retrying", "error", err, "retry_in", wait.Round(time.Millisecond))
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(wait):
		}
	}
}

// onUpdate turns an executor's update into an event for the loop.
func (d *Daemon) onUpdate(ctx context.Context, u scheduler.Update) {
	ev, err := updateEvent(u)
	if err != nil {
		d.log.Debug("ignoring a build that is not gated's", "build", u.Name, "error", err)
		return
	}
	d.mail.post(ctx, input{event: ev})
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
	}, d.Deliver)
	if err != nil && ctx.Err() == nil {
		d.log.Error("stream-events stopped; events come from the webhook and the reconcile only", "error", err)
	}
}

// reconcileLoop re-reads from Gerrit the changes the gate holds and the
// approved ones, at start and then periodically. Each run counts as work
// (see Idle); the first is counted by Run, before the daemon is ready.
func (d *Daemon) reconcileLoop(ctx context.Context) {
	interval := time.Duration(d.cfg.Gerrit.ReconcileInterval)
	for first := true; ; first = false {
		if !first {
			d.mail.expect(1)
		}
		err := d.intake.reconcile(ctx, d.cfg.Gerrit.ReconcileQuery, d.heldChanges)
		d.mail.settle(1)
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

// heldChanges are the changes of the items in any pipeline, as the loop has
// them now.
func (d *Daemon) heldChanges(ctx context.Context) ([]int, error) {
	st, err := d.Status(ctx)
	if err != nil {
		return nil, err
	}
	var out []int
	for _, p := range st.Pipelines {
		for _, q := range p.Queues {
			for _, it := range q.Items {
				if it.Ref == nil { // a ref item's change is merged: nothing to refresh
					out = append(out, it.Change.Number)
				}
			}
		}
	}
	return out, nil
}

// tickLoop keeps the status page's clocks moving, publishes what the rate
// limit held back, and gives the engine's timers their time.
func (d *Daemon) tickLoop(ctx context.Context) {
	t := time.NewTicker(500 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			d.mail.post(ctx, input{tick: true})
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

func (d *Daemon) setupMux() {
	mux := http.NewServeMux()
	mux.Handle("GET /{$}", statusHandler(d.hub))
	mux.Handle("GET /api/status", apiStatusHandler(d.hub))
	mux.Handle("GET /api/events", eventsHandler(d.hub, 250*time.Millisecond))
	pg := &pages{db: d.db, hub: d.hub, publicURL: d.cfg.PublicURL, gerritURL: d.loop.gerritURL}
	pg.steps, _ = d.exec.(stepper)
	mux.HandleFunc("GET /api/builds", pg.apiBuilds)
	mux.HandleFunc("GET /builds", pg.builds)
	mux.HandleFunc("GET /build/{name}", pg.build)
	mux.HandleFunc("GET /change/{number}", pg.change)
	mux.Handle("/git/", d.merger.GitServer(merger.GitServer{Authorize: func(project, user, password string) error {
		return d.gitKey.Verify(project, user, password, d.now())
	}}))
	mux.HandleFunc("GET /api/changes/{change}/explain", d.explainHandler)
	if d.adminAPI != nil {
		mux.Handle("/api/admin/", d.adminAPI)
	} else {
		mux.HandleFunc("/api/admin/", adminOff)
	}
	mux.Handle("GET /metrics", d.metrics.handler())
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("ok\n")) })
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		if !d.Ready() {
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
