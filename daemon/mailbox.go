package daemon

import (
	"context"
	"sync/atomic"
	"time"

	"gated.dev/gated/queue"
)

// input is one thing for the gate loop to consume: an event (from Gerrit,
// a worker's answer, the executor's watch, an administrator), the inbox or
// outbox entry it finishes, a worker's note, or a request for the status
// or for an explanation.
type input struct {
	event   queue.Event
	eventID string    // Gerrit event id, for deduplication
	arrived time.Time // when the Gerrit event reached gated
	inbox   uint64    // inbox entry consumed
	done    uint64    // outbox entry finished
	// item is the item a worker's input is about: note is a transient
	// problem it is retrying with the item's action, shown on the status
	// page until that action is done.
	item queue.ItemID
	note string
	// tick asks for the status to be published, and the engine's timers
	// to fire if due (time passed); status, if set, also receives it.
	tick   bool
	status chan<- Status
	// verdict, if set, receives the engine's answer to event, an
	// administrator's request numbered request, once committed.
	request uint64
	verdict chan<- queue.Verdict
	// explain, if set, asks for the explanation of a change.
	explain *explainRequest
	// config is the outcome of a reload: the error shown on the status
	// page, or none.
	config *configNote
}

// mailbox is the one way into the gate loop: every goroutine that has
// something for the loop posts it here.
//
// It also counts the work in flight anywhere in the daemon, so that Idle
// can say that nothing moves: inputs posted and not yet consumed, Gerrit
// events stored in the inbox and not yet consumed, actions dispatched and
// not yet answered, a reconcile under way. Each handoff counts the new unit
// before the old one is uncounted (a worker posts its answer before its
// action is uncounted; the loop dispatches the actions a batch decided
// before it uncounts the batch), so the count is never 0 while anything
// moves.
type mailbox struct {
	in      chan input
	pending atomic.Int64
}

func newMailbox() *mailbox { return &mailbox{in: make(chan input, 256)} }

// post hands inputs to the loop, in order, unless ctx ends first; each is
// counted until the loop consumed it.
func (m *mailbox) post(ctx context.Context, xs ...input) bool {
	m.expect(len(xs))
	for i, x := range xs {
		select {
		case m.in <- x:
		case <-ctx.Done():
			m.settle(len(xs) - i)
			return false
		}
	}
	return true
}

// expect counts n units of work that will reach the loop later (inbox
// entries, dispatched actions, a reconcile).
func (m *mailbox) expect(n int) { m.pending.Add(int64(n)) }

// settle uncounts n units of work that are finished.
func (m *mailbox) settle(n int) { m.pending.Add(-int64(n)) }

// idle reports whether no work is in flight.
func (m *mailbox) idle() bool { return m.pending.Load() == 0 }
