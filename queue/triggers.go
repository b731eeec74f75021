package queue

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
)

// Trigger attributes beyond the event type: Zuul's ref and branch
// filters (regular expressions, anchored at the start as Zuul's are, any
// one of a list matching), and timers.

// compileTrigger checks one trigger of cp and compiles its expressions;
// field names it in errors.
func (c *compiled) compileTrigger(cp *compiledPipeline, field string, t Trigger) []error {
	var errs []error
	if t.Event == "" {
		errs = append(errs, fmt.Errorf("%s.event: must not be empty", field))
	}
	var comment *regexp.Regexp
	if t.Comment != "" {
		var err error
		if comment, err = regexp.Compile(t.Comment); err != nil {
			errs = append(errs, fmt.Errorf("%s.comment: %w", field, err))
		}
	}
	refs, err := anchored(t.Ref)
	if err != nil {
		errs = append(errs, fmt.Errorf("%s.ref: %w", field, err))
	}
	branches, err := anchored(t.Branch)
	if err != nil {
		errs = append(errs, fmt.Errorf("%s.branch: %w", field, err))
	}
	switch {
	case len(t.Ref) > 0 && t.Event != "ref-updated":
		errs = append(errs, fmt.Errorf("%s.ref: only ref-updated events have a ref", field))
	case t.Event == "timer" && t.Time == "":
		errs = append(errs, fmt.Errorf("%s.time: a timer needs a cron schedule, like \"0 3 * * *\"", field))
	case t.Event != "timer" && t.Time != "":
		errs = append(errs, fmt.Errorf("%s.time: only a timer trigger (event: timer) has a time", field))
	case (t.Event == "timer" || t.Event == "ref-updated") && cp.Manager == Dependent:
		errs = append(errs, fmt.Errorf("%s.event: %s items are not changes and cannot be gated: use an independent or supercedent pipeline", field, t.Event))
	}
	if t.Time != "" {
		sched, err := ParseCron(t.Time)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s.time: %w", field, err))
		} else if key := timerKey(cp.Name, t.Time); !slices.ContainsFunc(c.timers, func(x timer) bool { return x.key == key }) {
			c.timers = append(c.timers, timer{key: key, pipeline: cp.Name, cron: sched})
		}
	}
	cp.comments = append(cp.comments, comment)
	cp.refs = append(cp.refs, refs)
	cp.branches = append(cp.branches, branches)
	return errs
}

// anchored compiles regular expressions that must match at the start of
// the text, as Zuul's do (they need not match to its end: add $).
func anchored(exprs []string) ([]*regexp.Regexp, error) {
	var out []*regexp.Regexp
	for _, s := range exprs {
		if _, err := regexp.Compile(s); err != nil {
			return nil, fmt.Errorf("%q: %w", s, err)
		}
		out = append(out, regexp.MustCompile(`^(?:`+s+`)`)) // a valid expression stays valid in a group
	}
	return out, nil
}

// matchesAny reports whether s matches one of res, or res is empty.
func matchesAny(res []*regexp.Regexp, s string) bool {
	if len(res) == 0 {
		return true
	}
	return slices.ContainsFunc(res, func(re *regexp.Regexp) bool { return re.MatchString(s) })
}

// refTriggered reports whether a ref update matches one of the pipeline's
// ref-updated triggers. branch is the short branch name, "" when the ref
// is not a branch (a tag): then a trigger with a branch filter does not
// match.
func (p *compiledPipeline) refTriggered(ref, branch string) bool {
	for i, t := range p.Triggers {
		if t.Event != "ref-updated" || !matchesAny(p.refs[i], ref) {
			continue
		}
		if len(p.branches[i]) > 0 && (branch == "" || !matchesAny(p.branches[i], branch)) {
			continue
		}
		return true
	}
	return false
}

// branchOf returns the short branch name of a full ref name, or "" when
// the ref is not a branch.
func branchOf(ref string) string {
	b, ok := strings.CutPrefix(ref, "refs/heads/")
	if !ok {
		return ""
	}
	return b
}
