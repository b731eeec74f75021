package gerrit

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// ReconcileConfig says how gated looks for changes that events may have
// missed.
type ReconcileConfig struct {
	// Query selects the changes the gate may act on, e.g.
	// "status:open label:Workflow=1".
	Query string
	// Interval is the time between runs; default 5 minutes.
	Interval time.Duration
	// ClosureLimit bounds the closure of each change (see Closure).
	ClosureLimit int
	// Trigger, if set, starts a run at once whenever it receives, e.g.
	// after stream-events reconnected or sent dropped-output.
	Trigger <-chan struct{}
}

// Reconcile runs ReconcileOnce at once, then every Interval and whenever
// triggered, until ctx is done; it then returns ctx.Err(). A failed run is
// logged and the next one tries again. So a missed event never strands a
// change: the gate sees it at the next run at the latest.
func (c *Client) Reconcile(ctx context.Context, cfg ReconcileConfig, fn func(context.Context, []Change) error) error {
	if cfg.Query == "" {
		return errors.New("reconcile: no query")
	}
	if cfg.Interval <= 0 {
		cfg.Interval = 5 * time.Minute
	}
	run := func() {
		if err := c.ReconcileOnce(ctx, cfg.Query, cfg.ClosureLimit, fn); err != nil && ctx.Err() == nil {
			c.log.Warn("reconcile with gerrit failed; trying again at the next run", "query", cfg.Query, "next", cfg.Interval, "err", err)
		}
	}
	run()
	tick := time.NewTicker(cfg.Interval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
			run()
		case <-cfg.Trigger:
			run()
		}
	}
}

// ReconcileOnce runs the query and hands fn the closure of each change it
// finds (see Closure), the change first. A change that was part of an
// earlier closure of the same run is not read again. Failures of single
// changes do not stop the run; they are returned together.
func (c *Client) ReconcileOnce(ctx context.Context, query string, closureLimit int, fn func(context.Context, []Change) error) error {
	infos, err := c.query(ctx, query, nil)
	if err != nil {
		return fmt.Errorf("reconcile: %w", err)
	}
	done := map[int]bool{}
	var errs []error
	for _, info := range infos {
		if done[info.Number] {
			continue
		}
		closure, err := c.Closure(ctx, info.Number, closureLimit)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("reconcile change %d: %w", info.Number, err))
			continue
		}
		for _, ch := range closure {
			done[ch.Number] = true
		}
		if err := fn(ctx, closure); err != nil {
			errs = append(errs, fmt.Errorf("reconcile change %d: %w", info.Number, err))
		}
	}
	c.log.Debug("reconciled with gerrit", "query", query, "changes", len(infos), "errors", len(errs))
	return errors.Join(errs...)
}
