package daemon

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"

	"gated.dev/gated/queue"
)

// workers perform the actions the gate loop decides, each kind on a pool of
// its own, and post each answer back to the loop.
type workers struct {
	merges, builds, reports, reads *pool

	merging   *merging
	building  *building
	reporting *reporting
	reading   *intake
}

func newWorkers(log *slog.Logger, mail *mailbox, metrics *metrics, m *merging, b *building, r *reporting, read *intake) *workers {
	return &workers{
		merges:    newPool("merger", 2, log, mail, metrics),
		builds:    newPool("builder", 4, log, mail, metrics),
		reports:   newPool("reporter", 1, log, mail, metrics),
		reads:     newPool("reader", 2, log, mail, metrics),
		merging:   m,
		building:  b,
		reporting: r,
		reading:   read,
	}
}

// dispatch hands an action, with its outbox id, to its pool; it never
// blocks. This is the one place that tells actions apart.
func (w *workers) dispatch(id uint64, a queue.Action) {
	j := job{id: id, action: a}
	var p *pool
	switch a := a.(type) {
	case queue.Merge:
		p, j.item = w.merges, a.Item
		j.perform = func(ctx context.Context, attempt int) (queue.Event, error) { return w.merging.merge(ctx, a, attempt) }
	case queue.StartBuild:
		p, j.item = w.builds, a.Item
		j.perform = func(ctx context.Context, _ int) (queue.Event, error) { return w.building.start(ctx, a) }
	case queue.CancelBuild:
		p, j.item = w.builds, a.Item
		j.perform = func(ctx context.Context, _ int) (queue.Event, error) { return nil, w.building.cancel(ctx, a) }
	case queue.Forget:
		p, j.item = w.builds, a.Item
		j.perform = func(ctx context.Context, _ int) (queue.Event, error) { return nil, w.building.forget(ctx, a) }
	case queue.Report:
		p, j.item = w.reports, a.Item
		j.perform = func(ctx context.Context, _ int) (queue.Event, error) { return nil, w.reporting.report(ctx, a) }
	case queue.Submit:
		p, j.item = w.reports, a.Item
		j.perform = func(ctx context.Context, _ int) (queue.Event, error) { return w.reporting.submit(ctx, a) }
	case queue.Refresh:
		p, j.item = w.reads, queue.ItemID(a.Event.Change) // the change, to keep one change's reads in order
		j.perform = func(ctx context.Context, _ int) (queue.Event, error) { return w.reading.refresh(ctx, a) }
	case queue.Checkout:
		p, j.item = w.merges, a.Item
		j.perform = func(ctx context.Context, attempt int) (queue.Event, error) {
			return w.merging.checkout(ctx, a, attempt)
		}
	case queue.ListBranches:
		p = w.reports // Gerrit's work
		j.perform = func(ctx context.Context, _ int) (queue.Event, error) { return w.reading.branches(ctx, a) }
	default:
		panic(fmt.Sprintf("gated: no worker performs %T", a)) // a new action kind without a worker: a programming error
	}
	p.push(j)
}

// run starts every pool; the workers stop when ctx is done.
func (w *workers) run(ctx context.Context, wg *sync.WaitGroup) {
	for _, p := range []*pool{w.merges, w.builds, w.reports, w.reads} {
		p.run(ctx, wg)
	}
}

// job is one action to perform, with its outbox id and the item it is for.
type job struct {
	id     uint64
	action queue.Action
	item   queue.ItemID
	// perform does the action and returns the event that answers it (nil
	// if none). An error means a transient failure: the action is tried
	// again later. Permanent failures are answers (a merge conflict, a
	// workflow error, a refused submit) or, for reports, logged and
	// dropped. attempt counts the failed tries of this action so far.
	perform func(ctx context.Context, attempt int) (queue.Event, error)
}

// pool runs jobs on a fixed set of workers. The jobs of one item always go
// to the same worker, so they run in the order decided (a cancel never
// overtakes the start it cancels). Queues are in memory and bounded by the
// outbox: every queued action is also stored there.
type pool struct {
	name    string
	log     *slog.Logger
	mail    *mailbox
	metrics *metrics
	shards  []*shard
	retry   backoff
}

type shard struct {
	mu     sync.Mutex
	jobs   []job
	signal chan struct{}
}

func newPool(name string, workers int, log *slog.Logger, mail *mailbox, metrics *metrics) *pool {
	p := &pool{name: name, log: log.With("worker", name), mail: mail, metrics: metrics, retry: backoff{min: 500 * time.Millisecond, max: time.Minute}}
	for range workers {
		p.shards = append(p.shards, &shard{signal: make(chan struct{}, 1)})
	}
	return p
}

// push queues a job without blocking.
func (p *pool) push(j job) {
	s := p.shards[int(uint64(j.item)%uint64(len(p.shards)))]
	s.mu.Lock()
	s.jobs = append(s.jobs, j)
	s.mu.Unlock()
	select {
	case s.signal <- struct{}{}:
	default:
	}
}

// run starts the workers; they stop when ctx is done.
func (p *pool) run(ctx context.Context, wg *sync.WaitGroup) {
	for _, s := range p.shards {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p.work(ctx, s)
		}()
	}
}

func (p *pool) work(ctx context.Context, s *shard) {
	for {
		s.mu.Lock()
		if len(s.jobs) == 0 {
			s.mu.Unlock()
			select {
			case <-ctx.Done():
				return
			case <-s.signal:
				continue
			}
		}
		j := s.jobs[0]
		s.jobs = s.jobs[1:]
		s.mu.Unlock()
		if !p.perform(ctx, j) {
			return // shutting down: the outbox keeps the job
		}
	}
}

// perform does a job until it succeeds, and posts its answer; it returns
// false if ctx ended first.
func (p *pool) perform(ctx context.Context, j job) bool {
	for attempt := 0; ; attempt++ {
		ev, err := j.perform(ctx, attempt)
		if err == nil {
			return p.mail.post(ctx, input{event: ev, done: j.id, item: j.item})
		}
		if ctx.Err() != nil {
			return false
		}
		wait := p.retry.delay(attempt)
		p.log.Warn("action failed; retrying", "action", j.action, "error", err, "retry_in", wait.Round(time.Millisecond))
		p.metrics.actionRetries.WithLabelValues(p.name).Inc()
		if j.item != 0 {
			p.mail.post(ctx, input{item: j.item, note: fmt.Sprintf("%s: %v (retrying in %s)", j.action, err, wait.Round(time.Second))})
		}
		select {
		case <-ctx.Done():
			return false
		case <-time.After(wait):
		}
	}
}

// backoff is exponential with full jitter.
type backoff struct{ min, max time.Duration }

func (b backoff) delay(attempt int) time.Duration {
	d := b.min << min(attempt, 20)
	if d > b.max || d <= 0 {
		d = b.max
	}
	return d/2 + rand.N(d/2+1)
}
