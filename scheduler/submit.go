package scheduler

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Start submits the build's workflow and returns its state, or the state
// of the workflow of the same name if it exists already (a retry after a
// crash). A *DefinitionError means the workflow is missing, invalid or
// breaks the policy: nothing was sent to the API server, and retrying is
// pointless. Any other error is transient (ErrUnavailable,
// ErrQuotaExceeded, ...): the caller retries with backoff.
func (a *Argo) Start(ctx context.Context, b Build) (Update, error) {
	if b.Namespace == "" {
		return Update{}, fmt.Errorf("start build %s: no namespace configured for project %s", b.Name(), b.Project)
	}
	log := a.log.With("workflow", b.Name(), "namespace", b.Namespace, "project", b.Project, "change", b.Change, "item", b.Item)
	wf, err := a.render(ctx, b)
	var def *DefinitionError
	if errors.As(err, &def) {
		log.Info("workflow definition refused; the item fails with the report", "kind", def.Kind, "error", def)
		return Update{}, err
	}
	if err != nil {
		return Update{}, apiError("start build "+b.Name(), err)
	}
	created, err := a.wf.ArgoprojV1alpha1().Workflows(b.Namespace).Create(ctx, wf, metav1.CreateOptions{})
	switch {
	case err == nil:
		log.Info("workflow submitted", "revision", b.Revision)
		a.remember(created)
		return a.toUpdate(created), nil
	case apierrors.IsAlreadyExists(err):
		return a.adopt(ctx, b, log)
	case apierrors.IsInvalid(err) || apierrors.IsBadRequest(err):
		log.Info("API server refused the workflow; the item fails with the report", "error", err)
		return Update{}, &DefinitionError{Kind: KindValidation, Message: "the Kubernetes API server refuses the workflow: " + err.Error()}
	}
	return Update{}, apiError(fmt.Sprintf("submit workflow %s to namespace %s", wf.Name, wf.Namespace), err)
}

// render turns a build into the Workflow to submit: the project's file,
// checked against the policy (with every template it refers to, read from
// the cluster: the only requests before the submit, and only for a file
// that passed), with gated's name, labels and parameters, validated by
// Argo.
func (a *Argo) render(ctx context.Context, b Build) (*wfv1.Workflow, error) {
	wf, c, err := a.cfg.Policy.vet(b.Workflow, b.Namespace, b.Trusted)
	if err != nil {
		return nil, err
	}
	set, err := resolve(ctx, a.wf, b.Namespace, c)
	if err != nil {
		return nil, err
	}
	c.vetReferenced(wf, set)
	if err := c.err(); err != nil {
		return nil, err
	}
	return wf, a.cfg.Policy.finish(wf, b, set)
}

// adopt returns the workflow that already has the build's name. One left
// by an earlier life of gated for another state (its item ids restarted) is
// deleted, and the caller's retry submits the build anew.
func (a *Argo) adopt(ctx context.Context, b Build, log *slog.Logger) (Update, error) {
	name := b.Name()
	existing, err := a.wf.ArgoprojV1alpha1().Workflows(b.Namespace).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return Update{}, apiError("read existing workflow "+name, err)
	}
	ann := existing.Annotations
	if ann[AnnotationRevision] == b.Revision && ann[LabelAttempt] == strconv.Itoa(b.Attempt) && ann[LabelItem] == b.Item {
		log.Info("workflow exists already; adopting it")
		a.remember(existing)
		return a.toUpdate(existing), nil
	}
	log.Info("a workflow of the same name builds another state; deleting it", "its_revision", ann[AnnotationRevision])
	if err := a.Delete(ctx, b.Namespace, name); err != nil {
		return Update{}, err
	}
	return Update{}, fmt.Errorf("workflow %s/%s built revision %q, not %q: deleted it; the retry submits the build", b.Namespace, name, ann[AnnotationRevision], b.Revision)
}
