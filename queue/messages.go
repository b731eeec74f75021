package queue

import "fmt"

// The first lines of gated's reports. The reporter adds the links (status
// page, Argo UI, artifacts) below them.

func (e *Engine) successMessage(p *PipelineState, it *Item) string {
	if m := e.pipelineConfig(p).Success.Message; m != "" {
		return m
	}
	if e.pipelineConfig(p).Success.Submit {
		return fmt.Sprintf("gated: build succeeded in the %s pipeline; submitting.", p.Name)
	}
	return fmt.Sprintf("gated: build succeeded in the %s pipeline%s.", p.Name, refSuffix(it))
}

// refSuffix names what a ref item built, for its reports.
func refSuffix(it *Item) string {
	if it.Ref == nil {
		return ""
	}
	return " for " + describeRef(it)
}

func (e *Engine) failureMessage(p *PipelineState, it *Item) string {
	if m := e.pipelineConfig(p).Failure.Message; m != "" {
		return m + "\n\n" + it.Failure.Message
	}
	f := it.Failure
	switch f.Kind {
	case FailMergeConflict:
		return fmt.Sprintf("gated: merge conflict in the %s pipeline: %s.", p.Name, f.Message)
	case FailConfig:
		return fmt.Sprintf("gated: the workflow definition is not usable in the %s pipeline: %s", p.Name, f.Message)
	case FailCheckout:
		what := "the commit the merge made"
		if it.Ref != nil {
			what = describeRef(it)
		}
		return fmt.Sprintf("gated: the %s pipeline could not check out %s: %s", p.Name, what, f.Message)
	case FailSubmit:
		return fmt.Sprintf("gated: build succeeded in the %s pipeline, but Gerrit refused to submit the change: %s", p.Name, f.Message)
	}
	msg := fmt.Sprintf("gated: build failed in the %s pipeline%s.", p.Name, refSuffix(it))
	if f.Message != "" {
		msg += " " + f.Message
	}
	return msg
}
