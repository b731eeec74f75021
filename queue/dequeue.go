package queue

import (
	"fmt"
	"slices"
)

// dequeue removes an item from its pipeline. When the item's change did not
// merge, every item behind it whose state included it is reset, and every
// item that needs one of its changes leaves too (Zuul's "Change X is
// needed"). why, when set, is reported (as kind) on each of the item's
// changes: it is said of change about, and the other changes of a bundle
// are told that they leave with it.
func (e *Engine) dequeue(l *itemLoc, merged bool, kind ReportKind, about int, why string) {
	p, q, it := l.pipeline, l.queue, l.item
	i := slices.Index(q.Items, it)
	if !merged {
		e.resetBehind(p, q, it)
	}
	for _, behind := range q.Items[i+1:] {
		if behind.Ahead == it.ID {
			behind.Ahead = it.Ahead
		}
	}
	e.cancel(p, it)
	q.Items = slices.Delete(q.Items, i, i+1)
	if len(q.Items) == 0 {
		e.emptied[q] = p
	}
	e.unindex(it)
	e.touch(p, q)
	e.emit(Forget{Item: it.ID, Pipeline: p.Name})
	if kind != "" {
		e.counts.Dequeued++
	}
	if kind != "" && (it.Ref == nil || it.Change.Number != 0) {
		for _, r := range it.members() {
			msg := fmt.Sprintf("gated: this change left the %s pipeline: %s.", p.Name, why)
			if about != 0 && r.Number != about {
				msg = fmt.Sprintf("gated: this change left the %s pipeline with its dependency cycle: %s.", p.Name, aboutChange(about, why))
			}
			e.emit(Report{Item: it.ID, Pipeline: p.Name, Change: r, Kind: kind, Message: msg + bundleNote(it, r.Number)})
		}
	}
	if merged || it.Ref != nil {
		return
	}
	for _, other := range slices.Clone(q.Items) {
		if e.items[other.ID] == nil {
			continue
		}
		if k := slices.IndexFunc(other.Needs, func(n Need) bool { return it.hasMember(n.Number) }); k >= 0 {
			n := other.Needs[k].Number
			reason := fmt.Sprintf("change %d, which it depends on, left the %s pipeline", n, p.Name)
			if why != "" {
				reason += " (" + why + ")"
			}
			e.dequeue(e.items[other.ID], false, ReportDequeue, 0, reason)
		}
	}
}

// includes reports whether item id is in the speculative state of it.
func (e *Engine) includes(it *Item, id ItemID) bool {
	for a := it.Ahead; a != 0; {
		if a == id {
			return true
		}
		l := e.items[a]
		if l == nil {
			return false
		}
		a = l.item.Ahead
	}
	return false
}
