package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const checkBenign = `apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {generateName: ci-}
spec:
  entrypoint: main
  templates:
  - name: main
    container: {image: golang:1.26, command: [go, test, ./...]}
`

var checkHostile = strings.Replace(checkBenign, "command: [go, test, ./...]}", "command: [sh], securityContext: {privileged: true}}\n  hostNetwork: true", 1)

var checkReference = `apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {generateName: ci-}
spec:
  workflowTemplateRef: {name: go-ci}
`

const checkConfig = `gerrit: {url: https://review.example.com, password-env: GERRIT_PASSWORD}
executor:
  argo: {max-deadline: 10m, namespace: builds}
projects:
  org/tools: {trusted: true, namespace: tools}
  org/app: {}
`

func TestWorkflowCheck(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		return path
	}
	benign := write("benign.yaml", checkBenign)
	hostile := write("hostile.yaml", checkHostile)
	reference := write("reference.yaml", checkReference)
	long := write("long.yaml", strings.Replace(checkBenign, "  entrypoint: main\n", "  entrypoint: main\n  activeDeadlineSeconds: 3600\n", 1))
	patch := write("patch.yaml", strings.Replace(checkBenign, "  entrypoint: main\n", "  entrypoint: main\n  podSpecPatch: '{\"nodeName\": \"big\"}'\n", 1))
	config := write("gated.yaml", checkConfig)
	cases := []struct {
		name string
		args []string
		code int
		out  []string // each in the output, in order
	}{
		{"a benign workflow", []string{benign}, 0, []string{benign + ": accepted\n"}},
		{"a hostile workflow, with every reason", []string{hostile}, 1, []string{hostile + ": refused: it breaks 2 rules of the policy:",
			"  - spec: Pod Security \"baseline\": host namespaces (hostNetwork=true)",
			"  - spec.templates[0]: Pod Security \"baseline\": privileged (container \"main\" must not set securityContext.privileged=true)"}},
		{"one hostile file among benign ones", []string{benign, hostile, benign}, 1, []string{benign + ": accepted", hostile + ": refused", benign + ": accepted"}},
		{"a reference to a template an untrusted workflow may not use", []string{reference}, 1, []string{"spec.workflowTemplateRef: an untrusted workflow may refer only to templates an administrator allowed", "WorkflowTemplate go-ci is not one"}},
		{"a trusted workflow's reference, reported as unchecked", []string{"-trusted", reference}, 0, []string{reference + ": accepted as far as the file goes",
			"  - WorkflowTemplate go-ci (at spec.workflowTemplateRef): gated reads it at submit", "Argo's validation of the workflow with those templates also runs at submit only."}},
		{"the default caps", []string{long}, 0, []string{long + ": accepted"}},
		{"a deployment's caps", []string{"-config", config, long}, 1, []string{"spec.activeDeadlineSeconds: activeDeadlineSeconds must be between 1 and 600 (10m0s)"}},
		{"an untrusted project's podSpecPatch", []string{"-config", config, "-project", "org/app", patch}, 1, []string{"spec.podSpecPatch: podSpecPatch is allowed only in trusted projects"}},
		{"a trusted project's podSpecPatch", []string{"-config", config, "-project", "org/tools", patch}, 0, []string{patch + ": accepted"}},
		{"another namespace than the project's", []string{"-config", config, "-project", "org/tools", write("ns.yaml", strings.Replace(checkBenign, "metadata: {", "metadata: {namespace: builds, ", 1))}, 1,
			[]string{`builds run only in the project's namespace "tools"`}},
		{"not a workflow", []string{write("broken.yaml", "spec: [")}, 1, []string{"broken.yaml: refused: the workflow definition is not valid YAML"}},
		{"an invalid workflow", []string{write("invalid.yaml", strings.Replace(checkBenign, "  entrypoint: main\n", "  entrypoint: nowhere\n", 1))}, 1, []string{"invalid.yaml: refused: Argo rejects the workflow"}},
		{"a missing file", []string{filepath.Join(dir, "nope.yaml")}, 1, []string{"nope.yaml: refused: open"}},
		{"the example workflow", []string{"../../deploy/examples/argo-workflow.yaml"}, 0, []string{"argo-workflow.yaml: accepted"}},
		{"no files", nil, 2, []string{"usage: gated workflow check"}},
		{"an unknown project", []string{"-config", config, "-project", "org/else", benign}, 2, []string{`project "org/else" is not in the configuration`}},
		{"a configuration that is not valid", []string{"-config", benign, benign}, 2, []string{"benign.yaml"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			code := workflowCommand(append([]string{"check"}, tc.args...), &out, &out)
			if code != tc.code {
				t.Errorf("exit %d, want %d; output:\n%s", code, tc.code, out.String())
			}
			rest := out.String()
			for _, want := range tc.out {
				i := strings.Index(rest, want)
				if i < 0 {
					t.Fatalf("output lacks %q (in order):\n%s", want, out.String())
				}
				rest = rest[i+len(want):]
			}
		})
	}
}

func TestWorkflowIsACommand(t *testing.T) {
	if code := run(context.Background(), []string{"workflow"}); code != 2 {
		t.Errorf("gated workflow: exit %d, want 2 (usage)", code)
	}
	if code := run(context.Background(), []string{"workflow", "check", "../../deploy/examples/argo-workflow.yaml"}); code != 0 {
		t.Errorf("gated workflow check on the example: exit %d, want 0", code)
	}
}
