package main

import (
	"context"
	"fmt"
	"io"
	"maps"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"gated.dev/gated/deploy/devcluster"
	"gated.dev/gated/deploy/devcluster/devclustertest"
	"gated.dev/gated/gerrit/gerrittest"
)

// crashWorkflow's one step runs a moment on the development cluster's
// fake kubelet (the simulated executor ignores the annotation).
const crashWorkflow = `apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata:
  generateName: crash-
spec:
  entrypoint: test
  activeDeadlineSeconds: 120
  templates:
    - name: test
      metadata: {annotations: {devcluster.gated.dev/duration: 700ms}}
      container: {image: alpine, command: ["true"]}
`

// A bad change breaks its own workflow: the simulated executor fails it
// (gated.dev/simulate), and so does the fake kubelet (exit code 1).
const crashBadWorkflow = `apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata:
  generateName: crash-
  annotations: {gated.dev/simulate: fail}
spec:
  entrypoint: test
  activeDeadlineSeconds: 120
  templates:
    - name: test
      metadata: {annotations: {devcluster.gated.dev/duration: 700ms, devcluster.gated.dev/exit-code: "1"}}
      container: {image: alpine, command: ["false"]}
`

// submitCounter counts Gerrit's answers to submit requests, per change.
type submitCounter struct {
	mu  sync.Mutex
	ok  map[int]int
	all map[int]int
}

var submitPath = regexp.MustCompile(`/changes/[^/]+~(\d+)(/revisions/[^/]+)?/submit$`)

// handler serves Gerrit through h and counts its submit answers; counted
// here, a submit is seen even when gated was killed before the answer.
func (c *submitCounter) handler(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		h.ServeHTTP(rec, r)
		if m := submitPath.FindStringSubmatch(r.URL.EscapedPath()); m != nil && r.Method == http.MethodPost {
			n, _ := strconv.Atoi(m[1])
			c.mu.Lock()
			c.all[n]++
			if rec.status == http.StatusOK {
				c.ok[n]++
			}
			c.mu.Unlock()
		}
	})
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(code int) {
	r.status = code
	r.ResponseWriter.WriteHeader(code)
}

// crashCase is one run of the crash test.
type crashCase struct {
	changes, kills int
	// gated is killed after a random pause in [pause, pause+jitter).
	pause, jitter time.Duration
	// cluster, if set, runs the builds as Argo Workflows on it, and its
	// API server is restarted once mid-run; otherwise the simulated
	// executor runs them.
	cluster *devcluster.Cluster
	// within bounds the wait for every change to be merged or reported
	// once the killing stopped.
	within time.Duration
}

// TestCrashRecovery runs 50 changes through the gate while gated is killed
// with SIGKILL at random moments, at least 20 times: every good change must
// merge exactly once and in order, every bad one be reported, no submit be
// repeated. Builds run on the simulated executor.
func TestCrashRecovery(t *testing.T) {
	if testing.Short() {
		t.Skip("builds gated and kills it 20 times")
	}
	crashTest(t, crashCase{changes: 50, kills: 20, pause: 150 * time.Millisecond, jitter: 600 * time.Millisecond, within: 4 * time.Minute})
}

// TestCrashRecoveryOnArgo is the crash test at the same size (50 changes,
// at least 20 kills while workflows run) with the builds run by the real
// Argo controller of the development cluster, whose API server is
// restarted once mid-run. On top of the checks of TestCrashRecovery: no
// workflow is left running that no item owns. It takes about 2 minutes on
// 2 cores, well within CI's budget.
func TestCrashRecoveryOnArgo(t *testing.T) {
	c := devclustertest.Start(t)
	crashTest(t, crashCase{changes: 50, kills: 20, pause: time.Second, jitter: 2 * time.Second, cluster: c, within: 10 * time.Minute})
}

func crashTest(t *testing.T, cc crashCase) {
	began := time.Now()
	dir := t.TempDir()
	bin := filepath.Join(dir, "gated")
	build := exec.Command("go", "build", "-o", bin, ".")
	build.Stderr = os.Stderr
	if err := build.Run(); err != nil {
		t.Fatalf("build gated: %v", err)
	}
	ctx := context.Background()
	g, err := gerrittest.New(gerrittest.Options{Dir: filepath.Join(dir, "gerrit"), NoSSH: true})
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	for _, p := range []string{"crash/a", "crash/b"} {
		if err := g.CreateProject(ctx, gerrittest.Project{Name: p, Files: map[string]string{".pipeline/argo-workflow.yaml": crashWorkflow}}); err != nil {
			t.Fatal(err)
		}
	}
	counter := &submitCounter{ok: map[int]int{}, all: map[int]int{}}
	front := httptest.NewServer(counter.handler(g))
	defer front.Close()

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	os.WriteFile(filepath.Join(dir, "password"), []byte(g.Password(gerrittest.GatedUser)+"\n"), 0o600)
	os.WriteFile(filepath.Join(dir, "secret"), []byte("crash-secret\n"), 0o600)
	executor := "  kind: sim\n  sim-duration: 150ms\n"
	namespace := ""
	if cc.cluster != nil {
		namespace = devclustertest.Namespace(t, cc.cluster, "crash")
		executor = fmt.Sprintf("  kind: argo\n  argo: {kubeconfig: %s, namespace: %s, max-deadline: 10m}\n", cc.cluster.Kubeconfig(), namespace)
	}
	config := filepath.Join(dir, "gated.yaml")
	os.WriteFile(config, []byte(fmt.Sprintf(`data-dir: %s
listen: %s
gerrit:
  url: %s
  user: gated
  password-file: %s
  webhook: {secret-file: %s}
  reconcile-interval: 2s
executor:
%sprojects:
  crash/a: {}
  crash/b: {}
`, filepath.Join(dir, "state"), addr, front.URL, filepath.Join(dir, "password"), filepath.Join(dir, "secret"), executor)), 0o600)

	var (
		mu    sync.Mutex
		proc  *exec.Cmd
		kills int
	)
	logf, _ := os.Create(filepath.Join(dir, "gated.log"))
	defer logf.Close()
	start := func() {
		cmd := exec.Command(bin, "serve", "-config", config)
		cmd.Stdout, cmd.Stderr = logf, logf
		if err := cmd.Start(); err != nil {
			t.Error(err)
			return
		}
		mu.Lock()
		proc = cmd
		mu.Unlock()
		deadline := time.Now().Add(60 * time.Second)
		for {
			resp, err := http.Get("http://" + addr + "/readyz")
			if err == nil {
				resp.Body.Close()
				if resp.StatusCode == 200 {
					return
				}
			}
			if time.Now().After(deadline) {
				t.Error("gated did not become ready within 60s")
				return
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	kill := func() {
		mu.Lock()
		defer mu.Unlock()
		proc.Process.Signal(syscall.SIGKILL)
		proc.Wait()
		kills++
	}
	start()
	defer func() {
		mu.Lock()
		defer mu.Unlock()
		proc.Process.Signal(syscall.SIGKILL)
		proc.Wait()
	}()
	g.SetWebhook(gerrittest.Webhook{URL: "http://" + addr + "/gerrit/events", Secret: "crash-secret", MaxTries: 100000, RetryInterval: 20 * time.Millisecond})
	defer g.SetWebhook(gerrittest.Webhook{})

	// The killer: SIGKILL at random moments, then start again at once.
	stopKilling := make(chan struct{})
	killerDone := make(chan struct{})
	go func() {
		defer close(killerDone)
		for {
			select {
			case <-stopKilling:
				return
			case <-time.After(cc.pause + rand.N(cc.jitter)):
			}
			kill()
			start()
		}
	}()
	apiRestarted := make(chan error, 1)

	var good, bad []int
	project := map[int]string{}
	for i := range cc.changes {
		if cc.cluster != nil && i == cc.changes/3 {
			go func() { apiRestarted <- restartAPIServer(cc.cluster) }()
		}
		p := []string{"crash/a", "crash/b"}[i%2]
		files := map[string]string{fmt.Sprintf("file-%d.txt", i): fmt.Sprintf("change %d\n", i)}
		isBad := i%5 == 3
		if isBad {
			files[".pipeline/argo-workflow.yaml"] = crashBadWorkflow
		}
		n, err := g.Upload(ctx, gerrittest.Upload{Project: p, Files: files})
		if err != nil {
			t.Fatal(err)
		}
		if err := g.Review(n, gerrittest.Review{Account: gerrittest.AliceUser, Labels: map[string]int{"Code-Review": 2, "Workflow": 1}}); err != nil {
			t.Fatal(err)
		}
		project[n] = p
		if isBad {
			bad = append(bad, n)
		} else {
			good = append(good, n)
		}
		time.Sleep(time.Duration(50+rand.IntN(150)) * time.Millisecond)
	}
	// Keep killing until there were enough kills.
	for {
		mu.Lock()
		k := kills
		mu.Unlock()
		if k >= cc.kills {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	close(stopKilling)
	<-killerDone
	if cc.cluster != nil {
		if err := <-apiRestarted; err != nil {
			t.Fatalf("restart the API server: %v", err)
		}
	}

	deadline := time.Now().Add(cc.within)
	for {
		order := g.MergeOrder()
		reported := 0
		for _, n := range bad {
			if c, err := g.Change(n); err == nil && c.Votes[gerrittest.GatedUser]["Verified"] == -2 {
				reported++
			}
		}
		if len(order) >= len(good) && reported == len(bad) {
			break
		}
		if time.Now().After(deadline) {
			var missing []int
			for _, n := range good {
				if !slices.Contains(order, n) {
					missing = append(missing, n)
				}
			}
			status := ""
			if resp, err := http.Get("http://" + addr + "/api/status"); err == nil {
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				status = string(b)
			}
			logf.Sync()
			if keep := os.Getenv("GATED_CRASH_LOG"); keep != "" {
				data, _ := os.ReadFile(logf.Name())
				os.WriteFile(keep, data, 0o644)
			}
			t.Fatalf("after %d kills: %d of %d good changes merged (missing %v), %d of %d bad ones reported\nstatus: %s%s", kills, len(order), len(good), missing, reported, len(bad), status, workflowPhases(cc.cluster, namespace))
		}
		time.Sleep(50 * time.Millisecond)
	}
	running := 0
	if cc.cluster != nil {
		running = noOrphanWorkflows(t, cc.cluster, namespace, addr)
	}

	// Stop gated for good, then read the counts (under their lock: a
	// request gated sent before it died may still be answered).
	mu.Lock()
	proc.Process.Signal(syscall.SIGKILL)
	proc.Wait()
	mu.Unlock()
	counter.mu.Lock()
	submitted, requested := maps.Clone(counter.ok), maps.Clone(counter.all)
	counter.mu.Unlock()

	order := g.MergeOrder()
	for _, n := range bad {
		if slices.Contains(order, n) {
			t.Errorf("bad change %d merged", n)
		}
	}
	merges := map[int]int{}
	for _, e := range g.Events() {
		if e.Type == "change-merged" {
			merges[e.Change]++
		}
	}
	for _, n := range good {
		if merges[n] != 1 {
			t.Errorf("good change %d merged %d times", n, merges[n])
		}
		if submitted[n] != 1 {
			t.Errorf("change %d submitted successfully %d times", n, submitted[n])
		}
	}
	for _, p := range []string{"crash/a", "crash/b"} {
		var got, want []int
		for _, n := range order {
			if project[n] == p {
				got = append(got, n)
			}
		}
		for _, n := range good {
			if project[n] == p {
				want = append(want, n)
			}
		}
		if !slices.Equal(got, want) {
			t.Errorf("%s merged in order %v, want %v", p, got, want)
		}
	}
	repeats := 0
	for _, c := range requested {
		repeats += c - 1
	}
	where := "the simulated executor"
	if cc.cluster != nil {
		where = fmt.Sprintf("the real Argo controller (%d workflows, the API server restarted once)", running)
	}
	t.Logf("%s with %s: %d kills; %d good changes merged once each, %d bad ones reported; %d submit requests repeated after a crash (answered as already merged)",
		time.Since(began).Round(time.Second), where, kills, len(good), len(bad), repeats)
}

// workflowPhases lists the namespace's workflows and their phases, for a
// failure's report.
func workflowPhases(c *devcluster.Cluster, namespace string) string {
	if c == nil {
		return ""
	}
	client, err := c.Argo()
	if err != nil {
		return err.Error()
	}
	list, err := client.ArgoprojV1alpha1().Workflows(namespace).List(context.Background(), metav1.ListOptions{})
	if err != nil {
		return err.Error()
	}
	var b strings.Builder
	b.WriteString("\nworkflows:")
	for _, wf := range list.Items {
		fmt.Fprintf(&b, "\n  %s %s %q", wf.Name, wf.Status.Phase, wf.Status.Message)
	}
	return b.String()
}

// restartAPIServer stops the cluster's API server for a few seconds while
// builds run and gated is being killed, then starts it again.
func restartAPIServer(c *devcluster.Cluster) error {
	if err := c.StopAPIServer(); err != nil {
		return err
	}
	time.Sleep(5 * time.Second)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	return c.StartAPIServer(ctx)
}

// noOrphanWorkflows waits until no workflow of the namespace runs that no
// item of gated's queues owns, and returns how many workflows there are.
// Every change is merged or reported by now, so no item is left: every
// workflow must end (the builds of dequeued items are stopped).
func noOrphanWorkflows(t *testing.T, c *devcluster.Cluster, namespace, addr string) int {
	t.Helper()
	client, err := c.Argo()
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(2 * time.Minute)
	for {
		list, err := client.ArgoprojV1alpha1().Workflows(namespace).List(context.Background(), metav1.ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		var running []string
		for _, wf := range list.Items {
			if !wf.Status.Fulfilled() {
				running = append(running, wf.Name)
			}
		}
		if len(running) == 0 {
			return len(list.Items)
		}
		if time.Now().After(deadline) {
			status := ""
			if resp, err := http.Get("http://" + addr + "/api/status"); err == nil {
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				status = string(b)
			}
			t.Fatalf("workflows still running with no change left in the gate: %v\nstatus: %s", running, status)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
