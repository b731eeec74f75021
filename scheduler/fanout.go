package scheduler

import (
	"fmt"
	"strconv"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
)

// checkFanOut bounds what one step or DAG task expands to. Argo's
// controller builds the whole list in memory (withSequence of a million is
// a million items) before parallelism applies, so the size must be known
// and small when gated checks the workflow: withItems by its length,
// withSequence by literal numbers. withParam is a list from a parameter or
// a step's output, known only at run time: an untrusted workflow may not
// use it; a trusted one may (its workflow was reviewed and merged).
func (c *policyCheck) checkFanOut(path string, items []wfv1.Item, seq *wfv1.Sequence, param string) {
	limit := c.policy.maxFanOut()
	if len(items) > limit {
		c.violate(path+".withItems", fmt.Sprintf(ruleFanOut, limit, fmt.Sprintf("withItems has %d", len(items))))
	}
	if seq != nil {
		n, err := sequenceLength(seq)
		switch {
		case err != nil:
			c.violate(path+".withSequence", fmt.Sprintf(ruleFanOut, limit, err.Error()))
		case n > limit:
			c.violate(path+".withSequence", fmt.Sprintf(ruleFanOut, limit, fmt.Sprintf("withSequence has %d", n)))
		}
	}
	if param != "" && !c.trusted {
		c.violate(path+".withParam", ruleFanOutParam)
	}
}

// sequenceLength is how many items a withSequence expands to, as Argo
// expands it (start defaults to 0; end, when given, wins over count; a
// sequence may count down).
func sequenceLength(seq *wfv1.Sequence) (int, error) {
	literal := func(what string, v fmt.Stringer) (int, error) {
		n, err := strconv.Atoi(v.String())
		if err != nil {
			return 0, fmt.Errorf("withSequence's %s %q is not a literal number", what, v)
		}
		return n, nil
	}
	start := 0
	if seq.Start != nil {
		var err error
		if start, err = literal("start", seq.Start); err != nil {
			return 0, err
		}
	}
	switch {
	case seq.End != nil:
		end, err := literal("end", seq.End)
		if err != nil {
			return 0, err
		}
		return max(end-start, start-end) + 1, nil
	case seq.Count != nil:
		return literal("count", seq.Count)
	}
	return 0, nil // Argo's validator refuses it
}
