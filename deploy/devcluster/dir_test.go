package devcluster_test

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gated.dev/gated/deploy/devcluster"
	"gated.dev/gated/deploy/devcluster/devclustertest"
)

// A cluster directory that does not exist yet is made, and kept.
func TestStartMakesItsDirectory(t *testing.T) {
	devclustertest.Start(t) // the binaries are built
	bins, err := devcluster.Build(context.Background(), devcluster.BuildOptions{Log: io.Discard})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	dir := filepath.Join(t.TempDir(), "not", "yet")
	c, err := devcluster.Start(ctx, devcluster.Options{Binaries: bins, Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Stop(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "kubeconfig")); err != nil {
		t.Fatalf("the cluster's files are not in %s: %v", dir, err)
	}
}

// A start that fails early returns the error (it used to panic stopping a
// nil cluster).
func TestStartFailingEarlyIsAnError(t *testing.T) {
	devclustertest.Start(t) // the binaries are built
	bins, err := devcluster.Build(context.Background(), devcluster.BuildOptions{Log: io.Discard})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "kubeconfig"), 0o755); err != nil { // where a file must go
		t.Fatal(err)
	}
	_, err = devcluster.Start(context.Background(), devcluster.Options{Binaries: bins, Dir: dir})
	if err == nil || !strings.Contains(err.Error(), "kubeconfig") {
		t.Fatalf("error %v, want one about the kubeconfig", err)
	}
}
