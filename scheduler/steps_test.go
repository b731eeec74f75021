package scheduler_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"gated.dev/gated/deploy/devcluster"
	"gated.dev/gated/scheduler"
)

// A failed build's steps are Argo's nodes in the order they ran, and the
// failed one says what its log holds or why there is none.
func TestStepsOfAFailedBuild(t *testing.T) {
	h := newHarness(t)
	h.run()
	b := h.build("21", workflow(step{name: "checkout"}, step{name: "unit-tests", annotations: map[string]string{devcluster.AnnotationExitCode: "3"}}, step{name: "never"}))
	h.start(b)
	h.awaitPhase(b.Name(), scheduler.PhaseFailed)
	steps, err := h.argo.Steps(context.Background(), b.Name())
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range steps {
		t.Logf("step %+v", s)
	}
	if len(steps) != 2 || steps[0].Name != "checkout" || steps[1].Name != "unit-tests" {
		t.Fatalf("steps %+v, want checkout then unit-tests (never did not run)", steps)
	}
	ok, failed := steps[0], steps[1]
	if ok.Phase != "Succeeded" || ok.Started.IsZero() || ok.Finished.Before(ok.Started) || ok.Log != "" || ok.NoLog != "" {
		t.Errorf("passed step %+v", ok)
	}
	if failed.Phase != "Failed" || !strings.Contains(failed.Message, "exit code 3") || failed.Template != "unit-tests" {
		t.Errorf("failed step %+v", failed)
	}
	// kwok plays the pods' phases but runs no container and serves no log:
	// the API server cannot reach a kubelet for it, and the step says so.
	if failed.Log == "" && !strings.HasPrefix(failed.NoLog, "no log available: ") {
		t.Errorf("the failed step has no log and does not say why: %+v", failed)
	}
}

func TestStepsOfAnUnknownBuild(t *testing.T) {
	h := newHarness(t)
	if _, err := h.argo.Steps(context.Background(), "gated-gate-404-1"); !errors.Is(err, scheduler.ErrNoSuchBuild) {
		t.Fatalf("error %v, want ErrNoSuchBuild", err)
	}
}
