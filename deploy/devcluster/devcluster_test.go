package devcluster_test

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"errors"
	"io"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	"github.com/minio/minio-go/v7"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	"gated.dev/gated/deploy/devcluster"
	"gated.dev/gated/deploy/devcluster/devclustertest"
)

func TestMain(m *testing.M) { devclustertest.Main(m) }

// submit creates a workflow from YAML and waits for it to finish.
func submit(t *testing.T, c *devcluster.Cluster, ns, manifest string) *wfv1.Workflow {
	t.Helper()
	var wf wfv1.Workflow
	if err := yaml.UnmarshalStrict([]byte(manifest), &wf); err != nil {
		t.Fatal(err)
	}
	client, err := c.Argo()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	created, err := client.ArgoprojV1alpha1().Workflows(ns).Create(ctx, &wf, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	w, err := client.ArgoprojV1alpha1().Workflows(ns).Watch(ctx, metav1.ListOptions{
		FieldSelector: "metadata.name=" + created.Name, ResourceVersion: created.ResourceVersion,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	for ev := range w.ResultChan() {
		if got, ok := ev.Object.(*wfv1.Workflow); ok && got.Status.Fulfilled() {
			return got
		}
	}
	t.Fatalf("workflow %s did not finish: %v", created.Name, ctx.Err())
	return nil
}

func TestWorkflowsRunOnTheCluster(t *testing.T) {
	c := devclustertest.Start(t)
	ns := devclustertest.Namespace(t, c, "devcluster")

	t.Run("steps succeed", func(t *testing.T) {
		wf := submit(t, c, ns, `
metadata: {generateName: ok-}
spec:
  entrypoint: main
  templates:
  - name: main
    steps:
    - - {name: one, template: leaf}
    - - {name: two, template: leaf}
  - name: leaf
    container: {image: alpine, command: ["true"]}
`)
		if wf.Status.Phase != wfv1.WorkflowSucceeded {
			t.Errorf("phase %s (%s), want Succeeded", wf.Status.Phase, wf.Status.Message)
		}
	})

	t.Run("exit code annotation fails a step", func(t *testing.T) {
		wf := submit(t, c, ns, `
metadata: {generateName: fail-}
spec:
  entrypoint: main
  templates:
  - name: main
    metadata:
      annotations: {devcluster.gated.dev/exit-code: "3"}
    container: {image: alpine, command: ["false"]}
`)
		node := wf.Status.Nodes[wf.Name]
		if wf.Status.Phase != wfv1.WorkflowFailed || !strings.Contains(node.Message, "exit code 3") {
			t.Errorf("phase %s, node message %q; want Failed with exit code 3", wf.Status.Phase, node.Message)
		}
	})

	t.Run("outputs are uploaded and reported", func(t *testing.T) {
		wf := submit(t, c, ns, `
metadata: {generateName: out-}
spec:
  entrypoint: main
  templates:
  - name: main
    metadata:
      annotations:
        devcluster.gated.dev/artifact.report: "all tests passed\n"
        devcluster.gated.dev/parameter.answer: "42"
    container: {image: alpine, command: ["true"]}
    outputs:
      parameters:
      - {name: answer, valueFrom: {path: /tmp/answer}}
      artifacts:
      - {name: report, path: /tmp/report.txt}
`)
		if wf.Status.Phase != wfv1.WorkflowSucceeded {
			t.Fatalf("phase %s (%s), want Succeeded", wf.Status.Phase, wf.Status.Message)
		}
		out := wf.Status.Nodes[wf.Name].Outputs
		if out == nil || len(out.Artifacts) != 1 || out.Artifacts[0].S3 == nil || len(out.Parameters) != 1 || out.Parameters[0].Value.String() != "42" {
			t.Fatalf("outputs %+v", out)
		}
		key := out.Artifacts[0].S3.Key
		if want := ns + "/" + wf.Name + "/" + wf.Name + "/report.tgz"; key != want {
			t.Errorf("key %q, want %q (the repository's key format)", key, want)
		}
		s3, err := c.NewS3Client()
		if err != nil {
			t.Fatal(err)
		}
		obj, err := s3.GetObject(context.Background(), c.S3().Bucket, key, minio.GetObjectOptions{})
		if err != nil {
			t.Fatal(err)
		}
		defer obj.Close()
		gz, err := gzip.NewReader(obj)
		if err != nil {
			t.Fatal(err)
		}
		tr := tar.NewReader(gz)
		hdr, err := tr.Next()
		if err != nil {
			t.Fatal(err)
		}
		content, _ := io.ReadAll(tr)
		if hdr.Name != "report.txt" || string(content) != "all tests passed\n" {
			t.Errorf("archive holds %s = %q", hdr.Name, content)
		}
	})
}

func TestCompactEtcdExpiresOldWatches(t *testing.T) {
	c := devclustertest.Start(t)
	ns := devclustertest.Namespace(t, c, "compact")
	client, err := c.Argo()
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	list, err := client.ArgoprojV1alpha1().Workflows(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.CompactEtcd(ctx); err != nil {
		t.Fatal(err)
	}
	w, err := client.ArgoprojV1alpha1().Workflows(ns).Watch(ctx, metav1.ListOptions{ResourceVersion: list.ResourceVersion})
	if err == nil {
		ev := <-w.ResultChan()
		w.Stop()
		status, ok := ev.Object.(*metav1.Status)
		if !ok {
			t.Fatalf("watch from a compacted revision got %v, want an error", ev.Type)
		}
		err = apierrors.FromObject(status)
	}
	if !apierrors.IsResourceExpired(err) && !apierrors.IsGone(err) {
		t.Errorf("watch from a compacted revision: %v, want 410 Gone", err)
	}
}

func TestStopLeavesNoProcessBehind(t *testing.T) {
	devclustertest.Start(t) // the binaries are built, and the shared cluster does not collide with this one
	bins, err := devcluster.Build(context.Background(), devcluster.BuildOptions{Log: io.Discard})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	c, err := devcluster.Start(ctx, devcluster.Options{Binaries: bins})
	if err != nil {
		t.Fatal(err)
	}
	pids := c.PIDs()
	if len(pids) != 6 {
		t.Errorf("running servers %v, want 6", pids)
	}
	if err := c.Stop(); err != nil {
		t.Fatal(err)
	}
	for name, pid := range pids {
		if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
			t.Errorf("%s (pid %d) still exists after Stop: %v", name, pid, err)
		}
	}
	if _, err := os.Stat(c.Dir()); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("cluster directory %s remains: %v", c.Dir(), err)
	}
}
