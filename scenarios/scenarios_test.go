package scenarios

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gated.dev/gated/scheduler"
)

// TestScenarios runs every scenario file of this directory with the
// simulated executor; each expectation is a line of the subtest's output.
func TestScenarios(t *testing.T) {
	files, err := filepath.Glob("*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 30 {
		t.Fatalf("only %d scenario files", len(files))
	}
	for _, f := range files {
		t.Run(f, func(t *testing.T) {
			var out bytes.Buffer
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
			defer cancel()
			r := &Runner{Out: &out}
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

// Every scenario ends with a check of its own: no build is left running
// for no item. gated stops a build of its own that no item wants as soon as
// the executor reports it; a build it cannot read as one of its own (here
// the item is not a number) stays, and fails the scenario even though its
// expectations hold.
func TestBuildLeftRunningFailsTheScenario(t *testing.T) {
	s, err := Parse("orphan.yaml", []byte(`name: one change merges
projects:
  org/project: {}
steps:
  - upload: {id: A, project: org/project}
  - approve: {change: A}
  - wait: settled
  - expect:
      merged: [A]
`))
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	w, err := (&Runner{}).start(ctx, s)
	if err != nil {
		t.Fatal(err)
	}
	defer w.close()
	for _, st := range s.Steps {
		if err := w.step(ctx, st); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.noOrphans(ctx); err != nil {
		t.Fatalf("before the stray builds: %v", err)
	}
	w.exec.Hold(true)
	stray := func(item string) scheduler.Build {
		return scheduler.Build{Pipeline: "gate", Item: item, Attempt: 1, Project: "org/project", Change: 1, Patchset: 1,
			Revision: strings.Repeat("0", 40), Workflow: []byte(defaultWorkflow), Namespace: "default"}
	}
	for _, item := range []string{"999", "stray"} {
		if _, err := w.exec.Start(ctx, stray(item)); err != nil {
			t.Fatal(err)
		}
	}
	err = w.noOrphans(ctx)
	if err == nil || !strings.Contains(err.Error(), stray("stray").Name()) || strings.Contains(err.Error(), stray("999").Name()) {
		t.Fatalf("noOrphans = %v, want it to name %s only (gated stops %s)", err, stray("stray").Name(), stray("999").Name())
	}
}
