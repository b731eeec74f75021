package scheduler_test

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	wfclientset "github.com/argoproj/argo-workflows/v3/pkg/client/clientset/versioned"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"gated.dev/gated/scheduler"
)

// BenchmarkSubmitToRunning measures the time from Start to the Running
// update of a one-step build (render, policy, validation, submit, the
// controller's pod, the scheduler, kwok, the informer), against the same
// path with a plain client-go create and watch as the baseline.
func BenchmarkSubmitToRunning(b *testing.B) {
	h := newHarness(b, quiet)
	h.run()
	file := workflow(step{name: "test"})
	b.Run("gated", func(b *testing.B) {
		for i := 0; b.Loop(); i++ {
			bld := h.build("1"+strconv.Itoa(i), file)
			h.start(bld)
			h.awaitPhase(bld.Name(), scheduler.PhaseRunning)
		}
	})
	client, err := h.c.Argo()
	if err != nil {
		b.Fatal(err)
	}
	b.Run("client-go", func(b *testing.B) {
		ctx := context.Background()
		for b.Loop() {
			wf := &wfv1.Workflow{
				ObjectMeta: metav1.ObjectMeta{GenerateName: "plain-", Namespace: h.ns},
				Spec: wfv1.WorkflowSpec{Entrypoint: "main", Templates: []wfv1.Template{{
					Name: "main", Steps: []wfv1.ParallelSteps{{Steps: []wfv1.WorkflowStep{{Name: "test", Template: "test"}}}},
				}, {
					Name: "test", Container: &corev1.Container{Image: "golang:1.26", Command: []string{"go", "test", "./..."}},
				}}},
			}
			created, err := client.ArgoprojV1alpha1().Workflows(h.ns).Create(ctx, wf, metav1.CreateOptions{})
			if err != nil {
				b.Fatal(err)
			}
			w, err := client.ArgoprojV1alpha1().Workflows(h.ns).Watch(ctx, metav1.ListOptions{
				FieldSelector: "metadata.name=" + created.Name, ResourceVersion: created.ResourceVersion,
			})
			if err != nil {
				b.Fatal(err)
			}
			for ev := range w.ResultChan() {
				if got, ok := ev.Object.(*wfv1.Workflow); ok && got.Status.Phase == wfv1.WorkflowRunning {
					break
				}
			}
			w.Stop()
		}
	})
}

// BenchmarkInformerThroughput measures how fast Run delivers the updates
// of 1,000 workflows: at start (the initial list) and as they change (the
// watch), against a plain client-go watch of the same changes. The
// workflows carry an Argo controller instance id that the cluster's
// controller does not have, so that only the benchmark changes them.
// Run it with -benchtime=1x: one op is 1,000 workflows.
func BenchmarkInformerThroughput(b *testing.B) {
	const n = 1000
	for b.Loop() {
		b.StopTimer()
		h := newHarness(b, quiet)
		cfg := h.c.RESTConfig()
		cfg.QPS, cfg.Burst = 2000, 2000
		client, err := wfclientset.NewForConfig(cfg)
		if err != nil {
			b.Fatal(err)
		}
		ctx := context.Background()
		parallel(b, n, func(i int) error {
			_, err := client.ArgoprojV1alpha1().Workflows(h.ns).Create(ctx, benchWorkflow(i), metav1.CreateOptions{})
			return err
		})
		b.StartTimer()

		// The initial list: a fresh Run delivers all n.
		start := time.Now()
		running := newCounter(n)
		a, err := scheduler.NewArgo(h.cfg)
		if err != nil {
			b.Fatal(err)
		}
		runCtx, stop := context.WithCancel(ctx)
		done := make(chan error, 1)
		go func() { done <- a.Run(runCtx, running.sink(scheduler.PhaseRunning)) }()
		running.wait(b)
		listTime := time.Since(start)

		// The watch: every workflow succeeds; Run and a plain watch see it.
		plain, err := client.ArgoprojV1alpha1().Workflows(h.ns).Watch(ctx, metav1.ListOptions{LabelSelector: scheduler.LabelItem, ResourceVersion: "0"})
		if err != nil {
			b.Fatal(err)
		}
		plainDone := make(chan time.Duration, 1)
		succeeded := newCounter(n)
		running.redirect(succeeded, scheduler.PhaseSucceeded)
		start = time.Now()
		go func() {
			seen := map[string]bool{}
			for ev := range plain.ResultChan() {
				if wf, ok := ev.Object.(*wfv1.Workflow); ok && wf.Status.Phase == wfv1.WorkflowSucceeded && !seen[wf.Name] {
					seen[wf.Name] = true
					if len(seen) == n {
						plainDone <- time.Since(start)
						return
					}
				}
			}
		}()
		parallel(b, n, func(i int) error {
			_, err := client.ArgoprojV1alpha1().Workflows(h.ns).Patch(ctx, benchName(i), types.MergePatchType,
				[]byte(`{"status":{"phase":"Succeeded"}}`), metav1.PatchOptions{})
			return err
		})
		patchTime := time.Since(start)
		succeeded.wait(b)
		watchTime := time.Since(start)
		plainTime := <-plainDone
		plain.Stop()
		stop()
		if err := <-done; err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(n)/listTime.Seconds(), "list-updates/s")
		b.ReportMetric(float64(n)/watchTime.Seconds(), "watch-updates/s")
		b.ReportMetric(float64(n)/plainTime.Seconds(), "plain-watch-events/s")
		b.ReportMetric(float64(n)/patchTime.Seconds(), "api-patches/s")
		b.ReportMetric(float64((watchTime - patchTime).Milliseconds()), "ms-behind-last-patch")
	}
}

// quiet drops the executor's log, which would log every update.
func quiet(cfg *scheduler.Config) { cfg.Log = slog.New(slog.DiscardHandler) }

func benchName(i int) string { return fmt.Sprintf("gated-bench-%d-1", i) }

func benchWorkflow(i int) *wfv1.Workflow {
	meta := map[string]string{scheduler.LabelPipeline: "bench", scheduler.LabelItem: strconv.Itoa(i), scheduler.LabelAttempt: "1"}
	labels := map[string]string{"workflows.argoproj.io/controller-instanceid": "not-this-cluster"}
	for k, v := range meta {
		labels[k] = v
	}
	return &wfv1.Workflow{
		ObjectMeta: metav1.ObjectMeta{Name: benchName(i), Labels: labels, Annotations: meta},
		Spec: wfv1.WorkflowSpec{Entrypoint: "main", Templates: []wfv1.Template{{
			Name: "main", Container: &corev1.Container{Image: "golang:1.26", Command: []string{"go", "test", "./..."}},
		}}},
		Status: wfv1.WorkflowStatus{Phase: wfv1.WorkflowRunning},
	}
}

// parallel runs f for 0..n-1 on 16 goroutines.
func parallel(b *testing.B, n int, f func(i int) error) {
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := int(next.Add(1)) - 1; i < n; i = int(next.Add(1)) - 1 {
				if err := f(i); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		b.Fatal(err)
	}
}

// counter counts distinct workflows seen in a phase, and closes done at n.
type counter struct {
	mu    sync.Mutex
	n     int
	seen  map[string]bool
	done  chan struct{}
	next  *counter
	phase scheduler.Phase
}

func newCounter(n int) *counter {
	return &counter{n: n, seen: map[string]bool{}, done: make(chan struct{})}
}

func (c *counter) sink(phase scheduler.Phase) func(scheduler.Update) {
	c.phase = phase
	return func(u scheduler.Update) {
		c.mu.Lock()
		target := c
		if c.next != nil {
			target = c.next
		}
		c.mu.Unlock()
		target.add(u)
	}
}

// redirect sends the sink's later updates to next, counted in phase.
func (c *counter) redirect(next *counter, phase scheduler.Phase) {
	next.phase = phase
	c.mu.Lock()
	c.next = next
	c.mu.Unlock()
}

func (c *counter) add(u scheduler.Update) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if u.Phase != c.phase || c.seen[u.Name] {
		return
	}
	c.seen[u.Name] = true
	if len(c.seen) == c.n {
		close(c.done)
	}
}

func (c *counter) wait(b *testing.B) {
	select {
	case <-c.done:
	case <-time.After(5 * time.Minute):
		c.mu.Lock()
		defer c.mu.Unlock()
		b.Fatalf("saw %d of %d updates in phase %s", len(c.seen), c.n, c.phase)
	}
}
