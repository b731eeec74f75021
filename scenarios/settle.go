package scenarios

import (
	"context"
	"fmt"
	"slices"
	"time"

	"gated.dev/gated/gerrit"
	"gated.dev/gated/queue"
	"gated.dev/gated/scheduler"
)

// feed hands gated the Gerrit events emitted since the last feed, in order,
// and reports whether there were any.
func (w *world) feed(ctx context.Context) (bool, error) {
	evs := w.gerrit.Events()
	fresh := evs[w.fed:]
	for _, e := range fresh {
		ev, err := gerrit.DecodeEvent(e.Webhook)
		if err != nil {
			return false, fmt.Errorf("decode the simulator's %s event: %w", e.Type, err)
		}
		if err := w.gated.Deliver(ctx, ev); err != nil {
			return false, err
		}
	}
	w.fed = len(evs)
	return len(fresh) > 0, nil
}

// quiesce waits until gated consumed every event and finished every
// action (including the events its own actions caused in Gerrit).
func (w *world) quiesce(ctx context.Context) error {
	timeout := w.r.Timeout
	if timeout == 0 {
		timeout = 60 * time.Second
	}
	deadline := time.Now().Add(timeout)
	for {
		more, err := w.feed(ctx)
		if err != nil {
			return err
		}
		// The executor hands its updates to gated: ask it first.
		if !more && w.exec.Undelivered() == 0 && w.gated.Idle() {
			if more, err = w.feed(ctx); err != nil || !more {
				return err
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("gated did not settle within %s", timeout)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Millisecond):
		}
	}
}

// settle runs the builds that are not held to their end, one at a time
// (under argo: waits until no build runs but held ones).
func (w *world) settle(ctx context.Context) error {
	if w.r.argo() {
		deadline := time.Now().Add(5 * time.Minute)
		for {
			if err := w.quiesce(ctx); err != nil {
				return err
			}
			if len(w.exec.Running()) == w.exec.(*argoExecutor).heldCount() && w.gated.Idle() {
				return nil // what runs is held
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("builds still running after 5 minutes")
			}
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(20 * time.Millisecond):
			}
		}
	}
	for {
		if err := w.quiesce(ctx); err != nil {
			return err
		}
		if !w.exec.Advance() {
			return nil
		}
	}
}

// noOrphans checks what every scenario must end with, whatever it
// expects: no build runs in the executor (on the cluster, as Argo sees
// it) that is not the current build of an item gated holds. A cancelled
// workflow takes the controller a moment to stop, so on the cluster this
// waits for up to 30 s.
func (w *world) noOrphans(ctx context.Context) error {
	deadline := time.Now().Add(30 * time.Second)
	for {
		if err := w.quiesce(ctx); err != nil {
			return err
		}
		orphans, err := w.orphans(ctx)
		if err != nil || len(orphans) == 0 {
			return err
		}
		if !w.r.argo() || time.Now().After(deadline) {
			return fmt.Errorf("builds left running for no item: %v", orphans)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// orphans returns the builds that run for no item's current attempt.
func (w *world) orphans(ctx context.Context) ([]string, error) {
	status, err := w.gated.Status(ctx)
	if err != nil {
		return nil, err
	}
	current := map[string]bool{}
	for _, p := range status.Pipelines {
		for _, q := range p.Queues {
			for _, it := range q.Items {
				if it.Phase != queue.PhaseBuilding {
					continue
				}
				current[scheduler.BuildName(p.Name, it.ID.String(), it.Attempt, 0)] = true
				for part := range it.Parts {
					current[scheduler.BuildName(p.Name, it.ID.String(), it.Attempt, part)] = true
				}
			}
		}
	}
	builds, err := w.exec.List(ctx)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, b := range builds {
		if !b.Phase.Done() && !current[b.Name] {
			out = append(out, b.Name)
		}
	}
	slices.Sort(out)
	return out, nil
}
