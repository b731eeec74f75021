package scheduler

import (
	"context"
	"testing"
	"time"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func failedWorkflow() *wfv1.Workflow {
	t0 := time.Date(2026, 11, 29, 10, 0, 0, 0, time.UTC)
	at := func(s int) metav1.Time { return metav1.NewTime(t0.Add(time.Duration(s) * time.Second)) }
	return &wfv1.Workflow{
		ObjectMeta: metav1.ObjectMeta{Name: "gated-gate-17-2", Namespace: "builds", Annotations: map[string]string{
			LabelPipeline: "gate", LabelItem: "17", LabelAttempt: "2",
		}},
		Status: wfv1.WorkflowStatus{
			Phase: wfv1.WorkflowFailed, Message: "child 'gated-gate-17-2-1' failed",
			StartedAt: at(0), FinishedAt: at(9),
			Nodes: wfv1.Nodes{
				"gated-gate-17-2":   {ID: "gated-gate-17-2", DisplayName: "gated-gate-17-2", Type: wfv1.NodeTypeSteps, Phase: wfv1.NodeFailed, FinishedAt: at(9)},
				"gated-gate-17-2-1": {ID: "gated-gate-17-2-1", DisplayName: "unit-tests", Type: wfv1.NodeTypePod, Phase: wfv1.NodeFailed, Message: "Error (exit code 3)", FinishedAt: at(5)},
				"gated-gate-17-2-2": {ID: "gated-gate-17-2-2", DisplayName: "lint", Type: wfv1.NodeTypePod, Phase: wfv1.NodeFailed, Message: "Error (exit code 1)", FinishedAt: at(8)},
				"gated-gate-17-2-3": {ID: "gated-gate-17-2-3", DisplayName: "build", Type: wfv1.NodeTypePod, Phase: wfv1.NodeSucceeded, FinishedAt: at(4),
					Outputs: &wfv1.Outputs{Artifacts: []wfv1.Artifact{
						{Name: "binary", ArtifactLocation: wfv1.ArtifactLocation{S3: &wfv1.S3Artifact{Key: "builds/gated-gate-17-2/gated-gate-17-2-3/binary.tgz"}}},
						{Name: "main-logs", ArtifactLocation: wfv1.ArtifactLocation{S3: &wfv1.S3Artifact{Key: "builds/gated-gate-17-2/gated-gate-17-2-3/main.log"}}},
					}}},
			},
		},
	}
}

func TestUpdateNamesTheFailingStep(t *testing.T) {
	a, _ := offlineArgo(t)
	u := a.toUpdate(failedWorkflow())
	if u.Phase != PhaseFailed || u.FailedNode != "unit-tests" || u.Message != "Error (exit code 3)" {
		t.Errorf("phase %s, failed node %q, message %q; want Failed at the first failing step", u.Phase, u.FailedNode, u.Message)
	}
	if u.Item != "17" || u.Attempt != 2 || u.Pipeline != "gate" {
		t.Errorf("item %q attempt %d pipeline %q", u.Item, u.Attempt, u.Pipeline)
	}
	if u.URL != "https://argo.example.com/workflows/builds/gated-gate-17-2" {
		t.Errorf("URL %q", u.URL)
	}
	if u.Finished.Sub(u.Started) != 9*time.Second {
		t.Errorf("started %v finished %v", u.Started, u.Finished)
	}
	if len(u.Artifacts) != 1 {
		t.Fatalf("artifacts %+v, want the binary only (logs are not artifacts)", u.Artifacts)
	}
	art := u.Artifacts[0]
	want := "https://argo.example.com/artifact-files/builds/workflows/gated-gate-17-2/gated-gate-17-2-3/outputs/binary"
	if art.Name != "binary" || art.Step != "build" || art.URL != want || art.Size != -1 {
		t.Errorf("artifact %+v; want URL %s", art, want)
	}
}

func TestArtifactLinksUseThePublicURL(t *testing.T) {
	a, _ := offlineArgo(t)
	a.cfg.Artifacts = &S3Config{Bucket: "artifacts", PublicURL: "https://artifacts.example.com/artifacts/"}
	u := a.toUpdate(failedWorkflow())
	if got, want := u.Artifacts[0].URL, "https://artifacts.example.com/artifacts/builds/gated-gate-17-2/gated-gate-17-2-3/binary.tgz"; got != want {
		t.Errorf("URL %q, want %q", got, want)
	}
}

func TestDeliverTellsEachChangeOnce(t *testing.T) {
	a, _ := offlineArgo(t)
	var got []Update
	sink := func(u Update) { got = append(got, u) }
	last := map[string]Update{}
	wf := failedWorkflow()
	running := wf.DeepCopy()
	running.Status = wfv1.WorkflowStatus{Phase: wfv1.WorkflowRunning}
	ctx := context.Background()
	for _, c := range []change{{wf: running}, {wf: running}, {wf: wf}, {wf: wf}, {wf: wf, deleted: true}} {
		a.deliver(ctx, c, last, sink)
	}
	if len(got) != 2 || got[0].Phase != PhaseRunning || got[1].Phase != PhaseFailed {
		t.Errorf("delivered %+v; want Running then Failed", got)
	}
	got = nil
	a.deliver(ctx, change{wf: running}, last, sink)
	a.deliver(ctx, change{wf: running, deleted: true}, last, sink)
	if len(got) != 2 || got[1].Phase != PhaseError || got[1].Message == "" {
		t.Errorf("delivered %+v; want Running then an Error for the deletion", got)
	}
}
