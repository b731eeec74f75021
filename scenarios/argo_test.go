package scenarios

import (
	"bytes"
	"context"
	"testing"
	"time"

	"gated.dev/gated/deploy/devcluster/devclustertest"
)

func TestMain(m *testing.M) { devclustertest.Main(m) }

// argoScenarios are the scenarios also run against the real Argo
// workflow-controller: every kind of outcome, held builds (suspended
// workflows) included.
var argoScenarios = []string{
	"gate-single-change.yaml",
	"gate-order.yaml",
	"gate-failure-at-head.yaml",
	"gate-failure-at-tail.yaml",
	"gate-two-failures.yaml",
	"gate-merge-conflict.yaml",
	"deps-stack-of-three.yaml",
	"deps-depends-on-other-queue.yaml",
	"broken-workflow.yaml",
	"check-votes.yaml",
	"submit-type-cherry-pick.yaml",
	"flaky-retry.yaml",
	"restart-while-building.yaml",
	"post-after-merge-and-push.yaml",
	"post-supersede-under-hold.yaml",
	"post-failure-reported-on-change.yaml",
	"restart-ref-item-in-flight.yaml",
	"trusted-workflow-edit.yaml",
	"reload-add-pipeline-remove-project.yaml",
	"cycle-three-changes-one-fails.yaml",
	"topic-whole-submit-merged-together.yaml",
}

// TestScenariosOnArgo runs a representative subset of the scenarios with
// the builds as real Argo Workflows on the development cluster.
func TestScenariosOnArgo(t *testing.T) {
	c := devclustertest.Start(t)
	r := &Runner{Executor: "argo", Cluster: c, Timeout: 2 * time.Minute}
	for _, f := range argoScenarios {
		t.Run(f, func(t *testing.T) {
			var out bytes.Buffer
			r.Out = &out
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
			defer cancel()
			ok, err := r.RunFile(ctx, f)
			t.Log("\n" + out.String())
			if err != nil {
				t.Fatal(err)
			}
			if !ok {
				t.Fatal("some expectations failed")
			}
		})
	}
}
