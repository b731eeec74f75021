package queue

import (
	"fmt"
	"slices"
	"strings"
)

// onPromote moves changes to the head of their change queue, in the
// order given, as Zuul's promote does: the promoted changes first, then
// every other item in its previous order. The items that keep their place
// from the head (a prefix already in that order) keep their state; every
// item from the first one whose place changed is rebuilt on its new state
// ahead (a gate reset), keeping its enqueue time.
//
// Where gated differs, and why:
//   - an item being submitted stays at the head: its submit is in flight,
//     and Gerrit may be merging it;
//   - a change needed by a promoted one (in the same queue) moves with it,
//     just ahead of it, since an item builds on what it needs (Zuul's
//     re-enqueue pulls it in the same way);
//   - the changes must share one change queue (Zuul accepts several, and
//     orders the queues): a request that spans two is refused, so that
//     its meaning is never in doubt;
//   - a probe keeps running, and the failed probe of an item that is not
//     promoted keeps its failure: a probe builds the change alone on the
//     branch tip, which the item's place does not change; a promoted item
//     (or one that moves with it) is built again whatever failed, as Zuul's
//     re-enqueue does, since the administrator put it at the head;
//   - pipelines that are not dependent are refused: their items wait for
//     nothing but the head of a supercedent queue, so there is nothing to
//     promote.
func (e *Engine) onPromote(ev Promote) {
	p := e.pipelineOr(ev.Admin, ev.Pipeline)
	if p == nil {
		return
	}
	if e.pipelineConfig(p).Manager != Dependent {
		e.verdict(ev.Admin, OutcomeInvalid, "the %s pipeline is %s: its items are tested alone, so there is nothing to promote", p.Name, e.pipelineConfig(p).Manager)
		return
	}
	if len(ev.Changes) == 0 {
		e.verdict(ev.Admin, OutcomeInvalid, "name at least one change to promote")
		return
	}
	var promoted []*Item
	var q *ChangeQueue
	for i, n := range ev.Changes {
		if slices.Contains(ev.Changes[:i], n) {
			e.verdict(ev.Admin, OutcomeInvalid, "change %d is named twice", n)
			return
		}
		l := e.itemOr(ev.Admin, p, n)
		if l == nil {
			return
		}
		if q != nil && l.queue != q {
			e.verdict(ev.Admin, OutcomeInvalid, "changes %d and %d are in different change queues (%s and %s): promote the changes of each queue on their own",
				ev.Changes[0], n, q.Name, l.queue.Name)
			return
		}
		q = l.queue
		promoted = append(promoted, l.item)
	}
	order, front, pulled := e.promotedOrder(p, q, promoted)
	k := 0
	for k < len(order) && order[k] == q.Items[k] {
		k++
	}
	if k == len(order) {
		e.verdict(ev.Admin, OutcomeAccepted, "the %s change queue of the %s pipeline is in that order already: %s; nothing changed", q.Name, p.Name, queueOrder(order))
		return
	}
	q.Items = order
	e.touch(p, q)
	for _, it := range order[:front] {
		if it.Phase == PhaseFailed && it.Probe {
			it.Probe, it.ProbeWith = false, nil // so that reset builds it again
		}
	}
	for i, it := range order[k:] {
		it.Ahead = 0
		if k+i > 0 {
			it.Ahead = order[k+i-1].ID
		}
	}
	// Every item from k is rebuilt: one by one, in queue order (reset's
	// walk behind each would find only items reset here anyway).
	for _, it := range order[k:] {
		e.resetItem(p, q, it)
	}
	for _, it := range promoted {
		if slices.Index(order, it) < k {
			continue // it kept its place
		}
		e.reportEach(p, it, ReportAdmin, nil, fmt.Sprintf("gated: this change was moved to the head of its change queue in the %s pipeline: %s.", p.Name, ev.did("promoted")))
	}
	msg := fmt.Sprintf("the %s change queue of the %s pipeline is now %s", q.Name, p.Name, queueOrder(order))
	if len(pulled) > 0 {
		var s []string
		for _, pl := range pulled {
			s = append(s, fmt.Sprintf("change %d moved with change %d, which depends on it", pl.moved, pl.with))
		}
		msg += " (" + strings.Join(s, "; ") + ")"
	}
	e.verdict(ev.Admin, OutcomeAccepted, "%s", msg)
}

// pull is a change that moved with a promoted one, which needs it.
type pull struct{ moved, with int }

// promotedOrder returns q's items in their promoted order: the items
// being submitted, then each promoted item just behind the items of q it
// needs (which move with it), then the others in their previous order;
// front counts the items before the others.
func (e *Engine) promotedOrder(p *PipelineState, q *ChangeQueue, promoted []*Item) (order []*Item, front int, pulled []pull) {
	order = make([]*Item, 0, len(q.Items))
	placed := map[ItemID]bool{}
	// place places it behind what it needs; root is the promoted item
	// that pulls it along, if any.
	var place func(it, root *Item)
	place = func(it, root *Item) {
		if placed[it.ID] {
			return
		}
		placed[it.ID] = true
		pulling := root
		if pulling == nil && slices.Contains(promoted, it) {
			pulling = it
		}
		for _, n := range it.Needs {
			if l := e.itemOf(p, n.Number); l != nil && l.queue == q {
				place(l.item, pulling)
			}
		}
		if root != nil && !slices.Contains(promoted, it) {
			pulled = append(pulled, pull{moved: it.Change.Number, with: root.Change.Number})
		}
		order = append(order, it)
	}
	for _, it := range q.Items {
		if it.Phase == PhaseSubmitting {
			place(it, nil)
		}
	}
	for _, it := range promoted {
		place(it, nil)
	}
	front = len(order)
	for _, it := range q.Items {
		place(it, nil)
	}
	return order, front, pulled
}

// queueOrder lists the changes of items, head first: "5, 3, 1".
func queueOrder(items []*Item) string {
	s := make([]string, len(items))
	for i, it := range items {
		s[i] = fmt.Sprint(it.Change.Number)
	}
	return strings.Join(s, ", ")
}
