package scheduler

import (
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// metadata checks the workflow's own metadata. gated names, places and
// labels the workflow (applyContract); the file may add labels and
// annotations of its own, nothing else: finalizers would make the workflow
// undeletable, owner references hand it to another object's life cycle.
func (c *policyCheck) metadata(wf *wfv1.Workflow) {
	if wf.Namespace != "" && wf.Namespace != c.namespace {
		c.violate("metadata.namespace", fmt.Sprintf(ruleNamespace, c.namespace))
	}
	allowed := metav1.ObjectMeta{Name: wf.Name, GenerateName: wf.GenerateName, Namespace: wf.Namespace, Labels: wf.Labels, Annotations: wf.Annotations}
	got, want := reflect.ValueOf(wf.ObjectMeta), reflect.ValueOf(allowed)
	for i := range got.NumField() {
		if !reflect.DeepEqual(got.Field(i).Interface(), want.Field(i).Interface()) {
			name, _ := jsonName(got.Type().Field(i))
			c.violate("metadata."+name, fmt.Sprintf(ruleMetadata, name))
		}
	}
	c.checkKeys("metadata.labels", wf.Labels)
	annotations := maps.Clone(wf.Annotations)
	delete(annotations, SimulateAnnotation) // read by the simulated executor only
	c.checkKeys("metadata.annotations", annotations)
}

// reservedDomains are the label and annotation prefixes that mean
// something to gated (its labels select and identify builds), to Argo's
// controller (workflows.argoproj.io/controller-instanceid hands the
// workflow to another controller, .../workflow detaches a pod from its
// workflow) or to Kubernetes (AppArmor profiles, default containers, ...).
var reservedDomains = []string{"gated.dev", "argoproj.io", "kubernetes.io", "k8s.io"}

// reservedKey reports whether a label or annotation key is reserved: its
// prefix is one of reservedDomains or a subdomain of argoproj.io,
// kubernetes.io or k8s.io (gated.dev's subdomains are free: the
// development cluster reads devcluster.gated.dev/*; so are Kubernetes'
// recommended labels, app.kubernetes.io/*, which are the user's).
func reservedKey(key string) bool {
	prefix, _, ok := strings.Cut(key, "/")
	if !ok {
		return false
	}
	prefix = strings.ToLower(prefix)
	if prefix == "app.kubernetes.io" {
		return false
	}
	if slices.Contains(reservedDomains, prefix) {
		return true
	}
	for _, d := range reservedDomains[1:] {
		if strings.HasSuffix(prefix, "."+d) {
			return true
		}
	}
	return false
}

// checkKeys refuses reserved and computed keys in a label or annotation
// map (of any value type).
func (c *policyCheck) checkKeys(path string, m any) {
	v := reflect.ValueOf(m)
	keys := v.MapKeys()
	slices.SortFunc(keys, func(a, b reflect.Value) int { return strings.Compare(a.String(), b.String()) })
	for _, k := range keys {
		key := k.String()
		switch {
		case strings.Contains(key, "{{"):
			c.violate(fmt.Sprintf("%s[%q]", path, key), fmt.Sprintf(ruleComputedKey, key))
		case reservedKey(key):
			c.violate(fmt.Sprintf("%s[%q]", path, key), fmt.Sprintf(ruleReservedKey, key))
		}
	}
}
