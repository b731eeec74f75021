package queue

import (
	"fmt"
	"slices"
	"strings"
)

// triggered reports whether the event, about a change on branch, matches
// one of the pipeline's triggers.
func (p *compiledPipeline) triggered(ev ChangeEvent, branch string) bool {
	for i, t := range p.Triggers {
		if t.Event != ev.Type || !matchesAny(p.branches[i], branch) {
			continue
		}
		if t.Username != "" && t.Username != ev.Author {
			continue
		}
		if re := p.comments[i]; re != nil && !re.MatchString(ev.Comment) {
			continue
		}
		if !eventHasApprovals(ev.Approvals, t.Approvals) {
			continue
		}
		return true
	}
	return false
}

func eventHasApprovals(have []Approval, want []ApprovalFilter) bool {
	for _, f := range want {
		if !slices.ContainsFunc(have, func(a Approval) bool {
			return a.Label == f.Label && slices.Contains(f.Values, a.Value)
		}) {
			return false
		}
	}
	return true
}

func (f ApprovalFilter) matches(v Vote) bool {
	return v.Label == f.Label && slices.Contains(f.Values, v.Value) && (f.Username == "" || f.Username == v.Account)
}

// unmet returns why the change may not be (or stay) in the pipeline, or ""
// when it may. It checks what Zuul's require/reject and canMerge check:
// open, not work in progress, every required approval present, no rejecting
// one; it names every missing approval and every rejecting vote.
func (p *compiledPipeline) unmet(c *Change) string {
	if !c.Open() {
		return closed(c)
	}
	if c.WIP {
		return "the change is work in progress"
	}
	return p.unmetVotes(c)
}

// unmetVotes checks the pipeline's require and reject votes only: what a
// merged change (change-merged triggers) must meet.
func (p *compiledPipeline) unmetVotes(c *Change) string {
	var missing, rejecting []string
	for _, f := range p.Require {
		if !slices.ContainsFunc(c.Votes, f.matches) {
			missing = append(missing, f.describe())
		}
	}
	for _, f := range p.Reject {
		for _, v := range c.Votes {
			if f.matches(v) {
				rejecting = append(rejecting, fmt.Sprintf("%s%+d by %s", v.Label, v.Value, v.Account))
			}
		}
	}
	var why []string
	if len(missing) > 0 {
		why = append(why, "it is missing the required "+plural("approval", len(missing))+" "+andList(missing))
	}
	if len(rejecting) > 0 {
		why = append(why, "it has the rejecting "+plural("vote", len(rejecting))+" "+andList(rejecting))
	}
	return strings.Join(why, ", and ")
}

// closed says that a change is merged or abandoned.
func closed(c *Change) string {
	return fmt.Sprintf("the change is %s", strings.ToLower(string(c.Status)))
}

func plural(word string, n int) string {
	if n == 1 {
		return word
	}
	return word + "s"
}

func (f ApprovalFilter) describe() string {
	vals := make([]string, len(f.Values))
	for i, v := range f.Values {
		vals[i] = fmt.Sprintf("%+d", v)
	}
	s := f.Label + " " + strings.Join(vals, " or ")
	if f.Username != "" {
		s += " by " + f.Username
	}
	return s
}
