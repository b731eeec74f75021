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

func TestPolicyRefusesHostileWorkflows(t *testing.T) {
	cases := []struct {
		name    string
		spec    string
		meta    string // extra metadata lines
		trusted bool
		field   string // the first violation's field; "" means allowed
		rule    string // a part of its rule
	}{
		{name: "benign", spec: benignSpec},
		{name: "privileged container", field: "spec.templates[0].container.securityContext.privileged", rule: "privileged", spec: `  entrypoint: main
  templates:
  - name: main
    container:
      image: alpine
      securityContext: {privileged: true}
`},
		{name: "privileged even when trusted", trusted: true, field: "spec.templates[0].container.securityContext.privileged", rule: "privileged", spec: `  entrypoint: main
  templates:
  - name: main
    container:
      image: alpine
      securityContext: {privileged: true}
`},
		{name: "privileged init container", field: "spec.templates[0].initContainers[0].securityContext.privileged", rule: "privileged", spec: `  entrypoint: main
  templates:
  - name: main
    initContainers:
    - name: setup
      image: alpine
      securityContext: {privileged: true}
    container: {image: alpine}
`},
		{name: "privileged sidecar", field: "spec.templates[0].sidecars[0].securityContext.privileged", rule: "privileged", spec: `  entrypoint: main
  templates:
  - name: main
    sidecars:
    - name: dind
      image: docker:dind
      securityContext: {privileged: true}
    container: {image: alpine}
`},
		{name: "privileged script", field: "spec.templates[0].script.securityContext.privileged", rule: "privileged", spec: `  entrypoint: main
  templates:
  - name: main
    script:
      image: alpine
      source: id
      securityContext: {privileged: true}
`},
		{name: "privileged container set", field: "spec.templates[0].containerSet.containers[0].securityContext.privileged", rule: "privileged", spec: `  entrypoint: main
  templates:
  - name: main
    containerSet:
      containers:
      - name: a
        image: alpine
        securityContext: {privileged: true}
`},
		{name: "privileged inline step template", field: "spec.templates[0].steps[0][0].inline.container.securityContext.privileged", rule: "privileged", spec: `  entrypoint: main
  templates:
  - name: main
    steps:
    - - name: sneaky
        inline:
          container:
            image: alpine
            securityContext: {privileged: true}
`},
		{name: "privileged inline DAG task", field: "spec.templates[0].dag.tasks[0].inline.container.securityContext.privileged", rule: "privileged", spec: `  entrypoint: main
  templates:
  - name: main
    dag:
      tasks:
      - name: sneaky
        inline:
          container:
            image: alpine
            securityContext: {privileged: true}
`},
		{name: "privileged template defaults", field: "spec.templateDefaults.container.securityContext.privileged", rule: "privileged", spec: `  entrypoint: main
  templateDefaults:
    container:
      image: alpine
      securityContext: {privileged: true}
  templates:
  - name: main
    container: {image: alpine}
`},
		{name: "added capability", field: "spec.templates[0].container.securityContext.capabilities.add", rule: "capabilities", spec: `  entrypoint: main
  templates:
  - name: main
    container:
      image: alpine
      securityContext: {capabilities: {add: [SYS_ADMIN]}}
`},
		{name: "unmasked proc", field: "spec.templates[0].container.securityContext.procMount", rule: "/proc", spec: `  entrypoint: main
  templates:
  - name: main
    container:
      image: alpine
      securityContext: {procMount: Unmasked}
`},
		{name: "hostPath volume", field: "spec.volumes[0].hostPath", rule: "hostPath", spec: `  entrypoint: main
  volumes:
  - name: docker
    hostPath: {path: /var/run/docker.sock}
  templates:
  - name: main
    container: {image: alpine}
`},
		{name: "hostPath in a template, trusted", trusted: true, field: "spec.templates[0].volumes[0].hostPath", rule: "hostPath", spec: `  entrypoint: main
  templates:
  - name: main
    volumes:
    - name: root
      hostPath: {path: /}
    container: {image: alpine}
`},
		{name: "hostNetwork", field: "spec.hostNetwork", rule: "host's network", spec: "  hostNetwork: true\n" + benignSpec},
		{name: "podSpecPatch", field: "spec.podSpecPatch", rule: "podSpecPatch", spec: "  podSpecPatch: '{\"hostPID\": true}'\n" + benignSpec},
		{name: "podSpecPatch in a template", field: "spec.templates[0].podSpecPatch", rule: "podSpecPatch", spec: `  entrypoint: main
  templates:
  - name: main
    podSpecPatch: '{"hostIPC": true}'
    container: {image: alpine}
`},
		{name: "podSpecPatch when trusted", trusted: true, spec: "  podSpecPatch: '{\"nodeName\": \"big\"}'\n" + benignSpec},
		{name: "serviceAccountName", field: "spec.serviceAccountName", rule: "service account", spec: "  serviceAccountName: argo-server\n" + benignSpec},
		{name: "serviceAccountName in a template", field: "spec.templates[0].serviceAccountName", rule: "service account", spec: `  entrypoint: main
  templates:
  - name: main
    serviceAccountName: admin
    container: {image: alpine}
`},
		{name: "executor service account", field: "spec.executor.serviceAccountName", rule: "service account", spec: "  executor: {serviceAccountName: admin}\n" + benignSpec},
		{name: "automountServiceAccountToken", field: "spec.automountServiceAccountToken", rule: "service account", spec: "  automountServiceAccountToken: false\n" + benignSpec},
		{name: "serviceAccountName when trusted", trusted: true, spec: "  serviceAccountName: deployer\n" + benignSpec},
		{name: "projected service account token", field: "spec.volumes[0].projected.sources[0].serviceAccountToken", rule: "service account", spec: `  entrypoint: main
  volumes:
  - name: token
    projected:
      sources:
      - serviceAccountToken: {path: token}
  templates:
  - name: main
    container: {image: alpine}
`},
		{name: "another namespace", meta: "  namespace: kube-system\n", field: "metadata.namespace", rule: "project's namespace", spec: benignSpec},
		{name: "its own namespace", meta: "  namespace: builds\n", spec: benignSpec},
		{name: "huge parallelism", field: "spec.parallelism", rule: "parallelism", spec: "  parallelism: 10000\n" + benignSpec},
		{name: "huge template parallelism", field: "spec.templates[0].parallelism", rule: "parallelism", spec: `  entrypoint: main
  templates:
  - name: main
    parallelism: 500
    steps:
    - - {name: a, template: leaf}
  - name: leaf
    container: {image: alpine}
`},
		{name: "deadline over the cap", field: "spec.activeDeadlineSeconds", rule: "activeDeadlineSeconds", spec: "  activeDeadlineSeconds: 864000\n" + benignSpec},
		{name: "zero deadline", field: "spec.activeDeadlineSeconds", rule: "activeDeadlineSeconds", spec: "  activeDeadlineSeconds: 0\n" + benignSpec},
		{name: "secret in env", field: "spec.templates[0].container.env[0].valueFrom.secretKeyRef", rule: "Secrets", spec: `  entrypoint: main
  templates:
  - name: main
    container:
      image: alpine
      env:
      - name: TOKEN
        valueFrom: {secretKeyRef: {name: deploy, key: token}}
`},
		{name: "secret in envFrom", field: "spec.templates[0].container.envFrom[0].secretRef", rule: "Secrets", spec: `  entrypoint: main
  templates:
  - name: main
    container:
      image: alpine
      envFrom:
      - secretRef: {name: deploy}
`},
		{name: "secret volume", field: "spec.volumes[0].secret", rule: "Secrets", spec: `  entrypoint: main
  volumes:
  - name: creds
    secret: {secretName: deploy}
  templates:
  - name: main
    container: {image: alpine}
`},
		{name: "secret volume when trusted", trusted: true, spec: `  entrypoint: main
  volumes:
  - name: creds
    secret: {secretName: deploy}
  templates:
  - name: main
    container: {image: alpine}
`},
		{name: "secret in an artifact location", field: "spec.templates[0].outputs.artifacts[0].s3.accessKeySecret", rule: "Secrets", spec: `  entrypoint: main
  templates:
  - name: main
    container: {image: alpine}
    outputs:
      artifacts:
      - name: out
        path: /out
        s3:
          bucket: elsewhere
          endpoint: s3.example.com
          key: out.tgz
          accessKeySecret: {name: other, key: a}
`},
		{name: "nfs volume", field: "spec.volumes[0].nfs", rule: "not nfs", spec: `  entrypoint: main
  volumes:
  - name: share
    nfs: {server: nfs.example.com, path: /}
  templates:
  - name: main
    container: {image: alpine}
`},
		{name: "allowed volumes", spec: `  entrypoint: main
  volumes:
  - {name: scratch, emptyDir: {}}
  - {name: conf, configMap: {name: build-config}}
  - {name: cache, persistentVolumeClaim: {claimName: gocache}}
  templates:
  - name: main
    container: {image: alpine}
`},
		{name: "resource template", field: "spec.templates[0].resource", rule: "resource templates", spec: `  entrypoint: main
  templates:
  - name: main
    resource:
      action: create
      manifest: |
        apiVersion: v1
        kind: Pod
        metadata: {name: escape, namespace: kube-system}
        spec: {hostNetwork: true, containers: [{name: x, image: alpine}]}
`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			data := []byte(strings.Replace(string(workflowYAML(tc.spec)), "metadata:\n", "metadata:\n"+tc.meta, 1))
			wf, err := parseDefinition(data)
			if err != nil {
				t.Fatalf("parse: %v", err)
			}
			err = testPolicy.enforce(wf, "builds", tc.trusted)
			if tc.field == "" {
				if err != nil {
					t.Fatalf("allowed workflow refused: %v", err)
				}
				return
			}
			var def *DefinitionError
			if !errors.As(err, &def) || def.Kind != KindPolicy {
				t.Fatalf("got %v, want a policy DefinitionError at %s", err, tc.field)
			}
			if def.Field != tc.field || !strings.Contains(def.Rule, tc.rule) {
				t.Errorf("violation at %s (%s); want %s (%s)", def.Field, def.Rule, tc.field, tc.rule)
			}
		})
	}
}

func TestPolicyReportsEveryViolation(t *testing.T) {
	wf, err := parseDefinition(workflowYAML(`  serviceAccountName: admin
  hostNetwork: true
  entrypoint: main
  templates:
  - name: main
    container:
      image: alpine
      securityContext: {privileged: true}
`))
	if err != nil {
		t.Fatal(err)
	}
	err = testPolicy.enforce(wf, "builds", false)
	var def *DefinitionError
	if !errors.As(err, &def) || len(def.Violations) != 3 {
		t.Fatalf("got %v, want 3 violations", err)
	}
	for _, want := range []string{"spec.serviceAccountName", "spec.hostNetwork", "spec.templates[0].container.securityContext.privileged", "3 rules"} {
		if !strings.Contains(def.Error(), want) {
			t.Errorf("report %q does not mention %s", def.Error(), want)
		}
	}
}

func TestPolicyDefaultsDeadlineAndParallelism(t *testing.T) {
	wf, err := parseDefinition(workflowYAML(benignSpec))
	if err != nil {
		t.Fatal(err)
	}
	if err := testPolicy.enforce(wf, "builds", false); err != nil {
		t.Fatal(err)
	}
	if d := wf.Spec.ActiveDeadlineSeconds; d == nil || *d != 7200 {
		t.Errorf("activeDeadlineSeconds = %v, want the cap 7200", d)
	}
	if p := wf.Spec.Parallelism; p == nil || *p != 10 {
		t.Errorf("parallelism = %v, want the cap 10", p)
	}
	wf, err = parseDefinition(workflowYAML("  activeDeadlineSeconds: 600\n  parallelism: 2\n" + benignSpec))
	if err != nil {
		t.Fatal(err)
	}
	if err := testPolicy.enforce(wf, "builds", false); err != nil {
		t.Fatal(err)
	}
	if *wf.Spec.ActiveDeadlineSeconds != 600 || *wf.Spec.Parallelism != 2 {
		t.Errorf("the workflow's own limits were changed: %d, %d", *wf.Spec.ActiveDeadlineSeconds, *wf.Spec.Parallelism)
	}
}

// BenchmarkPolicy measures what Start does before its API call: parsing,
// the policy, and then the contract and Argo's validator (render).
func BenchmarkPolicy(b *testing.B) {
	data := workflowYAML(benignSpec)
	b.Run("parse", func(b *testing.B) {
		for b.Loop() {
			if _, err := parseDefinition(data); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("parse+enforce", func(b *testing.B) {
		for b.Loop() {
			wf, err := parseDefinition(data)
			if err != nil {
				b.Fatal(err)
			}
			if err := testPolicy.enforce(wf, "builds", false); err != nil {
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
