package daemon

import (
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"gated.dev/gated/queue"
)

// metrics are gated's Prometheus metrics, on a registry of its own (several
// daemons may run in one test process).
type metrics struct {
	reg             *prometheus.Registry
	queueLength     *prometheus.GaugeVec
	window          *prometheus.GaugeVec
	buildsStarted   *prometheus.CounterVec
	buildsCanceled  *prometheus.CounterVec
	buildResults    *prometheus.CounterVec
	resets          *prometheus.CounterVec
	merged          *prometheus.CounterVec
	mergeSeconds    *prometheus.HistogramVec
	buildSeconds    *prometheus.HistogramVec
	eventLag        prometheus.Histogram
	eventDecision   prometheus.Histogram
	approvalToMerge *prometheus.HistogramVec
	actionRetries   *prometheus.CounterVec
	adminRequests   *prometheus.CounterVec
}

func newMetrics() *metrics {
	m := &metrics{reg: prometheus.NewRegistry()}
	f := func(c prometheus.Collector) { m.reg.MustRegister(c) }
	m.queueLength = prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "gated_queue_items", Help: "Items in a change queue."}, []string{"pipeline", "queue"})
	m.window = prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "gated_queue_window", Help: "Active window of a change queue (0: unlimited)."}, []string{"pipeline", "queue"})
	m.buildsStarted = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "gated_builds_started_total", Help: "Builds started."}, []string{"pipeline"})
	m.buildsCanceled = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "gated_builds_cancelled_total", Help: "Builds cancelled because their speculative state became invalid."}, []string{"pipeline"})
	m.buildResults = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "gated_build_results_total", Help: "Finished builds by result."}, []string{"pipeline", "result"})
	m.resets = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "gated_gate_resets_total", Help: "Items whose speculative state was invalidated and rebuilt."}, []string{"pipeline"})
	m.merged = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "gated_changes_merged_total", Help: "Changes submitted by the gate."}, []string{"pipeline"})
	m.mergeSeconds = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "gated_merge_seconds", Help: "Time to build a speculative state.", Buckets: prometheus.ExponentialBuckets(0.005, 2, 14)}, []string{"pipeline"})
	m.buildSeconds = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "gated_build_duration_seconds", Help: "Duration of finished builds whose start was seen, by result.", Buckets: prometheus.ExponentialBuckets(1, 2, 16)}, []string{"pipeline", "result"})
	m.eventLag = prometheus.NewHistogram(prometheus.HistogramOpts{Name: "gated_event_lag_seconds", Help: "Time from a Gerrit event to its application by the gate loop.", Buckets: prometheus.ExponentialBuckets(0.01, 2, 16)})
	m.eventDecision = prometheus.NewHistogram(prometheus.HistogramOpts{Name: "gated_event_decision_seconds", Help: "Time from a Gerrit event's arrival at gated to the commit of what the gate decided on it (its actions are dispatched then).",
		Buckets: []float64{.001, .0025, .005, .0075, .01, .015, .02, .03, .05, .075, .1, .15, .25, .5, 1, 2.5, 5, 10, 30, 60}})
	m.approvalToMerge = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "gated_approval_to_merge_seconds", Help: "Time from enqueue to submit.", Buckets: prometheus.ExponentialBuckets(10, 2, 14)}, []string{"pipeline"})
	m.actionRetries = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "gated_action_retries_total", Help: "Actions retried after a transient failure (Gerrit, Kubernetes, git unavailable)."}, []string{"worker"})
	m.adminRequests = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "gated_admin_requests_total", Help: "Administrators' requests (dequeue, enqueue, promote) by the engine's verdict."}, []string{"outcome"})
	for _, c := range []prometheus.Collector{m.queueLength, m.window, m.buildsStarted, m.buildsCanceled, m.buildResults, m.resets, m.merged, m.mergeSeconds, m.buildSeconds, m.eventLag, m.eventDecision, m.approvalToMerge, m.actionRetries, m.adminRequests,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{})} {
		f(c)
	}
	return m
}

func (m *metrics) handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}

// observe updates the metrics after a transition, from the actions it
// decided and the facts the engine observed; it runs on the loop goroutine.
func (m *metrics) observe(eng *queue.Engine, actions []queue.Action, facts queue.Facts) {
	for _, a := range actions {
		switch a := a.(type) {
		case queue.StartBuild:
			m.buildsStarted.WithLabelValues(a.Pipeline).Inc()
		case queue.CancelBuild:
			m.buildsCanceled.WithLabelValues(a.Pipeline).Inc()
		}
	}
	for _, f := range facts.Builds {
		m.buildResults.WithLabelValues(f.Pipeline, string(f.Result)).Inc()
		if !f.Started.IsZero() {
			m.buildSeconds.WithLabelValues(f.Pipeline, string(f.Result)).Observe(f.Finished.Sub(f.Started).Seconds())
		}
	}
	for _, f := range facts.Merged {
		m.merged.WithLabelValues(f.Pipeline).Inc()
		m.approvalToMerge.WithLabelValues(f.Pipeline).Observe(f.MergedAt.Sub(f.EnqueuedAt).Seconds())
	}
	for _, f := range facts.Resets {
		m.resets.WithLabelValues(f.Pipeline).Inc()
	}
	for _, v := range facts.Verdicts {
		m.adminRequests.WithLabelValues(string(v.Outcome)).Inc()
	}
	m.queueLength.Reset()
	m.window.Reset()
	for _, p := range eng.State().Pipelines {
		for _, q := range p.Queues {
			m.queueLength.WithLabelValues(p.Name, q.Name).Set(float64(len(q.Items)))
			m.window.WithLabelValues(p.Name, q.Name).Set(float64(q.Window))
		}
	}
}
