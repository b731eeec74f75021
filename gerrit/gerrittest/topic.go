package gerrittest

import (
	"cmp"
	"fmt"
	"slices"
)

// Gerrit's change.submitWholeTopic (gerrit.config [change]): submitting a
// change submits every open change of its topic, across projects and
// branches, with their unmerged ancestors, transitively (MergeSuperSet).
// Every change of the set must be ready, and every branch must integrate
// without a problem, before any ref moves.

// SetSubmitWholeTopic turns Gerrit's change.submitWholeTopic on or off, as
// an administrator changing gerrit.config and restarting Gerrit would.
func (s *Server) SetSubmitWholeTopic(on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.submitWholeTopic = on
}

// submissionSet is what submitting c submits: c, its unmerged ancestors
// (unless CHERRY_PICK), and with wholeTopic every open change sharing the
// topic of a member, until nothing is added; ordered by project, branch,
// then ancestors first and change number. The problems are those of
// ancestors that cannot be submitted (outdated or abandoned).
func (s *Server) submissionSet(c *change, wholeTopic bool) ([]*change, []string) {
	in := map[*change]bool{}
	var set []*change
	var problems []string
	add := func(x *change) {
		if !in[x] {
			in[x] = true
			set = append(set, x)
		}
	}
	add(c)
	for i := 0; i < len(set); i++ {
		chain, probs := s.submittedTogether(set[i])
		for _, p := range probs {
			if !slices.Contains(problems, p) {
				problems = append(problems, p)
			}
		}
		for _, x := range chain {
			add(x)
		}
		if wholeTopic && set[i].topic != "" {
			for _, x := range s.openTopic(set[i].topic) {
				add(x)
			}
		}
	}
	return s.byAncestry(set, false), problems
}

// openTopic returns the open changes of a topic, by change number.
func (s *Server) openTopic(topic string) []*change {
	var out []*change
	for n := 1; n < s.nextChange; n++ {
		if x := s.changes[n]; x != nil && x.open() && x.topic == topic {
			out = append(out, x)
		}
	}
	return out
}

// byAncestry sorts changes by project and branch, and within a branch
// puts every change after its ancestors, then by change number: the order
// of a submission. newestFirst reverses the order within a branch, as
// SubmittedTogether answers.
func (s *Server) byAncestry(set []*change, newestFirst bool) []*change {
	depth := map[*change]int{}
	for _, x := range set {
		depth[x] = len(s.ancestorsIn(x, set))
	}
	out := slices.Clone(set)
	slices.SortStableFunc(out, func(a, b *change) int {
		if newestFirst {
			a, b = b, a
		}
		return cmp.Or(cmp.Compare(depth[a], depth[b]), cmp.Compare(a.number, b.number))
	})
	slices.SortStableFunc(out, func(a, b *change) int {
		return cmp.Or(cmp.Compare(a.project.name, b.project.name), cmp.Compare(a.branch, b.branch))
	})
	return out
}

// ancestorsIn returns the changes of set that x's current patchset
// descends from on its branch, nearest first.
func (s *Server) ancestorsIn(x *change, set []*change) []*change {
	var out []*change
	if x.project.submitType == CherryPick {
		return nil
	}
	for cur := x.current().commit; len(cur.parents) > 0; {
		loc, ok := s.revs[cur.parents[0]]
		if !ok || !slices.Contains(set, loc.change) || loc.patchset != loc.change.current() {
			return out
		}
		out = append(out, loc.change)
		cur = loc.patchset.commit
	}
	return out
}

// branchSet is the part of a submission on one branch.
type branchSet struct {
	project *project
	branch  string
	changes []*change // ancestors first
	oldTip  string
	newTip  string
	results []submitted
}

// byBranch splits an ordered submission by branch.
func byBranch(set []*change) []*branchSet {
	var out []*branchSet
	for _, x := range set {
		if n := len(out); n > 0 && out[n-1].project == x.project && out[n-1].branch == x.branch {
			out[n-1].changes = append(out[n-1].changes, x)
			continue
		}
		out = append(out, &branchSet{project: x.project, branch: x.branch, changes: []*change{x}})
	}
	return out
}

// chains cuts a branch's changes into the chains integrate takes, in the
// order Gerrit integrates them: each head (a change no other change of the
// branch descends from), by change number, with its ancestors not taken by
// an earlier chain, oldest first. CHERRY_PICK takes every change alone, by
// change number.
func (s *Server) chains(b *branchSet) [][]*change {
	if b.project.submitType == CherryPick {
		sorted := slices.Clone(b.changes)
		slices.SortFunc(sorted, func(x, y *change) int { return cmp.Compare(x.number, y.number) })
		out := make([][]*change, len(sorted))
		for i, x := range sorted {
			out[i] = []*change{x}
		}
		return out
	}
	below := map[*change]bool{}
	for _, x := range b.changes {
		for _, a := range s.ancestorsIn(x, b.changes) {
			below[a] = true
		}
	}
	var heads []*change
	for _, x := range b.changes {
		if !below[x] {
			heads = append(heads, x)
		}
	}
	slices.SortFunc(heads, func(x, y *change) int { return cmp.Compare(x.number, y.number) })
	taken := map[*change]bool{}
	var out [][]*change
	for _, h := range heads {
		chain := []*change{h}
		for _, a := range s.ancestorsIn(h, b.changes) {
			if taken[a] {
				break
			}
			chain = append([]*change{a}, chain...)
		}
		for _, x := range chain {
			taken[x] = true
		}
		out = append(out, chain)
	}
	return out
}

// submissionID is the id Gerrit gives every change of one submission: the
// number of the change submitted, with its topic if it has one. Callers
// must not rely on the format (rest-api-changes.txt, ChangeInfo).
func submissionID(c *change) string {
	if c.topic != "" {
		return fmt.Sprintf("%d-%s", c.number, c.topic)
	}
	return fmt.Sprint(c.number)
}
