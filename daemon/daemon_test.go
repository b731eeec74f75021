package daemon

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	neturl "net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"gated.dev/gated/gerrit/gerrittest"
	"gated.dev/gated/scheduler"
)

const testWorkflow = `apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {generateName: t-}
spec:
  entrypoint: test
  activeDeadlineSeconds: 60
  templates:
    - name: test
      container: {image: alpine, command: ["true"]}
`

// world is a gated with everything real around it but the executor: the
// Gerrit simulator posting webhooks over HTTP, the merger's git, bbolt.
type world struct {
	t      *testing.T
	gerrit *gerrittest.Server
	exec   *scheduler.Sim
	cfg    Config
	secret string
	srv    *httptest.Server
	h      atomic.Pointer[http.Handler] // gated's, or nil while it is down
	d      *Daemon
	stop   func()
	// configFile, if set, is the file gated reloads its configuration from.
	configFile string
}

func newWorld(t *testing.T, projects ...string) *world {
	t.Helper()
	return newWorldWith(t, nil, projects...)
}

func newWorldWith(t *testing.T, configure func(*Config), projects ...string) *world {
	t.Helper()
	dir := t.TempDir()
	g, err := gerrittest.New(gerrittest.Options{Dir: filepath.Join(dir, "gerrit"), NoSSH: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { g.Close() })
	cfg := Defaults()
	cfg.DataDir = filepath.Join(dir, "gated")
	cfg.Gerrit.URL = g.URL()
	cfg.Executor.Kind = "sim"
	cfg.Projects = map[string]ProjectYAML{}
	for _, p := range projects {
		if err := g.CreateProject(context.Background(), gerrittest.Project{Name: p, Files: map[string]string{".pipeline/argo-workflow.yaml": testWorkflow}}); err != nil {
			t.Fatal(err)
		}
		cfg.Projects[p] = ProjectYAML{}
	}
	if configure != nil {
		configure(&cfg)
	}
	w := &world{t: t, gerrit: g, cfg: cfg, secret: "s3cret",
		exec: scheduler.NewSim(scheduler.SimOptions{Duration: func(scheduler.Build) time.Duration { return 20 * time.Millisecond }})}
	// One address for every gated of the world, as a Service gives: while
	// gated is down, Gerrit's webhook posts fail and are retried.
	w.srv = httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		if h := w.h.Load(); h != nil {
			(*h).ServeHTTP(rw, r)
			return
		}
		http.Error(rw, "gated is down", http.StatusServiceUnavailable)
	}))
	t.Cleanup(w.srv.Close)
	g.SetWebhook(gerrittest.Webhook{URL: w.srv.URL + "/gerrit/events", Secret: w.secret, RetryInterval: 50 * time.Millisecond, MaxTries: 200})
	t.Cleanup(func() { g.SetWebhook(gerrittest.Webhook{}) })
	w.start()
	t.Cleanup(w.shutdown)
	return w
}

// start runs a daemon on the world's state, behind the world's HTTP server
// that the simulator's webhook posts to.
func (w *world) start() {
	w.t.Helper()
	cfg := w.cfg
	cfg.PublicURL = w.srv.URL
	log := slog.New(slog.DiscardHandler)
	if os.Getenv("GATED_TEST_LOG") != "" {
		log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	d, err := New(context.Background(), cfg, Options{Executor: w.exec, Logger: log, GerritPassword: w.gerrit.Password(gerrittest.GatedUser), WebhookSecret: w.secret, ConfigFile: w.configFile})
	if err != nil {
		w.t.Fatal(err)
	}
	h := d.Handler()
	w.h.Store(&h)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	w.d = d
	w.stop = func() {
		w.h.Store(nil)
		cancel()
		if err := <-done; err != nil {
			w.t.Errorf("Run: %v", err)
		}
		d.Close()
	}
	w.waitFor("gated ready", d.Ready)
}

func (w *world) shutdown() {
	if w.stop != nil {
		w.stop()
		w.stop = nil
	}
}

func (w *world) waitFor(what string, cond func() bool) {
	w.t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			w.t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func (w *world) upload(project string, files map[string]string) int {
	w.t.Helper()
	n, err := w.gerrit.Upload(context.Background(), gerrittest.Upload{Project: project, Files: files})
	if err != nil {
		w.t.Fatal(err)
	}
	return n
}

func (w *world) approve(n int) {
	w.t.Helper()
	if err := w.gerrit.Review(n, gerrittest.Review{Account: gerrittest.AliceUser, Labels: map[string]int{"Code-Review": 2, "Workflow": 1}}); err != nil {
		w.t.Fatal(err)
	}
}

func (w *world) merged(n ...int) func() bool {
	return func() bool {
		order := w.gerrit.MergeOrder()
		for _, x := range n {
			if !slices.Contains(order, x) {
				return false
			}
		}
		return true
	}
}

func (w *world) get(path string) (int, string) {
	w.t.Helper()
	resp, err := http.Get(w.srv.URL + path)
	if err != nil {
		w.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

// gateEmpty reports whether the pipelines are there and hold no item.
func (w *world) gateEmpty() bool {
	_, body := w.get("/api/status")
	var st Status
	json.Unmarshal([]byte(body), &st)
	for _, p := range st.Pipelines {
		for _, q := range p.Queues {
			if len(q.Items) > 0 {
				return false
			}
		}
	}
	return len(st.Pipelines) > 0
}

// mergeEvents counts change-merged events per change: Gerrit's record of
// how often each change was merged.
func (w *world) mergeEvents() map[int]int {
	out := map[int]int{}
	for _, e := range w.gerrit.Events() {
		if e.Type == "change-merged" {
			out[e.Change]++
		}
	}
	return out
}

func TestGateEndToEnd(t *testing.T) {
	w := newWorld(t, "org/a", "org/b")
	a1 := w.upload("org/a", nil)
	a2 := w.upload("org/a", nil)
	b1 := w.upload("org/b", nil)
	for _, n := range []int{a1, a2, b1} {
		w.approve(n)
	}
	w.waitFor("all three merged", w.merged(a1, a2, b1))
	order := w.gerrit.MergeOrder()
	if slices.Index(order, a1) > slices.Index(order, a2) {
		t.Fatalf("org/a merged out of order: %v", order)
	}
	for n, count := range w.mergeEvents() {
		if count != 1 {
			t.Fatalf("change %d merged %d times", n, count)
		}
	}
	for _, n := range []int{a1, a2, b1} {
		c, _ := w.gerrit.Change(n)
		if c.Votes[gerrittest.GatedUser]["Verified"] != 2 {
			t.Fatalf("change %d: gated's votes %v", n, c.Votes[gerrittest.GatedUser])
		}
	}
	w.waitFor("the gate emptied", w.gateEmpty)
	if code, body := w.get("/metrics"); code != 200 || !strings.Contains(body, `gated_changes_merged_total{pipeline="gate"} 3`) {
		t.Fatalf("metrics: %d\n%s", code, grep(body, "gated_"))
	}
	for _, path := range []string{"/healthz", "/readyz", "/"} {
		if code, _ := w.get(path); code != 200 {
			t.Fatalf("GET %s: %d", path, code)
		}
	}
}

func grep(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// Bad webhook requests are refused with the right status and change
// nothing; the gate keeps working.
func TestWebhookRejectsBadInput(t *testing.T) {
	w := newWorld(t, "org/a")
	post := func(body []byte, header map[string]string) int {
		req, _ := http.NewRequest(http.MethodPost, w.srv.URL+"/gerrit/events", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		for k, v := range header {
			req.Header.Set(k, v)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	secret := map[string]string{"X-Gated-Secret": w.secret}
	event := []byte(`{"type":"comment-added","change":{"project":"org/a","branch":"master","number":1},"eventCreatedOn":1}`)
	for _, tc := range []struct {
		name   string
		body   []byte
		header map[string]string
		want   int
	}{
		{"no secret", event, nil, http.StatusUnauthorized},
		{"wrong secret", event, map[string]string{"X-Gated-Secret": "guess"}, http.StatusUnauthorized},
		{"bad signature", event, map[string]string{"X-Gated-Signature-256": "sha256=00"}, http.StatusUnauthorized},
		{"malformed JSON", []byte(`{"type":`), secret, http.StatusBadRequest},
		{"not an object", []byte(`[1,2,3]`), secret, http.StatusBadRequest},
		{"oversized", bytes.Repeat([]byte(" "), 2<<20), secret, http.StatusRequestEntityTooLarge},
		{"unknown event type", []byte(`{"type":"coffee-brewed","eventCreatedOn":1}`), secret, http.StatusAccepted},
		{"unknown project", []byte(`{"type":"patchset-created","project":"org/zzz","change":{"project":"org/zzz","number":99}}`), secret, http.StatusAccepted},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := post(tc.body, tc.header); got != tc.want {
				t.Fatalf("status %d, want %d", got, tc.want)
			}
		})
	}
	n := w.upload("org/a", nil)
	w.approve(n)
	w.waitFor("the change merged after the bad requests", w.merged(n))
}

// A restart in the middle of a run loses nothing and repeats no submit.
func TestRestartMidRun(t *testing.T) {
	w := newWorld(t, "org/a")
	var changes []int
	for i := range 6 {
		n := w.upload("org/a", map[string]string{fmt.Sprintf("f%d", i): "x"})
		changes = append(changes, n)
		w.approve(n)
		if i == 2 {
			w.shutdown()
			w.start()
		}
	}
	w.shutdown()
	w.start()
	w.waitFor("every change merged", w.merged(changes...))
	if order := w.gerrit.MergeOrder(); !slices.Equal(order, changes) {
		t.Fatalf("merge order %v, want %v", order, changes)
	}
	for n, count := range w.mergeEvents() {
		if count != 1 {
			t.Fatalf("change %d merged %d times", n, count)
		}
	}
}

// Gerrit answering 500s, timing out and losing events during a run changes
// nothing in the result: the same changes merge, in the same order.
func TestGerritFaultsChangeNothing(t *testing.T) {
	w := newWorldWith(t, func(cfg *Config) {
		cfg.Gerrit.Timeout = Duration(300 * time.Millisecond)
		cfg.Gerrit.ReconcileInterval = Duration(time.Second)
	}, "org/a")
	var changes []int
	for i := range 6 {
		changes = append(changes, w.upload("org/a", map[string]string{fmt.Sprintf("f%d", i): "x"}))
	}
	w.gerrit.InjectFault(gerrittest.Fault{Path: "/changes/", Status: http.StatusInternalServerError, Count: 8})
	w.gerrit.InjectFault(gerrittest.Fault{Path: "/review", Delay: time.Second, Count: 2})
	w.gerrit.InjectFault(gerrittest.Fault{Path: "/submit", Status: http.StatusBadGateway, Count: 2})
	for _, n := range changes[:3] {
		w.approve(n)
	}
	// Events lost for good: gated's endpoint is unreachable and the
	// webhook gives up at once; only the periodic reconcile can find these.
	w.gerrit.SetWebhook(gerrittest.Webhook{URL: w.srv.URL + "/unreachable", Secret: w.secret, MaxTries: 1})
	for _, n := range changes[3:] {
		w.approve(n)
	}
	w.waitFor("every change merged", w.merged(changes...))
	if order := w.gerrit.MergeOrder(); !slices.Equal(order, changes) {
		t.Fatalf("merge order %v, want %v", order, changes)
	}
	for n, count := range w.mergeEvents() {
		if count != 1 {
			t.Fatalf("change %d merged %d times", n, count)
		}
	}
	if delivered, dropped := w.gerrit.WebhookStats(); dropped == 0 {
		t.Fatalf("no event was dropped (%d delivered): the test tests nothing", delivered)
	}
}

// TestBuildsFetchWithTheirCredential: the git URL a build is given reads
// its speculative state from gated's /git with the system git; without the
// credential, or for a project outside the build's state, gated refuses.
func TestBuildsFetchWithTheirCredential(t *testing.T) {
	w := newWorld(t, "org/a", "org/b")
	n := w.upload("org/a", nil)
	w.waitFor("the check build started", func() bool { return len(w.exec.Started()) > 0 })
	b := w.exec.Started()[0]
	if !strings.Contains(b.GitURL, "@") {
		t.Fatalf("build %s: git URL %q has no credential", b.Name(), b.GitURL)
	}
	out, err := exec.Command("git", "ls-remote", b.GitURL).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "refs/heads/master") {
		t.Fatalf("git ls-remote with the build's credential: %v\n%s", err, out)
	}
	other := strings.Replace(b.GitURL, "/git/org/a", "/git/org/b", 1)
	for _, url := range []string{w.srv.URL + "/git/org/a", other} { // anonymous; another project
		u, err := neturl.Parse(url + "/info/refs?service=git-upload-pack")
		if err != nil {
			t.Fatal(err)
		}
		req := &http.Request{Method: http.MethodGet, URL: u, Header: http.Header{}}
		if pw, ok := u.User.Password(); ok {
			req.SetBasicAuth(u.User.Username(), pw)
			u.User = nil
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("GET %s: %d, want 401", u.Redacted(), resp.StatusCode)
		}
	}
	if b.Change != n {
		t.Fatalf("the build is of change %d, not %d", b.Change, n)
	}
}
