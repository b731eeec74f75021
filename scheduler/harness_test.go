package scheduler_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"gated.dev/gated/deploy/devcluster"
	"gated.dev/gated/deploy/devcluster/devclustertest"
	"gated.dev/gated/scheduler"
	"k8s.io/client-go/rest"
)

func TestMain(m *testing.M) { devclustertest.Main(m) }

// harness is an Argo executor on the test binary's cluster, in a fresh
// namespace, with Run feeding a record of updates.
type harness struct {
	t    testing.TB
	c    *devcluster.Cluster
	ns   string
	cfg  scheduler.Config
	argo *scheduler.Argo
	logs *logRecord

	mu      sync.Mutex
	updates []scheduler.Update
	changed chan struct{} // closed and replaced on every update
}

// newHarness makes an executor; tweak may change its configuration.
func newHarness(t testing.TB, tweak ...func(*scheduler.Config)) *harness {
	c := devclustertest.Start(t)
	h := &harness{t: t, c: c, ns: devclustertest.Namespace(t, c, "builds"), changed: make(chan struct{}), logs: &logRecord{t: t}}
	s3 := c.S3()
	h.cfg = scheduler.Config{
		REST:       c.RESTConfig(),
		Namespaces: []string{h.ns},
		UIURL:      "https://argo.example.com",
		Policy:     scheduler.Policy{MaxDeadline: time.Hour, MaxParallelism: 5},
		Artifacts:  &scheduler.S3Config{Endpoint: s3.Endpoint, Bucket: s3.Bucket, AccessKey: s3.AccessKey, SecretKey: s3.SecretKey, Insecure: true},
		Retention:  time.Hour,
		Log:        slog.New(slog.NewTextHandler(h.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	}
	for _, f := range tweak {
		f(&h.cfg)
	}
	a, err := scheduler.NewArgo(h.cfg)
	if err != nil {
		t.Fatal(err)
	}
	h.argo = a
	return h
}

// run starts Run; it is stopped, and must have returned, when the test ends.
func (h *harness) run() {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- h.argo.Run(ctx, h.record) }()
	h.t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				h.t.Errorf("Run: %v", err)
			}
		case <-time.After(30 * time.Second):
			h.t.Error("Run did not return after its context ended")
		}
	})
}

func (h *harness) record(u scheduler.Update) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.updates = append(h.updates, u)
	close(h.changed)
	h.changed = make(chan struct{})
}

// await waits for an update of the named workflow that satisfies ok.
func (h *harness) await(name string, what string, ok func(scheduler.Update) bool) scheduler.Update {
	h.t.Helper()
	timeout := time.After(90 * time.Second)
	for {
		h.mu.Lock()
		for _, u := range h.updates {
			if u.Name == name && ok(u) {
				h.mu.Unlock()
				return u
			}
		}
		changed := h.changed
		h.mu.Unlock()
		select {
		case <-changed:
		case <-timeout:
			h.t.Fatalf("no update of %s %s within 90s; updates: %+v", name, what, h.all(name))
		}
	}
}

func (h *harness) awaitPhase(name string, phase scheduler.Phase) scheduler.Update {
	h.t.Helper()
	return h.await(name, "in phase "+string(phase), func(u scheduler.Update) bool { return u.Phase == phase })
}

// all returns the updates of the named workflow.
func (h *harness) all(name string) []scheduler.Update {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []scheduler.Update
	for _, u := range h.updates {
		if u.Name == name {
			out = append(out, u)
		}
	}
	return out
}

// build is a build of item in the harness's namespace.
func (h *harness) build(item string, workflow string) scheduler.Build {
	rev := randomHex(20)
	return scheduler.Build{
		Pipeline: "gate", Item: item, Attempt: 1, Project: "platform/api", Change: 100, Patchset: 1,
		Revision: rev, Heads: map[string]string{"platform/api": rev, "platform/lib": randomHex(20)},
		GitURL: "http://gated.gated.svc:8080/git/platform/api", Workflow: []byte(workflow), Namespace: h.ns,
	}
}

func (h *harness) start(b scheduler.Build) scheduler.Update {
	h.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	u, err := h.argo.Start(ctx, b)
	if err != nil {
		h.t.Fatalf("Start %s: %v", b.Name(), err)
	}
	return u
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// workflow is a project's workflow file: steps run in order, each with its
// pod annotations (devcluster.Annotation*).
func workflow(steps ...step) string {
	var b strings.Builder
	b.WriteString("apiVersion: argoproj.io/v1alpha1\nkind: Workflow\nmetadata: {generateName: ci-}\nspec:\n  entrypoint: main\n  templates:\n  - name: main\n    steps:\n")
	for _, s := range steps {
		fmt.Fprintf(&b, "    - - {name: %s, template: %s}\n", s.name, s.name)
	}
	for _, s := range steps {
		fmt.Fprintf(&b, "  - name: %s\n    metadata:\n      annotations: {", s.name)
		for k, v := range s.annotations {
			fmt.Fprintf(&b, "%q: %q, ", k, v)
		}
		b.WriteString("}\n    container:\n      image: golang:1.26\n      command: [sh, -c, 'git checkout {{workflow.parameters.gated-revision}} && go test ./...']\n")
		if s.artifact != "" {
			fmt.Fprintf(&b, "    outputs:\n      artifacts:\n      - {name: %s, path: /tmp/%s.txt}\n", s.artifact, s.artifact)
		}
	}
	return b.String()
}

type step struct {
	name        string
	annotations map[string]string
	artifact    string // an output artifact's name
}

// logRecord keeps the executor's log lines and shows them in the test's.
type logRecord struct {
	t     testing.TB
	mu    sync.Mutex
	lines []string
}

func (l *logRecord) Write(p []byte) (int, error) {
	line := strings.TrimRight(string(p), "\n")
	l.mu.Lock()
	l.lines = append(l.lines, line)
	l.mu.Unlock()
	l.t.Log(line)
	return len(p), nil
}

// contains reports whether a logged line contains s.
func (l *logRecord) contains(s string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, line := range l.lines {
		if strings.Contains(line, s) {
			return true
		}
	}
	return false
}

// counting wraps a REST configuration to count the requests that match.
func counting(cfg *rest.Config, match func(method, path string) bool) (*rest.Config, func() int) {
	var mu sync.Mutex
	n := 0
	cfg = rest.CopyConfig(cfg)
	cfg.Wrap(func(rt http.RoundTripper) http.RoundTripper {
		return roundTripFunc(func(r *http.Request) (*http.Response, error) {
			if match(r.Method, r.URL.Path) {
				mu.Lock()
				n++
				mu.Unlock()
			}
			return rt.RoundTrip(r)
		})
	})
	return cfg, func() int {
		mu.Lock()
		defer mu.Unlock()
		return n
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }
