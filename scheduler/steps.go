package scheduler

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	"github.com/argoproj/argo-workflows/v3/workflow/common"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Step is one step of a build as the executor reports it: for Argo, a
// node of the workflow that ran something (a pod, a container of a
// container set, a request, a suspension), or was skipped.
type Step struct {
	Name     string // the node's display name
	Template string
	Phase    string // Argo's node phase: Pending, Running, Succeeded, Skipped, Failed, Error, Omitted
	Message  string
	Started  time.Time
	Finished time.Time // zero while it runs
	// Log is the end of a failed step's main container log, at most
	// MaxLogTail bytes and cut at a line; NoLog says why a failed step has
	// none.
	Log   string
	NoLog string
}

// MaxLogTail bounds the log kept of one failed step.
const MaxLogTail = 16 << 10

// ErrNoSuchBuild is returned for a build the executor does not have (never
// started, or deleted after the retention period).
var ErrNoSuchBuild = errors.New("no such build")

// Steps returns the steps of a build in the order they started, with the
// log tail of each failed pod step read through the Kubernetes API.
func (a *Argo) Steps(ctx context.Context, name string) ([]Step, error) {
	ns, err := a.locate(ctx, name)
	if err != nil {
		return nil, err
	}
	if ns == "" {
		return nil, fmt.Errorf("build %s: %w", name, ErrNoSuchBuild)
	}
	wf, err := a.wf.ArgoprojV1alpha1().Workflows(ns).Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil, fmt.Errorf("build %s: %w", name, ErrNoSuchBuild)
	}
	if err != nil {
		return nil, apiError("read workflow "+name, err)
	}
	var (
		steps []Step
		pods  map[string]string // node id → pod name, read once a step failed
	)
	for _, n := range stepNodes(wf) {
		s := Step{Name: n.DisplayName, Template: templateOf(n), Phase: string(n.Phase), Message: n.Message,
			Started: n.StartedAt.Time, Finished: n.FinishedAt.Time}
		if n.Phase == wfv1.NodeFailed || n.Phase == wfv1.NodeError {
			if pods == nil {
				if pods, err = a.podsOf(ctx, wf); err != nil {
					return nil, err
				}
			}
			s.Log, s.NoLog = a.failedLog(ctx, wf, n, pods[n.ID])
		}
		steps = append(steps, s)
	}
	return steps, nil
}

func templateOf(n wfv1.NodeStatus) string {
	if n.TemplateRef != nil {
		return n.TemplateRef.Template
	}
	return n.TemplateName
}

// podsOf maps the workflow's node ids to the names of the pods that exist
// for them: the controller labels each pod with its workflow and
// annotates it with its node (whatever its pod naming scheme).
func (a *Argo) podsOf(ctx context.Context, wf *wfv1.Workflow) (map[string]string, error) {
	list, err := a.kube.CoreV1().Pods(wf.Namespace).List(ctx, metav1.ListOptions{LabelSelector: common.LabelKeyWorkflow + "=" + wf.Name})
	if err != nil {
		return nil, apiError("list the pods of workflow "+wf.Name, err)
	}
	pods := map[string]string{}
	for _, p := range list.Items {
		if id := p.Annotations[common.AnnotationKeyNodeID]; id != "" {
			pods[id] = p.Name
		}
	}
	return pods, nil
}

// stepNodes are the workflow's leaf nodes, by start (not started last),
// then id.
func stepNodes(wf *wfv1.Workflow) []wfv1.NodeStatus {
	var out []wfv1.NodeStatus
	for _, n := range wf.Status.Nodes {
		switch n.Type {
		case wfv1.NodeTypePod, wfv1.NodeTypeContainer, wfv1.NodeTypeHTTP, wfv1.NodeTypePlugin, wfv1.NodeTypeSuspend, wfv1.NodeTypeSkipped:
			out = append(out, n)
		}
	}
	slices.SortFunc(out, func(x, y wfv1.NodeStatus) int {
		if x.StartedAt.IsZero() != y.StartedAt.IsZero() {
			if x.StartedAt.IsZero() {
				return 1
			}
			return -1
		}
		return cmp.Or(x.StartedAt.Time.Compare(y.StartedAt.Time), strings.Compare(x.ID, y.ID))
	})
	return out
}

// failedLog reads the end of a failed pod step's main container log, or
// says why there is none.
func (a *Argo) failedLog(ctx context.Context, wf *wfv1.Workflow, n wfv1.NodeStatus, pod string) (log, why string) {
	switch {
	case n.Type != wfv1.NodeTypePod:
		return "", "no log available: this kind of step runs no container of its own"
	case pod == "":
		return "", "no log available: the step's pod no longer exists (deleted by the workflow's pod garbage collection) or never started"
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	lines, limit := int64(200), int64(4*MaxLogTail)
	data, err := a.kube.CoreV1().Pods(wf.Namespace).GetLogs(pod, &corev1.PodLogOptions{Container: "main", TailLines: &lines, LimitBytes: &limit}).DoRaw(ctx)
	switch {
	case apierrors.IsNotFound(err):
		return "", fmt.Sprintf("no log available: pod %s was just deleted", pod)
	case err != nil:
		a.log.Debug("cannot read the log of a failed step", "workflow", wf.Name, "pod", pod, "error", err)
		return "", fmt.Sprintf("no log available: the Kubernetes API could not serve pod %s's log: %v", pod, err)
	case len(data) == 0:
		return "", "no log available: the step's container wrote nothing"
	}
	return logTail(data), ""
}

// logTail keeps the end of a log: at most MaxLogTail bytes, from the start
// of a line, as valid UTF-8.
func logTail(data []byte) string {
	if len(data) > MaxLogTail {
		data = data[len(data)-MaxLogTail:]
		if i := slices.Index(data, '\n'); i >= 0 && i < len(data)-1 {
			data = data[i+1:]
		}
	}
	return strings.ToValidUTF8(string(data), "\uFFFD")
}

// Steps returns the one step a simulated build has.
func (s *Sim) Steps(_ context.Context, name string) ([]Step, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sb, ok := s.builds[name]
	if !ok {
		return nil, fmt.Errorf("build %s: %w", name, ErrNoSuchBuild)
	}
	u := sb.update
	step := Step{Name: "test", Template: "test", Phase: string(u.Phase), Message: u.Message, Started: u.Started, Finished: u.Finished}
	if u.Phase == PhaseFailed || u.Phase == PhaseError {
		step.NoLog = "no log available: the simulated executor runs no containers"
	}
	return []Step{step}, nil
}
