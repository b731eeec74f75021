package daemon

import (
	"fmt"
	"os"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"gated.dev/gated/queue"
)

const minimal = `
gerrit:
  url: https://review.example.com
  password-env: GERRIT_PASSWORD
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
    parallel-merges: true
    clear-passes: 2
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
	if !gate.RetryCleared || gate.Probe != 80 || gate.ProbeGroup != 4 || !gate.ParallelMerges || gate.ClearPasses != 2 {
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
	const noProjects = "gerrit: {url: https://g, password-env: P}\n"
	for _, tc := range []struct{ name, yaml, want string }{
		{"unknown key, with a suggestion", minimal + "gerrit2: x\n", "line 7: unknown key gerrit2 (did you mean gerrit?)"},
		{"unknown nested key, with a suggestion", "gerrit:\n  url: https://g\n  passwrd-file: /p\nprojects: {a: {}}\n", "line 3: unknown key passwrd-file in gerrit (did you mean password-file?)"},
		{"unknown key, nothing near", minimal + "colour: blue\n", "line 7: unknown key colour"},
		{"unknown key in a list entry", minimal + "pipelines:\n  - name: gate\n    windw: 3\n", "line 9: unknown key windw in pipelines.0 (did you mean window?)"},
		{"a number where text is expected", minimal + "executor: {argo: {max-parallelism: lots}}\n", `line 7: executor.argo.max-parallelism: expected a whole number, got "lots"`},
		{"a list where a mapping is expected", minimal + "executor: [argo]\n", "line 7: executor: expected a mapping of keys (kind, sim-duration, argo), got a list"},
		{"bad boolean", minimal + "  org/b: {trusted: maybe}\n", `line 7: projects.org/b.trusted: expected true or false, got "maybe"`},
		{"bad duration", noProjects + "projects: {a: {}}\nhistory: {max-age: soon}\n", `line 3: history.max-age: "soon" is not a duration`},
		{"bad window", minimal + "pipelines:\n  - name: gate\n    window-floor: 0\n", "line 8: pipelines.0: window: floor must be >= 1"},
		{"probe-group without probe", minimal + "pipelines:\n  - name: gate\n    probe-group: 4\n", "line 8: pipelines.0: probe_group: must be >= 0, and at most 1 unless probe is set"},
		{"new pipeline without manager", minimal + "pipelines:\n  - name: deploy\n    trigger: [{event: change-merged}]\n", "line 8: pipelines.0: manager: must be set"},
		{"bad submit type", minimal + "  org/b: {submit-type: SQUASH}\n", `line 7: projects.org/b.submit-type: unknown submit type "SQUASH"`},
		{"bad executor", minimal + "executor: {kind: lambda}\n", `line 7: executor.kind: "lambda" is neither argo nor sim`},
		{"no gerrit url", "projects: {a: {}}\ngerrit: {password-env: P}\n", "gerrit.url: must be set"},
		{"gerrit url not a URL", "projects: {a: {}}\ngerrit: {url: review, password-env: P}\n", `gerrit.url: "review" is not an http(s) URL`},
		{"no password", "projects: {a: {}}\ngerrit: {url: https://g}\n", `line 2: gerrit: user "gated" has no password`},
		{"no projects", noProjects, "projects: no project is configured"},
		{"bad regexp", minimal + "pipelines:\n  - name: gate\n    trigger: [{event: comment-added, comment: \"(\"}]\n", "line 9: pipelines.0.trigger.0.comment: error parsing regexp"},
		{"bad approval", minimal + "pipelines:\n  - name: gate\n    require: {approval: {Code-Review: high}}\n", "require.approval: Code-Review"},
		{"max-parallelism 0", minimal + "executor: {argo: {max-parallelism: 0}}\n", "line 7: executor.argo.max-parallelism: must be at least 1"},
		{"negative max-parallelism", minimal + "executor: {argo: {max-parallelism: -3}}\n", "executor.argo.max-parallelism: must be at least 1"},
		{"short deadline", minimal + "executor: {argo: {max-deadline: 10ms}}\n", "executor.argo.max-deadline: must be at least 1s"},
		{"listen does not parse", minimal + "listen: localhost\n", `line 7: listen: "localhost" is not a host:port address`},
		{"listen port not a number", minimal + "listen: \"127.0.0.1:http-alt\"\n", "listen:"},
		{"negative reconcile interval", "projects: {a: {}}\ngerrit: {url: https://g, password-env: P, reconcile-interval: -5m}\n", "line 2: gerrit.reconcile-interval: must not be negative"},
		{"project name an option", noProjects + "projects: {--upload-pack=touch /tmp/x: {}}\n", "must not start with '-'"},
		{"project name .git", noProjects + "projects: {org/.git: {}}\n", "org/.git"},
		{"project name with ..", noProjects + "projects: {org/../x: {}}\n", "org/../x"},
		{"namespace a path", minimal + "  org/b: {namespace: ../../etc}\n", `projects.org/b.namespace: "../../etc" is not a Kubernetes namespace name`},
		{"default namespace a path", minimal + "executor: {argo: {namespace: ../../etc}}\n", `executor.argo.namespace: "../../etc" is not a Kubernetes namespace name`},
		{"unknown pod security level", minimal + "executor: {argo: {pod-security: privileged}}\n", "executor.argo:"},
		{"a template name that is an expression", minimal + "executor: {argo: {allowed-templates: [\"{{inputs.parameters.t}}\"]}}\n", "executor.argo.allowed-templates: \"{{inputs.parameters.t}}\" is not a template name"},
		{"negative fan-out", minimal + "executor: {argo: {max-fan-out: -1}}\n", "executor.argo:"},
		{"project name the merger refuses", noProjects + "projects: {org/-x: {}}\n", "org/-x"},
		{"workflow file outside the repository", minimal + "  org/b: {workflow-file: ../../secret}\n", "is not a clean path inside the repository"},
		{"queue defined twice", minimal + "queues:\n  - {name: integrated}\n  - {name: integrated}\n", `line 9: queues.1.name: queue "integrated" is defined twice`},
		{"queue without a name", minimal + "queues:\n  - {allow-circular-dependencies: true}\n", "line 8: queues.0: name: must not be empty"},
		{"topics without cycles", minimal + "queues:\n  - {name: q, dependencies-by-topic: true}\n", "line 8: queues.0: dependencies_by_topic: makes the changes of a topic a dependency cycle, so it needs allow_circular_dependencies"},
		{"unknown queue key", minimal + "queues:\n  - {name: q, allow-circular-dependency: true}\n", "unknown key allow-circular-dependency in queues.0 (did you mean allow-circular-dependencies?)"},
		{"workflow of an unknown pipeline", minimal + "  org/b: {workflows: {post: publish.yaml}}\n", `line 7: projects.org/b.workflows.post: there is no pipeline "post" (pipelines: check, gate)`},
		{"workflow outside the repository", minimal + "  org/b: {workflows: {check: /etc/passwd}}\n", "projects.org/b.workflows.check: \"/etc/passwd\" is not a clean path"},
		{"files of an unknown pipeline", minimal + "  org/b: {files: {chek: [a]}}\n", `projects.org/b.files.chek: there is no pipeline "chek"`},
		{"files not a regexp", minimal + "  org/b:\n    irrelevant-files:\n      check: ['docs/', '(']\n", `line 9: projects.org/b.irrelevant-files.check.1: "(" is not a regular expression`},
		{"files on the gate", minimal + "  org/b: {files: {gate: [src/]}}\n", "projects.org/b.files.gate: the gate pipeline is dependent: it always builds"},
		{"branches not a regexp", minimal + "  org/b: {branches: '['}\n", `projects.org/b.branches: "[" is not a regular expression`},
		{"files not a list of text", minimal + "  org/b: {files: {check: {a: b}}}\n", "line 7: projects.org/b.files.check: expected a list, got a mapping"},
		{"bad cron", minimal + "pipelines:\n  - name: nightly\n    manager: independent\n    trigger:\n      - event: timer\n        time: '0 25 * * *'\n", `line 12: pipelines.0.trigger.0.time: cron schedule "0 25 * * *": hour: 25 is out of range (0-23)`},
		{"timer without time", minimal + "pipelines:\n  - name: nightly\n    manager: independent\n    trigger: [{event: timer}]\n", "line 10: pipelines.0.trigger.0.time: a timer needs a cron schedule"},
		{"ref on a change event", minimal + "pipelines:\n  - name: gate\n    trigger: [{event: comment-added, ref: refs/heads/}]\n", "line 9: pipelines.0.trigger.0.ref: only ref-updated events have a ref"},
		{"ref regexp", minimal + "pipelines:\n  - name: post\n    manager: supercedent\n    trigger: [{event: ref-updated, ref: '(' }]\n", `line 10: pipelines.0.trigger.0.ref: "(": error parsing regexp`},
		{"ref-updated into the gate", minimal + "pipelines:\n  - name: gate\n    trigger: [{event: ref-updated}]\n", "pipelines.0.trigger.0.event: ref-updated items are not changes and cannot be gated"},
		{"unknown manager", minimal + "pipelines:\n  - name: post\n    manager: serial\n    trigger: [{event: ref-updated}]\n", `pipelines.0: manager: "serial" is none of "independent", "dependent" and "supercedent"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseConfig([]byte(tc.yaml))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v\nwant it to contain %q", err, tc.want)
			}
		})
	}
}

func TestParseConfigReportsEveryProblemAtOnce(t *testing.T) {
	_, err := ParseConfig([]byte(`
gerrit:
  url: https://review.example.com
  passwrd-file: /etc/gated/password
executor:
  argo: {max-paralelism: 3}
projets: {}
`))
	want := []string{
		"line 4: unknown key passwrd-file in gerrit (did you mean password-file?)",
		"line 6: unknown key max-paralelism in executor.argo (did you mean max-parallelism?)",
		"line 7: unknown key projets (did you mean projects?)",
	}
	if err == nil || err.Error() != strings.Join(want, "\n") {
		t.Fatalf("error:\n%v\nwant:\n%s", err, strings.Join(want, "\n"))
	}
	_, err = ParseConfig([]byte(`
gerrit: {url: https://review.example.com}
gerrit2: {}
executor: {kind: lambda, argo: {max-parallelism: 0, namespace: "a b"}}
projects: {-x: {}}
`))
	if err == nil || strings.Count(err.Error(), "\n") != 0 {
		t.Fatalf("shape problems first, alone: %v", err)
	}
	_, err = ParseConfig([]byte(`
gerrit: {url: https://review.example.com}
executor: {kind: lambda, argo: {max-parallelism: 0, namespace: "a b"}}
projects: {-x: {}}
`))
	for _, w := range []string{"has no password", "neither argo nor sim", "max-parallelism", "namespace", "must not start with '-'"} {
		if err == nil || !strings.Contains(err.Error(), w) {
			t.Errorf("error %v\nwant it to contain %q", err, w)
		}
	}
}

// Queues are Zuul's queue objects: projects join one by name; a name
// without an entry is a plain shared queue.
func TestParseConfigQueues(t *testing.T) {
	cfg, err := ParseConfig([]byte(`
gerrit: {url: https://review.example.com, password-env: P}
queues:
  - name: integrated
    allow-circular-dependencies: true
    dependencies-by-topic: true
  - name: unused
projects:
  org/lib: {queue: integrated}
  org/app: {queue: integrated}
  org/docs: {queue: plain}
`))
	if err != nil {
		t.Fatal(err)
	}
	qc := cfg.QueueConfig()
	want := []queue.QueueConfig{{Name: "integrated", AllowCircularDependencies: true, DependenciesByTopic: true}, {Name: "unused"}}
	if fmt.Sprint(qc.Queues) != fmt.Sprint(want) || qc.Projects["org/docs"].Queue != "plain" {
		t.Fatalf("queues %+v, projects %+v", qc.Queues, qc.Projects)
	}
	if err := qc.Validate(); err != nil {
		t.Fatal(err)
	}
}

// Zuul's post, promote and periodic pipelines, workflows per pipeline,
// file matchers and a timer's branches, as the engine gets them.
func TestParseConfigLifecycle(t *testing.T) {
	cfg, err := ParseConfig([]byte(minimal + `  org/b:
    trusted: true
    workflow-file: ci/flow.yaml
    workflows: {post: ci/publish.yaml, periodic: ""}
    irrelevant-files: {check: ['docs/', '.*\.md$']}
    files: {post: src/}
    branches: ^(master|stable/.*)$
pipelines:
  - name: post
    manager: supercedent
    trigger: [{event: ref-updated, ref: ^refs/heads/.*$}]
  - name: promote
    manager: supercedent
    trigger: [{event: change-merged, branch: [master, ^stable/]}]
  - name: periodic
    manager: independent
    trigger: [{event: timer, time: "0 3 * * *"}]
`))
	if err != nil {
		t.Fatal(err)
	}
	qc := cfg.QueueConfig()
	if err := qc.Validate(); err != nil {
		t.Fatal(err)
	}
	want := queue.ProjectConfig{
		Trusted: true, Workflow: "ci/flow.yaml", Workflows: map[string]string{"post": "ci/publish.yaml", "periodic": ""},
		IrrelevantFiles: map[string][]string{"check": {"docs/", `.*\.md$`}}, Files: map[string][]string{"post": {"src/"}},
		Branches: "^(master|stable/.*)$",
	}
	if got := qc.Projects["org/b"]; !reflect.DeepEqual(got, want) {
		t.Fatalf("org/b:\n got %+v\nwant %+v", got, want)
	}
	if got := qc.Projects["org/a"].Workflow; got != ".pipeline/argo-workflow.yaml" {
		t.Fatalf("org/a runs %q", got)
	}
	byName := map[string]queue.PipelineConfig{}
	for _, p := range qc.Pipelines {
		byName[p.Name] = p
	}
	if p := byName["post"]; p.Manager != queue.Supercedent || !reflect.DeepEqual(p.Triggers[0].Ref, []string{"^refs/heads/.*$"}) {
		t.Fatalf("post %+v", p)
	}
	if p := byName["promote"]; !reflect.DeepEqual(p.Triggers[0].Branch, []string{"master", "^stable/"}) {
		t.Fatalf("promote %+v", p)
	}
	if p := byName["periodic"]; p.Triggers[0].Event != "timer" || p.Triggers[0].Time != "0 3 * * *" {
		t.Fatalf("periodic %+v", p)
	}
}

// TestREADMEConfigurationsLoad: every configuration the README shows is
// one gated accepts.
func TestREADMEConfigurationsLoad(t *testing.T) {
	data, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	blocks := regexp.MustCompile("(?s)```yaml\n(.*?)```").FindAllSubmatch(data, -1)
	if len(blocks) == 0 {
		t.Fatal("no yaml block in the README")
	}
	for i, b := range blocks {
		doc := string(b[1])
		if !strings.Contains(doc, "gerrit:") { // a fragment of a configuration
			doc += "gerrit: {url: https://review.example.com, password-env: P}\n"
		}
		if !strings.Contains(doc, "projects:") {
			doc += "projects: {org/a: {}}\n"
		}
		if _, err := ParseConfig([]byte(doc)); err != nil {
			t.Errorf("README yaml block %d does not load:\n%s\n%v", i+1, b[1], err)
		}
	}
}
