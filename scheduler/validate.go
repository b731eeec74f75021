package scheduler

import (
	"sync"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	"github.com/argoproj/argo-workflows/v3/workflow/validate"
)

// validating serializes Argo's validator: it is not safe for concurrent
// use (v3.7: a package-level placeholder generator it writes on every
// call; the race detector found it with builds started in parallel).
var validating sync.Mutex

// validateWorkflow runs Argo's own validator on the workflow gated is about
// to submit. The templates it refers to were read and checked already
// (resolve); the validator gets those, and asks the API server nothing.
func validateWorkflow(wf *wfv1.Workflow, set *templateSet) error {
	namespaced, cluster := set.getters()
	validating.Lock()
	err := validate.ValidateWorkflow(namespaced, cluster, wf.DeepCopy(), nil, validate.ValidateOpts{Submit: true})
	validating.Unlock()
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
