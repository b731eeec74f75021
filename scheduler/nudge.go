package scheduler

import (
	"context"
	"time"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
)

// AnnotationNudged is when gated last asked Argo's controller to look at
// a workflow again (see nudge).
const AnnotationNudged = "gated.dev/nudged-at"

// nudge makes Argo's controller reconcile every unfinished workflow of a
// list again, by a change to its metadata: any new resource version puts
// a workflow back in the controller's queue. Argo v3.7 drops a status
// update that fails for any reason but a conflict (the API server was
// unreachable: operator.go persistUpdates) and looks at the workflow again
// only at its next event or its 20-minute resync, so a build that finished
// during an outage of the API server would look running for up to 20
// minutes, holding its queue. gated nudges whenever it lists workflows:
// when Run starts, and when its watch recovers from a failure or an
// expiry — after the outages where such an update may have been lost.
func (a *Argo) nudge(ctx context.Context, namespace string, workflows []wfv1.Workflow) {
	now := time.Now().UTC().Format(time.RFC3339Nano)
	for _, wf := range workflows {
		if wf.Status.Fulfilled() || wf.DeletionTimestamp != nil {
			continue
		}
		p := map[string]any{"metadata": map[string]any{"annotations": map[string]string{AnnotationNudged: now}}}
		if err := a.patch(ctx, wf.Namespace, wf.Name, p); err != nil {
			a.log.Warn("cannot nudge Argo's controller about a running workflow; it looks at it at its next resync", "workflow", wf.Name, "namespace", displayNamespace(namespace), "error", err)
			return // the API server is gone again: the next list nudges
		}
	}
}
