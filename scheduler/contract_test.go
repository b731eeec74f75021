package scheduler

import (
	"context"
	"encoding/json"
	"os"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/util/validation"
)

func TestRenderFillsTheWorkflowContract(t *testing.T) {
	a, requests := offlineArgo(t)
	file := workflowYAML(`  arguments:
    parameters:
    - name: gated-revision
      value: "HEAD"
    - name: extra
      value: kept
  entrypoint: main
  templates:
  - name: main
    container:
      image: alpine
      args: ["{{workflow.parameters.gated-revision}}", "{{workflow.parameters.gated-changes}}", "{{workflow.parameters.extra}}"]
`)
	b := testBuild(file)
	wf, err := a.render(context.Background(), b)
	if err != nil {
		t.Fatal(err)
	}
	if requests.Load() != 0 {
		t.Errorf("rendering a workflow without template references made %d requests", requests.Load())
	}
	if wf.Name != "gated-gate-17-2" || wf.GenerateName != "" || wf.Namespace != "builds" {
		t.Errorf("name %q, generateName %q, namespace %q", wf.Name, wf.GenerateName, wf.Namespace)
	}
	params := map[string]string{}
	for _, p := range wf.Spec.Arguments.Parameters {
		params[p.Name] = p.Value.String()
	}
	heads, _ := json.Marshal(b.Heads)
	want := map[string]string{
		ParamGitURL: b.GitURL, ParamRevision: b.Revision, ParamProject: "platform/api", ParamChange: "1234",
		ParamPatchset: "3", ParamPipeline: "gate", ParamItem: "17", ParamChanges: string(heads), "extra": "kept",
		ParamRef: "", ParamOldRev: "", ParamNewRev: "", // a change's build
	}
	for k, v := range want {
		if params[k] != v {
			t.Errorf("parameter %s = %q, want %q", k, params[k], v)
		}
	}
	for k, v := range map[string]string{LabelPipeline: "gate", LabelItem: "17", LabelAttempt: "2", LabelChange: "1234"} {
		if wf.Labels[k] != v || wf.Annotations[k] != v {
			t.Errorf("label/annotation %s = %q/%q, want %q", k, wf.Labels[k], wf.Annotations[k], v)
		}
	}
	if wf.Annotations[LabelProject] != "platform/api" || len(validation.IsValidLabelValue(wf.Labels[LabelProject])) > 0 ||
		!strings.HasPrefix(wf.Labels[LabelProject], "platform-api-") {
		t.Errorf("project label %q / annotation %q", wf.Labels[LabelProject], wf.Annotations[LabelProject])
	}
	if wf.Annotations[AnnotationRevision] != b.Revision {
		t.Errorf("revision annotation %q", wf.Annotations[AnnotationRevision])
	}
	if _, ok := wf.Annotations[AnnotationPart]; ok {
		t.Errorf("a build that is no bundle's part has a part annotation")
	}

	// The second build of a bundle has a name and an annotation of its
	// own, and its updates say which part it is.
	b.Part = 1
	if wf, err = a.render(context.Background(), b); err != nil {
		t.Fatal(err)
	}
	if wf.Name != "gated-gate-17-2-p1" || wf.Annotations[AnnotationPart] != "1" || a.toUpdate(wf).Part != 1 {
		t.Errorf("part 1: name %q, annotation %q, update part %d", wf.Name, wf.Annotations[AnnotationPart], a.toUpdate(wf).Part)
	}
}

func TestBuildNamesAreValidAndDeterministic(t *testing.T) {
	for _, pipeline := range []string{"gate", "Gate_Post-merge!!", strings.Repeat("very-long-pipeline-", 10), "ü"} {
		name := BuildName(pipeline, "123456789", 42, 12)
		if errs := validation.IsDNS1123Label(name); len(errs) > 0 {
			t.Errorf("BuildName(%q) = %q: %v", pipeline, name, errs)
		}
		if again := BuildName(pipeline, "123456789", 42, 12); again != name {
			t.Errorf("BuildName(%q) is not deterministic: %q then %q", pipeline, name, again)
		}
	}
	if BuildName("gate", "1", 1, 0) == BuildName("gate", "1", 2, 0) || BuildName("gate", "1", 1, 0) == BuildName("check", "1", 1, 0) ||
		BuildName("gate", "1", 1, 0) == BuildName("gate", "1", 1, 1) {
		t.Error("distinct builds share a name")
	}
}

func TestLabelValues(t *testing.T) {
	for _, v := range []string{"gate", "platform/api", "-x-", strings.Repeat("a", 80), "", "a b c"} {
		got := labelValue(v)
		if errs := validation.IsValidLabelValue(got); len(errs) > 0 {
			t.Errorf("labelValue(%q) = %q: %v", v, got, errs)
		}
	}
	if labelValue("a/b") == labelValue("a-b") {
		t.Error("distinct values share a label value")
	}
}

func TestTheExampleWorkflowIsAcceptedFromUntrustedProjects(t *testing.T) {
	file, err := os.ReadFile("../deploy/examples/argo-workflow.yaml")
	if err != nil {
		t.Fatal(err)
	}
	a, requests := offlineArgo(t)
	wf, err := a.render(context.Background(), testBuild(file))
	if err != nil {
		t.Fatalf("the example is refused: %v", err)
	}
	if requests.Load() != 0 || wf.Spec.Templates[1].Inputs.Artifacts[0].Git == nil {
		t.Errorf("requests %d, inputs %+v", requests.Load(), wf.Spec.Templates[1].Inputs)
	}
}

// Builds start in parallel, and so does rendering: Argo's validator is not
// safe for concurrent use, so render serializes it (run with -race).
func TestRenderConcurrently(t *testing.T) {
	a, _ := offlineArgo(t)
	file := workflowYAML(`  entrypoint: main
  templates:
  - name: main
    container:
      image: alpine
      args: ["{{workflow.parameters.gated-revision}}"]
`)
	errs := make(chan error, 8)
	for range 8 {
		go func() {
			_, err := a.render(context.Background(), testBuild(file))
			errs <- err
		}()
	}
	for range 8 {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}
