package scheduler

import (
	"context"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"
)

var update = flag.Bool("update", false, "rewrite the golden files of the workflows the hostile table accepts")

// hostileCase is a workflow file an attacker (or a careless author) might
// push, and what gated must do with it.
type hostileCase struct {
	name    string
	spec    string // the workflow's spec, indented by two spaces
	meta    string // extra metadata lines
	trusted bool
	policy  func(*Policy)
	// templates are in the cluster (WorkflowTemplates in namespace builds,
	// ClusterWorkflowTemplates); forbidden are paths gated may not read.
	templates []string
	forbidden []string
	// field and rule are a violation the refusal must report; an empty
	// field means the workflow is accepted, and the exact workflow that
	// reaches the API server is testdata/accepted/<name>.yaml.
	field, rule string
	kind        string // of the refusal; default KindPolicy
	// reads is how many templates gated reads before its verdict (only
	// templates a workflow may refer to are read; nothing else is asked).
	reads int
}

const privilegedMain = `  entrypoint: main
  templates:
  - name: main
    container:
      image: alpine
      securityContext: {privileged: true}
`

// withMain is a spec with one container template "main" given the fields
// (indented by six spaces) and the spec-level lines (two spaces) before.
func withMain(specLines, containerLines string) string {
	return specLines + "  entrypoint: main\n  templates:\n  - name: main\n    container:\n      image: alpine\n" + containerLines
}

// calling is a spec whose main template runs one step given by its lines
// (indented by eight spaces, after "- - name: a").
func calling(step string, more string) string {
	return "  entrypoint: main\n  templates:\n  - name: main\n    steps:\n    - - name: a\n" + step + more
}

const leaf = "  - name: leaf\n    container: {image: alpine}\n"

// template is a WorkflowTemplate (namespace builds) or, if cluster, a
// ClusterWorkflowTemplate, with the given spec.
func template(name string, cluster bool, spec string) string {
	if cluster {
		return "apiVersion: argoproj.io/v1alpha1\nkind: ClusterWorkflowTemplate\nmetadata: {name: " + name + "}\nspec:\n" + spec
	}
	return "apiVersion: argoproj.io/v1alpha1\nkind: WorkflowTemplate\nmetadata: {name: " + name + ", namespace: builds}\nspec:\n" + spec
}

const goCI = `  entrypoint: test
  templates:
  - name: test
    container: {image: golang:1.26, command: [go, test, ./...]}
`

const secretVolume = `  entrypoint: main
  volumes:
  - name: creds
    secret: {secretName: deploy}
  templates:
  - name: main
    container: {image: alpine}
`

func allow(names ...string) func(*Policy) {
	return func(p *Policy) { p.AllowedTemplates = names }
}

func allowCluster(names ...string) func(*Policy) {
	return func(p *Policy) { p.AllowedClusterTemplates = names }
}

var hostileCases = []hostileCase{
	// Accepted.
	{name: "benign", spec: benignSpec},
	{name: "its own namespace", meta: "  namespace: builds\n", spec: benignSpec},
	{name: "allowed volumes", spec: `  entrypoint: main
  volumes:
  - {name: scratch, emptyDir: {}}
  - {name: conf, configMap: {name: build-config}}
  - {name: cache, persistentVolumeClaim: {claimName: gocache}}
  templates:
  - name: main
    container: {image: alpine}
`},
	{name: "podSpecPatch when trusted", trusted: true, spec: "  podSpecPatch: '{\"nodeName\": \"big\"}'\n" + benignSpec},
	{name: "serviceAccountName when trusted", trusted: true, spec: "  serviceAccountName: deployer\n" + benignSpec},
	{name: "secret volume when trusted", trusted: true, spec: secretVolume},
	{name: "imagePullSecrets when trusted", trusted: true, spec: "  imagePullSecrets: [{name: registry}]\n" + benignSpec},
	{name: "hardened pod", spec: withMain("  securityContext: {runAsNonRoot: true, runAsUser: 1000, seccompProfile: {type: RuntimeDefault}, sysctls: [{name: net.ipv4.ip_local_port_range, value: '1024 65535'}]}\n",
		"      securityContext: {allowPrivilegeEscalation: false, capabilities: {drop: [ALL], add: [NET_BIND_SERVICE]}}\n      ports: [{containerPort: 8080}]\n")},
	{name: "user labels and annotations", meta: "  labels: {team: api}\n  annotations: {gated.dev/simulate: fail, example.com/owner: api}\n", spec: "  podMetadata:\n    labels: {app: ci, app.kubernetes.io/name: api}\n    annotations: {devcluster.gated.dev/duration: 2s}\n" + benignSpec},
	{name: "artifacts under the build's prefix", spec: `  entrypoint: main
  templates:
  - name: main
    inputs:
      artifacts:
      - name: source
        path: /src
        git: {repo: "{{workflow.parameters.gated-git-url}}", revision: "{{workflow.parameters.gated-revision}}"}
      - {name: script, path: /run.sh, raw: {data: "go test ./..."}}
    container: {image: alpine}
    outputs:
      artifacts:
      - {name: report, path: /report.txt}
      - name: coverage
        path: /cover.out
        s3: {key: "{{workflow.namespace}}/{{workflow.name}}/{{pod.name}}/cover.out"}
`},
	{name: "bounded fan-out", spec: calling("        template: leaf\n        withSequence: {count: \"200\"}\n", "    - - {name: b, template: leaf, withItems: [1, 2, 3]}\n"+leaf)},
	{name: "withParam when trusted", trusted: true, spec: calling("        template: leaf\n        withParam: '[1, 2]'\n", leaf)},
	{name: "podDisruptionBudget without a selector", spec: "  podDisruptionBudget: {minAvailable: 1}\n" + benignSpec},
	{name: "node selection by architecture", spec: "  nodeSelector: {kubernetes.io/arch: arm64}\n  tolerations: [{key: dedicated, value: builds, effect: NoSchedule}]\n" + benignSpec},
	{name: "allowed WorkflowTemplate by templateRef", policy: allow("go-ci"), reads: 1, templates: []string{template("go-ci", false, goCI)},
		spec: calling("        templateRef: {name: go-ci, template: test}\n", "")},
	{name: "allowed ClusterWorkflowTemplate by workflowTemplateRef", policy: allowCluster("go-ci"), reads: 1, templates: []string{template("go-ci", true, goCI)},
		spec: "  workflowTemplateRef: {name: go-ci, clusterScope: true}\n"},
	{name: "any WorkflowTemplate when trusted", trusted: true, reads: 1, templates: []string{template("go-ci", false, goCI)},
		spec: "  workflowTemplateRef: {name: go-ci}\n"},

	// Privileged and host access (Pod Security baseline), wherever a
	// container can hide.
	{name: "privileged container", field: "spec.templates[0]", rule: "privileged", spec: privilegedMain},
	{name: "privileged even when trusted", trusted: true, field: "spec.templates[0]", rule: "privileged", spec: privilegedMain},
	{name: "privileged init container", field: "spec.templates[0]", rule: `privileged (container "setup"`, spec: `  entrypoint: main
  templates:
  - name: main
    initContainers:
    - name: setup
      image: alpine
      securityContext: {privileged: true}
    container: {image: alpine}
`},
	{name: "privileged sidecar", field: "spec.templates[0]", rule: `privileged (container "dind"`, spec: `  entrypoint: main
  templates:
  - name: main
    sidecars:
    - name: dind
      image: docker:dind
      securityContext: {privileged: true}
    container: {image: alpine}
`},
	{name: "privileged script", field: "spec.templates[0]", rule: "privileged", spec: `  entrypoint: main
  templates:
  - name: main
    script:
      image: alpine
      source: id
      securityContext: {privileged: true}
`},
	{name: "privileged container set", field: "spec.templates[0]", rule: `privileged (container "a"`, spec: `  entrypoint: main
  templates:
  - name: main
    containerSet:
      containers:
      - name: a
        image: alpine
        securityContext: {privileged: true}
`},
	{name: "privileged inline step template", field: "spec.templates[0].steps[0][0].inline", rule: "privileged", spec: `  entrypoint: main
  templates:
  - name: main
    steps:
    - - name: sneaky
        inline:
          container:
            image: alpine
            securityContext: {privileged: true}
`},
	{name: "privileged inline DAG task", field: "spec.templates[0].dag.tasks[0].inline", rule: "privileged", spec: `  entrypoint: main
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
	{name: "privileged template defaults", field: "spec.templates[0]", rule: "privileged", spec: `  entrypoint: main
  templateDefaults:
    container:
      image: alpine
      securityContext: {privileged: true}
  templates:
  - name: main
    container: {image: alpine}
`},
	{name: "privileged exit handler", field: "spec.templates[1]", rule: "privileged", spec: `  entrypoint: main
  onExit: cleanup
  templates:
  - name: main
    container: {image: alpine}
  - name: cleanup
    container:
      image: alpine
      securityContext: {privileged: true}
`},
	{name: "privileged hook template", field: "spec.templates[1]", rule: "privileged", spec: `  entrypoint: main
  hooks:
    running: {template: spy, expression: workflow.status == "Running"}
  templates:
  - name: main
    container: {image: alpine}
  - name: spy
    container:
      image: alpine
      securityContext: {privileged: true}
`},
	{name: "added capability", field: "spec.templates[0]", rule: "capabilities", spec: withMain("", "      securityContext: {capabilities: {add: [SYS_ADMIN]}}\n")},
	{name: "NET_RAW capability", field: "spec.templates[0]", rule: "NET_RAW", spec: withMain("", "      securityContext: {capabilities: {add: [NET_RAW]}}\n")},
	{name: "capability from a parameter", field: "spec.templates[0]", rule: "capabilities", spec: `  entrypoint: main
  templates:
  - name: main
    inputs: {parameters: [{name: cap, value: SYS_ADMIN}]}
    container:
      image: alpine
      securityContext: {capabilities: {add: ["{{inputs.parameters.cap}}"]}}
`},
	{name: "unmasked proc", field: "spec.templates[0]", rule: "procMount", spec: withMain("", "      securityContext: {procMount: Unmasked}\n")},
	{name: "unconfined seccomp", field: "spec.templates[0]", rule: "seccompProfile", spec: withMain("", "      securityContext: {seccompProfile: {type: Unconfined}}\n")},
	{name: "unconfined seccomp for the pod", field: "spec", rule: "seccompProfile", spec: "  securityContext: {seccompProfile: {type: Unconfined}}\n" + benignSpec},
	{name: "unconfined AppArmor", field: "spec.templates[0]", rule: "AppArmor", spec: withMain("", "      securityContext: {appArmorProfile: {type: Unconfined}}\n")},
	{name: "unconfined AppArmor for a template's pod", field: "spec.templates[0]", rule: "AppArmor", spec: `  entrypoint: main
  templates:
  - name: main
    securityContext: {appArmorProfile: {type: Unconfined}}
    container: {image: alpine}
`},
	{name: "SELinux type", field: "spec.templates[0]", rule: "seLinuxOptions", spec: withMain("", "      securityContext: {seLinuxOptions: {type: spc_t}}\n")},
	{name: "host port", field: "spec.templates[0]", rule: "hostPort", spec: withMain("", "      ports: [{containerPort: 80, hostPort: 80}]\n")},
	{name: "Windows host process", field: "spec.templates[0]", rule: "hostProcess", spec: withMain("", "      securityContext: {windowsOptions: {hostProcess: true}}\n")},
	{name: "unsafe sysctl", field: "spec", rule: "kernel.msgmax", spec: "  securityContext: {sysctls: [{name: kernel.msgmax, value: '65536'}]}\n" + benignSpec},
	{name: "hostPath volume", field: "spec", rule: "hostPath", spec: `  entrypoint: main
  volumes:
  - name: docker
    hostPath: {path: /var/run/docker.sock}
  templates:
  - name: main
    container: {image: alpine}
`},
	{name: "hostPath in a template, trusted", trusted: true, field: "spec.templates[0]", rule: "hostPath", spec: `  entrypoint: main
  templates:
  - name: main
    volumes:
    - name: root
      hostPath: {path: /}
    container: {image: alpine}
`},
	{name: "hostNetwork", field: "spec", rule: "hostNetwork", spec: "  hostNetwork: true\n" + benignSpec},
	{name: "probe of another host", field: "spec.templates[0]", rule: "another host", spec: withMain("", "      livenessProbe: {httpGet: {host: 169.254.169.254, path: /latest/meta-data/, port: 80}}\n")},
	{name: "lifecycle hook on another host", field: "spec.templates[0]", rule: "another host", spec: withMain("", "      lifecycle: {preStop: {tcpSocket: {host: kubernetes.default, port: 443}}}\n")},
	{name: "restricted level needs non-root", policy: func(p *Policy) { p.PodSecurity = "restricted" }, field: "spec.templates[0]", rule: "runAsNonRoot", spec: benignSpec},

	// Scheduling onto the control plane.
	{name: "system priority class, trusted", trusted: true, field: "spec.templates[0]", rule: "system-node-critical", spec: withMain("  podPriorityClassName: system-node-critical\n", "")},
	{name: "priority class, untrusted", field: "spec.podPriorityClassName", rule: "podPriorityClassName", spec: withMain("  podPriorityClassName: high\n", "")},
	{name: "template priority class", field: "spec.templates[0].priorityClassName", rule: "priorityClassName", spec: `  entrypoint: main
  templates:
  - name: main
    priorityClassName: system-cluster-critical
    container: {image: alpine}
`},
	{name: "own scheduler", field: "spec.schedulerName", rule: "schedulerName", spec: "  schedulerName: my-scheduler\n" + benignSpec},
	{name: "control-plane toleration", field: "spec", rule: "node-role.kubernetes.io/control-plane", spec: "  tolerations: [{key: node-role.kubernetes.io/control-plane, operator: Exists, effect: NoSchedule}]\n" + benignSpec},
	{name: "toleration of every taint", field: "spec.templates[0]", rule: "every taint", spec: `  entrypoint: main
  templates:
  - name: main
    tolerations: [{operator: Exists}]
    container: {image: alpine}
`},
	{name: "toleration from a parameter", field: "spec", rule: "computed", spec: "  tolerations: [{key: \"{{workflow.parameters.gated-project}}\", operator: Exists}]\n" + benignSpec},
	{name: "control-plane node selector", field: "spec", rule: "nodeSelector", spec: "  nodeSelector: {node-role.kubernetes.io/control-plane: \"\"}\n" + benignSpec},
	{name: "node affinity by host name", field: "spec", rule: "kubernetes.io/hostname", spec: `  affinity:
    nodeAffinity:
      requiredDuringSchedulingIgnoredDuringExecution:
        nodeSelectorTerms:
        - matchExpressions: [{key: kubernetes.io/hostname, operator: In, values: [master-0]}]
` + benignSpec},

	// podSpecPatch.
	{name: "podSpecPatch", field: "spec.podSpecPatch", rule: "podSpecPatch", spec: "  podSpecPatch: '{\"hostPID\": true}'\n" + benignSpec},
	{name: "podSpecPatch in a template", field: "spec.templates[0].podSpecPatch", rule: "podSpecPatch", spec: `  entrypoint: main
  templates:
  - name: main
    podSpecPatch: '{"hostIPC": true}'
    container: {image: alpine}
`},
	{name: "podSpecPatch in template defaults", field: "spec.templateDefaults.podSpecPatch", rule: "podSpecPatch", spec: "  templateDefaults: {podSpecPatch: '{\"hostPID\": true}'}\n" + benignSpec},
	{name: "trusted podSpecPatch with host PID", trusted: true, field: "spec", rule: "hostPID", spec: "  podSpecPatch: '{\"hostPID\": true}'\n" + benignSpec},
	{name: "trusted podSpecPatch making Argo's wait container privileged", trusted: true, field: "spec.templates[0]", rule: `privileged (container "wait"`, spec: `  entrypoint: main
  templates:
  - name: main
    podSpecPatch: '{"containers": [{"name": "wait", "securityContext": {"privileged": true}}]}'
    container: {image: alpine}
`},
	{name: "trusted podSpecPatch from a parameter", trusted: true, field: "spec.podSpecPatch", rule: "computed at run time", spec: "  arguments: {parameters: [{name: patch, value: '{}'}]}\n  podSpecPatch: '{{workflow.parameters.patch}}'\n" + benignSpec},
	{name: "trusted podSpecPatch that is not a pod spec", trusted: true, field: "spec.podSpecPatch", rule: "not a valid pod spec patch", spec: "  podSpecPatch: '{\"containers\": \"all\"}'\n" + benignSpec},
	{name: "trusted artifact GC podSpecPatch", trusted: true, field: "spec.artifactGC.podSpecPatch", rule: "artifact GC", spec: "  artifactGC: {strategy: OnWorkflowDeletion, podSpecPatch: '{\"hostPID\": true}'}\n" + benignSpec},

	// Service accounts, Secrets, namespaces.
	{name: "serviceAccountName", field: "spec.serviceAccountName", rule: "service account", spec: "  serviceAccountName: argo-server\n" + benignSpec},
	{name: "serviceAccountName in a template", field: "spec.templates[0].serviceAccountName", rule: "service account", spec: `  entrypoint: main
  templates:
  - name: main
    serviceAccountName: admin
    container: {image: alpine}
`},
	{name: "executor service account", field: "spec.executor.serviceAccountName", rule: "service account", spec: "  executor: {serviceAccountName: admin}\n" + benignSpec},
	{name: "artifact GC service account", field: "spec.artifactGC.serviceAccountName", rule: "service account", spec: "  artifactGC: {strategy: OnWorkflowDeletion, serviceAccountName: admin}\n" + benignSpec},
	{name: "automountServiceAccountToken", field: "spec.automountServiceAccountToken", rule: "service account", spec: "  automountServiceAccountToken: false\n" + benignSpec},
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
	{name: "secret in env", field: "spec.templates[0].container.env[0].valueFrom.secretKeyRef", rule: "Secrets", spec: withMain("", "      env:\n      - name: TOKEN\n        valueFrom: {secretKeyRef: {name: deploy, key: token}}\n")},
	{name: "secret in envFrom", field: "spec.templates[0].container.envFrom[0].secretRef", rule: "Secrets", spec: withMain("", "      envFrom:\n      - secretRef: {name: deploy}\n")},
	{name: "secret volume", field: "spec.volumes[0].secret", rule: "Secrets", spec: secretVolume},
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
	{name: "imagePullSecrets", field: "spec.imagePullSecrets", rule: "image pull Secrets", spec: "  imagePullSecrets: [{name: registry}]\n" + benignSpec},
	{name: "nfs volume", field: "spec.volumes[0].nfs", rule: "not nfs", spec: `  entrypoint: main
  volumes:
  - name: share
    nfs: {server: nfs.example.com, path: /}
  templates:
  - name: main
    container: {image: alpine}
`},
	{name: "volume claim cloned from another", field: "spec.volumeClaimTemplates[0].spec.dataSource", rule: "another volume", spec: `  entrypoint: main
  volumeClaimTemplates:
  - metadata: {name: work}
    spec:
      accessModes: [ReadWriteOnce]
      resources: {requests: {storage: 1Gi}}
      dataSource: {kind: PersistentVolumeClaim, name: release-signing-cache}
  templates:
  - name: main
    container: {image: alpine}
`},

	// Templates that run outside the build's pods, or share state.
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
	{name: "http template", field: "spec.templates[0].http", rule: "http templates", spec: `  entrypoint: main
  templates:
  - name: main
    http: {url: "http://kubernetes.default.svc/api"}
`},
	{name: "mutex", field: "spec.synchronization", rule: "synchronization", spec: "  synchronization: {mutex: {name: release}}\n" + benignSpec},
	{name: "memoization", field: "spec.templates[0].memoize", rule: "memoization", spec: `  entrypoint: main
  templates:
  - name: main
    memoize: {key: x, cache: {configMap: {name: artifact-repositories}}}
    container: {image: alpine}
`},
	{name: "custom metrics", field: "spec.metrics", rule: "Prometheus", spec: "  metrics: {prometheus: [{name: builds, help: builds, counter: {value: \"1\"}}]}\n" + benignSpec},

	// Template references (finding 2).
	{name: "workflowTemplateRef not allowed", field: "spec.workflowTemplateRef", rule: "WorkflowTemplate admin-deploy is not one", spec: "  workflowTemplateRef: {name: admin-deploy}\n"},
	{name: "templateRef not allowed", field: "spec.templates[0].steps[0][0].templateRef", rule: "not one", spec: calling("        templateRef: {name: admin-deploy, template: deploy}\n", "")},
	{name: "ClusterWorkflowTemplate not allowed", policy: allow("go-ci"), field: "spec.templates[0].steps[0][0].templateRef", rule: "ClusterWorkflowTemplate go-ci is not one",
		spec: calling("        templateRef: {name: go-ci, template: test, clusterScope: true}\n", "")},
	{name: "templateRef computed from an item", trusted: true, field: "spec.templates[0].steps[0][0].templateRef", rule: "computed at run time",
		spec: calling("        templateRef: {name: \"{{item}}\", template: deploy}\n        withItems: [admin-deploy]\n", "")},
	{name: "templateRef's template from a parameter", trusted: true, field: "spec.templates[0].steps[0][0].templateRef", rule: "computed at run time",
		spec: "  arguments: {parameters: [{name: t, value: test}]}\n" + calling("        templateRef: {name: go-ci, template: \"{{workflow.parameters.t}}\"}\n", "")},
	{name: "templateRef in a workflow hook", field: "spec.hooks[\"exit\"].templateRef", rule: "not one", spec: "  hooks:\n    exit: {templateRef: {name: admin-deploy, template: deploy}}\n" + benignSpec},
	{name: "templateRef in a step hook", field: "spec.templates[0].steps[0][0].hooks[\"running\"].templateRef", rule: "not one",
		spec: calling("        template: leaf\n        hooks:\n          running: {expression: 'true', templateRef: {name: admin-deploy, template: deploy}}\n", leaf)},
	{name: "templateRef in an inline template", field: "spec.templates[0].steps[0][0].inline.steps[0][0].templateRef", rule: "not one",
		spec: calling("        inline:\n          steps:\n          - - name: b\n              templateRef: {name: admin-deploy, template: deploy}\n", "")},
	{name: "allowed template that is privileged", policy: allow("go-ci"), reads: 1, field: "WorkflowTemplate go-ci: spec.templates[0]", rule: "privileged",
		templates: []string{template("go-ci", false, "  templates:\n  - name: test\n    container:\n      image: alpine\n      securityContext: {privileged: true}\n")},
		spec:      calling("        templateRef: {name: go-ci, template: test}\n", "")},
	{name: "allowed template with a service account", policy: allowCluster("deploy"), reads: 1, field: "ClusterWorkflowTemplate deploy: spec.serviceAccountName", rule: "service account",
		templates: []string{template("deploy", true, "  serviceAccountName: cluster-admin\n"+goCI)},
		spec:      "  workflowTemplateRef: {name: deploy, clusterScope: true}\n"},
	{name: "allowed template referring to one that is not", policy: allow("go-ci"), reads: 1, field: "WorkflowTemplate go-ci: spec.templates[0].steps[0][0].templateRef", rule: "admin-deploy is not one",
		templates: []string{template("go-ci", false, calling("        templateRef: {name: admin-deploy, template: deploy}\n", ""))},
		spec:      calling("        templateRef: {name: go-ci, template: main}\n", "")},
	{name: "trusted template with a hostPath", trusted: true, reads: 1, field: "WorkflowTemplate node-debug: spec.templates[0]", rule: "hostPath",
		templates: []string{template("node-debug", false, "  entrypoint: main\n  templates:\n  - name: main\n    volumes: [{name: root, hostPath: {path: /}}]\n    container: {image: alpine}\n")},
		spec:      "  workflowTemplateRef: {name: node-debug}\n"},
	{name: "template defaults reaching a referenced template", policy: allow("go-ci"), reads: 1, field: "WorkflowTemplate go-ci: spec.templates[0]", rule: "privileged",
		templates: []string{template("go-ci", false, goCI)},
		spec:      "  templateDefaults: {container: {image: alpine, securityContext: {privileged: true}}}\n  workflowTemplateRef: {name: go-ci}\n"},
	{name: "unreadable ClusterWorkflowTemplate", trusted: true, reads: 1, field: "spec.workflowTemplateRef", rule: "gated may not read",
		forbidden: []string{"clusterworkflowtemplates/secret-ops"}, spec: "  workflowTemplateRef: {name: secret-ops, clusterScope: true}\n"},
	{name: "missing template", policy: allow("go-ci"), reads: 1, kind: KindValidation, field: "-", rule: "does not exist",
		spec: "  workflowTemplateRef: {name: go-ci}\n"},

	// Artifacts (finding 4).
	{name: "key-only artifact over another build's", field: "spec.templates[0].outputs.artifacts[0].s3", rule: "builds/gated-gate-1-1/report.tgz",
		spec: withMain("", "    outputs:\n      artifacts:\n      - {name: report, path: /r, s3: {key: builds/gated-gate-1-1/report.tgz}}\n")},
	{name: "key-only artifact reading another build's", field: "spec.templates[0].inputs.artifacts[0].s3", rule: "other/secret.tgz",
		spec: "  entrypoint: main\n  templates:\n  - name: main\n    inputs:\n      artifacts:\n      - {name: loot, path: /loot, s3: {key: other/secret.tgz}}\n    container: {image: alpine}\n"},
	{name: "key-only artifact climbing out of the prefix", field: "spec.templates[0].outputs.artifacts[0].s3", rule: "..",
		spec: withMain("", "    outputs:\n      artifacts:\n      - {name: r, path: /r, s3: {key: \"{{workflow.namespace}}/{{workflow.name}}/../gated-gate-1-1/report.tgz\"}}\n")},
	{name: "key-only artifact from a parameter", field: "spec.templates[0].outputs.artifacts[0].s3", rule: "inputs.parameters.k",
		spec: "  entrypoint: main\n  templates:\n  - name: main\n    inputs: {parameters: [{name: k, value: x}]}\n    container: {image: alpine}\n    outputs:\n      artifacts:\n      - {name: r, path: /r, s3: {key: \"{{workflow.namespace}}/{{workflow.name}}/{{inputs.parameters.k}}\"}}\n"},
	{name: "key-only artifact when trusted", trusted: true, field: "spec.templates[0].outputs.artifacts[0].s3", rule: "release/latest.tgz",
		spec: withMain("", "    outputs:\n      artifacts:\n      - {name: r, path: /r, s3: {key: release/latest.tgz}}\n")},
	{name: "key-only GCS artifact lands in the repository", trusted: true, field: "spec.templates[0].outputs.artifacts[0].gcs", rule: "other/report.tgz",
		spec: withMain("", "    outputs:\n      artifacts:\n      - {name: r, path: /r, gcs: {key: other/report.tgz}}\n")},
	{name: "S3 artifact with its own bucket", field: "spec.templates[0].outputs.artifacts[0].s3.bucket", rule: "only a key",
		spec: withMain("", "    outputs:\n      artifacts:\n      - {name: r, path: /r, s3: {bucket: gated-artifacts, key: \"{{workflow.namespace}}/{{workflow.name}}/r\"}}\n")},
	{name: "S3 artifact with ambient credentials", field: "spec.templates[0].outputs.artifacts[0].s3.useSDKCreds", rule: "only a key",
		spec: withMain("", "    outputs:\n      artifacts:\n      - {name: r, path: /r, s3: {endpoint: s3.amazonaws.com, bucket: corp, useSDKCreds: true, key: x}}\n")},
	{name: "GCS artifact", field: "spec.templates[0].outputs.artifacts[0].gcs", rule: "not gcs",
		spec: withMain("", "    outputs:\n      artifacts:\n      - {name: r, path: /r, gcs: {bucket: corp, key: x}}\n")},
	{name: "artifact repository of its own choice", field: "spec.artifactRepositoryRef", rule: "artifact repository", spec: "  artifactRepositoryRef: {configMap: artifact-repositories, key: release}\n" + benignSpec},
	{name: "archive location", field: "spec.templates[0].archiveLocation", rule: "archived", spec: `  entrypoint: main
  templates:
  - name: main
    archiveLocation: {s3: {key: "{{workflow.namespace}}/{{workflow.name}}/logs"}}
    container: {image: alpine}
`},
	{name: "data template reading another build's artifacts", field: "spec.templates[0].data.source.artifactPaths.s3", rule: "other/", spec: `  entrypoint: main
  templates:
  - name: main
    data:
      source: {artifactPaths: {name: loot, s3: {key: other/}}}
      transformation: [{expression: "filter(data, {# endsWith '.tgz'})"}]
`},

	// Metadata (finding 6).
	{name: "another controller's instance id", meta: "  labels: {workflows.argoproj.io/controller-instanceid: other}\n", field: `metadata.labels["workflows.argoproj.io/controller-instanceid"]`, rule: "reserved", spec: benignSpec},
	{name: "finalizers", meta: "  finalizers: [example.com/never]\n", field: "metadata.finalizers", rule: "finalizers", spec: benignSpec},
	{name: "owner references", meta: "  ownerReferences: [{apiVersion: v1, kind: ConfigMap, name: x, uid: 1234}]\n", field: "metadata.ownerReferences", rule: "ownerReferences", spec: benignSpec},
	{name: "gated's own labels at run time", field: `spec.workflowMetadata.labels["gated.dev/item"]`, rule: "reserved", spec: "  workflowMetadata: {labels: {gated.dev/item: \"1\"}}\n" + benignSpec},
	{name: "computed label key", field: `spec.workflowMetadata.labelsFrom["{{workflow.parameters.gated-project}}"]`, rule: "literal",
		spec: "  workflowMetadata: {labelsFrom: {\"{{workflow.parameters.gated-project}}\": {expression: 'workflow.name'}}}\n" + benignSpec},
	{name: "pods detached from their workflow", field: `spec.podMetadata.labels["workflows.argoproj.io/workflow"]`, rule: "reserved", spec: "  podMetadata: {labels: {workflows.argoproj.io/workflow: other}}\n" + benignSpec},
	{name: "AppArmor annotation", field: `spec.templates[0].metadata.annotations["container.apparmor.security.beta.kubernetes.io/main"]`, rule: "reserved", spec: `  entrypoint: main
  templates:
  - name: main
    metadata: {annotations: {container.apparmor.security.beta.kubernetes.io/main: unconfined}}
    container: {image: alpine}
`},
	{name: "deleted before gated reads the result", trusted: true, field: "spec.ttlStrategy", rule: "retention", spec: "  ttlStrategy: {secondsAfterCompletion: 0}\n" + benignSpec},
	{name: "podDisruptionBudget selecting other pods", field: "spec.podDisruptionBudget.selector", rule: "selector", spec: "  podDisruptionBudget: {minAvailable: 1, selector: {}}\n" + benignSpec},

	// Limits and fan-out (finding 6).
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
	{name: "a million steps", field: "spec.templates[0].steps[0][0].withSequence", rule: "withSequence has 1000000", spec: calling("        template: leaf\n        withSequence: {count: \"1000000\"}\n", leaf)},
	{name: "a sequence counting down a million", field: "spec.templates[0].dag.tasks[0].withSequence", rule: "withSequence has 1000001",
		spec: "  entrypoint: main\n  templates:\n  - name: main\n    dag:\n      tasks:\n      - {name: a, template: leaf, withSequence: {start: \"1000000\", end: \"0\"}}\n" + leaf},
	{name: "a sequence from a parameter", field: "spec.templates[0].steps[0][0].withSequence", rule: "not a literal number",
		spec: "  arguments: {parameters: [{name: n, value: \"3\"}]}\n" + calling("        template: leaf\n        withSequence: {count: \"{{workflow.parameters.n}}\"}\n", leaf)},
	{name: "too many items", policy: func(p *Policy) { p.MaxFanOut = 2 }, field: "spec.templates[0].steps[0][0].withItems", rule: "withItems has 3",
		spec: calling("        template: leaf\n        withItems: [a, b, c]\n", leaf)},
	{name: "withParam", field: "spec.templates[0].steps[0][0].withParam", rule: "withParam", spec: calling("        template: leaf\n        withParam: '[1, 2]'\n", leaf)},
}

func TestHostileWorkflows(t *testing.T) {
	if len(hostileCases) < 60 {
		t.Errorf("the hostile table has %d cases; the issue asks for at least 60", len(hostileCases))
	}
	for _, tc := range hostileCases {
		t.Run(tc.name, func(t *testing.T) {
			file := []byte(strings.Replace(string(workflowYAML(tc.spec)), "metadata:\n", "metadata:\n"+tc.meta, 1))
			p := testPolicy
			if tc.policy != nil {
				tc.policy(&p)
			}
			api := newRecordingAPI(t, tc.templates, tc.forbidden...)
			b := testBuild(file)
			b.Trusted = tc.trusted
			_, err := api.argo(t, p).Start(context.Background(), b)
			requests, submitted := api.record()
			reads := 0
			for _, r := range requests {
				if strings.HasPrefix(r, "GET ") && strings.Contains(r, "workflowtemplates/") {
					reads++
				}
			}
			if reads != tc.reads {
				t.Errorf("%d templates read, want %d: %q", reads, tc.reads, requests)
			}
			if tc.field == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				if len(submitted) != 1 || len(requests) != tc.reads+1 {
					t.Fatalf("requests %q; want %d template reads and one submit", requests, tc.reads)
				}
				golden(t, submitted[0])
			} else {
				refused(t, err, tc)
				if len(submitted) != 0 || len(requests) != tc.reads {
					t.Errorf("requests %q; want only the %d template reads", requests, tc.reads)
				}
			}
			offline(t, p, file, tc)
		})
	}
}

// refused checks that err reports the case's violation.
func refused(t *testing.T, err error, tc hostileCase) {
	t.Helper()
	kind := tc.kind
	if kind == "" {
		kind = KindPolicy
	}
	var def *DefinitionError
	if !errors.As(err, &def) || def.Kind != kind {
		t.Fatalf("got %v, want a %s DefinitionError", err, kind)
	}
	if kind != KindPolicy {
		if !strings.Contains(def.Error(), tc.rule) {
			t.Errorf("report %q does not say %q", def.Error(), tc.rule)
		}
		return
	}
	for _, v := range def.Violations {
		if v.Field == tc.field && strings.Contains(v.Rule, tc.rule) {
			return
		}
	}
	t.Errorf("no violation at %s (%s) in:\n%v", tc.field, tc.rule, def)
}

// offline checks that `gated workflow check` (Policy.Check) says what a
// submit says, as far as it can without the cluster: the same refusal
// when the submit read nothing, and the references when it read some.
func offline(t *testing.T, p Policy, file []byte, tc hostileCase) {
	t.Helper()
	refs, err := p.Check(file, "builds", tc.trusted)
	switch {
	case tc.reads > 0:
		if err != nil || len(refs) == 0 {
			t.Errorf("offline: %v, references %v; want the references reported", err, refs)
		}
	case tc.field == "":
		if err != nil || len(refs) != 0 {
			t.Errorf("offline: %v, references %v; want it accepted", err, refs)
		}
	default:
		refused(t, err, tc)
	}
}

var unsafeFile = regexp.MustCompile(`[^a-z0-9]+`)

// golden compares the workflow submitted (JSON) with its golden file.
func golden(t *testing.T, submitted []byte) {
	t.Helper()
	got, err := yaml.JSONToYAML(submitted)
	if err != nil {
		t.Fatal(err)
	}
	name := strings.Trim(unsafeFile.ReplaceAllString(strings.ToLower(strings.TrimPrefix(t.Name(), "TestHostileWorkflows/")), "-"), "-")
	path := filepath.Join("testdata", "accepted", name+".yaml")
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -run TestHostileWorkflows -update to write it)", err)
	}
	if string(got) != string(want) {
		t.Errorf("submitted workflow differs from %s:\n%s", path, got)
	}
}
