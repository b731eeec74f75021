package scheduler

import (
	"context"
	"fmt"
	"sync"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	wfclientset "github.com/argoproj/argo-workflows/v3/pkg/client/clientset/versioned"
	"github.com/argoproj/argo-workflows/v3/workflow/validate"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// validating serializes Argo's validator: it is not safe for concurrent
// use (v3.7: a package-level placeholder generator it writes on every
// call; the race detector found it with builds started in parallel).
var validating sync.Mutex

// validateWorkflow runs Argo's own validator on the workflow gated is about
// to submit. Templates it references (workflowTemplateRef, templateRef) are
// read from the API server: a template that does not exist is the
// definition's fault, failing to read one is transient.
func validateWorkflow(ctx context.Context, client wfclientset.Interface, wf *wfv1.Workflow) error {
	api := client.ArgoprojV1alpha1()
	var transient error
	record := func(err error) {
		if err != nil && !apierrors.IsNotFound(err) && transient == nil {
			transient = err
		}
	}
	namespaced := templateGetter(func(name string) (*wfv1.WorkflowTemplate, error) {
		t, err := api.WorkflowTemplates(wf.Namespace).Get(ctx, name, metav1.GetOptions{})
		record(err)
		return t, err
	})
	cluster := clusterTemplateGetter(func(name string) (*wfv1.ClusterWorkflowTemplate, error) {
		t, err := api.ClusterWorkflowTemplates().Get(ctx, name, metav1.GetOptions{})
		record(err)
		return t, err
	})
	validating.Lock()
	err := validate.ValidateWorkflow(namespaced, cluster, wf.DeepCopy(), nil, validate.ValidateOpts{Submit: true})
	validating.Unlock()
	if transient != nil {
		return fmt.Errorf("read the templates workflow %s refers to: %w", wf.Name, transient)
	}
	if err != nil {
		return &DefinitionError{Kind: KindValidation, Message: "Argo rejects the workflow: " + err.Error()}
	}
	return nil
}

// templateGetter and clusterTemplateGetter adapt functions to the getters
// Argo's validator asks for.
type templateGetter func(name string) (*wfv1.WorkflowTemplate, error)

func (g templateGetter) Get(name string) (*wfv1.WorkflowTemplate, error) { return g(name) }

type clusterTemplateGetter func(name string) (*wfv1.ClusterWorkflowTemplate, error)

func (g clusterTemplateGetter) Get(name string) (*wfv1.ClusterWorkflowTemplate, error) {
	return g(name)
}
