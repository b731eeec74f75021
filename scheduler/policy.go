package scheduler

import (
	"fmt"
	"slices"
	"time"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	"k8s.io/pod-security-admission/api"
)

// Policy is what gated allows a workflow from a change (DESIGN.md decision
// 5). Every workflow is held to the limits, to Kubernetes' Pod Security
// Standards (every pod any of its templates can produce, as Argo's
// controller would make it), and to its own build's artifacts; untrusted
// ones (projects not marked trusted) also may not touch Secrets, choose
// their service account, patch their pod spec, create arbitrary objects,
// mount volumes other than scratch space, configuration and claims, fan out
// by a list known only at run time, or refer to a template installed in
// the cluster that an administrator did not allow.
type Policy struct {
	// MaxDeadline caps spec.activeDeadlineSeconds. A workflow without a
	// deadline gets this one: a build must end, and demanding the field of
	// every project would be ceremony.
	MaxDeadline time.Duration
	// MaxParallelism caps spec.parallelism and every template's
	// parallelism; a workflow without spec.parallelism gets this one.
	MaxParallelism int64
	// MaxFanOut caps the items of a step's or task's withItems and
	// withSequence; zero means DefaultMaxFanOut.
	MaxFanOut int
	// PodSecurity is the Pod Security Standards level every pod must meet:
	// "baseline" (also when empty) or "restricted".
	PodSecurity string
	// AllowedTemplates are the WorkflowTemplates (in the build's namespace)
	// and AllowedClusterTemplates the ClusterWorkflowTemplates that
	// untrusted workflows may refer to (templateRef, workflowTemplateRef).
	// Trusted workflows may refer to any. Either way gated reads the
	// template at submit time and holds it to this policy.
	AllowedTemplates        []string
	AllowedClusterTemplates []string
}

// DefaultMaxFanOut is the default cap on withItems and withSequence.
const DefaultMaxFanOut = 200

// maxReferences bounds how many templates one workflow may reach through
// references (each one is read from the API server at submit).
const maxReferences = 16

// Validate says what is wrong with the policy, naming the field.
func (p Policy) Validate() error {
	switch {
	case p.MaxDeadline < time.Second:
		return fmt.Errorf("policy: the max deadline must be at least 1s (have %s)", p.MaxDeadline)
	case p.MaxParallelism < 1:
		return fmt.Errorf("policy: the max parallelism must be at least 1 (have %d)", p.MaxParallelism)
	case p.MaxFanOut < 0:
		return fmt.Errorf("policy: the max fan-out must not be negative (have %d)", p.MaxFanOut)
	}
	if _, err := p.level(); err != nil {
		return err
	}
	return nil
}

// level is the Pod Security Standards level of the policy.
func (p Policy) level() (api.Level, error) {
	switch p.PodSecurity {
	case "", string(api.LevelBaseline):
		return api.LevelBaseline, nil
	case string(api.LevelRestricted):
		return api.LevelRestricted, nil
	}
	return "", fmt.Errorf("policy: pod security level %q is neither baseline nor restricted", p.PodSecurity)
}

func (p Policy) maxFanOut() int {
	if p.MaxFanOut == 0 {
		return DefaultMaxFanOut
	}
	return p.MaxFanOut
}

// allows reports whether untrusted workflows may refer to the template.
func (p Policy) allows(ref TemplateReference) bool {
	if ref.Cluster {
		return slices.Contains(p.AllowedClusterTemplates, ref.Name)
	}
	return slices.Contains(p.AllowedTemplates, ref.Name)
}

// The rules, as the report states them.
const (
	ruleNamespace      = "builds run only in the project's namespace %q"
	ruleMetadata       = "gated owns the workflow's metadata: only name, generateName, namespace, labels and annotations may be set, not %s"
	ruleReservedKey    = "label and annotation keys under gated.dev/, argoproj.io, kubernetes.io and k8s.io are reserved (they steer gated, Argo's controller or Kubernetes): %q"
	ruleComputedKey    = "label and annotation keys must be literal, not computed at run time: %q"
	ruleServiceAccount = "an untrusted workflow may not choose its service account or token"
	rulePodSpecPatch   = "podSpecPatch is allowed only in trusted projects"
	ruleComputedPatch  = "podSpecPatch must be literal: a patch computed at run time cannot be checked"
	ruleBadPatch       = "podSpecPatch is not a valid pod spec patch: %v"
	ruleGCPatch        = "artifact GC pods are outside the pod checks: artifactGC.podSpecPatch is not allowed"
	ruleSecrets        = "an untrusted workflow may not read Secrets"
	rulePullSecrets    = "an untrusted workflow may not use image pull Secrets"
	ruleVolumeType     = "an untrusted workflow may mount only emptyDir, configMap, downwardAPI, persistentVolumeClaim, ephemeral and projected configMap/downwardAPI volumes; not %s"
	ruleDataSource     = "an untrusted workflow may not fill a volume claim from another volume or snapshot"
	ruleResource       = "resource templates (which create arbitrary Kubernetes objects) are allowed only in trusted projects"
	rulePlugin         = "executor plugin templates are allowed only in trusted projects"
	ruleHTTP           = "http templates (run by Argo's agent pod, outside the build's pods) are allowed only in trusted projects"
	ruleSync           = "synchronization (mutexes and semaphores shared by the namespace) is allowed only in trusted projects"
	ruleMemoize        = "memoization (a ConfigMap cache shared by the namespace) is allowed only in trusted projects"
	ruleMetrics        = "custom Prometheus metrics (emitted by Argo's controller for every workflow) are allowed only in trusted projects"
	ruleScheduling     = "an untrusted workflow may not choose its %s"
	ruleTTL            = "gated deletes a build's workflow after its retention; a ttlStrategy would delete it before gated has read its result"
	rulePDBSelector    = "a podDisruptionBudget may not have a selector: it would hold pods other than the build's"
	ruleDeadline       = "activeDeadlineSeconds must be between 1 and %d (%s)"
	ruleParallelism    = "parallelism must be between 0 and %d"
	ruleFanOut         = "a step or task may fan out to at most %d items (%s)"
	ruleFanOutParam    = "withParam fans out to a list known only at run time, which cannot be bounded: allowed only in trusted projects"
	ruleDynamicRef     = "a template reference must name its template literally: one computed at run time cannot be checked"
	ruleUnlistedRef    = "an untrusted workflow may refer only to templates an administrator allowed (executor.argo.allowed-templates, allowed-cluster-templates); %s is not one"
	ruleUnreadableRef  = "gated may not read %s, so it cannot check it: an administrator must allow it and grant gated get on it"
	ruleTooManyRefs    = "a workflow may reach at most %d templates through references"
	ruleRepositoryRef  = "an untrusted workflow may not choose its artifact repository"
	ruleArtifactKey    = "artifact keys in the artifact repository must stay under the build's own prefix %q, with no .. and nothing computed at run time but {{workflow.name}}, {{workflow.namespace}}, {{workflow.uid}} and {{pod.name}}: %q"
	ruleArtifactS3     = "an untrusted workflow's S3 artifacts may set only a key (the artifact repository gives the rest): not %s"
	ruleArtifactDriver = "an untrusted workflow may use only git, http, raw and key-only S3 artifacts, not %s"
	ruleArchive        = "an untrusted workflow may not choose where its logs and outputs are archived"
	rulePodSecurity    = "Pod Security %q: %s"
	ruleControlPlane   = "pods may not be steered onto control-plane or other reserved nodes: %s"
	rulePriority       = "system priority classes are reserved for the cluster's own pods: %q"
	ruleHostProbe      = "probes and lifecycle hooks may not reach another host (Pod Security baseline from Kubernetes 1.34): %s"
)

// A policyCheck is one check of a workflow against the policy: the
// violations it found, and the templates in the cluster the workflow
// refers to.
type policyCheck struct {
	policy     Policy
	trusted    bool
	namespace  string
	level      api.Level
	violations []Violation
	refs       []TemplateReference
}

func (p Policy) newCheck(namespace string, trusted bool) (*policyCheck, error) {
	level, err := p.level()
	if err != nil {
		return nil, err
	}
	return &policyCheck{policy: p, trusted: trusted, namespace: namespace, level: level}, nil
}

func (c *policyCheck) violate(field, rule string) {
	v := Violation{Field: field, Rule: rule}
	if !slices.Contains(c.violations, v) {
		c.violations = append(c.violations, v)
	}
}

// err is the check's verdict: nil, or a *DefinitionError with every
// violation.
func (c *policyCheck) err() error {
	if len(c.violations) == 0 {
		return nil
	}
	first := c.violations[0]
	return &DefinitionError{Kind: KindPolicy, Field: first.Field, Rule: first.Rule, Violations: c.violations}
}

// vetFile checks the workflow as the project wrote it: its metadata, every
// field of its spec wherever it nests, and every pod its own templates can
// produce. It reads nothing from the cluster; the templates the workflow
// refers to are in c.refs afterwards.
func (c *policyCheck) vetFile(wf *wfv1.Workflow) {
	c.metadata(wf)
	maxSeconds := int64(c.policy.MaxDeadline / time.Second)
	if d := wf.Spec.ActiveDeadlineSeconds; d != nil && (*d <= 0 || *d > maxSeconds) {
		c.violate("spec.activeDeadlineSeconds", fmt.Sprintf(ruleDeadline, maxSeconds, c.policy.MaxDeadline))
	}
	c.walk("spec", &wf.Spec)
	c.pods("spec", &wf.Spec, &wf.Spec)
}

// vetReferenced checks every pod the templates the workflow refers to can
// produce in this workflow, whose spec-level settings and template defaults
// apply to them (with a workflowTemplateRef, merged as Argo merges them).
// Their other fields were walked when they were read (resolve).
func (c *policyCheck) vetReferenced(wf *wfv1.Workflow, set *templateSet) {
	exec := &wf.Spec
	if ref := wf.Spec.WorkflowTemplateRef; ref != nil {
		if base := set.spec(TemplateReference{Name: ref.Name, Cluster: ref.ClusterScope}); base != nil {
			joined, err := joinSpecs(&wf.Spec, base)
			if err != nil {
				c.violate("spec.workflowTemplateRef", fmt.Sprintf("the workflow cannot be merged with its template: %v", err))
				return
			}
			exec = joined
		}
	}
	for _, ref := range set.order {
		c.pods(ref.String()+": spec", exec, set.spec(ref))
	}
}

// applyDefaults gives a workflow that passed the policy the default
// deadline and parallelism if it has none.
func (p Policy) applyDefaults(wf *wfv1.Workflow) {
	if wf.Spec.ActiveDeadlineSeconds == nil {
		seconds := int64(p.MaxDeadline / time.Second)
		wf.Spec.ActiveDeadlineSeconds = &seconds
	}
	if wf.Spec.Parallelism == nil {
		par := p.MaxParallelism
		wf.Spec.Parallelism = &par
	}
}
