package scheduler

import (
	"fmt"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
)

// vet parses a workflow file and checks it against the policy as far as
// the file alone allows: what Start does before its first request to the
// API server. The check it returns lists the templates the file refers to.
func (p Policy) vet(file []byte, namespace string, trusted bool) (*wfv1.Workflow, *policyCheck, error) {
	wf, err := parseDefinition(file)
	if err != nil {
		return nil, nil, err
	}
	c, err := p.newCheck(namespace, trusted)
	if err != nil {
		return nil, nil, err
	}
	c.vetFile(wf)
	return wf, c, c.err()
}

// finish makes a workflow that passed the policy the one to submit: the
// default deadline and parallelism, gated's contract, and Argo's
// validation (with the templates it refers to, already read).
func (p Policy) finish(wf *wfv1.Workflow, b Build, set *templateSet) error {
	p.applyDefaults(wf)
	if err := applyContract(wf, b); err != nil {
		return fmt.Errorf("fill the workflow contract: %w", err)
	}
	return validateWorkflow(wf, set)
}

// Check runs offline what submitting the workflow file runs before its
// first request to the API server: the same parse, the same policy and
// Argo's validation, for a project whose builds run in namespace (trusted
// or not). A refused file gets the *DefinitionError a change would be
// reported with. The templates the file refers to are returned: only a
// submit can read them from the cluster and check them (and Argo's
// validation of a workflow that refers to them needs them too), so a file
// with references passes here only as far as the file goes. An untrusted
// file that refers to a template the policy does not allow is refused
// here as at submit.
func (p Policy) Check(file []byte, namespace string, trusted bool) ([]TemplateReference, error) {
	wf, c, err := p.vet(file, namespace, trusted)
	if err != nil {
		return nil, err
	}
	if len(c.refs) > 0 {
		return c.refs, nil
	}
	b := Build{Pipeline: "check", Item: "0", Attempt: 1, Project: "check", Namespace: namespace, Trusted: trusted, Heads: map[string]string{}}
	return nil, p.finish(wf, b, &templateSet{})
}
