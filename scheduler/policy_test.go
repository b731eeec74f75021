package scheduler

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

var testPolicy = Policy{MaxDeadline: 2 * time.Hour, MaxParallelism: 10}

// workflowYAML wraps a spec (indented by two spaces) into a Workflow.
func workflowYAML(spec string) []byte {
	return []byte("apiVersion: argoproj.io/v1alpha1\nkind: Workflow\nmetadata:\n  generateName: build-\nspec:\n" + spec)
}

const benignSpec = `  entrypoint: main
  templates:
  - name: main
    container:
      image: golang:1.26
      command: [go, test, ./...]
`

func TestPolicyReportsEveryViolation(t *testing.T) {
	_, _, err := testPolicy.vet(workflowYAML(`  serviceAccountName: admin
  hostNetwork: true
  entrypoint: main
  templates:
  - name: main
    container:
      image: alpine
      securityContext: {privileged: true}
`), "builds", false)
	var def *DefinitionError
	if !errors.As(err, &def) || len(def.Violations) != 3 {
		t.Fatalf("got %v, want 3 violations", err)
	}
	for _, want := range []string{"- spec.serviceAccountName: an untrusted workflow may not choose", "- spec: Pod Security \"baseline\": host namespaces (hostNetwork=true)",
		"- spec.templates[0]: Pod Security \"baseline\": privileged (container \"main\" must not set securityContext.privileged=true)", "3 rules"} {
		if !strings.Contains(def.Error(), want) {
			t.Errorf("report %q does not mention %s", def.Error(), want)
		}
	}
}

func TestPolicyDefaultsDeadlineAndParallelism(t *testing.T) {
	wf, _, err := testPolicy.vet(workflowYAML(benignSpec), "builds", false)
	if err != nil {
		t.Fatal(err)
	}
	testPolicy.applyDefaults(wf)
	if d := wf.Spec.ActiveDeadlineSeconds; d == nil || *d != 7200 {
		t.Errorf("activeDeadlineSeconds = %v, want the cap 7200", d)
	}
	if p := wf.Spec.Parallelism; p == nil || *p != 10 {
		t.Errorf("parallelism = %v, want the cap 10", p)
	}
	wf, _, err = testPolicy.vet(workflowYAML("  activeDeadlineSeconds: 600\n  parallelism: 2\n"+benignSpec), "builds", false)
	if err != nil {
		t.Fatal(err)
	}
	testPolicy.applyDefaults(wf)
	if *wf.Spec.ActiveDeadlineSeconds != 600 || *wf.Spec.Parallelism != 2 {
		t.Errorf("the workflow's own limits were changed: %d, %d", *wf.Spec.ActiveDeadlineSeconds, *wf.Spec.Parallelism)
	}
}

// BenchmarkPolicy measures what Start does before its API call: parsing,
// the policy (with Pod Security on every pod), and then the contract and
// Argo's validator (render).
func BenchmarkPolicy(b *testing.B) {
	data := workflowYAML(benignSpec)
	b.Run("parse", func(b *testing.B) {
		for b.Loop() {
			if _, err := parseDefinition(data); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("parse+policy", func(b *testing.B) {
		for b.Loop() {
			if _, _, err := testPolicy.vet(data, "builds", false); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("render", func(b *testing.B) {
		a, _ := offlineArgo(b)
		bld := testBuild(data)
		for b.Loop() {
			if _, err := a.render(context.Background(), bld); err != nil {
				b.Fatal(err)
			}
		}
	})
}
