package scheduler

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
)

// Cancel terminates the named build's workflow at once (spec.shutdown:
// Terminate, as `argo terminate` does): running steps are killed and exit
// handlers do not run. A workflow that does not exist or has finished is
// no error.
func (a *Argo) Cancel(ctx context.Context, name string) error {
	ns, err := a.locate(ctx, name)
	if err != nil || ns == "" {
		return err
	}
	err = a.patch(ctx, ns, name, map[string]any{"spec": map[string]any{"shutdown": wfv1.ShutdownStrategyTerminate}})
	if err != nil {
		return err
	}
	a.log.Info("workflow terminated", "workflow", name, "namespace", ns)
	return nil
}

// Forget marks every workflow of an item (all attempts) as no longer
// needed, terminating those still running; Collect deletes them after
// the retention period, so that their pages and artifacts stay
// reachable from the change's report for a while.
func (a *Argo) Forget(ctx context.Context, pipeline, item string) error {
	sel := labels.Set{LabelPipeline: labelValue(pipeline), LabelItem: labelValue(item)}.String()
	now := time.Now().UTC().Format(time.RFC3339)
	for _, ns := range a.namespaces() {
		list, err := a.wf.ArgoprojV1alpha1().Workflows(ns).List(ctx, metav1.ListOptions{LabelSelector: sel})
		if err != nil {
			return apiError(fmt.Sprintf("list workflows of item %s", item), err)
		}
		for _, wf := range list.Items {
			if wf.Labels[LabelForgotten] == "true" {
				continue
			}
			p := map[string]any{"metadata": map[string]any{
				"labels":      map[string]string{LabelForgotten: "true"},
				"annotations": map[string]string{AnnotationForgottenAt: now},
			}}
			if !wf.Status.Fulfilled() {
				p["spec"] = map[string]any{"shutdown": wfv1.ShutdownStrategyTerminate}
			}
			if err := a.patch(ctx, wf.Namespace, wf.Name, p); err != nil {
				return err
			}
		}
	}
	return nil
}

// Collect deletes the forgotten workflows whose retention period is over
// at now, and returns how many it deleted. Run calls it periodically.
func (a *Argo) Collect(ctx context.Context, now time.Time) (int, error) {
	deleted := 0
	for _, ns := range a.namespaces() {
		list, err := a.wf.ArgoprojV1alpha1().Workflows(ns).List(ctx, metav1.ListOptions{LabelSelector: LabelForgotten + "=true"})
		if err != nil {
			return deleted, apiError("list forgotten workflows", err)
		}
		for _, wf := range list.Items {
			at, err := time.Parse(time.RFC3339, wf.Annotations[AnnotationForgottenAt])
			if err == nil && now.Before(at.Add(a.cfg.Retention)) {
				continue
			}
			if err := a.Delete(ctx, wf.Namespace, wf.Name); err != nil {
				return deleted, err
			}
			deleted++
		}
	}
	if deleted > 0 {
		a.log.Info("deleted workflows past their retention", "count", deleted, "retention", a.cfg.Retention)
	}
	return deleted, nil
}

// Delete deletes a workflow and, through their owner references, its pods
// and task results. A workflow that does not exist is no error.
func (a *Argo) Delete(ctx context.Context, namespace, name string) error {
	bg := metav1.DeletePropagationBackground
	err := a.wf.ArgoprojV1alpha1().Workflows(namespace).Delete(ctx, name, metav1.DeleteOptions{PropagationPolicy: &bg})
	if err != nil && !apierrors.IsNotFound(err) {
		return apiError(fmt.Sprintf("delete workflow %s/%s", namespace, name), err)
	}
	a.mu.Lock()
	delete(a.where, name)
	a.mu.Unlock()
	return nil
}

// List returns the state of every gated workflow, for the reconcile at
// start-up: gated adopts those its state expects and cancels the others.
func (a *Argo) List(ctx context.Context) ([]Update, error) {
	var out []Update
	for _, ns := range a.namespaces() {
		list, err := a.wf.ArgoprojV1alpha1().Workflows(ns).List(ctx, metav1.ListOptions{LabelSelector: selector})
		if err != nil {
			return nil, apiError("list gated workflows", err)
		}
		for i := range list.Items {
			a.remember(&list.Items[i])
			out = append(out, a.toUpdate(&list.Items[i]))
		}
	}
	return out, nil
}

func (a *Argo) patch(ctx context.Context, namespace, name string, p map[string]any) error {
	data, err := json.Marshal(p)
	if err != nil {
		return err
	}
	_, err = a.wf.ArgoprojV1alpha1().Workflows(namespace).Patch(ctx, name, types.MergePatchType, data, metav1.PatchOptions{})
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return apiError(fmt.Sprintf("patch workflow %s/%s", namespace, name), err)
	}
	return nil
}
