package scheduler

import (
	"context"
	"fmt"
	"strings"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	wfclientset "github.com/argoproj/argo-workflows/v3/pkg/client/clientset/versioned"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TemplateReference names a template installed in the cluster that a
// workflow refers to (templateRef, workflowTemplateRef): a WorkflowTemplate
// in the build's namespace, or a ClusterWorkflowTemplate.
type TemplateReference struct {
	Name    string
	Cluster bool
	// Field is where the workflow first refers to it.
	Field string
}

func (r TemplateReference) String() string {
	if r.Cluster {
		return "ClusterWorkflowTemplate " + r.Name
	}
	return "WorkflowTemplate " + r.Name
}

// key identifies the template, wherever it is referred to.
func (r TemplateReference) key() TemplateReference {
	return TemplateReference{Name: r.Name, Cluster: r.Cluster}
}

// reference records a template reference the walk found. Argo resolves a
// reference computed at run time ({{item}}, {{inputs.parameters.x}}) only
// then, after every check, and its validator skips one it cannot resolve:
// such a reference is refused. An untrusted workflow may refer only to the
// templates the policy allows.
func (c *policyCheck) reference(path string, ref TemplateReference, template string) {
	if strings.Contains(ref.Name, "{{") || strings.Contains(template, "{{") {
		c.violate(path, ruleDynamicRef)
		return
	}
	if ref.Name == "" {
		return // Argo's validator reports it
	}
	if !c.trusted && !c.policy.allows(ref) {
		c.violate(path, fmt.Sprintf(ruleUnlistedRef, ref))
		return
	}
	for _, r := range c.refs {
		if r.key() == ref.key() {
			return
		}
	}
	ref.Field = path
	c.refs = append(c.refs, ref)
}

// templateSet holds the templates a workflow reaches through references,
// as read from the cluster, in the order first reached.
type templateSet struct {
	order     []TemplateReference
	namespace map[string]*wfv1.WorkflowTemplate
	cluster   map[string]*wfv1.ClusterWorkflowTemplate
}

func (s *templateSet) spec(ref TemplateReference) *wfv1.WorkflowSpec {
	if ref.Cluster {
		if t := s.cluster[ref.Name]; t != nil {
			return &t.Spec
		}
		return nil
	}
	if t := s.namespace[ref.Name]; t != nil {
		return &t.Spec
	}
	return nil
}

// resolve reads every template the check found references to, walks each
// with the policy's rules (which may find more references) and reads those
// too, up to maxReferences. A
// template that does not exist, or that gated may not read, is the
// definition's fault (a *DefinitionError); any other failure to read one
// is transient.
func resolve(ctx context.Context, client wfclientset.Interface, namespace string, c *policyCheck) (*templateSet, error) {
	api := client.ArgoprojV1alpha1()
	set := &templateSet{namespace: map[string]*wfv1.WorkflowTemplate{}, cluster: map[string]*wfv1.ClusterWorkflowTemplate{}}
	for i := 0; i < len(c.refs); i++ {
		ref := c.refs[i]
		if i == maxReferences {
			c.violate(ref.Field, fmt.Sprintf(ruleTooManyRefs, maxReferences))
			return nil, c.err()
		}
		var spec *wfv1.WorkflowSpec
		var err error
		if ref.Cluster {
			var t *wfv1.ClusterWorkflowTemplate
			if t, err = api.ClusterWorkflowTemplates().Get(ctx, ref.Name, metav1.GetOptions{}); err == nil {
				set.cluster[ref.Name], spec = t, &t.Spec
			}
		} else {
			var t *wfv1.WorkflowTemplate
			if t, err = api.WorkflowTemplates(namespace).Get(ctx, ref.Name, metav1.GetOptions{}); err == nil {
				set.namespace[ref.Name], spec = t, &t.Spec
			}
		}
		switch {
		case apierrors.IsNotFound(err):
			return nil, &DefinitionError{Kind: KindValidation, Message: fmt.Sprintf("%s refers to %s, which does not exist (in namespace %s)", ref.Field, ref, namespace)}
		case apierrors.IsForbidden(err):
			c.violate(ref.Field, fmt.Sprintf(ruleUnreadableRef, ref))
			return nil, c.err()
		case err != nil:
			return nil, fmt.Errorf("read %s, which workflow refers to at %s: %w", ref, ref.Field, err)
		}
		set.order = append(set.order, ref.key())
		c.walk(ref.String()+": spec", spec) // may append to c.refs
	}
	return set, nil
}

// getters serve Argo's validator the templates already read.
func (s *templateSet) getters() (templateGetter, clusterTemplateGetter) {
	notFound := func(kind, name string) error {
		return apierrors.NewNotFound(wfv1.Resource(kind), name)
	}
	return func(name string) (*wfv1.WorkflowTemplate, error) {
			if t := s.namespace[name]; t != nil {
				return t.DeepCopy(), nil
			}
			return nil, notFound("workflowtemplates", name)
		}, func(name string) (*wfv1.ClusterWorkflowTemplate, error) {
			if t := s.cluster[name]; t != nil {
				return t.DeepCopy(), nil
			}
			return nil, notFound("clusterworkflowtemplates", name)
		}
}
