package daemon

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"

	"gated.dev/gated/gerrit"
	"gated.dev/gated/gerrit/gerrittest"
	"gated.dev/gated/queue"
	"gated.dev/gated/scheduler"
	"gated.dev/gated/storage"
)

// BenchmarkCapacity measures gated end to end: Gerrit events posted to the
// webhook, stored in bbolt, enriched from the Gerrit simulator's REST API,
// applied by the engine with `items` items already queued, committed, and
// their actions performed by the workers (the simulated executor builds).
// Two runs per size: a burst of events posted as fast as four clients can
// (events/s: the most gated sustains), and events arriving at a steady
// 200/s (p99-ms: the 99th percentile from an event's arrival to the commit
// of the gate's decision on it, from the gated_event_decision_seconds
// histogram, interpolated in its bucket).
//
// The queued items are a state the real engine built for changes Gerrit
// does not have (creating 10,000 changes in the simulator takes minutes),
// all in the one change queue the measured changes join (queues=1: the
// worst case for the engine, which walks a touched queue on every event
// and stores it whole), or spread over 100 queues as at a site with many
// projects. The measured
// events are approvals of fresh changes, each answered by a "gate
// started" report, as Zuul's start message.
//
//	go test -run XXX -bench Capacity -benchtime 1x ./daemon/
func BenchmarkCapacity(b *testing.B) {
	for _, size := range []struct{ items, queues int }{{1000, 1}, {10000, 1}, {10000, 100}} {
		for _, perSecond := range []int{0, 200} {
			pace := "burst"
			if perSecond > 0 {
				pace = fmt.Sprintf("%d-per-s", perSecond)
			}
			b.Run(fmt.Sprintf("items=%d/queues=%d/%s", size.items, size.queues, pace), func(b *testing.B) {
				for range b.N {
					rate, p99 := capacityTrial(b, size.items, size.queues, 400, perSecond)
					b.ReportMetric(rate, "events/s")
					b.ReportMetric(p99*1000, "p99-ms")
				}
			})
		}
	}
}

// capacityTrial posts events approvals with items already queued (spread
// over queues change queues, the measured changes' one among them), at
// perSecond (0: as fast as it can), and returns the events per second and
// the p99 decision latency in seconds.
func capacityTrial(b *testing.B, items, queues, events, perSecond int) (rate, p99 float64) {
	b.StopTimer()
	ctx := context.Background()
	dir := b.TempDir()
	g, err := gerrittest.New(gerrittest.Options{Dir: filepath.Join(dir, "gerrit"), NoSSH: true})
	if err != nil {
		b.Fatal(err)
	}
	defer g.Close()
	if err := g.CreateProject(ctx, gerrittest.Project{Name: "org/a", Files: map[string]string{".pipeline/argo-workflow.yaml": testWorkflow}}); err != nil {
		b.Fatal(err)
	}
	cfg := Defaults()
	cfg.DataDir = filepath.Join(dir, "gated")
	cfg.Gerrit.URL = g.URL()
	cfg.Gerrit.ReconcileInterval = 0
	cfg.Executor.Kind = "sim"
	cfg.Projects = map[string]ProjectYAML{"org/a": {}}
	one, disabled := 1, true
	cfg.Pipelines = []PipelineYAML{
		{Name: "check", Disabled: disabled},
		{Name: "gate", Window: &one, WindowFloor: &one, WindowCeiling: &one, Start: &ReportYAML{Message: "gated: gate pipeline started."}},
	}
	for q := 1; q < queues; q++ {
		cfg.Projects[fmt.Sprintf("org/q%d", q)] = ProjectYAML{}
	}
	seedQueue(b, cfg, items, queues)

	// The measured changes, approved while gated does not listen: their
	// events are posted to the webhook below, at the benchmark's pace.
	var nums []int
	for range events {
		n, err := g.Upload(ctx, gerrittest.Upload{Project: "org/a"})
		if err != nil {
			b.Fatal(err)
		}
		nums = append(nums, n)
	}
	before := len(g.Events())
	for _, n := range nums {
		if err := g.Review(n, gerrittest.Review{Account: gerrittest.AliceUser, Labels: map[string]int{"Code-Review": 2, "Workflow": 1}}); err != nil {
			b.Fatal(err)
		}
	}
	var bodies [][]byte
	for _, e := range g.Events()[before:] {
		bodies = append(bodies, e.Webhook)
	}

	exec := scheduler.NewSim(scheduler.SimOptions{Duration: func(scheduler.Build) time.Duration { return time.Hour }})
	d, err := New(ctx, cfg, Options{Executor: exec, Logger: slog.New(slog.DiscardHandler), GerritPassword: g.Password(gerrittest.GatedUser), WebhookSecret: "s"})
	if err != nil {
		b.Fatal(err)
	}
	defer d.Close()
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- d.Run(runCtx) }()
	defer func() { cancel(); <-done }()
	waitIdle(b, d, 10*time.Minute)

	srv := httptest.NewServer(d.Handler())
	defer srv.Close()
	url := srv.URL + "/gerrit/events"

	b.StartTimer()
	start := time.Now()
	var wg sync.WaitGroup
	next := make(chan []byte)
	for range 4 { // Gerrit's webhooks plugin posts from a small thread pool
		wg.Add(1)
		go func() {
			defer wg.Done()
			for body := range next {
				req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
				req.Header.Set(gerrit.SecretHeader, "s")
				resp, err := http.DefaultClient.Do(req)
				if err != nil || resp.StatusCode/100 != 2 {
					b.Errorf("webhook: %v %v", err, resp)
				}
				if resp != nil {
					resp.Body.Close()
				}
			}
		}()
	}
	for i, body := range bodies {
		if perSecond > 0 {
			time.Sleep(time.Until(start.Add(time.Duration(i) * time.Second / time.Duration(perSecond))))
		}
		next <- body
	}
	close(next)
	wg.Wait()
	waitIdle(b, d, 10*time.Minute)
	elapsed := time.Since(start)
	b.StopTimer()

	st, err := d.Status(ctx)
	if err != nil {
		b.Fatal(err)
	}
	total := 0
	for _, q := range st.Pipelines[0].Queues {
		total += len(q.Items)
	}
	if total != items+events {
		b.Fatalf("%d items queued, want %d", total, items+events)
	}
	return float64(len(bodies)) / elapsed.Seconds(), quantile(b, d, 0.99)
}

// seedQueue writes into gated's state file an engine state with n items in
// the gate, spread over queues change queues (org/a's and org/q1…), built
// by the real engine from approvals of changes that Gerrit does not have.
func seedQueue(b *testing.B, cfg Config, n, queues int) {
	eng, err := queue.New(cfg.QueueConfig())
	if err != nil {
		b.Fatal(err)
	}
	now := time.Now()
	for i := range n {
		c := queue.Change{
			Number: 1_000_000 + i, Project: projectOf(i % queues), Branch: "master", Status: queue.StatusNew, Patchset: 1,
			Revision: fmt.Sprintf("%040x", i), Votes: []queue.Vote{{Label: "Code-Review", Account: "alice", Value: 2}, {Label: "Workflow", Account: "alice", Value: 1}},
		}
		eng.Apply(now, queue.ChangeEvent{Type: "comment-added", Change: c.Number, Approvals: []queue.Approval{{Label: "Workflow", Value: 1}}, Changes: []queue.Change{c}})
	}
	rd, err := eng.Ready()
	if err != nil {
		b.Fatal(err)
	}
	db, err := storage.Open(filepath.Join(cfg.DataDir, "gated.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Commit(storage.Transition{State: rd.State}, now); err != nil {
		b.Fatal(err)
	}
}

func projectOf(q int) string {
	if q == 0 {
		return "org/a"
	}
	return fmt.Sprintf("org/q%d", q)
}

func waitIdle(b *testing.B, d *Daemon, limit time.Duration) {
	deadline := time.Now().Add(limit)
	for !d.Idle() {
		if time.Now().After(deadline) {
			b.Fatalf("gated not idle after %s", limit)
		}
		time.Sleep(time.Millisecond)
	}
}

// quantile reads a quantile of the event-to-decision histogram,
// interpolating linearly within its bucket.
func quantile(b *testing.B, d *Daemon, q float64) float64 {
	var m dto.Metric
	if err := d.metrics.eventDecision.Write(&m); err != nil {
		b.Fatal(err)
	}
	h := m.GetHistogram()
	rank := q * float64(h.GetSampleCount())
	lower, below := 0.0, 0.0
	for _, bk := range h.GetBucket() {
		upper, count := bk.GetUpperBound(), float64(bk.GetCumulativeCount())
		if count >= rank {
			return lower + (upper-lower)*(rank-below)/math.Max(count-below, 1)
		}
		lower, below = upper, count
	}
	return math.Inf(1)
}
