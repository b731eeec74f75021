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
	"sync"
	"syscall"
	"testing"
	"time"

	"gated.dev/gated/gerrit/gerrittest"
)

const crashWorkflow = `apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata:
  generateName: crash-
spec:
  entrypoint: test
  activeDeadlineSeconds: 60
  templates:
    - name: test
      container: {image: alpine, command: ["true"]}
`

// A bad change breaks its own workflow: the simulated executor fails it.
const crashBadWorkflow = `apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata:
  generateName: crash-
  annotations: {gated.dev/simulate: fail}
spec:
  entrypoint: test
  activeDeadlineSeconds: 60
  templates:
    - name: test
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

// TestCrashRecovery runs 50 changes through the gate while gated is killed
// with SIGKILL at random moments, at least 20 times: every good change must
// merge exactly once and in order, every bad one be reported, no submit be
// repeated.
func TestCrashRecovery(t *testing.T) {
	if testing.Short() {
		t.Skip("builds gated and kills it 20 times")
	}
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
  kind: sim
  sim-duration: 150ms
projects:
  crash/a: {}
  crash/b: {}
`, filepath.Join(dir, "state"), addr, front.URL, filepath.Join(dir, "password"), filepath.Join(dir, "secret"))), 0o600)

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
			t.Fatal(err)
		}
		deadline := time.Now().Add(30 * time.Second)
		for {
			resp, err := http.Get("http://" + addr + "/readyz")
			if err == nil {
				resp.Body.Close()
				if resp.StatusCode == 200 {
					break
				}
			}
			if time.Now().After(deadline) {
				t.Fatal("gated did not become ready")
			}
			time.Sleep(10 * time.Millisecond)
		}
		mu.Lock()
		proc = cmd
		mu.Unlock()
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
			case <-time.After(time.Duration(150+rand.IntN(600)) * time.Millisecond):
			}
			kill()
			start()
		}
	}()

	var good, bad []int
	project := map[int]string{}
	for i := range 50 {
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
	// Keep killing until there were at least 20 kills.
	for {
		mu.Lock()
		k := kills
		mu.Unlock()
		if k >= 20 {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	close(stopKilling)
	<-killerDone

	deadline := time.Now().Add(4 * time.Minute)
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
			t.Fatalf("after %d kills: %d of %d good changes merged (missing %v), %d of %d bad ones reported\nstatus: %s", kills, len(order), len(good), missing, reported, len(bad), status)
		}
		time.Sleep(50 * time.Millisecond)
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
	t.Logf("%d kills; %d good changes merged once each, %d bad ones reported; %d submit requests repeated after a crash (answered as already merged)", kills, len(good), len(bad), repeats)
}
