package scheduler_test

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"errors"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	"github.com/minio/minio-go/v7"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"gated.dev/gated/deploy/devcluster"
	"gated.dev/gated/deploy/devcluster/devclustertest"
	"gated.dev/gated/scheduler"
)

func TestPassingBuild(t *testing.T) {
	h := newHarness(t)
	h.run()
	b := h.build("1", workflow(step{name: "checkout"}, step{name: "unit-tests"}))
	first := h.start(b)
	if first.Name != b.Name() || first.Namespace != h.ns || first.Item != "1" || first.Attempt != 1 || first.Pipeline != "gate" {
		t.Errorf("Start returned %+v", first)
	}
	if want := "https://argo.example.com/workflows/" + h.ns + "/" + b.Name(); first.URL != want {
		t.Errorf("URL %q, want %q", first.URL, want)
	}
	h.awaitPhase(b.Name(), scheduler.PhaseRunning)
	done := h.awaitPhase(b.Name(), scheduler.PhaseSucceeded)
	if done.Started.IsZero() || done.Finished.Before(done.Started) {
		t.Errorf("started %v, finished %v", done.Started, done.Finished)
	}
	succeeded := 0
	for _, u := range h.all(b.Name()) {
		if u.Phase == scheduler.PhaseSucceeded {
			succeeded++
		}
	}
	if succeeded != 1 {
		t.Errorf("Succeeded delivered %d times: %+v", succeeded, h.all(b.Name()))
	}

	// Submitting again (a retry after a crash) finds the same workflow.
	again := h.start(b)
	if again.Phase != scheduler.PhaseSucceeded {
		t.Errorf("second Start: %+v, want the existing, finished workflow", again)
	}
	list, err := h.argo.List(context.Background())
	if err != nil || len(list) != 1 {
		t.Fatalf("List: %v, %+v; want the one workflow", err, list)
	}

	// The workflow got the contract's parameters.
	client, err := h.c.Argo()
	if err != nil {
		t.Fatal(err)
	}
	wf, err := client.ArgoprojV1alpha1().Workflows(h.ns).Get(context.Background(), b.Name(), metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got := wf.Spec.Arguments.GetParameterByName(scheduler.ParamRevision); got == nil || got.Value.String() != b.Revision {
		t.Errorf("gated-revision = %v, want %s", got, b.Revision)
	}
}

func TestFailingBuildNamesTheStep(t *testing.T) {
	h := newHarness(t)
	h.run()
	b := h.build("2", workflow(step{name: "checkout"}, step{name: "unit-tests", annotations: map[string]string{devcluster.AnnotationExitCode: "3"}}, step{name: "never"}))
	h.start(b)
	u := h.awaitPhase(b.Name(), scheduler.PhaseFailed)
	if u.FailedNode != "unit-tests" || !strings.Contains(u.Message, "exit code 3") {
		t.Errorf("failed node %q, message %q; want unit-tests with exit code 3", u.FailedNode, u.Message)
	}
}

func TestCancelTerminatesARunningBuild(t *testing.T) {
	h := newHarness(t)
	h.run()
	b := h.build("3", workflow(step{name: "forever", annotations: map[string]string{devcluster.AnnotationDuration: "1h"}}))
	h.start(b)
	h.awaitPhase(b.Name(), scheduler.PhaseRunning)
	ctx := context.Background()
	started := time.Now()
	if err := h.argo.Cancel(ctx, b.Name()); err != nil {
		t.Fatal(err)
	}
	u := h.awaitPhase(b.Name(), scheduler.PhaseFailed)
	t.Logf("terminated in %s: %q", time.Since(started).Round(time.Millisecond), u.Message)
	if !strings.Contains(u.Message, "Terminate") {
		t.Errorf("message %q does not say the workflow was terminated", u.Message)
	}
	if err := h.argo.Cancel(ctx, b.Name()); err != nil {
		t.Errorf("cancelling a finished build: %v", err)
	}
	if err := h.argo.Cancel(ctx, "gated-gate-999-1"); err != nil {
		t.Errorf("cancelling an unknown build: %v", err)
	}
}

func TestArtifactsAreStoredAndLinked(t *testing.T) {
	h := newHarness(t)
	h.run()
	b := h.build("4", workflow(step{name: "package", artifact: "report", annotations: map[string]string{devcluster.AnnotationArtifact + "report": "PASS: 120 tests\n"}}))
	h.start(b)
	u := h.awaitPhase(b.Name(), scheduler.PhaseSucceeded)
	if len(u.Artifacts) != 1 {
		t.Fatalf("artifacts %+v, want one", u.Artifacts)
	}
	art := u.Artifacts[0]
	t.Logf("artifact %+v", art)
	if art.Name != "report" || art.Step != "package" || art.Size <= 0 || !strings.HasPrefix(art.Key, h.ns+"/"+b.Name()+"/") {
		t.Errorf("artifact %+v", art)
	}
	if !strings.HasPrefix(art.URL, "https://argo.example.com/artifact-files/"+h.ns+"/workflows/"+b.Name()+"/") || !strings.HasSuffix(art.URL, "/outputs/report") {
		t.Errorf("link %q", art.URL)
	}
	s3, err := h.c.NewS3Client()
	if err != nil {
		t.Fatal(err)
	}
	obj, err := s3.GetObject(context.Background(), h.c.S3().Bucket, art.Key, minio.GetObjectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer obj.Close()
	gz, err := gzip.NewReader(obj)
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(gz)
	if _, err := tr.Next(); err != nil {
		t.Fatal(err)
	}
	if content, _ := io.ReadAll(tr); string(content) != "PASS: 120 tests\n" {
		t.Errorf("stored artifact holds %q", content)
	}
}

func TestPolicyViolationNeverReachesTheAPIServer(t *testing.T) {
	var writes func() int
	h := newHarness(t, func(cfg *scheduler.Config) {
		cfg.REST, writes = counting(cfg.REST, func(method, path string) bool {
			return method != "GET" && strings.Contains(path, "/workflows")
		})
	})
	hostile := strings.Replace(workflow(step{name: "escape"}), "      image: golang:1.26\n", "      image: golang:1.26\n      securityContext: {privileged: true}\n", 1)
	_, err := h.argo.Start(context.Background(), h.build("5", hostile))
	var def *scheduler.DefinitionError
	if !errors.As(err, &def) || def.Kind != scheduler.KindPolicy || def.Field != "spec.templates[1]" || !strings.Contains(def.Rule, "privileged") {
		t.Fatalf("got %v, want a policy violation at the privileged flag", err)
	}
	if n := writes(); n != 0 {
		t.Errorf("%d writes to workflows reached the API server", n)
	}
	if list, err := h.argo.List(context.Background()); err != nil || len(list) != 0 {
		t.Errorf("List: %v, %+v; want nothing", err, list)
	}
}

// TestTemplateReferences runs workflows that refer to WorkflowTemplates of
// the cluster: an allowed, benign one runs; an allowed one that breaks the
// policy, one not allowed and one that does not exist are refused, and
// never reach the API server as workflows.
func TestTemplateReferences(t *testing.T) {
	var creates, reads func() int
	h := newHarness(t, func(cfg *scheduler.Config) {
		cfg.Policy.AllowedTemplates = []string{"go-ci", "escape", "missing"}
		cfg.REST, creates = counting(cfg.REST, func(method, path string) bool {
			return method == "POST" && strings.HasSuffix(path, "/workflows")
		})
		cfg.REST, reads = counting(cfg.REST, func(method, path string) bool {
			return method == "GET" && strings.Contains(path, "/workflowtemplates/")
		})
	})
	h.run()
	client, err := h.c.Argo()
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	container := func(privileged bool) *corev1.Container {
		c := &corev1.Container{Image: "golang:1.26", Command: []string{"sh", "-c", "git checkout {{workflow.parameters.gated-revision}} && go test ./..."}}
		if privileged {
			c.SecurityContext = &corev1.SecurityContext{Privileged: ptr(true)}
		}
		return c
	}
	for name, privileged := range map[string]bool{"go-ci": false, "escape": true, "unlisted": false} {
		tmpl := &wfv1.WorkflowTemplate{
			ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: h.ns},
			Spec: wfv1.WorkflowSpec{
				Entrypoint: "test",
				Arguments:  wfv1.Arguments{Parameters: []wfv1.Parameter{{Name: "gated-revision"}}},
				Templates:  []wfv1.Template{{Name: "test", Container: container(privileged)}},
			},
		}
		if _, err := client.ArgoprojV1alpha1().WorkflowTemplates(h.ns).Create(ctx, tmpl, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	steps := "apiVersion: argoproj.io/v1alpha1\nkind: Workflow\nmetadata: {generateName: ci-}\nspec:\n  entrypoint: main\n  templates:\n  - name: main\n    steps:\n    - - name: test\n        templateRef: {name: %s, template: test}\n"
	ref := func(name string) string { return strings.Replace(steps, "%s", name, 1) }

	benign := h.build("6", ref("go-ci"))
	h.start(benign)
	h.awaitPhase(benign.Name(), scheduler.PhaseSucceeded)
	whole := h.build("7", "apiVersion: argoproj.io/v1alpha1\nkind: Workflow\nmetadata: {generateName: ci-}\nspec:\n  workflowTemplateRef: {name: go-ci}\n")
	h.start(whole)
	h.awaitPhase(whole.Name(), scheduler.PhaseSucceeded)
	if n := reads(); n != 2 {
		t.Errorf("%d template reads for two workflows referring to one template each", n)
	}

	refused := []struct {
		build       scheduler.Build
		kind, field string
		reads       int
	}{
		{h.build("8", ref("escape")), scheduler.KindPolicy, "WorkflowTemplate escape: spec.templates[0]", 1},
		{h.build("9", ref("unlisted")), scheduler.KindPolicy, "spec.templates[0].steps[0][0].templateRef", 0},
		{h.build("10", ref("missing")), scheduler.KindValidation, "", 1},
	}
	for _, r := range refused {
		before, createsBefore := reads(), creates()
		_, err := h.argo.Start(ctx, r.build)
		var def *scheduler.DefinitionError
		if !errors.As(err, &def) || def.Kind != r.kind || def.Field != r.field {
			t.Errorf("%s: got %v, want a %s error at %q", r.build.Name(), err, r.kind, r.field)
		}
		if reads()-before != r.reads || creates() != createsBefore {
			t.Errorf("%s: %d template reads and %d creates; want %d reads and none", r.build.Name(), reads()-before, creates()-createsBefore, r.reads)
		}
		if _, err := client.ArgoprojV1alpha1().Workflows(h.ns).Get(ctx, r.build.Name(), metav1.GetOptions{}); !apierrors.IsNotFound(err) {
			t.Errorf("%s: the refused workflow is in the API server (%v)", r.build.Name(), err)
		}
	}
	if n := creates(); n != 2 {
		t.Errorf("%d workflows created; want the two accepted ones", n)
	}
}

func ptr[T any](v T) *T { return &v }

func TestQuotaExceededIsTransient(t *testing.T) {
	h := newHarness(t)
	kube, err := h.c.Kubernetes()
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	zero := corev1.ResourceList{"count/workflows.argoproj.io": resource.MustParse("0")}
	q, err := kube.CoreV1().ResourceQuotas(h.ns).Create(ctx, &corev1.ResourceQuota{
		ObjectMeta: metav1.ObjectMeta{Name: "no-builds"}, Spec: corev1.ResourceQuotaSpec{Hard: zero},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// No controller manager computes the quota's usage; do what it would.
	q.Status = corev1.ResourceQuotaStatus{Hard: zero, Used: corev1.ResourceList{"count/workflows.argoproj.io": resource.MustParse("0")}}
	if _, err := kube.CoreV1().ResourceQuotas(h.ns).UpdateStatus(ctx, q, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	b := h.build("8", workflow(step{name: "test"}))
	_, err = h.argo.Start(ctx, b)
	var def *scheduler.DefinitionError
	if !errors.Is(err, scheduler.ErrQuotaExceeded) || errors.As(err, &def) {
		t.Fatalf("got %v, want a transient quota error", err)
	}
	t.Logf("report: %v", err)
	if err := kube.CoreV1().ResourceQuotas(h.ns).Delete(ctx, "no-builds", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	h.start(b) // the retry goes through once the quota allows it
}

func TestAPIServerRestartMidBuild(t *testing.T) {
	h := newHarness(t)
	h.run()
	b := h.build("9", workflow(step{name: "slow", annotations: map[string]string{devcluster.AnnotationDuration: "3s"}}))
	h.start(b)
	h.awaitPhase(b.Name(), scheduler.PhaseRunning)

	if err := h.c.StopAPIServer(); err != nil {
		t.Fatal(err)
	}
	restarted := false
	t.Cleanup(func() { // leave the shared cluster usable even if this test fails
		if !restarted {
			if err := h.c.StartAPIServer(context.Background()); err != nil {
				t.Errorf("restart API server: %v", err)
			}
		}
	})
	other := h.build("10", workflow(step{name: "test"}))
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	_, err := h.argo.Start(ctx, other)
	cancel()
	var def *scheduler.DefinitionError
	if !errors.Is(err, scheduler.ErrUnavailable) || errors.As(err, &def) {
		t.Errorf("Start with the API server down: %v, want a transient ErrUnavailable", err)
	}
	t.Logf("report: %v", err)
	if err := h.c.StartAPIServer(context.Background()); err != nil {
		t.Fatal(err)
	}
	restarted = true
	h.awaitPhase(b.Name(), scheduler.PhaseSucceeded)
	h.start(other) // the retry of the build refused while the server was down
	h.awaitPhase(other.Name(), scheduler.PhaseSucceeded)
}

func TestInformerResumesAfterWatchExpiry(t *testing.T) {
	var proxy *devclustertest.Proxy
	var lists func() int
	h := newHarness(t, func(cfg *scheduler.Config) {
		proxy = devclustertest.NewProxy(t, devclustertest.Start(t))
		cfg.REST, lists = counting(proxy.RESTConfig(devclustertest.Start(t)), func(method, path string) bool {
			return method == "GET" && strings.HasSuffix(path, "/workflows")
		})
	})
	h.run()
	b := h.build("11", workflow(step{name: "test", annotations: map[string]string{devcluster.AnnotationDuration: "2s"}}))
	h.start(b)
	h.awaitPhase(b.Name(), scheduler.PhaseRunning)
	listsBefore := lists()

	// gated loses its connection; meanwhile the build finishes and etcd's
	// history is compacted past the last revision gated saw.
	proxy.Cut()
	client, err := h.c.Argo()
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	w, err := client.ArgoprojV1alpha1().Workflows(h.ns).Watch(ctx, metav1.ListOptions{FieldSelector: "metadata.name=" + b.Name()})
	if err != nil {
		t.Fatal(err)
	}
	for ev := range w.ResultChan() {
		if wf, ok := ev.Object.(*wfv1.Workflow); ok && wf.Status.Fulfilled() {
			break
		}
	}
	w.Stop()
	if _, err := h.c.CompactEtcd(ctx); err != nil {
		t.Fatal(err)
	}
	proxy.Restore()

	h.awaitPhase(b.Name(), scheduler.PhaseSucceeded)
	if lists() <= listsBefore {
		t.Errorf("the informer did not list again (%d lists before the cut, %d after)", listsBefore, lists())
	}
	if !h.logs.contains("watch of workflows expired") {
		t.Error("no watch expiry was logged")
	}
}

func TestForgottenWorkflowsAreDeletedAfterRetention(t *testing.T) {
	h := newHarness(t)
	h.run()
	ctx := context.Background()
	b1 := h.build("12", workflow(step{name: "test"}))
	b2 := b1
	b2.Attempt, b2.Revision = 2, randomHex(20)
	long := h.build("13", workflow(step{name: "test", annotations: map[string]string{devcluster.AnnotationDuration: "1h"}}))
	for _, b := range []scheduler.Build{b1, b2, long} {
		h.start(b)
	}
	h.awaitPhase(b1.Name(), scheduler.PhaseSucceeded)
	h.awaitPhase(long.Name(), scheduler.PhaseRunning)
	if err := h.argo.Forget(ctx, "gate", "12"); err != nil {
		t.Fatal(err)
	}
	if err := h.argo.Forget(ctx, "gate", "13"); err != nil {
		t.Fatal(err)
	}
	h.awaitPhase(long.Name(), scheduler.PhaseFailed) // forgetting a running build stops it
	if n, err := h.argo.Collect(ctx, time.Now()); err != nil || n != 0 {
		t.Errorf("Collect within the retention: %d, %v; want nothing deleted", n, err)
	}
	if n, err := h.argo.Collect(ctx, time.Now().Add(h.cfg.Retention+time.Minute)); err != nil || n != 3 {
		t.Errorf("Collect after the retention: %d, %v; want 3 deleted", n, err)
	}
	if list, err := h.argo.List(ctx); err != nil || len(list) != 0 {
		t.Errorf("List: %v, %+v; want nothing left", err, list)
	}
}

func TestWorkflowDeletedWhileRunningIsAnError(t *testing.T) {
	h := newHarness(t)
	h.run()
	b := h.build("14", workflow(step{name: "test", annotations: map[string]string{devcluster.AnnotationDuration: "1h"}}))
	h.start(b)
	h.awaitPhase(b.Name(), scheduler.PhaseRunning)
	if err := h.argo.Delete(context.Background(), h.ns, b.Name()); err != nil {
		t.Fatal(err)
	}
	u := h.awaitPhase(b.Name(), scheduler.PhaseError)
	if !strings.Contains(u.Message, "deleted") {
		t.Errorf("message %q", u.Message)
	}
}

func TestRunReportsWorkflowsThatExistedBefore(t *testing.T) {
	h := newHarness(t)
	b := h.build("15", workflow(step{name: "test"}))
	h.start(b)
	// A second executor (gated after a restart) learns the outcome from Run.
	later := newHarness(t, func(cfg *scheduler.Config) { cfg.Namespaces = []string{h.ns} })
	later.run()
	later.awaitPhase(b.Name(), scheduler.PhaseSucceeded)
}

func TestTheExampleWorkflowRuns(t *testing.T) {
	file, err := os.ReadFile("../deploy/examples/argo-workflow.yaml")
	if err != nil {
		t.Fatal(err)
	}
	h := newHarness(t)
	h.run()
	b := h.build("16", string(file))
	h.start(b)
	u := h.awaitPhase(b.Name(), scheduler.PhaseSucceeded)
	if len(u.Artifacts) != 1 || u.Artifacts[0].Name != "test-report" || u.Artifacts[0].Size <= 0 {
		t.Errorf("artifacts %+v, want the test report", u.Artifacts)
	}
}

func TestPodQuotaExceededIsReportedWhileTheBuildWaits(t *testing.T) {
	h := newHarness(t)
	h.run()
	kube, err := h.c.Kubernetes()
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	zero := corev1.ResourceList{corev1.ResourcePods: resource.MustParse("0")}
	q, err := kube.CoreV1().ResourceQuotas(h.ns).Create(ctx, &corev1.ResourceQuota{
		ObjectMeta: metav1.ObjectMeta{Name: "no-pods"}, Spec: corev1.ResourceQuotaSpec{Hard: zero},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	q.Status = corev1.ResourceQuotaStatus{Hard: zero, Used: corev1.ResourceList{corev1.ResourcePods: resource.MustParse("0")}}
	if _, err := kube.CoreV1().ResourceQuotas(h.ns).UpdateStatus(ctx, q, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	b := h.build("17", workflow(step{name: "test"}))
	h.start(b)
	u := h.await(b.Name(), "saying the quota is exceeded", func(u scheduler.Update) bool {
		return !u.Phase.Done() && strings.Contains(u.Message, "exceeded quota")
	})
	t.Logf("report while waiting: %s", u.Message)
	if err := kube.CoreV1().ResourceQuotas(h.ns).Delete(ctx, "no-pods", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	h.awaitPhase(b.Name(), scheduler.PhaseSucceeded)
}

// Whenever gated lists workflows (Run starting, a watch recovering from
// an outage), it nudges the unfinished ones, so that Argo's controller
// looks at them again: it drops a status update that failed while the API
// server was away, and would retry only at its 20-minute resync.
func TestListingNudgesUnfinishedWorkflows(t *testing.T) {
	h := newHarness(t)
	running := h.build("18", workflow(step{name: "test", annotations: map[string]string{devcluster.AnnotationDuration: "1h"}}))
	done := h.build("19", workflow(step{name: "test"}))
	h.start(running)
	h.start(done)
	h.run()
	h.awaitPhase(running.Name(), scheduler.PhaseRunning)
	h.awaitPhase(done.Name(), scheduler.PhaseSucceeded)

	client, err := h.c.Argo()
	if err != nil {
		t.Fatal(err)
	}
	nudgedAt := func(name string) string {
		wf, err := client.ArgoprojV1alpha1().Workflows(h.ns).Get(context.Background(), name, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return wf.Annotations[scheduler.AnnotationNudged]
	}
	before := map[string]string{running.Name(): nudgedAt(running.Name()), done.Name(): nudgedAt(done.Name())}

	later := newHarness(t, func(cfg *scheduler.Config) { cfg.Namespaces = []string{h.ns} })
	later.run() // lists, as gated does after a restart
	later.awaitPhase(done.Name(), scheduler.PhaseSucceeded)
	deadline := time.Now().Add(30 * time.Second)
	for nudgedAt(running.Name()) == before[running.Name()] {
		if time.Now().After(deadline) {
			t.Fatal("the running workflow was not nudged")
		}
		time.Sleep(50 * time.Millisecond)
	}
	if nudgedAt(done.Name()) != before[done.Name()] {
		t.Error("a finished workflow was nudged")
	}
}
