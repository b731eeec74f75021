package scheduler

import (
	"context"
	"fmt"
	"net/url"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	"github.com/minio/minio-go/v7"
)

// toUpdate says what a workflow's status means for its build.
func (a *Argo) toUpdate(wf *wfv1.Workflow) Update {
	ann := wf.Annotations
	attempt, _ := strconv.Atoi(ann[LabelAttempt])
	part, _ := strconv.Atoi(ann[AnnotationPart])
	u := Update{
		Name: wf.Name, Namespace: wf.Namespace,
		Pipeline: ann[LabelPipeline], Item: ann[LabelItem], Attempt: attempt, Part: part,
		Phase:    phaseOf(wf.Status.Phase),
		Message:  wf.Status.Message,
		URL:      a.workflowURL(wf.Namespace, wf.Name),
		Started:  wf.Status.StartedAt.Time,
		Finished: wf.Status.FinishedAt.Time,
	}
	if u.Phase == PhaseFailed || u.Phase == PhaseError {
		if n := failingNode(wf); n != nil {
			u.FailedNode = n.DisplayName
			if n.Message != "" {
				u.Message = n.Message
			}
		}
	}
	if !u.Phase.Done() {
		if n := waitingNode(wf); n != nil {
			u.Message = fmt.Sprintf("step %s is waiting: %s", n.DisplayName, n.Message)
		}
	}
	u.Artifacts = a.artifactsOf(wf)
	return u
}

// waitingNode is a step that cannot start and says why (a pod refused by
// the namespace's quota, which Argo retries): the first pending pod with
// a message, nil if none.
func waitingNode(wf *wfv1.Workflow) *wfv1.NodeStatus {
	var waiting *wfv1.NodeStatus
	for _, n := range wf.Status.Nodes {
		if n.Type == wfv1.NodeTypePod && n.Phase == wfv1.NodePending && n.Message != "" && (waiting == nil || n.ID < waiting.ID) {
			waiting = &n
		}
	}
	return waiting
}

func phaseOf(p wfv1.WorkflowPhase) Phase {
	switch p {
	case wfv1.WorkflowRunning:
		return PhaseRunning
	case wfv1.WorkflowSucceeded:
		return PhaseSucceeded
	case wfv1.WorkflowFailed:
		return PhaseFailed
	case wfv1.WorkflowError:
		return PhaseError
	}
	return PhasePending
}

// failingNode is the step that made the workflow fail: the first leaf (a
// pod, container or request) to end Failed or Errored; nil if the workflow
// failed before any step ran.
func failingNode(wf *wfv1.Workflow) *wfv1.NodeStatus {
	var failed []wfv1.NodeStatus
	for _, n := range wf.Status.Nodes {
		if n.Phase != wfv1.NodeFailed && n.Phase != wfv1.NodeError {
			continue
		}
		switch n.Type {
		case wfv1.NodeTypePod, wfv1.NodeTypeContainer, wfv1.NodeTypeHTTP, wfv1.NodeTypePlugin, wfv1.NodeTypeSuspend:
			failed = append(failed, n)
		}
	}
	if len(failed) == 0 {
		return nil
	}
	slices.SortFunc(failed, func(x, y wfv1.NodeStatus) int {
		if c := x.FinishedAt.Time.Compare(y.FinishedAt.Time); c != 0 {
			return c
		}
		return strings.Compare(x.ID, y.ID)
	})
	return &failed[0]
}

// workflowURL is the workflow's page in the Argo UI.
func (a *Argo) workflowURL(namespace, name string) string {
	if a.cfg.UIURL == "" {
		return ""
	}
	return strings.TrimRight(a.cfg.UIURL, "/") + "/workflows/" + url.PathEscape(namespace) + "/" + url.PathEscape(name)
}

// artifactsOf lists the output artifacts the workflow's steps stored, with
// links: the store's public URL if configured, else the Argo UI's
// artifact-files endpoint. Sizes are unknown (-1) until summarize reads
// the store.
func (a *Argo) artifactsOf(wf *wfv1.Workflow) []Artifact {
	var out []Artifact
	ids := make([]string, 0, len(wf.Status.Nodes))
	for id := range wf.Status.Nodes {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		n := wf.Status.Nodes[id]
		if n.Outputs == nil {
			continue
		}
		for _, art := range n.Outputs.Artifacts {
			if art.S3 == nil || art.S3.Key == "" || art.Name == "main-logs" {
				continue
			}
			out = append(out, Artifact{Name: art.Name, Step: n.DisplayName, Key: art.S3.Key, Size: -1, URL: a.artifactURL(wf, n.ID, art)})
		}
	}
	return out
}

func (a *Argo) artifactURL(wf *wfv1.Workflow, nodeID string, art wfv1.Artifact) string {
	if s := a.cfg.Artifacts; s != nil && s.PublicURL != "" {
		return strings.TrimRight(s.PublicURL, "/") + "/" + (&url.URL{Path: art.S3.Key}).EscapedPath()
	}
	if a.cfg.UIURL == "" {
		return ""
	}
	return strings.TrimRight(a.cfg.UIURL, "/") + "/" + path.Join("artifact-files", url.PathEscape(wf.Namespace), "workflows",
		url.PathEscape(wf.Name), url.PathEscape(nodeID), "outputs", url.PathEscape(art.Name))
}

// maxSummarized bounds the objects read for one build's summary.
const maxSummarized = 50

// summarize reads the size of each artifact from the store; an artifact
// the store does not have keeps the size -1 and is logged.
func (a *Argo) summarize(ctx context.Context, u *Update) {
	if a.s3 == nil {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	for i := range u.Artifacts[:min(len(u.Artifacts), maxSummarized)] {
		art := &u.Artifacts[i]
		info, err := a.s3.StatObject(ctx, a.cfg.Artifacts.Bucket, art.Key, minio.StatObjectOptions{})
		if err != nil {
			a.log.Warn("cannot read an artifact of a finished build; reporting it without its size",
				"workflow", u.Name, "artifact", art.Name, "key", art.Key, "error", err)
			continue
		}
		art.Size = info.Size
	}
}
