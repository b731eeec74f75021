package scheduler

import (
	"fmt"
	"reflect"
	"slices"
	"strings"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	corev1 "k8s.io/api/core/v1"
)

// walk visits every value of a workflow spec by reflection, so that no
// nesting (inline templates in steps and DAG tasks, hooks, template
// defaults, init containers, sidecars, container sets, artifact locations,
// artifact GC) escapes the rules about fields and types. Pods are checked
// as a whole by pods.
func (c *policyCheck) walk(path string, spec *wfv1.WorkflowSpec) {
	c.visit(path, reflect.ValueOf(spec))
}

// Types the rules look at.
var (
	typeVolumeSource  = reflect.TypeFor[corev1.VolumeSource]()
	typeProjection    = reflect.TypeFor[corev1.VolumeProjection]()
	typeResource      = reflect.TypeFor[wfv1.ResourceTemplate]()
	typePlugin        = reflect.TypeFor[wfv1.Plugin]()
	typeHTTP          = reflect.TypeFor[wfv1.HTTP]()
	typeSync          = reflect.TypeFor[wfv1.Synchronization]()
	typeMemoize       = reflect.TypeFor[wfv1.Memoize]()
	typeMetrics       = reflect.TypeFor[wfv1.Metrics]()
	typeParallelSteps = reflect.TypeFor[wfv1.ParallelSteps]()
	typeMetadata      = reflect.TypeFor[wfv1.Metadata]()
	typeWfMetadata    = reflect.TypeFor[wfv1.WorkflowMetadata]()
	typeTemplateRef   = reflect.TypeFor[wfv1.TemplateRef]()
	typeWfTemplateRef = reflect.TypeFor[wfv1.WorkflowTemplateRef]()
	typeStep          = reflect.TypeFor[wfv1.WorkflowStep]()
	typeTask          = reflect.TypeFor[wfv1.DAGTask]()
	typeLocation      = reflect.TypeFor[wfv1.ArtifactLocation]()
	typeRepoRef       = reflect.TypeFor[wfv1.ArtifactRepositoryRef]()
	typeArtifactGC    = reflect.TypeFor[wfv1.ArtifactGC]()
	typeWfArtifactGC  = reflect.TypeFor[wfv1.WorkflowLevelArtifactGC]()
	secretTypes       = []reflect.Type{
		reflect.TypeFor[corev1.SecretKeySelector](),
		reflect.TypeFor[corev1.SecretEnvSource](),
		reflect.TypeFor[corev1.SecretVolumeSource](),
		reflect.TypeFor[corev1.SecretProjection](),
		reflect.TypeFor[corev1.SecretReference](),
	}
)

// untrustedOnly are the types an untrusted workflow may not use at all.
var untrustedOnly = map[reflect.Type]string{
	typeResource: ruleResource,
	typePlugin:   rulePlugin,
	typeHTTP:     ruleHTTP,
	typeSync:     ruleSync,
	typeMemoize:  ruleMemoize,
	typeMetrics:  ruleMetrics,
	typeRepoRef:  ruleRepositoryRef,
}

func (c *policyCheck) visit(path string, v reflect.Value) {
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if !v.IsNil() {
			c.visit(path, v.Elem())
		}
	case reflect.Slice, reflect.Array:
		if v.Type().Elem().Kind() == reflect.Uint8 {
			return // raw bytes (plugin configuration)
		}
		for i := range v.Len() {
			c.visit(fmt.Sprintf("%s[%d]", path, i), v.Index(i))
		}
	case reflect.Map:
		keys := v.MapKeys()
		slices.SortFunc(keys, func(a, b reflect.Value) int { return strings.Compare(fmt.Sprint(a), fmt.Sprint(b)) })
		for _, k := range keys {
			c.visit(fmt.Sprintf("%s[%q]", path, fmt.Sprint(k)), v.MapIndex(k))
		}
	case reflect.Struct:
		if !v.CanAddr() { // a map value or an interface's content: work on a copy
			cp := reflect.New(v.Type()).Elem()
			cp.Set(v)
			v = cp
		}
		c.checkStruct(path, v)
		t := v.Type()
		if t == typeParallelSteps { // serialized as a bare list
			c.visit(path, v.Field(0))
			return
		}
		for i := range t.NumField() {
			f := t.Field(i)
			if !f.IsExported() {
				continue
			}
			name, inline := jsonName(f)
			if name == "-" {
				continue
			}
			fp := path
			if !inline {
				fp = path + "." + name
				c.checkField(fp, name, t, v.Field(i))
			}
			c.visit(fp, v.Field(i))
		}
	}
}

// checkField applies the rules about fields that appear under one name in
// several places (workflow, template, executor, artifact GC).
func (c *policyCheck) checkField(path, name string, parent reflect.Type, v reflect.Value) {
	if v.IsZero() {
		return
	}
	switch name {
	case "serviceAccountName", "automountServiceAccountToken":
		if !c.trusted {
			c.violate(path, ruleServiceAccount)
		}
	case "podSpecPatch":
		c.checkPatchField(path, parent, v.String())
	case "imagePullSecrets":
		if !c.trusted {
			c.violate(path, rulePullSecrets)
		}
	case "priorityClassName", "podPriorityClassName", "schedulerName":
		if !c.trusted {
			c.violate(path, fmt.Sprintf(ruleScheduling, name))
		}
	case "ttlStrategy":
		c.violate(path, ruleTTL)
	case "dataSource", "dataSourceRef":
		if !c.trusted {
			c.violate(path, ruleDataSource)
		}
	case "archiveLocation":
		if !c.trusted && !onlyArchiveLogs(v.Interface().(*wfv1.ArtifactLocation)) {
			c.violate(path, ruleArchive)
		}
	case "parallelism":
		if v.Kind() == reflect.Pointer {
			v = v.Elem()
		}
		if v.Kind() == reflect.Int64 && (v.Int() < 0 || v.Int() > c.policy.MaxParallelism) {
			c.violate(path, fmt.Sprintf(ruleParallelism, c.policy.MaxParallelism))
		}
	}
}

// checkPatchField applies the rules about podSpecPatch: only trusted
// workflows may patch their pods, with a literal patch (pods applies it and
// checks the result). Artifact GC pods are not checked, so nobody patches
// them.
func (c *policyCheck) checkPatchField(path string, parent reflect.Type, patch string) {
	switch {
	case parent == typeArtifactGC || parent == typeWfArtifactGC:
		c.violate(path, ruleGCPatch)
	case !c.trusted:
		c.violate(path, rulePodSpecPatch)
	case strings.Contains(patch, "{{"):
		c.violate(path, ruleComputedPatch)
	}
}

// checkStruct applies the rules about types, wherever they appear.
func (c *policyCheck) checkStruct(path string, v reflect.Value) {
	t := v.Type()
	if rule, ok := untrustedOnly[t]; ok && !c.trusted {
		c.violate(path, rule)
		return
	}
	switch {
	case t == typeVolumeSource:
		c.checkVolume(path, v.Addr().Interface().(*corev1.VolumeSource))
	case t == typeProjection:
		pr := v.Addr().Interface().(*corev1.VolumeProjection)
		if !c.trusted && pr.ServiceAccountToken != nil {
			c.violate(path+".serviceAccountToken", ruleServiceAccount)
		}
	case t == typeMetadata:
		m := v.Addr().Interface().(*wfv1.Metadata)
		c.checkKeys(path+".labels", m.Labels)
		c.checkKeys(path+".annotations", m.Annotations)
	case t == typeWfMetadata:
		m := v.Addr().Interface().(*wfv1.WorkflowMetadata)
		c.checkKeys(path+".labels", m.Labels)
		c.checkKeys(path+".annotations", m.Annotations)
		c.checkKeys(path+".labelsFrom", m.LabelsFrom)
	case t == typeTemplateRef:
		r := v.Addr().Interface().(*wfv1.TemplateRef)
		c.reference(path, TemplateReference{Name: r.Name, Cluster: r.ClusterScope}, r.Template)
	case t == typeWfTemplateRef:
		r := v.Addr().Interface().(*wfv1.WorkflowTemplateRef)
		c.reference(path, TemplateReference{Name: r.Name, Cluster: r.ClusterScope}, "")
	case t == typeStep:
		s := v.Addr().Interface().(*wfv1.WorkflowStep)
		c.checkFanOut(path, s.WithItems, s.WithSequence, s.WithParam)
	case t == typeTask:
		s := v.Addr().Interface().(*wfv1.DAGTask)
		c.checkFanOut(path, s.WithItems, s.WithSequence, s.WithParam)
	case t == typeLocation:
		c.checkLocation(path, v.Addr().Interface().(*wfv1.ArtifactLocation))
	case t == reflect.TypeFor[wfv1.WorkflowSpec]():
		if pdb := v.Addr().Interface().(*wfv1.WorkflowSpec).PodDisruptionBudget; pdb != nil && pdb.Selector != nil {
			c.violate(path+".podDisruptionBudget.selector", rulePDBSelector)
		}
	case !c.trusted && slices.Contains(secretTypes, t):
		c.violate(path, ruleSecrets)
	}
}

// checkVolume allows untrusted workflows only volume types that expose
// neither the node nor Secrets. Host paths are the Pod Security checks'.
func (c *policyCheck) checkVolume(path string, vs *corev1.VolumeSource) {
	if c.trusted || vs.HostPath != nil {
		return
	}
	allowed := vs.EmptyDir != nil || vs.ConfigMap != nil || vs.DownwardAPI != nil ||
		vs.PersistentVolumeClaim != nil || vs.Ephemeral != nil || vs.Projected != nil
	if allowed || vs.Secret != nil { // a secret volume is reported by the Secrets rule
		return
	}
	v := reflect.ValueOf(vs).Elem()
	for i := range v.NumField() {
		if !v.Field(i).IsNil() {
			name, _ := jsonName(v.Type().Field(i))
			c.violate(path+"."+name, fmt.Sprintf(ruleVolumeType, name))
		}
	}
}

// jsonName returns a field's JSON name, and whether its fields are inlined
// into the parent's.
func jsonName(f reflect.StructField) (string, bool) {
	tag := f.Tag.Get("json")
	name, opts, _ := strings.Cut(tag, ",")
	if name == "" && (f.Anonymous || strings.Contains(opts, "inline")) {
		return "", true
	}
	if name == "" {
		name = f.Name
	}
	return name, false
}
