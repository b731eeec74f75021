package gerrit

import (
	"context"
	"fmt"
	"strconv"
)

// DefaultClosureLimit bounds a closure when the caller gives no limit.
const DefaultClosureLimit = 50

// ClosureOptions say how far a closure reaches.
type ClosureOptions struct {
	// Limit bounds its size; DefaultClosureLimit if <= 0.
	Limit int
	// Topic, if set, says whether the open changes of a change's topic
	// are connected to it: with Gerrit's change.submitWholeTopic (they
	// are submitted together), or where a queue says they depend on each
	// other.
	Topic func(Change) bool
}

// Closure returns the change and, transitively, every change connected to
// it by a dependency: the changes it needs and the open changes that need
// it, the open changes of its topic where opts.Topic says so, then theirs,
// and so on. This is what accompanies an event into the engine. The change
// comes first. A needed change that is abandoned is included (it blocks)
// but not followed further; merged changes are never needed. Cycles end
// because each change is read once; a closure larger than the limit is cut
// off with a warning, and changes Gerrit no longer shows are left out.
func (c *Client) Closure(ctx context.Context, number int, opts ClosureOptions) ([]Change, error) {
	limit := opts.Limit
	if limit <= 0 {
		limit = DefaultClosureLimit
	}
	root, err := c.Change(ctx, number)
	if err != nil {
		return nil, err
	}
	out := []Change{root}
	seen := map[int]bool{number: true}
	topics := map[string]bool{} // topics whose changes were added
	var next []int
	follow := func(ch Change) error {
		next = append(next, neighbours(ch)...)
		if ch.Topic == "" || topics[ch.Topic] || opts.Topic == nil || !opts.Topic(ch) {
			return nil
		}
		topics[ch.Topic] = true
		siblings, err := c.query(ctx, "status:open topic:"+strconv.Quote(ch.Topic), nil)
		if err != nil {
			return fmt.Errorf("closure of change %d: topic %q: %w", number, ch.Topic, err)
		}
		for _, s := range siblings {
			next = append(next, s.Number)
		}
		return nil
	}
	if err := follow(root); err != nil {
		return nil, err
	}
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
			if err := follow(ch); err != nil {
				return nil, err
			}
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
