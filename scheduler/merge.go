package scheduler

import (
	"encoding/json"
	"fmt"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/strategicpatch"
	"sigs.k8s.io/yaml"
)

// The merges below are Argo's (workflow/util: ApplyPodSpecPatch, MergeTo,
// JoinWorkflowSpec), done the same way here because that package also
// brings Argo's server, its SQL drivers and its CLI into gated.

// applyPodSpecPatch applies podSpecPatch texts (YAML or JSON, each a
// PodSpec) to a pod spec with a strategic merge, as the controller does to
// the finished pod.
func applyPodSpecPatch(spec corev1.PodSpec, patches ...string) (*corev1.PodSpec, error) {
	doc, err := json.Marshal(spec)
	if err != nil {
		return nil, err
	}
	for _, p := range patches {
		pj, err := yaml.YAMLToJSON([]byte(p))
		if err != nil {
			return nil, fmt.Errorf("not YAML or JSON: %w", err)
		}
		if err := json.Unmarshal(pj, &corev1.PodSpec{}); err != nil {
			return nil, fmt.Errorf("not a pod spec: %w", err)
		}
		if doc, err = strategicpatch.StrategicMergePatch(doc, pj, corev1.PodSpec{}); err != nil {
			return nil, err
		}
	}
	var out corev1.PodSpec
	return &out, json.Unmarshal(doc, &out)
}

// joinSpecs is the spec Argo runs for a workflow with a
// workflowTemplateRef: the template's spec under the workflow's (the
// workflow's values win; hooks and labelsFrom are added only under names
// the workflow does not use).
func joinSpecs(workflow, template *wfv1.WorkflowSpec) (*wfv1.WorkflowSpec, error) {
	patch := template.DeepCopy()
	hooks := patch.Hooks
	patch.Hooks = nil
	var labelsFrom map[string]wfv1.LabelValueFrom
	if patch.WorkflowMetadata != nil {
		labelsFrom = patch.WorkflowMetadata.LabelsFrom
		patch.WorkflowMetadata.LabelsFrom = nil
	}
	pj, err := json.Marshal(wfv1.Workflow{Spec: *patch})
	if err != nil {
		return nil, err
	}
	tj, err := json.Marshal(wfv1.Workflow{Spec: *workflow})
	if err != nil {
		return nil, err
	}
	merged, err := strategicpatch.StrategicMergePatch(pj, tj, wfv1.Workflow{})
	if err != nil {
		return nil, err
	}
	var out wfv1.Workflow
	if err := json.Unmarshal(merged, &out); err != nil {
		return nil, err
	}
	for name, h := range hooks {
		if out.Spec.Hooks == nil {
			out.Spec.Hooks = wfv1.LifecycleHooks{}
		}
		if _, ok := out.Spec.Hooks[name]; !ok {
			out.Spec.Hooks[name] = h
		}
	}
	for k, v := range labelsFrom {
		if out.Spec.WorkflowMetadata == nil {
			out.Spec.WorkflowMetadata = &wfv1.WorkflowMetadata{}
		}
		if out.Spec.WorkflowMetadata.LabelsFrom == nil {
			out.Spec.WorkflowMetadata.LabelsFrom = map[string]wfv1.LabelValueFrom{}
		}
		if _, ok := out.Spec.WorkflowMetadata.LabelsFrom[k]; !ok {
			out.Spec.WorkflowMetadata.LabelsFrom[k] = v
		}
	}
	return &out.Spec, nil
}
