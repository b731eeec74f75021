package daemon

import (
	"strings"
	"testing"
	"time"

	"gated.dev/gated/queue"
)

const minimal = `
gerrit:
  url: https://review.example.com
projects:
  org/a: {}
`

func TestParseConfigDefaults(t *testing.T) {
	cfg, err := ParseConfig([]byte(minimal))
	if err != nil {
		t.Fatal(err)
	}
	qc := cfg.QueueConfig()
	if len(qc.Pipelines) != 2 || qc.Pipelines[0].Name != "check" || qc.Pipelines[1].Name != "gate" {
		t.Fatalf("pipelines %+v", qc.Pipelines)
	}
	if w := qc.Pipelines[1].Window; w != queue.DefaultWindow() {
		t.Fatalf("gate window %+v", w)
	}
	if cfg.Executor.Kind != "argo" || cfg.Gerrit.ReconcileInterval != Duration(5*time.Minute) {
		t.Fatalf("defaults not applied: %+v", cfg)
	}
}

func TestParseConfigOverlaysDefaultPipelines(t *testing.T) {
	cfg, err := ParseConfig([]byte(minimal + `
pipelines:
  - name: gate
    window: 10
    window-floor: 2
    retries: 1
    retry-cleared: true
    probe: 80
    probe-group: 4
    reject:
      approval: {Code-Review: [-1, -2]}
  - name: check
    disabled: true
  - name: post-review
    manager: independent
    trigger:
      - event: comment-added
        comment: "(?i)^run post"
    success: {labels: {Verified: 1}}
`))
	if err != nil {
		t.Fatal(err)
	}
	qc := cfg.QueueConfig()
	names := []string{}
	for _, p := range qc.Pipelines {
		names = append(names, p.Name)
	}
	if strings.Join(names, ",") != "gate,post-review" {
		t.Fatalf("pipelines %v", names)
	}
	gate := qc.Pipelines[0]
	if gate.Window.Size != 10 || gate.Window.Floor != 2 || gate.Retries != 1 || gate.Window.DecreaseType != "exponential" {
		t.Fatalf("gate %+v", gate.Window)
	}
	if !gate.RetryCleared || gate.Probe != 80 || gate.ProbeGroup != 4 {
		t.Fatalf("gate strategy: retry_cleared %v, probe %d, probe_group %d", gate.RetryCleared, gate.Probe, gate.ProbeGroup)
	}
	if len(gate.Reject) != 1 || len(gate.Reject[0].Values) != 2 || len(gate.Require) != 2 || !gate.Success.Submit {
		t.Fatalf("gate filters: reject %+v require %+v", gate.Reject, gate.Require)
	}
	if err := qc.Validate(); err != nil {
		t.Fatal(err)
	}
}

func TestParseConfigErrorsNameTheLine(t *testing.T) {
	for _, tc := range []struct{ name, yaml, want string }{
		{"unknown field", minimal + "colour: blue\n", "line 6: field colour not found"},
		{"bad window", minimal + "pipelines:\n  - name: gate\n    window-floor: 0\n", "line 7: pipelines.0: window: floor must be >= 1"},
		{"probe-group without probe", minimal + "pipelines:\n  - name: gate\n    probe-group: 4\n", "line 7: pipelines.0: probe_group: must be >= 0, and at most 1 unless probe is set"},
		{"new pipeline without manager", minimal + "pipelines:\n  - name: deploy\n    trigger: [{event: change-merged}]\n", "line 7: pipelines.0: manager: must be set"},
		{"bad submit type", minimal + "  org/b: {submit-type: SQUASH}\n", `line 6: projects.org/b.submit-type: unknown submit type "SQUASH"`},
		{"bad executor", minimal + "executor: {kind: lambda}\n", `line 6: executor.kind: "lambda" is neither argo nor sim`},
		{"bad duration", "projects: {a: {}}\ngerrit: {url: x, reconcile-interval: soon}\n", `"soon" is not a duration`},
		{"no gerrit url", "projects: {a: {}}\n", "gerrit.url: must be set"},
		{"no projects", "gerrit: {url: x}\n", "projects: no project is configured"},
		{"bad regexp", minimal + "pipelines:\n  - name: gate\n    trigger: [{event: comment-added, comment: \"(\"}]\n", "line 7: pipelines.0: triggers[0].comment"},
		{"bad approval", minimal + "pipelines:\n  - name: gate\n    require: {approval: {Code-Review: high}}\n", "require.approval: Code-Review"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseConfig([]byte(tc.yaml))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v\nwant it to contain %q", err, tc.want)
			}
		})
	}
}
