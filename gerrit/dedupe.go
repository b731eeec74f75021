package gerrit

import (
	"context"
	"sync"
)

// Sink receives decoded events. An error means the event was not taken:
// the webhook answers 503 so that Gerrit's webhooks plugin sends it again.
type Sink func(context.Context, Event) error

// Dedupe remembers the IDs of the most recent events, a bounded number of
// them, to drop events that arrive twice: by webhook and stream-events, from
// a webhook retry, or from an at-least-once broker. It is safe for
// concurrent use.
type Dedupe struct {
	mu   sync.Mutex
	seen map[string]struct{}
	ring []string
	next int
}

// NewDedupe remembers up to capacity event IDs (at least 1).
func NewDedupe(capacity int) *Dedupe {
	capacity = max(capacity, 1)
	return &Dedupe{seen: make(map[string]struct{}, capacity), ring: make([]string, capacity)}
}

// Seen reports whether id was already recorded, and records it. The
// oldest ID is forgotten when the memory is full.
func (d *Dedupe) Seen(id string) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	if _, ok := d.seen[id]; ok {
		return true
	}
	d.record(id)
	return false
}

// Contains reports whether id was recorded, without recording it.
func (d *Dedupe) Contains(id string) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	_, ok := d.seen[id]
	return ok
}

func (d *Dedupe) record(id string) {
	if old := d.ring[d.next]; old != "" {
		delete(d.seen, old)
	}
	d.ring[d.next] = id
	d.seen[id] = struct{}{}
	d.next = (d.next + 1) % len(d.ring)
}

// Filter wraps a sink so that an event already taken is dropped (with a nil
// error). An event is recorded only once the sink took it, so an event the
// sink refused is taken when it comes again.
func (d *Dedupe) Filter(sink Sink) Sink {
	var inflight sync.Mutex // one event at a time: two copies may race
	return func(ctx context.Context, e Event) error {
		inflight.Lock()
		defer inflight.Unlock()
		id := e.ID()
		if d.Contains(id) {
			return nil
		}
		if err := sink(ctx, e); err != nil {
			return err
		}
		d.Seen(id)
		return nil
	}
}
