package queue

import (
	"slices"
	"time"
)

// Snapshots read out of order. The daemon reads changes from Gerrit for
// events and for reconciles at the same time, and a read slowed down by
// retries can reach the engine after a newer read of the same change: the
// older snapshot would undo what the newer one decided (dequeue a change
// approved meanwhile, enqueue one unapproved meanwhile). So each event
// carries when its read began, the engine remembers the newest read it
// applied per change, and it never decides on an event with an older
// snapshot: it asks for the event to be read again (Refresh), keeping its
// trigger.
//
// The memory is the engine's only state that is not part of State: reads
// die with the process, so a restarted engine only ever gets reads that
// began after it started. Entries older than readMemory are forgotten (no
// read takes that long: the client gives up sooner).
const readMemory = 10 * time.Minute

// stale reports whether an event carries a snapshot older than one
// already applied.
func (e *Engine) stale(ev ChangeEvent) bool {
	if ev.ReadAt.IsZero() {
		return false
	}
	for _, c := range ev.Changes {
		if seen, ok := e.reads[c.Number]; ok && ev.ReadAt.Before(seen) {
			return true
		}
	}
	return false
}

// recordReads remembers the read time of an event's snapshots.
func (e *Engine) recordReads(ev ChangeEvent) {
	if ev.ReadAt.IsZero() {
		return
	}
	if e.reads == nil {
		e.reads = map[int]time.Time{}
	}
	for n, t := range e.reads {
		if t.Before(e.now.Add(-readMemory)) {
			delete(e.reads, n)
		}
	}
	for _, c := range ev.Changes {
		if seen, ok := e.reads[c.Number]; !ok || ev.ReadAt.After(seen) {
			e.reads[c.Number] = ev.ReadAt
		}
	}
}

// knownMerged records that the engine learnt, from gated's own submit,
// that change n merged. A merge is final, so a snapshot read before it
// that still shows the change open is corrected rather than believed: the
// change is not enqueued again, and the changes that need it see it
// merged.
func (e *Engine) knownMerged(n int) {
	if e.merges == nil {
		e.merges = map[int]time.Time{}
	}
	e.merges[n] = e.now
}

// withKnownMerges returns the event with the changes the engine knows
// merged marked so (a copy, when it changes any).
func (e *Engine) withKnownMerges(ev ChangeEvent) ChangeEvent {
	for n, t := range e.merges {
		if t.Before(e.now.Add(-readMemory)) {
			delete(e.merges, n)
		}
	}
	copied := false
	for i, c := range ev.Changes {
		if _, ok := e.merges[c.Number]; !ok || c.Status == StatusMerged {
			continue
		}
		if !copied {
			ev.Changes, copied = slices.Clone(ev.Changes), true
		}
		ev.Changes[i].Status = StatusMerged
	}
	return ev
}
