package daemon

import (
	"context"
	"log/slog"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"gated.dev/gated/queue"
)

// job is one action to perform, with its outbox id.
type job struct {
	id     uint64
	action queue.Action
}

// performer does one kind of action. It returns the event that answers the
// action (nil if none). An error means a transient failure: the action is
// tried again later. Permanent failures are answers (a merge conflict, a
// workflow error, a refused submit) or, for reports, logged and dropped.
// attempt counts the failed tries of this action so far.
type performer func(ctx context.Context, a queue.Action, attempt int) (queue.Event, error)

// pool runs the actions of one kind on a fixed set of workers. Actions of
// one item always go to the same worker, so they run in the order decided
// (a cancel never overtakes the start it cancels). Queues are in memory and
// bounded by the outbox: every queued action is also stored there.
type pool struct {
	name    string
	log     *slog.Logger
	perform performer
	shards  []*shard
	done    func(ctx context.Context, j job, ev queue.Event) // hands the answer to the loop
	// inFlight counts jobs queued or being performed (the daemon's work
	// counter).
	inFlight *atomic.Int64
	retry    backoff
	onRetry  func(j job, err error, wait time.Duration) // status notes
}

type shard struct {
	mu     sync.Mutex
	jobs   []job
	signal chan struct{}
}

func newPool(name string, workers int, log *slog.Logger, perform performer) *pool {
	p := &pool{name: name, log: log.With("worker", name), perform: perform, retry: backoff{min: 500 * time.Millisecond, max: time.Minute}}
	for range workers {
		p.shards = append(p.shards, &shard{signal: make(chan struct{}, 1)})
	}
	return p
}

// push queues a job without blocking.
func (p *pool) push(j job) {
	s := p.shards[int(itemOf(j.action)%uint64(len(p.shards)))]
	p.inFlight.Add(1)
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
		for attempt := 0; ; attempt++ {
			ev, err := p.perform(ctx, j.action, attempt)
			if err == nil {
				p.done(ctx, j, ev)
				p.inFlight.Add(-1)
				break
			}
			if ctx.Err() != nil {
				return // shutting down: the outbox keeps the job
			}
			wait := p.retry.delay(attempt)
			p.log.Warn("action failed; retrying", "action", describeAction(j.action), "error", err, "retry_in", wait.Round(time.Millisecond))
			if p.onRetry != nil {
				p.onRetry(j, err, wait)
			}
			select {
			case <-ctx.Done():
				return
			case <-time.After(wait):
			}
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

func itemOf(a queue.Action) uint64 {
	switch a := a.(type) {
	case queue.Merge:
		return uint64(a.Item)
	case queue.StartBuild:
		return uint64(a.Item)
	case queue.CancelBuild:
		return uint64(a.Item)
	case queue.Report:
		return uint64(a.Item)
	case queue.Submit:
		return uint64(a.Item)
	case queue.Forget:
		return uint64(a.Item)
	}
	return 0
}
