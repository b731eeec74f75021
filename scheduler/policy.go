package scheduler

import (
	"fmt"
	"reflect"
	"slices"
	"strings"
	"time"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	corev1 "k8s.io/api/core/v1"
)

// Policy is what gated allows a workflow from a change (DESIGN.md decision
// 5). Every workflow is held to the limits; untrusted ones (projects not
// marked trusted) also may not touch Secrets, choose their service account,
// patch their pod spec, create arbitrary objects or mount volumes other than
// scratch space, configuration and claims.
type Policy struct {
	// MaxDeadline caps spec.activeDeadlineSeconds. A workflow without a
	// deadline gets this one: a build must end, and demanding the field of
	// every project would be ceremony.
	MaxDeadline time.Duration
	// MaxParallelism caps spec.parallelism and every template's
	// parallelism; a workflow without spec.parallelism gets this one.
	MaxParallelism int64
}

// The rules, as the report states them.
const (
	ruleNamespace      = "builds run only in the project's namespace %q"
	rulePrivileged     = "privileged containers are not allowed"
	ruleCapabilities   = "adding Linux capabilities is not allowed"
	ruleProcMount      = "an unmasked /proc is not allowed"
	ruleHostPath       = "hostPath volumes are not allowed"
	ruleHostNamespace  = "the host's network, PID and IPC namespaces are not allowed"
	ruleServiceAccount = "an untrusted workflow may not choose its service account or token"
	rulePodSpecPatch   = "podSpecPatch is allowed only in trusted projects"
	ruleSecrets        = "an untrusted workflow may not read Secrets"
	ruleVolumeType     = "an untrusted workflow may mount only emptyDir, configMap, downwardAPI, persistentVolumeClaim, ephemeral and projected configMap/downwardAPI volumes; not %s"
	ruleResource       = "resource templates (which create arbitrary Kubernetes objects) are allowed only in trusted projects"
	rulePlugin         = "executor plugin templates are allowed only in trusted projects"
	ruleDeadline       = "activeDeadlineSeconds must be between 1 and %d (%s)"
	ruleParallelism    = "parallelism must be between 0 and %d"
)

// enforce checks wf, as the project wrote it, against the policy, and then
// gives it the default deadline and parallelism if it has none.
func (p Policy) enforce(wf *wfv1.Workflow, namespace string, trusted bool) error {
	w := policyWalk{policy: p, trusted: trusted}
	if wf.Namespace != "" && wf.Namespace != namespace {
		w.violate("metadata.namespace", fmt.Sprintf(ruleNamespace, namespace))
	}
	maxSeconds := int64(p.MaxDeadline / time.Second)
	if d := wf.Spec.ActiveDeadlineSeconds; d != nil && (*d <= 0 || *d > maxSeconds) {
		w.violate("spec.activeDeadlineSeconds", fmt.Sprintf(ruleDeadline, maxSeconds, p.MaxDeadline))
	}
	w.walk("spec", reflect.ValueOf(&wf.Spec))
	if len(w.violations) > 0 {
		first := w.violations[0]
		return &DefinitionError{Kind: KindPolicy, Field: first.Field, Rule: first.Rule, Violations: w.violations}
	}
	if wf.Spec.ActiveDeadlineSeconds == nil {
		wf.Spec.ActiveDeadlineSeconds = &maxSeconds
	}
	if wf.Spec.Parallelism == nil {
		par := p.MaxParallelism
		wf.Spec.Parallelism = &par
	}
	return nil
}

// policyWalk visits every value of a workflow spec by reflection, so that
// no nesting (inline templates in steps and DAG tasks, init containers,
// sidecars, container sets, artifact locations, hooks) escapes the rules.
type policyWalk struct {
	policy     Policy
	trusted    bool
	violations []Violation
}

func (w *policyWalk) violate(field, rule string) {
	w.violations = append(w.violations, Violation{Field: field, Rule: rule})
}

// Types the rules look at.
var (
	typeSecurityContext = reflect.TypeFor[corev1.SecurityContext]()
	typeVolumeSource    = reflect.TypeFor[corev1.VolumeSource]()
	typeProjection      = reflect.TypeFor[corev1.VolumeProjection]()
	typeResource        = reflect.TypeFor[wfv1.ResourceTemplate]()
	typePlugin          = reflect.TypeFor[wfv1.Plugin]()
	typeParallelSteps   = reflect.TypeFor[wfv1.ParallelSteps]()
	secretTypes         = []reflect.Type{
		reflect.TypeFor[corev1.SecretKeySelector](),
		reflect.TypeFor[corev1.SecretEnvSource](),
		reflect.TypeFor[corev1.SecretVolumeSource](),
		reflect.TypeFor[corev1.SecretProjection](),
		reflect.TypeFor[corev1.SecretReference](),
	}
)

func (w *policyWalk) walk(path string, v reflect.Value) {
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if !v.IsNil() {
			w.walk(path, v.Elem())
		}
	case reflect.Slice, reflect.Array:
		if v.Type().Elem().Kind() == reflect.Uint8 {
			return // raw bytes (plugin configuration)
		}
		for i := range v.Len() {
			w.walk(fmt.Sprintf("%s[%d]", path, i), v.Index(i))
		}
	case reflect.Map:
		keys := v.MapKeys()
		slices.SortFunc(keys, func(a, b reflect.Value) int { return strings.Compare(fmt.Sprint(a), fmt.Sprint(b)) })
		for _, k := range keys {
			w.walk(fmt.Sprintf("%s[%q]", path, fmt.Sprint(k)), v.MapIndex(k))
		}
	case reflect.Struct:
		if !v.CanAddr() { // a map value or an interface's content: work on a copy
			cp := reflect.New(v.Type()).Elem()
			cp.Set(v)
			v = cp
		}
		w.checkStruct(path, v)
		t := v.Type()
		if t == typeParallelSteps { // serialized as a bare list
			w.walk(path, v.Field(0))
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
				w.checkField(fp, name, v.Field(i))
			}
			w.walk(fp, v.Field(i))
		}
	}
}

// checkField applies the rules about fields that appear under one name in
// several places (workflow, template, executor, artifact GC).
func (w *policyWalk) checkField(path, name string, v reflect.Value) {
	set := !v.IsZero()
	switch name {
	case "hostNetwork", "hostPID", "hostIPC":
		if v.Kind() == reflect.Pointer && !v.IsNil() {
			v = v.Elem()
		}
		if v.Kind() == reflect.Bool && v.Bool() {
			w.violate(path, ruleHostNamespace)
		}
	case "serviceAccountName", "automountServiceAccountToken":
		if set && !w.trusted {
			w.violate(path, ruleServiceAccount)
		}
	case "podSpecPatch":
		if set && !w.trusted {
			w.violate(path, rulePodSpecPatch)
		}
	case "parallelism":
		if v.Kind() == reflect.Pointer && !v.IsNil() {
			v = v.Elem()
		}
		if v.Kind() == reflect.Int64 && (v.Int() < 0 || v.Int() > w.policy.MaxParallelism) {
			w.violate(path, fmt.Sprintf(ruleParallelism, w.policy.MaxParallelism))
		}
	}
}

// checkStruct applies the rules about types, wherever they appear.
func (w *policyWalk) checkStruct(path string, v reflect.Value) {
	t := v.Type()
	switch {
	case t == typeSecurityContext:
		sc := v.Addr().Interface().(*corev1.SecurityContext)
		if sc.Privileged != nil && *sc.Privileged {
			w.violate(path+".privileged", rulePrivileged)
		}
		if sc.Capabilities != nil && len(sc.Capabilities.Add) > 0 {
			w.violate(path+".capabilities.add", ruleCapabilities)
		}
		if sc.ProcMount != nil && *sc.ProcMount == corev1.UnmaskedProcMount {
			w.violate(path+".procMount", ruleProcMount)
		}
	case t == typeVolumeSource:
		w.checkVolume(path, v.Addr().Interface().(*corev1.VolumeSource))
	case t == typeProjection:
		pr := v.Addr().Interface().(*corev1.VolumeProjection)
		if !w.trusted && pr.ServiceAccountToken != nil {
			w.violate(path+".serviceAccountToken", ruleServiceAccount)
		}
	case t == typeResource && !w.trusted:
		w.violate(path, ruleResource)
	case t == typePlugin && !w.trusted:
		w.violate(path, rulePlugin)
	case !w.trusted && slices.Contains(secretTypes, t):
		w.violate(path, ruleSecrets)
	}
}

// checkVolume allows host paths to nobody, and to untrusted workflows only
// volume types that expose neither the node nor Secrets.
func (w *policyWalk) checkVolume(path string, vs *corev1.VolumeSource) {
	if vs.HostPath != nil {
		w.violate(path+".hostPath", ruleHostPath)
		return
	}
	if w.trusted {
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
			w.violate(path+"."+name, fmt.Sprintf(ruleVolumeType, name))
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
