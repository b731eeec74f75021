package gerrit

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"time"
)

// Reconcile says which changes a reconcile reads: so that a missed event
// never strands a change, the daemon periodically re-reads the changes the
// gate may act on and the changes it holds.
type Reconcile struct {
	// Query selects the changes the gate may act on, e.g.
	// "status:open label:Workflow=1".
	Query string
	// Project, if set, keeps the found changes of the projects it accepts
	// (before their closures are read).
	Project func(name string) bool
	// Also are more changes to read (the changes the gate holds).
	Also []int
	// Closure says how far the closure of each change reaches (see
	// Closure).
	Closure ClosureOptions
	// Now is the clock that dates each read for fn; default time.Now.
	Now func() time.Time
}

// Reconcile reads the closure (see Closure) of every change r selects and
// hands each to fn, the change first, with the time its read began, lowest change number first: Gerrit
// lists the most recently updated first, and older changes were most
// likely approved first. Changes Gerrit no longer shows are skipped, and
// so are changes it refuses to show (a 4xx), with an error. When Gerrit
// cannot serve a change now (a 5xx, 429 or a network error, once the
// client's retries are spent), the run stops there, so that no change
// overtakes an older one; the next run starts again from the oldest. The
// errors are returned together.
func (c *Client) Reconcile(ctx context.Context, r Reconcile, fn func(ctx context.Context, closure []Change, readAt time.Time) error) error {
	if r.Now == nil {
		r.Now = time.Now
	}
	found, err := c.Query(ctx, r.Query)
	if err != nil {
		return fmt.Errorf("reconcile query %q: %w", r.Query, err)
	}
	var nums []int
	for _, ch := range found {
		if r.Project == nil || r.Project(ch.Project) {
			nums = append(nums, ch.Number)
		}
	}
	nums = append(nums, r.Also...)
	slices.Sort(nums)
	nums = slices.Compact(nums)
	var errs []error
	for _, n := range nums {
		readAt := r.Now()
		closure, err := c.Closure(ctx, n, r.Closure)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if IsNotFound(err) {
			continue
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("change %d: %w", n, err))
			if unavailable(err) {
				break
			}
			continue
		}
		if err := fn(ctx, closure, readAt); err != nil {
			errs = append(errs, fmt.Errorf("change %d: %w", n, err))
		}
	}
	c.log.Debug("reconciled with gerrit", "query", r.Query, "changes", len(nums), "errors", len(errs))
	return errors.Join(errs...)
}

// unavailable reports whether an error says Gerrit cannot answer now, as
// opposed to refusing the request for good.
func unavailable(err error) bool {
	var api *APIError
	if !errors.As(err, &api) {
		return true
	}
	return api.StatusCode >= 500 || api.StatusCode == http.StatusTooManyRequests
}
