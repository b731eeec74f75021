// Package devclustertest gives tests a real Kubernetes API server with
// Argo's workflow-controller (package devcluster): one cluster per test
// binary, started on first use and always torn down.
//
//	func TestMain(m *testing.M) { devclustertest.Main(m) }
//
//	func TestSomething(t *testing.T) {
//		c := devclustertest.Start(t)
//		ns := devclustertest.Namespace(t, c, "builds")
//		...
//	}
//
// Tests that need the cluster are skipped with -short.
package devclustertest

import (
	"context"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"gated.dev/gated/deploy/devcluster"
)

// shared is the test binary's cluster. Main owns its lifetime.
var shared struct {
	sync.Mutex
	main     bool
	bins     devcluster.Binaries
	buildErr error
	cluster  *devcluster.Cluster
	startErr error
	started  bool
}

var namespaces atomic.Int64

// Main runs the tests of a package that uses Start, and stops the cluster
// afterwards whatever happened (on a crash the servers die with the test
// binary). Before the tests, outside their timeout, it builds the
// cluster's binaries if they are not cached; progress goes to stderr. When
// the tests failed it prints the end of every server's log.
func Main(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	shared.main = true
	if !shortFlag() {
		ctx, cancel := context.WithTimeout(context.Background(), 45*time.Minute)
		// go test kills a test binary one minute after -timeout (default
		// 10m) even outside the tests; a cold build takes about that long.
		fmt.Fprintln(os.Stderr, "devclustertest: checking the cluster's binaries (if they must be built, run deploy/devcluster/devcluster build first or give go test -timeout 30m)")
		shared.bins, shared.buildErr = devcluster.Build(ctx, devcluster.BuildOptions{Log: os.Stderr})
		cancel()
	}
	code := m.Run()
	shared.Lock()
	defer shared.Unlock()
	if shared.cluster != nil {
		if code != 0 {
			fmt.Fprintf(os.Stderr, "devclustertest: tests failed; end of the cluster's logs:\n%s", shared.cluster.Logs(40))
		}
		if err := shared.cluster.Stop(); err != nil {
			fmt.Fprintf(os.Stderr, "devclustertest: stop cluster: %v\n", err)
			if code == 0 {
				code = 1
			}
		}
	}
	return code
}

// shortFlag reads -test.short before m.Run parses the flags.
func shortFlag() bool {
	for _, a := range os.Args[1:] {
		if a == "-test.short" || a == "-test.short=true" || a == "--test.short" {
			return true
		}
	}
	return false
}

// Start returns the test binary's cluster, starting it on first use. It
// skips the test in -short mode and fails it if the cluster cannot start.
func Start(t testing.TB) *devcluster.Cluster {
	t.Helper()
	if testing.Short() {
		t.Skip("needs the development cluster (Kubernetes + Argo); skipped with -short")
	}
	shared.Lock()
	defer shared.Unlock()
	if !shared.main {
		t.Fatal("devclustertest.Start needs devclustertest.Main in the package's TestMain (it guarantees teardown)")
	}
	if shared.buildErr != nil {
		t.Fatalf("build the development cluster: %v", shared.buildErr)
	}
	if !shared.started {
		shared.started = true
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		defer cancel()
		// Progress goes to stderr, not t.Log: the cluster outlives this test.
		shared.cluster, shared.startErr = devcluster.Start(ctx, devcluster.Options{Binaries: shared.bins, Log: os.Stderr})
	}
	if shared.startErr != nil {
		t.Fatalf("start the development cluster: %v", shared.startErr)
	}
	return shared.cluster
}

// Namespace creates a fresh namespace for builds (see
// devcluster.PrepareNamespace), named after prefix and unique in the test
// binary. Namespaces are not deleted: without a controller manager they
// would stay Terminating, and the cluster is thrown away anyway.
func Namespace(t testing.TB, c *devcluster.Cluster, prefix string) string {
	t.Helper()
	name := fmt.Sprintf("%s-%d-%d", prefix, os.Getpid()%100000, namespaces.Add(1))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := c.PrepareNamespace(ctx, name); err != nil {
		t.Fatalf("prepare namespace: %v", err)
	}
	return name
}
