package gerrit

import (
	"context"
	"fmt"
)

// DefaultClosureLimit bounds a closure when the caller gives no limit.
const DefaultClosureLimit = 50

// Closure returns the change and, transitively, every change connected to
// it by a dependency: the changes it needs and the open changes that need
// it, then theirs, and so on. This is what accompanies an event into the
// engine. The change comes first. A needed change that is abandoned is
// included (it blocks) but not followed further; merged changes are never
// needed. Cycles end because each change is read once; a closure larger than
// limit (DefaultClosureLimit if limit <= 0) is cut off with a warning, and
// changes Gerrit no longer shows are left out.
func (c *Client) Closure(ctx context.Context, number, limit int) ([]Change, error) {
	if limit <= 0 {
		limit = DefaultClosureLimit
	}
	root, err := c.Change(ctx, number)
	if err != nil {
		return nil, err
	}
	out := []Change{root}
	seen := map[int]bool{number: true}
	next := neighbours(root)
	for len(next) > 0 {
		n := next[0]
		next = next[1:]
		if seen[n] {
			continue
		}
		seen[n] = true
		if len(out) >= limit {
			c.log.Warn("change has more dependencies than the closure limit; leaving the rest out",
				"change", number, "limit", limit)
			break
		}
		ch, err := c.Change(ctx, n)
		if IsNotFound(err) {
			c.log.Warn("dependency of a change is not visible in gerrit; leaving it out",
				"change", number, "dependency", n)
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("closure of change %d: %w", number, err)
		}
		out = append(out, ch)
		if ch.Open() {
			next = append(next, neighbours(ch)...)
		}
	}
	return out, nil
}

func neighbours(ch Change) []int {
	ns := make([]int, 0, len(ch.Needs)+len(ch.NeededBy))
	for _, n := range ch.Needs {
		ns = append(ns, n.Number)
	}
	return append(ns, ch.NeededBy...)
}
