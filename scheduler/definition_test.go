package scheduler

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"k8s.io/client-go/rest"
)

// offlineArgo is an executor whose API server does not exist: every request
// fails at once, and is counted.
func offlineArgo(t testing.TB) (*Argo, *atomic.Int64) {
	t.Helper()
	var requests atomic.Int64
	cfg := &rest.Config{Host: "https://127.0.0.1:1", Timeout: 5 * time.Second}
	cfg.Wrap(func(rt http.RoundTripper) http.RoundTripper {
		return roundTripFunc(func(r *http.Request) (*http.Response, error) {
			requests.Add(1)
			return rt.RoundTrip(r)
		})
	})
	a, err := NewArgo(Config{REST: cfg, Policy: testPolicy, UIURL: "https://argo.example.com", Log: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	return a, &requests
}

// testLogger sends the executor's log to the test's.
func testLogger(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func testBuild(workflow []byte) Build {
	return Build{
		Pipeline: "gate", Item: "17", Attempt: 2, Project: "platform/api", Change: 1234, Patchset: 3,
		Revision: "0123456789abcdef0123456789abcdef01234567",
		Heads:    map[string]string{"platform/api": "0123456789abcdef0123456789abcdef01234567", "platform/lib": "89abcdef0123456789abcdef0123456789abcdef"},
		GitURL:   "http://gated.gated.svc:8080/git/platform/api", Workflow: workflow, Namespace: "builds",
	}
}

func TestDefinitionErrorsAreReportedAndNeverSubmitted(t *testing.T) {
	cases := []struct {
		name     string
		workflow []byte
		kind     string
		message  string // a part of the report
	}{
		{name: "missing file", workflow: nil, kind: KindMissing, message: "does not exist"},
		{name: "not YAML", workflow: []byte("spec: [unclosed\n"), kind: KindYAML, message: "not valid YAML"},
		{name: "empty file", workflow: []byte("# nothing here\n"), kind: KindYAML, message: "exactly one Workflow; it holds 0"},
		{name: "two documents", workflow: append(workflowYAML(benignSpec), append([]byte("---\n"), workflowYAML(benignSpec)...)...), kind: KindYAML, message: "holds 2 YAML documents"},
		{name: "a WorkflowTemplate", workflow: []byte("apiVersion: argoproj.io/v1alpha1\nkind: WorkflowTemplate\nmetadata: {name: x}\nspec: {}\n"), kind: KindYAML, message: "workflowTemplateRef"},
		{name: "unknown field", workflow: workflowYAML("  entrypoint: main\n  templtes: []\n"), kind: KindYAML, message: `unknown field "templtes"`},
		{name: "a status", workflow: append(workflowYAML(benignSpec), []byte("status: {phase: Succeeded}\n")...), kind: KindYAML, message: "status"},
		{name: "no entrypoint", workflow: workflowYAML("  templates:\n  - name: main\n    container: {image: alpine}\n"), kind: KindValidation, message: "spec.entrypoint is required"},
		{name: "unknown template", workflow: workflowYAML("  entrypoint: main\n  templates:\n  - name: main\n    steps:\n    - - {name: a, template: nowhere}\n"), kind: KindValidation, message: "nowhere"},
		{name: "unresolvable variable", workflow: workflowYAML("  entrypoint: main\n  templates:\n  - name: main\n    container: {image: alpine, args: ['{{workflow.parameters.nope}}']}\n"), kind: KindValidation, message: "workflow.parameters.nope"},
		{name: "policy", workflow: workflowYAML("  hostNetwork: true\n" + benignSpec), kind: KindPolicy, message: "hostNetwork=true"},
	}
	a, requests := offlineArgo(t)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := a.Start(context.Background(), testBuild(tc.workflow))
			var def *DefinitionError
			if !errors.As(err, &def) {
				t.Fatalf("got %v, want a DefinitionError", err)
			}
			if def.Kind != tc.kind || !strings.Contains(def.Error(), tc.message) {
				t.Errorf("got %s error %q; want %s mentioning %q", def.Kind, def.Error(), tc.kind, tc.message)
			}
		})
	}
	if n := requests.Load(); n != 0 {
		t.Errorf("%d requests reached the API server for refused definitions", n)
	}
}

func TestStartWithTheAPIServerDownIsTransient(t *testing.T) {
	a, requests := offlineArgo(t)
	_, err := a.Start(context.Background(), testBuild(workflowYAML(benignSpec)))
	var def *DefinitionError
	if err == nil || errors.As(err, &def) {
		t.Fatalf("got %v, want a transient error", err)
	}
	if !errors.Is(err, ErrUnavailable) || !strings.Contains(err.Error(), "gated-gate-17-2") {
		t.Errorf("error %q should say the API is unavailable and name the workflow", err)
	}
	if requests.Load() == 0 {
		t.Error("no request was made")
	}
	if err := a.Cancel(context.Background(), "gated-gate-17-2"); !errors.Is(err, ErrUnavailable) {
		t.Errorf("Cancel: got %v, want ErrUnavailable", err)
	}
}
