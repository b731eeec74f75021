package gerrittest

import (
	"fmt"
	"slices"
	"strings"
)

// label is a label type of the projects (project.config [label "X"]).
type label struct {
	name     string
	min, max int
	values   map[int]string
	// copyKinds are the change kinds on which votes are copied to a new
	// patchset (copyCondition changekind:...); copyMin also copies the
	// minimum vote (is:MIN).
	copyKinds []string
	copyMin   bool
}

// labels are the label types of every project, as in OpenStack's Gerrit.
var labels = []*label{
	{
		name: "Code-Review", min: -2, max: 2,
		values: map[int]string{
			-2: "This shall not be submitted", -1: "I would prefer this is not submitted as is",
			0: "No score", 1: "Looks good to me, but someone else must approve", 2: "Looks good to me, approved",
		},
		copyKinds: []string{kindNoChange, kindTrivialRebase, kindNoCodeChange},
		copyMin:   true,
	},
	{
		name: "Verified", min: -2, max: 2,
		values: map[int]string{
			-2: "Fails", -1: "Doesn't seem to work", 0: "No score", 1: "Works for me", 2: "Verified",
		},
		copyKinds: []string{kindNoChange, kindNoCodeChange},
	},
	{
		name: "Workflow", min: -1, max: 1,
		values:    map[int]string{-1: "Work in progress", 0: "Ready for reviews", 1: "Approved"},
		copyKinds: []string{kindNoChange},
		copyMin:   true,
	},
}

func labelByName(name string) *label {
	for _, l := range labels {
		if strings.EqualFold(l.name, name) {
			return l
		}
	}
	return nil
}

// copies reports whether a vote survives a new patchset of this kind.
func (l *label) copies(kind string, value int) bool {
	return slices.Contains(l.copyKinds, kind) || (l.copyMin && value == l.min)
}

// expression is the label's submit requirement, submittableIf.
func (l *label) expression() string {
	return fmt.Sprintf("label:%s=MAX AND -label:%s=MIN", l.name, l.name)
}

// formatValue renders a value as Gerrit does in permitted_labels and
// values: "-2", " 0", "+1".
func formatValue(v int) string {
	switch {
	case v > 0:
		return fmt.Sprintf("+%d", v)
	case v == 0:
		return " 0"
	}
	return fmt.Sprint(v)
}

// formatVote renders a vote in a change message (LabelVote.appendTo):
// Code-Review+2, Verified-1, and -Workflow for a vote reset to 0.
func formatVote(name string, v int) string {
	switch {
	case v > 0:
		return fmt.Sprintf("%s+%d", name, v)
	case v == 0:
		return "-" + name
	}
	return fmt.Sprintf("%s%d", name, v)
}

// requirement is the evaluation of one label's submit requirement on a
// patchset.
type requirement struct {
	label     *label
	satisfied bool
	passing   []string
	failing   []string
}

func evaluate(ps *patchset) []requirement {
	var out []requirement
	for _, l := range labels {
		hasMax, hasMin := false, false
		for _, v := range ps.votes {
			if v.label == l.name {
				hasMax = hasMax || v.value == l.max
				hasMin = hasMin || v.value == l.min
			}
		}
		r := requirement{label: l, satisfied: hasMax && !hasMin}
		maxAtom, minAtom := fmt.Sprintf("label:%s=MAX", l.name), fmt.Sprintf("label:%s=MIN", l.name)
		if hasMax {
			r.passing = append(r.passing, maxAtom)
		} else {
			r.failing = append(r.failing, maxAtom)
		}
		// The atom label:X=MIN passes when there is a MIN vote; under
		// the negation that fails the requirement.
		if hasMin {
			r.passing = append(r.passing, minAtom)
		} else {
			r.failing = append(r.failing, minAtom)
		}
		out = append(out, r)
	}
	return out
}

// unsatisfied names the labels whose requirement fails, or nil.
func unsatisfied(ps *patchset) []string {
	var names []string
	for _, r := range evaluate(ps) {
		if !r.satisfied {
			names = append(names, r.label.name)
		}
	}
	return names
}
