package scheduler

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"sync"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/strategicpatch"
	"k8s.io/pod-security-admission/api"
	"k8s.io/pod-security-admission/policy"
	"k8s.io/utils/ptr"
)

// podSecurity is Kubernetes' own Pod Security evaluator, the one its
// admission plugin runs (k8s.io/pod-security-admission).
var podSecurity = sync.OnceValues(func() (policy.Evaluator, error) {
	return policy.NewEvaluator(policy.DefaultChecks())
})

// pods checks every pod the templates of from can produce in a workflow
// whose spec is exec (from is exec itself, or a template the workflow
// refers to): Kubernetes' Pod Security Standards at the policy's level,
// and gated's own rules about scheduling and probes. The spec-level part
// is checked on its own first, with a container that meets every standard,
// so that what is wrong there is reported once, at path.
func (c *policyCheck) pods(path string, exec, from *wfv1.WorkflowSpec) {
	specLevel := map[string]bool{}
	if exec == from {
		t := &wfv1.Template{Container: compliantContainer()}
		meta, spec, err := podOf(exec, t, c.trusted)
		if err != nil {
			c.violate(path+".podSpecPatch", fmt.Sprintf(ruleBadPatch, err))
			return
		}
		for _, reason := range c.checkPod(path, meta, spec) {
			specLevel[reason] = true
		}
	}
	for _, t := range templatesOf(path, from) {
		merged, err := withDefaults(exec.TemplateDefaults, t.template)
		if err != nil {
			c.violate(t.path, fmt.Sprintf("the template cannot be merged with templateDefaults: %v", err))
			continue
		}
		if !merged.IsPodType() {
			continue
		}
		meta, spec, err := podOf(exec, merged, c.trusted)
		if err != nil {
			c.violate(t.path, fmt.Sprintf(ruleBadPatch, err))
			continue
		}
		c.checkPodExcept(t.path, meta, spec, specLevel)
	}
}

// checkPod checks one pod and returns the Pod Security reasons it fails.
func (c *policyCheck) checkPod(path string, meta *metav1.ObjectMeta, spec *corev1.PodSpec) []string {
	return c.checkPodExcept(path, meta, spec, nil)
}

func (c *policyCheck) checkPodExcept(path string, meta *metav1.ObjectMeta, spec *corev1.PodSpec, known map[string]bool) []string {
	ev, err := podSecurity()
	if err != nil { // the evaluator's own checks are inconsistent: nothing passes
		c.violate(path, fmt.Sprintf(rulePodSecurity, c.level, err))
		return nil
	}
	res := policy.AggregateCheckResults(ev.EvaluatePod(api.LevelVersion{Level: c.level, Version: api.LatestVersion()}, meta, spec))
	var reasons []string
	for i, reason := range res.ForbiddenReasons {
		reasons = append(reasons, reason)
		if known[reason] {
			continue
		}
		if d := res.ForbiddenDetails[i]; d != "" {
			reason += " (" + d + ")"
		}
		c.violate(path, fmt.Sprintf(rulePodSecurity, c.level, reason))
	}
	for _, rule := range podRules(spec) {
		c.violate(path, rule)
	}
	return reasons
}

// located is a template and where it is.
type located struct {
	path     string
	template *wfv1.Template
}

// templatesOf lists every template of a spec: its templates, and the
// inline templates of their steps and DAG tasks, however deep.
func templatesOf(path string, spec *wfv1.WorkflowSpec) []located {
	var out []located
	var add func(path string, t *wfv1.Template)
	add = func(path string, t *wfv1.Template) {
		out = append(out, located{path, t})
		for i := range t.Steps {
			for j := range t.Steps[i].Steps {
				if in := t.Steps[i].Steps[j].Inline; in != nil {
					add(fmt.Sprintf("%s.steps[%d][%d].inline", path, i, j), in)
				}
			}
		}
		if t.DAG != nil {
			for i := range t.DAG.Tasks {
				if in := t.DAG.Tasks[i].Inline; in != nil {
					add(fmt.Sprintf("%s.dag.tasks[%d].inline", path, i), in)
				}
			}
		}
	}
	for i := range spec.Templates {
		add(fmt.Sprintf("%s.templates[%d]", path, i), &spec.Templates[i])
	}
	return out
}

// withDefaults merges the workflow's templateDefaults into a template as
// Argo's controller does (operator.go mergedTemplateDefaultsInto): a
// strategic merge in which the template wins, with the defaults of other
// template types left out.
func withDefaults(defaults, t *wfv1.Template) (*wfv1.Template, error) {
	if defaults == nil {
		return t, nil
	}
	d := defaults.DeepCopy()
	v := reflect.ValueOf(d).Elem()
	for i := range v.NumField() {
		f := v.Type().Field(i)
		if f.Type.Kind() != reflect.Pointer || f.Type.Elem().Kind() != reflect.Struct {
			continue
		}
		if tt := wfv1.TemplateType(f.Name); tt.IsValid() && tt != t.GetType() {
			v.Field(i).Set(reflect.Zero(f.Type))
		}
	}
	dj, err := json.Marshal(d)
	if err != nil {
		return nil, err
	}
	tj, err := json.Marshal(t)
	if err != nil {
		return nil, err
	}
	merged, err := strategicpatch.StrategicMergePatch(dj, tj, wfv1.Template{})
	if err != nil {
		return nil, err
	}
	var out wfv1.Template
	return &out, json.Unmarshal(merged, &out)
}

// Argo's own containers in every pod (the executor's init and wait), as
// placeholders: a podSpecPatch may change them (they merge by name), and
// then they are checked like the rest. Unchanged, they are the
// controller's configuration, not the workflow's, and are left out.
var argoContainers = map[string]corev1.Container{
	"init": {Name: "init", Image: "quay.io/argoproj/argoexec"},
	"wait": {Name: "wait", Image: "quay.io/argoproj/argoexec"},
}

// podOf is the pod Argo's controller makes of a template in a workflow
// whose spec is exec (workflowpod.go createWorkflowPod), as far as Pod
// Security and gated's rules look: metadata, volumes, host namespaces,
// security context, scheduling, and every container, with the workflow's
// and the template's podSpecPatch applied (trusted workflows only: an
// untrusted one may not have any).
func podOf(exec *wfv1.WorkflowSpec, t *wfv1.Template, trusted bool) (*metav1.ObjectMeta, *corev1.PodSpec, error) {
	meta := &metav1.ObjectMeta{Labels: map[string]string{}, Annotations: map[string]string{}}
	for _, m := range []*wfv1.Metadata{exec.PodMetadata, &t.Metadata} {
		if m == nil {
			continue
		}
		for k, v := range m.Labels {
			meta.Labels[k] = v
		}
		for k, v := range m.Annotations {
			meta.Annotations[k] = v
		}
	}
	spec := &corev1.PodSpec{
		Volumes:                      append(append([]corev1.Volume{}, exec.Volumes...), t.Volumes...),
		ImagePullSecrets:             exec.ImagePullSecrets,
		HostNetwork:                  ptr.Deref(exec.HostNetwork, false),
		DNSConfig:                    exec.DNSConfig,
		NodeSelector:                 firstMap(t.NodeSelector, exec.NodeSelector),
		Affinity:                     firstPtr(t.Affinity, exec.Affinity),
		Tolerations:                  first(t.Tolerations, exec.Tolerations),
		SchedulerName:                firstString(t.SchedulerName, exec.SchedulerName),
		PriorityClassName:            firstString(t.PriorityClassName, exec.PodPriorityClassName),
		HostAliases:                  append(append([]corev1.HostAlias{}, exec.HostAliases...), t.HostAliases...),
		SecurityContext:              firstPtr(t.SecurityContext, exec.SecurityContext),
		ServiceAccountName:           firstString(t.ServiceAccountName, exec.ServiceAccountName),
		AutomountServiceAccountToken: firstPtr(t.AutomountServiceAccountToken, exec.AutomountServiceAccountToken),
		InitContainers:               []corev1.Container{argoContainers["init"]},
		Containers:                   []corev1.Container{argoContainers["wait"]},
	}
	if exec.DNSPolicy != nil {
		spec.DNSPolicy = *exec.DNSPolicy
	}
	switch {
	case t.Container != nil:
		main := *t.Container
		main.Name = "main"
		spec.Containers = append(spec.Containers, main)
	case t.Script != nil:
		main := t.Script.Container
		main.Name = "main"
		spec.Containers = append(spec.Containers, main)
	case t.ContainerSet != nil:
		for _, cs := range t.ContainerSet.Containers {
			spec.Containers = append(spec.Containers, cs.Container)
		}
	}
	for _, ic := range t.InitContainers {
		spec.InitContainers = append(spec.InitContainers, ic.Container)
	}
	for _, sc := range t.Sidecars {
		spec.Containers = append(spec.Containers, sc.Container)
	}
	var patches []string
	for _, p := range []string{exec.PodSpecPatch, t.PodSpecPatch} {
		if p != "" && trusted && !strings.Contains(p, "{{") {
			patches = append(patches, p)
		}
	}
	if len(patches) > 0 {
		patched, err := applyPodSpecPatch(*spec, patches...)
		if err != nil {
			return nil, nil, err
		}
		spec = patched
	}
	spec.InitContainers = withoutArgo(spec.InitContainers)
	spec.Containers = withoutArgo(spec.Containers)
	return meta, spec, nil
}

func withoutArgo(cs []corev1.Container) []corev1.Container {
	var out []corev1.Container
	for _, c := range cs {
		if a, ok := argoContainers[c.Name]; ok && reflect.DeepEqual(a, c) {
			continue
		}
		out = append(out, c)
	}
	return out
}

// compliantContainer meets every Pod Security standard, so that a pod of
// it fails only for what the pod's other parts hold.
func compliantContainer() *corev1.Container {
	return &corev1.Container{
		Name: "main", Image: "compliant",
		SecurityContext: &corev1.SecurityContext{
			AllowPrivilegeEscalation: ptr.To(false),
			RunAsNonRoot:             ptr.To(true),
			Capabilities:             &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
			SeccompProfile:           &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
		},
	}
}

// The template's setting wins over the workflow's, as in Argo's
// addSchedulingConstraints.
func first[T any](template, workflow []T) []T {
	if len(template) > 0 {
		return template
	}
	return workflow
}

func firstMap(template, workflow map[string]string) map[string]string {
	if len(template) > 0 {
		return template
	}
	return workflow
}

func firstPtr[T any](template, workflow *T) *T {
	if template != nil {
		return template
	}
	return workflow
}

func firstString(template, workflow string) string {
	if template != "" {
		return template
	}
	return workflow
}
