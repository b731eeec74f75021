package deploy_test

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	argoconfig "github.com/argoproj/argo-workflows/v3/config"
	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	psaapi "k8s.io/pod-security-admission/api"
	psapolicy "k8s.io/pod-security-admission/policy"
	"sigs.k8s.io/yaml"

	"gated.dev/gated/daemon"
	"gated.dev/gated/scheduler"
)

// kustomization is the part of kustomize's Kustomization the tests check.
type kustomization struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Namespace  string `json:"namespace"`
	Labels     []struct {
		Pairs map[string]string `json:"pairs"`
	} `json:"labels"`
	Resources []string `json:"resources"`
	Images    []struct {
		Name    string `json:"name"`
		NewName string `json:"newName"`
		NewTag  string `json:"newTag"`
	} `json:"images"`
}

// typed returns an empty object of the manifest's kind.
func typed(kind string) any {
	switch kind {
	case "Namespace":
		return &corev1.Namespace{}
	case "ServiceAccount":
		return &corev1.ServiceAccount{}
	case "ConfigMap":
		return &corev1.ConfigMap{}
	case "Service":
		return &corev1.Service{}
	case "StatefulSet":
		return &appsv1.StatefulSet{}
	case "Role":
		return &rbacv1.Role{}
	case "RoleBinding":
		return &rbacv1.RoleBinding{}
	case "ClusterRole":
		return &rbacv1.ClusterRole{}
	case "ClusterRoleBinding":
		return &rbacv1.ClusterRoleBinding{}
	case "Workflow":
		return &wfv1.Workflow{}
	case "Kustomization":
		return &kustomization{}
	}
	return nil
}

// manifests decodes, strictly and into its typed object, every YAML
// document under deploy/ but the development cluster's, by file.
func manifests(t *testing.T) map[string][]any {
	t.Helper()
	out := map[string][]any{}
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && path == "devcluster" {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".yaml") {
			return nil
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		r := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
		for {
			doc, err := r.Read()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Errorf("%s: %v", path, err)
				break
			}
			var head struct{ Kind string }
			if err := yaml.Unmarshal(doc, &head); err != nil || head.Kind == "" {
				if len(bytes.TrimSpace(doc)) > 0 {
					t.Errorf("%s: a document without a kind: %v", path, err)
				}
				continue
			}
			obj := typed(head.Kind)
			if obj == nil {
				t.Errorf("%s: unexpected kind %s", path, head.Kind)
				continue
			}
			if err := yaml.UnmarshalStrict(doc, obj); err != nil {
				t.Errorf("%s: %s: %v", path, head.Kind, err)
				continue
			}
			out[path] = append(out[path], obj)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// only returns the one object of type T in the file.
func only[T any](t *testing.T, all map[string][]any, path string) T {
	t.Helper()
	var found []T
	for _, obj := range all[path] {
		if o, ok := obj.(T); ok {
			found = append(found, o)
		}
	}
	if len(found) != 1 {
		t.Fatalf("%s: %d objects of type %T, want 1", path, len(found), *new(T))
	}
	return found[0]
}

func TestKustomizationsListEveryManifest(t *testing.T) {
	all := manifests(t)
	listed := map[string]bool{}
	for path, objs := range all {
		for _, obj := range objs {
			k, ok := obj.(*kustomization)
			if !ok {
				continue
			}
			if k.Kind != "Kustomization" || k.APIVersion != "kustomize.config.k8s.io/v1beta1" || k.Namespace == "" {
				t.Errorf("%s: %+v", path, k)
			}
			for _, r := range k.Resources {
				p := filepath.Join(filepath.Dir(path), r)
				if _, ok := all[p]; !ok {
					t.Errorf("%s lists %s, which is not a manifest", path, r)
				}
				listed[p] = true
				for _, obj := range all[p] {
					if ns := namespaceOf(obj); ns != "" && ns != k.Namespace {
						t.Errorf("%s: namespace %s, but its kustomization sets %s", p, ns, k.Namespace)
					}
				}
			}
		}
	}
	for path := range all {
		if filepath.Base(path) != "kustomization.yaml" && filepath.Dir(path) != "examples" && !listed[path] {
			t.Errorf("%s is in no kustomization", path)
		}
	}
}

func namespaceOf(obj any) string {
	switch o := obj.(type) {
	case *corev1.ServiceAccount:
		return o.Namespace
	case *corev1.ConfigMap:
		return o.Namespace
	case *corev1.Service:
		return o.Namespace
	case *appsv1.StatefulSet:
		return o.Namespace
	case *rbacv1.Role:
		return o.Namespace
	case *rbacv1.RoleBinding:
		return o.Namespace
	}
	return ""
}

func TestGatedConfigIsValid(t *testing.T) {
	cm := only[*corev1.ConfigMap](t, manifests(t), "configmap.yaml")
	cfg, err := daemon.ParseConfig([]byte(cm.Data["config.yaml"]))
	if err != nil {
		t.Fatalf("config.yaml: %v", err)
	}
	if cfg.Executor.Kind != "argo" || cfg.Executor.Argo.Artifacts == nil || cfg.DataDir != "/var/lib/gated" {
		t.Errorf("config %+v", cfg)
	}
}

func TestStatefulSetRunsOneGatedOnItsVolume(t *testing.T) {
	all := manifests(t)
	sts := only[*appsv1.StatefulSet](t, all, "statefulset.yaml")
	if sts.Spec.Replicas == nil || *sts.Spec.Replicas != 1 {
		t.Errorf("replicas %v: bbolt has one writer", sts.Spec.Replicas)
	}
	if len(sts.Spec.VolumeClaimTemplates) != 1 || sts.Spec.VolumeClaimTemplates[0].Name != "data" {
		t.Fatalf("volume claims %+v", sts.Spec.VolumeClaimTemplates)
	}
	pod := sts.Spec.Template.Spec
	if pod.ServiceAccountName != only[*corev1.ServiceAccount](t, all, "serviceaccount.yaml").Name {
		t.Errorf("service account %q", pod.ServiceAccountName)
	}
	mounts := map[string]string{}
	for _, m := range pod.Containers[0].VolumeMounts {
		mounts[m.Name] = m.MountPath
	}
	cfg, err := daemon.ParseConfig([]byte(only[*corev1.ConfigMap](t, all, "configmap.yaml").Data["config.yaml"]))
	if err != nil {
		t.Fatal(err)
	}
	if mounts["data"] != cfg.DataDir {
		t.Errorf("the volume is mounted at %q, the data directory is %q", mounts["data"], cfg.DataDir)
	}
	for _, f := range []string{cfg.Gerrit.PasswordFile, cfg.Gerrit.Webhook.SecretFile, cfg.Executor.Argo.Artifacts.AccessKeyFile, cfg.Executor.Argo.Artifacts.SecretKeyFile, cfg.Admin.TokenFile} {
		if !slices.ContainsFunc(slices.Collect(mapValues(mounts)), func(dir string) bool { return strings.HasPrefix(f, dir+"/") }) {
			t.Errorf("%s is in no mounted volume", f)
		}
	}
	// The admin tokens come from a Secret of their own, read-only.
	var admin *corev1.Volume
	for i, v := range pod.Volumes {
		if v.Secret != nil && v.Secret.SecretName == "gated-admin-tokens" {
			admin = &pod.Volumes[i]
		}
	}
	if admin == nil || cfg.Admin.TokenFile == "" || !strings.HasPrefix(cfg.Admin.TokenFile, mounts[admin.Name]+"/") {
		t.Errorf("the admin token file %q is not in the volume of the Secret gated-admin-tokens (%+v)", cfg.Admin.TokenFile, admin)
	}
	for _, m := range pod.Containers[0].VolumeMounts {
		if admin != nil && m.Name == admin.Name && !m.ReadOnly {
			t.Errorf("the admin tokens are mounted writable")
		}
	}
	svc := only[*corev1.Service](t, all, "service.yaml")
	if svc.Spec.Selector["app.kubernetes.io/name"] != pod.Containers[0].Name && svc.Spec.Selector["app.kubernetes.io/name"] != sts.Spec.Template.Labels["app.kubernetes.io/name"] {
		t.Errorf("the Service selects %v", svc.Spec.Selector)
	}
}

func mapValues(m map[string]string) func(func(string) bool) {
	return func(yield func(string) bool) {
		for _, v := range m {
			if !yield(v) {
				return
			}
		}
	}
}

func TestGatedMayOnlyHandleWorkflowsInProjectNamespaces(t *testing.T) {
	all := manifests(t)
	for _, role := range all["projects/example/rbac.yaml"] {
		r, ok := role.(*rbacv1.Role)
		if !ok || r.Name != "gated" {
			continue
		}
		for _, rule := range r.Rules {
			for _, res := range rule.Resources {
				switch res {
				case "workflows":
					if !slices.Equal(rule.Verbs, []string{"create", "get", "list", "watch", "patch", "delete"}) {
						t.Errorf("verbs on workflows: %v", rule.Verbs)
					}
				case "workflowtemplates":
					if !slices.Equal(rule.Verbs, []string{"get"}) {
						t.Errorf("verbs on workflowtemplates: %v", rule.Verbs)
					}
				default:
					t.Errorf("gated may touch %s", res)
				}
			}
		}
		return
	}
	t.Error("no Role gated in projects/example/rbac.yaml")
}

func TestArtifactRepositoryIsMinIO(t *testing.T) {
	cm := only[*corev1.ConfigMap](t, manifests(t), "projects/example/artifact-repositories.yaml")
	name := cm.Annotations["workflows.argoproj.io/default-artifact-repository"]
	var repo wfv1.ArtifactRepository
	if err := yaml.UnmarshalStrict([]byte(cm.Data[name]), &repo); err != nil {
		t.Fatalf("repository %q: %v", name, err)
	}
	if repo.S3 == nil || repo.S3.Bucket != "gated-artifacts" || repo.S3.KeyFormat != "{{workflow.namespace}}/{{workflow.name}}/{{pod.name}}" || repo.S3.AccessKeySecret == nil {
		t.Errorf("repository %+v", repo.S3)
	}
}

func TestWebhooksConfig(t *testing.T) {
	data, err := os.ReadFile("examples/webhooks.config")
	if err != nil {
		t.Fatal(err)
	}
	section := ""
	values := map[string][]string{}
	for i, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSpace(line)
		switch {
		case line == "" || strings.HasPrefix(line, "#"):
		case strings.HasPrefix(line, "[") && strings.HasSuffix(line, "]"):
			section = line
		default:
			k, v, ok := strings.Cut(line, "=")
			if !ok || section == "" {
				t.Errorf("line %d: %q is not `key = value` in a section", i+1, line)
				continue
			}
			values[strings.TrimSpace(k)] = append(values[strings.TrimSpace(k)], strings.TrimSpace(v))
		}
	}
	if section != `[remote "gated"]` || len(values["url"]) != 1 || !strings.Contains(values["url"][0], "/gerrit/events?token=") {
		t.Errorf("section %s, url %v", section, values["url"])
	}
	for _, ev := range []string{"patchset-created", "comment-added", "change-merged", "change-abandoned", "ref-updated"} {
		if !slices.Contains(values["event"], ev) {
			t.Errorf("event %s is not sent", ev)
		}
	}
}

// Build namespaces enforce Pod Security (a second layer under gated's own
// check), at a level the example workflow meets with gated's policy set to
// the same level.
func TestBuildNamespacesEnforcePodSecurity(t *testing.T) {
	all := manifests(t)
	example, err := os.ReadFile("examples/argo-workflow.yaml")
	if err != nil {
		t.Fatal(err)
	}
	found := 0
	for path, objs := range all {
		if !strings.HasPrefix(path, "projects/") {
			continue
		}
		for _, obj := range objs {
			ns, ok := obj.(*corev1.Namespace)
			if !ok {
				continue
			}
			found++
			level := ns.Labels["pod-security.kubernetes.io/enforce"]
			if level != "baseline" && level != "restricted" {
				t.Errorf("%s: namespace %s enforces Pod Security %q; want baseline or restricted", path, ns.Name, level)
				continue
			}
			p := scheduler.Policy{MaxDeadline: time.Hour, MaxParallelism: 10, PodSecurity: level}
			if _, err := p.Check(example, ns.Name, false); err != nil {
				t.Errorf("the example workflow fails %s's level %s: %v", ns.Name, level, err)
			}
		}
	}
	if found == 0 {
		t.Error("no build namespace under projects/")
	}
}

// gated may read nothing cluster-wide but the ClusterWorkflowTemplates
// named in its role (those an administrator allowed workflows to refer to).
func TestGatedReadsOnlyNamedClusterTemplates(t *testing.T) {
	all := manifests(t)
	roles := map[string]*rbacv1.ClusterRole{}
	var bindings []*rbacv1.ClusterRoleBinding
	for _, objs := range all {
		for _, obj := range objs {
			switch o := obj.(type) {
			case *rbacv1.ClusterRole:
				roles[o.Name] = o
			case *rbacv1.ClusterRoleBinding:
				bindings = append(bindings, o)
			}
		}
	}
	for _, b := range bindings {
		for _, s := range b.Subjects {
			if s.Kind != "ServiceAccount" || s.Name != "gated" {
				continue
			}
			role := roles[b.RoleRef.Name]
			if role == nil {
				t.Errorf("binding %s: no ClusterRole %s", b.Name, b.RoleRef.Name)
				continue
			}
			for _, r := range role.Rules {
				if !slices.Equal(r.Resources, []string{"clusterworkflowtemplates"}) || !slices.Equal(r.Verbs, []string{"get"}) || len(r.ResourceNames) == 0 {
					t.Errorf("ClusterRole %s lets gated %v %v (names %v); want get on named clusterworkflowtemplates only", role.Name, r.Verbs, r.Resources, r.ResourceNames)
				}
			}
		}
	}
}

// The example controller configuration decodes as Argo's, does not turn
// on template referencing (which would fail every inline workflow), and
// makes Argo's own containers meet the restricted standard.
func TestControllerConfig(t *testing.T) {
	cm := only[*corev1.ConfigMap](t, manifests(t), "examples/workflow-controller-configmap.yaml")
	fields := map[string]any{}
	for k, v := range cm.Data {
		var value any
		if err := yaml.Unmarshal([]byte(v), &value); err != nil {
			t.Fatalf("%s: %v", k, err)
		}
		fields[k] = value
	}
	doc, err := yaml.Marshal(fields)
	if err != nil {
		t.Fatal(err)
	}
	var cfg argoconfig.Config
	if err := yaml.UnmarshalStrict(doc, &cfg); err != nil {
		t.Fatalf("not Argo's configuration: %v", err)
	}
	if cfg.WorkflowRestrictions.MustUseReference() {
		t.Error("templateReferencing is set: the controller would fail every inline workflow")
	}
	if cfg.Executor == nil || cfg.Executor.SecurityContext == nil {
		t.Fatal("no executor securityContext")
	}
	ev, err := psapolicy.NewEvaluator(psapolicy.DefaultChecks())
	if err != nil {
		t.Fatal(err)
	}
	pod := corev1.PodSpec{Containers: []corev1.Container{{Name: "wait", Image: "argoexec", SecurityContext: cfg.Executor.SecurityContext}}}
	res := psapolicy.AggregateCheckResults(ev.EvaluatePod(psaapi.LevelVersion{Level: psaapi.LevelRestricted, Version: psaapi.LatestVersion()}, &metav1.ObjectMeta{}, &pod))
	if !res.Allowed {
		t.Errorf("Argo's containers fail the restricted standard: %s", res.ForbiddenDetail())
	}
}

// Outputs are stored under the prefix gated keeps artifacts in.
func TestArtifactKeysAreUnderTheBuildsPrefix(t *testing.T) {
	cm := only[*corev1.ConfigMap](t, manifests(t), "projects/example/artifact-repositories.yaml")
	var repo wfv1.ArtifactRepository
	if err := yaml.UnmarshalStrict([]byte(cm.Data[cm.Annotations["workflows.argoproj.io/default-artifact-repository"]]), &repo); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(repo.S3.KeyFormat, scheduler.ArtifactKeyPrefix) {
		t.Errorf("keyFormat %q is outside the builds' prefix %q", repo.S3.KeyFormat, scheduler.ArtifactKeyPrefix)
	}
}
