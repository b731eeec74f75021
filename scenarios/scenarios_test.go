package scenarios

import (
	"bytes"
	"context"
	"path/filepath"
	"testing"
	"time"
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
