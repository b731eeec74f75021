package queue

import (
	"fmt"
	"maps"
	"slices"
)

// Dependency cycles. Changes that need each other, directly or not, form a
// cycle: Depends-On both ways, a relation chain with a Depends-On back, or
// (with Gerrit's change.submitWholeTopic, or a queue's DependenciesByTopic)
// the open changes of one topic. None of them can be tested or submitted
// before the others, so a cycle is tested and submitted as one bundle
// (bundle.go), where its queue allows circular dependencies, and refused
// otherwise, as Zuul does (zuul/manager/__init__.py: cycleForChange,
// getDependencyGraph).

// topicJoins reports whether the open changes of x's topic need each
// other: Gerrit submits a topic whole, or x's queue says so.
func (e *Engine) topicJoins(x *Change) bool {
	if x.Topic == "" {
		return false
	}
	q, _ := e.cfg.queueConfig(x.Project)
	return e.st.SubmitWholeTopic || q.DependenciesByTopic
}

// cycleOf returns the dependency cycle c is part of (the strongly connected
// component of the dependency graph that holds it) in merge order, or just
// c when it is in none. The snapshots must hold the changes connected to c
// (the event's closure); the components of one event's snapshots are found
// once (components).
func (e *Engine) cycleOf(c *Change, snaps map[int]*Change) []*Change {
	if !e.dependent(c, snaps) {
		return []*Change{c} // needs nothing open: in no cycle
	}
	if e.comps == nil || e.compsOf[c.Number] != c {
		// First asked for these snapshots (an explanation asks outside
		// any event).
		e.comps, e.compsOf = e.components(snaps), snaps
	}
	if cycle := e.comps[c.Number]; slices.Contains(cycle, c) {
		return cycle
	}
	return []*Change{c}
}

// dependent reports whether c needs an open change of the snapshots: a
// change that needs none is in no cycle, and most changes are such.
func (e *Engine) dependent(c *Change, snaps map[int]*Change) bool {
	if !c.Open() {
		return false
	}
	for _, n := range c.Needs {
		if d := snaps[n.Number]; d != nil && d.Open() && d != c {
			return true
		}
	}
	if e.topicJoins(c) {
		for _, d := range snaps {
			if d != c && d.Open() && d.Topic == c.Topic {
				return true
			}
		}
	}
	return false
}

// components finds the dependency cycles among the open changes of the
// snapshots (Tarjan's strongly connected components): each change of a
// cycle maps to the cycle, in merge order. An edge goes from a change to
// each open change it needs, and with topicJoins to the other open changes
// of its topic.
func (e *Engine) components(snaps map[int]*Change) map[int][]*Change {
	var nodes []*Change
	topics := map[string][]*Change{}
	for _, n := range slices.Sorted(maps.Keys(snaps)) {
		if c := snaps[n]; c.Open() {
			nodes = append(nodes, c)
			if c.Topic != "" {
				topics[c.Topic] = append(topics[c.Topic], c)
			}
		}
	}
	edges := func(x *Change) []*Change {
		var out []*Change
		for _, n := range x.Needs {
			if d := snaps[n.Number]; d != nil && d.Open() && d != x {
				out = append(out, d)
			}
		}
		if e.topicJoins(x) {
			for _, d := range topics[x.Topic] {
				if d != x {
					out = append(out, d)
				}
			}
		}
		return out
	}
	index, low := map[*Change]int{}, map[*Change]int{}
	onStack := map[*Change]bool{}
	var stack []*Change
	out := map[int][]*Change{}
	var visit func(x *Change)
	visit = func(x *Change) {
		index[x], low[x] = len(index), len(index)
		stack = append(stack, x)
		onStack[x] = true
		for _, d := range edges(x) {
			if _, seen := index[d]; !seen {
				visit(d)
				low[x] = min(low[x], low[d])
			} else if onStack[d] {
				low[x] = min(low[x], index[d])
			}
		}
		if low[x] != index[x] {
			return
		}
		var comp []*Change
		for {
			y := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			onStack[y] = false
			comp = append(comp, y)
			if y == x {
				break
			}
		}
		if len(comp) > 1 {
			comp = mergeOrder(comp)
			for _, y := range comp {
				out[y.Number] = comp
			}
		}
	}
	for _, x := range nodes {
		if _, seen := index[x]; !seen {
			visit(x)
		}
	}
	return out
}

// mergeOrder sorts the changes of a cycle as they are merged and
// submitted: each after its relation-chain parent, then by change number.
func mergeOrder(members []*Change) []*Change {
	slices.SortFunc(members, func(a, b *Change) int { return a.Number - b.Number })
	in := map[int]bool{}
	for _, m := range members {
		in[m.Number] = true
	}
	placed := map[int]bool{}
	out := make([]*Change, 0, len(members))
	for len(out) < len(members) {
		next := -1
		for i, m := range members {
			if placed[m.Number] {
				continue
			}
			if next < 0 {
				next = i // a parent loop cannot happen in git; be safe
			}
			if !slices.ContainsFunc(m.Needs, func(n Need) bool { return n.Patchset != 0 && in[n.Number] && !placed[n.Number] }) {
				next = i
				break
			}
		}
		placed[members[next].Number] = true
		out = append(out, members[next])
	}
	return out
}

// sharedTopic returns the topic that joins changes of a cycle, if one does.
func (e *Engine) sharedTopic(members []*Change) string {
	for i, a := range members {
		for _, b := range members[i+1:] {
			if a.Topic != "" && a.Topic == b.Topic && e.topicJoins(a) {
				return a.Topic
			}
		}
	}
	return ""
}

// cycleRefusal says why a cycle may not enter a pipeline as a bundle, or
// nothing: its changes must all be in one change queue, and that queue must
// allow circular dependencies.
func (e *Engine) cycleRefusal(members []*Change) refusal {
	first := members[0]
	qname := e.cfg.queueName(first.Project, first.Branch)
	for _, m := range members[1:] {
		if other := e.cfg.queueName(m.Project, m.Branch); other != qname {
			return cycleRefused(members, fmt.Sprintf("it is part of a dependency cycle (%s), and change %d of it is in another change queue (%s, not %s): a cycle is tested as one, in one change queue",
				changeListOf(members), m.Number, other, qname))
		}
	}
	if q, ok := e.cfg.queueConfig(first.Project); ok && q.AllowCircularDependencies {
		return refusal{}
	}
	name := first.Project
	if p, _ := e.cfg.project(first.Project); p.Queue != "" {
		name = p.Queue
	}
	if t := e.sharedTopic(members); t != "" && e.st.SubmitWholeTopic {
		return cycleRefused(members, fmt.Sprintf("Gerrit submits the changes of topic %q together (change.submitWholeTopic), which makes %s one dependency cycle, and its change queue %s does not allow circular dependencies (allow-circular-dependencies): none of them enters, so that none merges untested with another",
			t, changeListOf(members), name))
	}
	return cycleRefused(members, fmt.Sprintf("it is part of a dependency cycle (%s), and its change queue %s does not allow circular dependencies (allow-circular-dependencies)", changeListOf(members), name))
}

// cycleRefused is a refusal that names the changes of a cycle.
func cycleRefused(members []*Change, text string) refusal {
	r := refusal{text: text, reportable: true}
	for _, m := range members {
		r.changes = append(r.changes, m.Number)
	}
	return r
}

// changeListOf names changes for people: "changes 1, 2 and 3".
func changeListOf(cs []*Change) string {
	nums := make([]int, len(cs))
	for i, c := range cs {
		nums[i] = c.Number
	}
	return changeList(nums)
}
