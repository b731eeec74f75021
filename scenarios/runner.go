package scenarios

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"gated.dev/gated/daemon"
	"gated.dev/gated/deploy/devcluster"
	"gated.dev/gated/gerrit"
	"gated.dev/gated/gerrit/gerrittest"
	"gated.dev/gated/queue"
	"gated.dev/gated/scheduler"
)

// Runner runs scenarios: for each, a Gerrit simulator with the scenario's
// projects, an executor, and gated in-process.
//
// Time under the simulated executor is virtual and moves only when the
// scenario says so: after every step the runner waits until gated has
// consumed every event and finished every action (builds keep running);
// "wait: settled" then ends the running builds that are not held one at a
// time, oldest first, letting gated react to each before the next — so a
// scenario plays out the same way on every run.
type Runner struct {
	// Executor is "sim" (default) or "argo": the development cluster of
	// deploy/devcluster, with the real Argo workflow-controller. Under argo
	// time is real; scenarios that hold builds need sim.
	Executor string
	// Cluster is the development cluster to use under argo; nil means one
	// the runner starts (and Close stops).
	Cluster *devcluster.Cluster
	// Out receives one line per expectation.
	Out io.Writer
	// Log receives gated's logs; default discarded.
	Log *slog.Logger
	// Timeout bounds each wait for gated to settle; default 60s.
	Timeout time.Duration

	ownCluster bool
	scenarios  int
}

// executor is what the runner needs of the executor besides what gated
// needs: the scenario's scripted results, held builds and virtual time.
type executor interface {
	daemon.Executor
	Fail(change int, with []int)
	Flaky(change, times int)
	Hold(bool)
	Release(change int)
	Advance() bool
	Running() []scheduler.Build
	Counts() (started, cancelled int)
	Undelivered() int
}

// Close stops the cluster the runner started, if any.
func (r *Runner) Close() error {
	if r.ownCluster && r.Cluster != nil {
		err := r.Cluster.Stop()
		r.Cluster, r.ownCluster = nil, false
		return err
	}
	return nil
}

func (r *Runner) argo() bool { return r.Executor == "argo" }

// RunFile parses and runs one scenario file. It returns whether every
// expectation held; an error means the scenario could not run.
func (r *Runner) RunFile(ctx context.Context, path string) (bool, error) {
	s, err := ParseFile(path)
	if err != nil {
		return false, err
	}
	return r.Run(ctx, s)
}

// Run runs one scenario.
func (r *Runner) Run(ctx context.Context, s *Scenario) (bool, error) {
	if r.Executor != "" && r.Executor != "sim" && r.Executor != "argo" {
		return false, fmt.Errorf("executor %q: want sim or argo", r.Executor)
	}
	w, err := r.start(ctx, s)
	if err != nil {
		return false, fmt.Errorf("%s: %w", s.File, err)
	}
	defer w.close()
	for _, st := range s.Steps {
		if err := w.step(ctx, st); err != nil {
			return false, fmt.Errorf("%s:%d: %s: %w", s.File, st.Line, st.Kind, err)
		}
	}
	if err := w.noOrphans(ctx); err != nil {
		w.failures++
		fmt.Fprintf(w.out(), "FAIL %s: after the last step: %v\n", s.File, err)
	}
	return w.failures == 0, nil
}

func (w *world) out() io.Writer {
	if w.r.Out == nil {
		return io.Discard
	}
	return w.r.Out
}

// noOrphans checks what every scenario must end with, whatever it
// expects: no build runs in the executor (on the cluster, as Argo sees
// it) that is not the current build of an item gated holds. A cancelled
// workflow takes the controller a moment to stop, so on the cluster this
// waits for up to 30 s.
func (w *world) noOrphans(ctx context.Context) error {
	deadline := time.Now().Add(30 * time.Second)
	for {
		if err := w.quiesce(ctx); err != nil {
			return err
		}
		orphans, err := w.orphans(ctx)
		if err != nil || len(orphans) == 0 {
			return err
		}
		if !w.r.argo() || time.Now().After(deadline) {
			return fmt.Errorf("builds left running for no item: %v", orphans)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// orphans returns the builds that run for no item's current attempt.
func (w *world) orphans(ctx context.Context) ([]string, error) {
	status, err := w.gated.Status(ctx)
	if err != nil {
		return nil, err
	}
	current := map[string]bool{}
	for _, p := range status.Pipelines {
		for _, q := range p.Queues {
			for _, it := range q.Items {
				if it.Phase == queue.PhaseBuilding {
					current[scheduler.BuildName(p.Name, it.ID.String(), it.Attempt)] = true
				}
			}
		}
	}
	builds, err := w.exec.List(ctx)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, b := range builds {
		if !b.Phase.Done() && !current[b.Name] {
			out = append(out, b.Name)
		}
	}
	slices.Sort(out)
	return out, nil
}

// world is one running scenario.
type world struct {
	r        *Runner
	s        *Scenario
	dir      string
	gerrit   *gerrittest.Server
	exec     executor
	cfg      daemon.Config
	gated    *daemon.Daemon
	cancel   context.CancelFunc
	done     chan error
	ids      map[string]int // scenario id → change number
	names    map[int]string
	fed      int // Gerrit events handed to gated so far
	failures int
	// rules are fail and flaky steps whose changes are not all uploaded
	// yet; they reach the executor as soon as they are.
	rules []Step
}

// defaultWorkflow is added to projects that have none.
const defaultWorkflow = `apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata:
  generateName: gated-
spec:
  entrypoint: test
  activeDeadlineSeconds: 600
  templates:
    - name: test
      container:
        image: alpine:3
        command: [sh, -c, "true"]
`

func (r *Runner) start(ctx context.Context, s *Scenario) (*world, error) {
	dir, err := os.MkdirTemp("", "gated-scenario-")
	if err != nil {
		return nil, err
	}
	w := &world{r: r, s: s, dir: dir, ids: map[string]int{}, names: map[int]string{}}
	if w.gerrit, err = gerrittest.New(gerrittest.Options{Dir: filepath.Join(dir, "gerrit"), NoSSH: true}); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	cfg := daemon.Defaults()
	cfg.DataDir = filepath.Join(dir, "gated")
	cfg.Listen = "127.0.0.1:0"
	cfg.Gerrit.URL = w.gerrit.URL()
	cfg.Gerrit.ReconcileInterval = 0 // only at start: scenarios deliver every event
	cfg.Executor.Kind = "sim"
	cfg.Projects = map[string]daemon.ProjectYAML{}
	for _, p := range s.Projects {
		files := map[string]string{}
		for k, v := range p.Files {
			files[k] = v
		}
		if _, ok := files[cfg.Executor.Argo.WorkflowFile]; !ok {
			files[cfg.Executor.Argo.WorkflowFile] = defaultWorkflow
		}
		if err := w.gerrit.CreateProject(ctx, gerrittest.Project{Name: p.Name, SubmitType: p.SubmitType, Files: files}); err != nil {
			w.close()
			return nil, err
		}
		cfg.Projects[p.Name] = daemon.ProjectYAML{Queue: p.Queue, SubmitType: p.SubmitType}
	}
	if s.Config != nil {
		var frag struct {
			Pipelines []daemon.PipelineYAML `yaml:"pipelines"`
		}
		dec := yaml.NewDecoder(strings.NewReader(string(s.Config)))
		dec.KnownFields(true)
		if err := dec.Decode(&frag); err != nil {
			w.close()
			return nil, fmt.Errorf("config: %w", err)
		}
		cfg.Pipelines = frag.Pipelines
		if err := daemon.ValidateFragment(cfg); err != nil {
			w.close()
			return nil, fmt.Errorf("config: %w", err)
		}
	}
	if r.argo() {
		if err := w.useArgo(ctx, &cfg); err != nil {
			w.close()
			return nil, err
		}
	} else {
		w.exec = scheduler.NewSim(scheduler.SimOptions{URL: "http://sim.invalid"})
	}
	w.cfg = cfg
	if err := w.startGated(ctx); err != nil {
		w.close()
		return nil, err
	}
	return w, nil
}

// useArgo gives the scenario a namespace of the development cluster and an
// Argo executor in it.
func (w *world) useArgo(ctx context.Context, cfg *daemon.Config) error {
	r := w.r
	if r.Cluster == nil {
		c, err := startCluster(ctx)
		if err != nil {
			return err
		}
		r.Cluster, r.ownCluster = c, true
	}
	r.scenarios++
	ns := fmt.Sprintf("gated-scenario-%d", r.scenarios)
	if err := r.Cluster.PrepareNamespace(ctx, ns); err != nil {
		return err
	}
	a, err := scheduler.NewArgo(scheduler.Config{
		REST: r.Cluster.RESTConfig(), Namespaces: []string{ns}, Log: slog.New(slog.DiscardHandler),
		Policy: scheduler.Policy{MaxDeadline: 10 * time.Minute, MaxParallelism: 10},
	})
	if err != nil {
		return err
	}
	w.exec = newArgoExecutor(a)
	cfg.Executor.Kind = "argo"
	cfg.Executor.Argo.Namespace = ns
	return nil
}

func (w *world) startGated(ctx context.Context) error {
	log := w.r.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
		if os.Getenv("GATED_SCENARIO_LOG") != "" {
			log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
		}
	}
	d, err := daemon.New(ctx, w.cfg, daemon.Options{
		Executor: w.exec, Logger: log, GerritPassword: w.gerrit.Password(gerrittest.GatedUser), WebhookSecret: "scenario",
	})
	if err != nil {
		return err
	}
	runCtx, cancel := context.WithCancel(ctx)
	w.gated, w.cancel, w.done = d, cancel, make(chan error, 1)
	go func() { w.done <- d.Run(runCtx) }()
	return w.quiesce(ctx)
}

// stopGated stops gated the way kill -9 would, as far as its state is
// concerned: nothing more is committed, in-flight work is cut short.
func (w *world) stopGated() {
	if w.gated == nil {
		return
	}
	w.cancel()
	<-w.done
	w.gated.Close()
	w.gated = nil
}

func (w *world) close() {
	w.stopGated()
	if w.gerrit != nil {
		w.gerrit.Close()
	}
	os.RemoveAll(w.dir)
}

// feed hands gated the Gerrit events emitted since the last feed, in order,
// and reports whether there were any.
func (w *world) feed(ctx context.Context) (bool, error) {
	evs := w.gerrit.Events()
	fresh := evs[w.fed:]
	for _, e := range fresh {
		ev, err := gerrit.DecodeEvent(e.Webhook)
		if err != nil {
			return false, fmt.Errorf("decode the simulator's %s event: %w", e.Type, err)
		}
		if err := w.gated.Deliver(ctx, ev); err != nil {
			return false, err
		}
	}
	w.fed = len(evs)
	return len(fresh) > 0, nil
}

// quiesce waits until gated consumed every event and finished every
// action (including the events its own actions caused in Gerrit).
func (w *world) quiesce(ctx context.Context) error {
	timeout := w.r.Timeout
	if timeout == 0 {
		timeout = 60 * time.Second
	}
	deadline := time.Now().Add(timeout)
	for {
		more, err := w.feed(ctx)
		if err != nil {
			return err
		}
		// The executor hands its updates to gated: ask it first.
		if !more && w.exec.Undelivered() == 0 && w.gated.Idle() {
			if more, err = w.feed(ctx); err != nil || !more {
				return err
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("gated did not settle within %s", timeout)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Millisecond):
		}
	}
}

// settle runs the builds that are not held to their end, one at a time
// (under argo: waits until no build runs).
func (w *world) settle(ctx context.Context) error {
	if w.r.argo() {
		deadline := time.Now().Add(5 * time.Minute)
		for {
			if err := w.quiesce(ctx); err != nil {
				return err
			}
			if len(w.exec.Running()) == 0 && w.gated.Idle() {
				return nil
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("builds still running after 5 minutes")
			}
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(20 * time.Millisecond):
			}
		}
	}
	for {
		if err := w.quiesce(ctx); err != nil {
			return err
		}
		if !w.exec.Advance() {
			return nil
		}
	}
}

func (w *world) change(id string) (int, error) {
	n, ok := w.ids[id]
	if !ok {
		return 0, fmt.Errorf("no change %q was uploaded", id)
	}
	return n, nil
}

// gerritChange returns what the Gerrit simulator holds of a scenario's
// change.
func (w *world) gerritChange(id string) (gerrittest.ChangeState, error) {
	n, err := w.change(id)
	if err != nil {
		return gerrittest.ChangeState{}, err
	}
	return w.gerrit.Change(n)
}

func (w *world) changes(ids []string) ([]int, error) {
	var out []int
	for _, id := range ids {
		n, err := w.change(id)
		if err != nil {
			return nil, err
		}
		out = append(out, n)
	}
	return out, nil
}

func (w *world) step(ctx context.Context, st Step) error {
	var err error
	switch st.Kind {
	case "upload":
		err = w.upload(ctx, st.Upload)
	case "new-patchset":
		var n int
		if n, err = w.change(st.NewPatchset.Change); err == nil {
			_, err = w.gerrit.NewPatchset(ctx, gerrittest.Patchset{Change: n, Files: st.NewPatchset.Files})
		}
	case "approve":
		var n int
		if n, err = w.change(st.Change); err == nil {
			err = w.gerrit.Review(n, gerrittest.Review{Account: gerrittest.AliceUser, Labels: map[string]int{"Code-Review": 2, "Workflow": 1}})
		}
	case "review":
		err = w.review(st.Review)
	case "abandon", "restore":
		var n int
		if n, err = w.change(st.Change); err == nil {
			if st.Kind == "abandon" {
				err = w.gerrit.Abandon(n, gerrittest.AdminUser, "")
			} else {
				err = w.gerrit.Restore(n, gerrittest.AdminUser, "")
			}
		}
	case "push-branch":
		_, err = w.gerrit.PushBranch(ctx, gerrittest.Push{Project: st.PushBranch.Project, Branch: st.PushBranch.Branch, Files: st.PushBranch.Files})
	case "fail", "flaky":
		w.rules = append(w.rules, st)
		w.applyRules()
	case "hold", "release":
		if w.r.argo() {
			return fmt.Errorf("holding builds needs the simulated executor (--executor=sim)")
		}
		if st.Kind == "hold" {
			w.exec.Hold(st.Hold)
			break
		}
		n := 0
		if st.Release != "all" {
			n, err = w.change(st.Release)
		}
		if err == nil {
			w.exec.Release(n)
		}
	case "wait":
		return w.settle(ctx)
	case "restart-gated":
		w.stopGated()
		err = w.startGated(ctx)
	case "gerrit-fault":
		w.gerrit.InjectFault(gerrittest.Fault{Path: st.GerritFault.Path, Status: st.GerritFault.Status, Count: st.GerritFault.Count})
	case "expect":
		return w.expect(ctx, st)
	default:
		return fmt.Errorf("unknown step")
	}
	if err != nil {
		return err
	}
	return w.quiesce(ctx)
}

func (w *world) upload(ctx context.Context, u *Upload) error {
	if _, dup := w.ids[u.ID]; dup {
		return fmt.Errorf("change %q is uploaded twice", u.ID)
	}
	in := gerrittest.Upload{Project: u.Project, Branch: u.Branch, Files: u.Files, Topic: u.Topic, Message: u.Message, Subject: u.Message}
	if u.Message != "" {
		in.Subject, in.Message = firstLine(u.Message)
	}
	if u.Parent != "" {
		n, err := w.change(u.Parent)
		if err != nil {
			return err
		}
		in.Parent = n
	}
	deps, err := w.changes(u.DependsOn)
	if err != nil {
		return err
	}
	in.DependsOn = deps
	n, err := w.gerrit.Upload(ctx, in)
	if err != nil {
		return err
	}
	w.ids[u.ID], w.names[n] = n, u.ID
	w.applyRules()
	return nil
}

// applyRules hands the executor the fail and flaky rules whose changes are
// all uploaded.
func (w *world) applyRules() {
	var later []Step
	for _, st := range w.rules {
		if st.Fail != nil {
			n, err := w.change(st.Fail.Change)
			with, err2 := w.changes(st.Fail.With)
			if err != nil || err2 != nil {
				later = append(later, st)
				continue
			}
			w.exec.Fail(n, with)
			continue
		}
		n, err := w.change(st.Flaky.Change)
		if err != nil {
			later = append(later, st)
			continue
		}
		w.exec.Flaky(n, st.Flaky.Times)
	}
	w.rules = later
}

func firstLine(msg string) (string, string) {
	subject, body, _ := strings.Cut(msg, "\n")
	return subject, strings.TrimSpace(body)
}

// review votes as a second core reviewer (approve votes as the first), or
// as an administrator when a label is outside a core reviewer's range.
func (w *world) review(r *Review) error {
	n, err := w.change(r.Change)
	if err != nil {
		return err
	}
	account := gerrittest.BobUser
	for label := range r.Labels {
		if label != "Code-Review" && label != "Workflow" {
			account = gerrittest.AdminUser
		}
	}
	return w.gerrit.Review(n, gerrittest.Review{Account: account, Labels: r.Labels, Message: r.Message})
}

// report prints one expectation's outcome.
func (w *world) report(st Step, key string, err error) {
	out := w.out()
	if err != nil {
		w.failures++
		fmt.Fprintf(out, "FAIL %s:%d: %s: %v\n", w.s.File, st.Line, key, err)
		return
	}
	fmt.Fprintf(out, "ok   %s:%d: %s\n", w.s.File, st.Line, key)
}

func (w *world) ids2(nums []int) []string {
	out := make([]string, len(nums))
	for i, n := range nums {
		if id, ok := w.names[n]; ok {
			out[i] = id
		} else {
			out[i] = fmt.Sprint(n)
		}
	}
	return out
}

func (w *world) expect(ctx context.Context, st Step) error {
	e := st.Expect
	status, err := w.gated.Status(ctx)
	if err != nil {
		return err
	}
	for _, key := range e.Keys {
		w.report(st, key, w.check(key, e, status))
	}
	return nil
}

func (w *world) check(key string, e *Expect, status daemon.Status) error {
	switch key {
	case "merged":
		var got []string
		for _, n := range w.gerrit.MergeOrder() {
			if _, ok := w.names[n]; ok {
				got = append(got, w.names[n])
			}
		}
		return wanted(e.Merged, orEmpty(got), slices.Equal[[]string])
	case "not-merged":
		merged := w.gerrit.MergeOrder()
		var bad []string
		for _, id := range e.NotMerged {
			n, err := w.change(id)
			if err != nil {
				return err
			}
			if slices.Contains(merged, n) {
				bad = append(bad, id)
			}
		}
		if len(bad) > 0 {
			return fmt.Errorf("wanted none of %v merged, got %v merged", e.NotMerged, bad)
		}
		return nil
	case "queue":
		for pipeline, want := range e.Queue {
			if err := w.checkQueue(status, pipeline, want); err != nil {
				return err
			}
		}
		return nil
	case "running":
		var got [][]string
		for _, b := range w.exec.Running() {
			got = append(got, w.ids2(b.Changes))
		}
		return wanted(e.Running, got, sameSets)
	case "builds-started":
		started, _ := w.exec.Counts()
		return wanted(*e.BuildsStarted, started, func(a, b int) bool { return a == b })
	case "builds-cancelled":
		_, cancelled := w.exec.Counts()
		return wanted(*e.BuildsCancelled, cancelled, func(a, b int) bool { return a == b })
	case "votes":
		for _, id := range sortedKeys(e.Votes) {
			c, err := w.gerritChange(id)
			if err != nil {
				return err
			}
			for _, label := range sortedKeys(e.Votes[id]) {
				want, got := e.Votes[id][label], c.Votes[gerrittest.GatedUser][label]
				if want != got {
					return fmt.Errorf("wanted %s %s%+d by gated, got %+d", id, label, want, got)
				}
			}
		}
		return nil
	case "comment-contains":
		for _, id := range sortedKeys(e.CommentContains) {
			c, err := w.gerritChange(id)
			if err != nil {
				return err
			}
			want := strings.ToLower(e.CommentContains[id])
			found := false
			var seen []string
			for _, m := range c.Messages {
				if m.Author == gerrittest.GatedUser {
					seen = append(seen, m.Text)
					found = found || strings.Contains(strings.ToLower(m.Text), want)
				}
			}
			if !found {
				return fmt.Errorf("wanted a comment by gated on %s containing %q, got %q", id, e.CommentContains[id], seen)
			}
		}
		return nil
	case "window":
		for _, pipeline := range sortedKeys(e.Window) {
			got, err := windowOf(status, pipeline)
			if err != nil {
				return err
			}
			if got != e.Window[pipeline] {
				return fmt.Errorf("wanted window %d in %s, got %d", e.Window[pipeline], pipeline, got)
			}
		}
		return nil
	}
	return fmt.Errorf("unknown expectation")
}

func wanted[T any](want, got T, equal func(T, T) bool) error {
	if equal(want, got) {
		return nil
	}
	return fmt.Errorf("wanted %v, got %v", want, got)
}

func sameSets(a, b [][]string) bool {
	key := func(s [][]string) []string {
		var out []string
		for _, x := range s {
			out = append(out, strings.Join(x, ","))
		}
		sort.Strings(out)
		return out
	}
	return slices.Equal(key(a), key(b))
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// checkQueue compares a pipeline's items with want: the same changes, and
// within each change queue in the same order (head first).
func (w *world) checkQueue(status daemon.Status, pipeline string, want []string) error {
	p, ok := pipelineOf(status, pipeline)
	if !ok {
		return fmt.Errorf("no pipeline %q", pipeline)
	}
	var all []string
	var perQueue [][]string
	for _, q := range p.Queues {
		var ids []string
		for _, it := range q.Items {
			ids = append(ids, w.ids2([]int{it.Change.Number})[0])
		}
		all = append(all, ids...)
		perQueue = append(perQueue, ids)
	}
	describe := fmt.Sprint(perQueue)
	if !slices.Equal(sorted(all), sorted(want)) {
		return fmt.Errorf("wanted %s: %v, got %s", pipeline, want, describe)
	}
	for _, ids := range perQueue {
		var inWant []string
		for _, id := range want {
			if slices.Contains(ids, id) {
				inWant = append(inWant, id)
			}
		}
		if !slices.Equal(inWant, ids) {
			return fmt.Errorf("wanted %s: %v, got %s (order within a change queue differs)", pipeline, want, describe)
		}
	}
	return nil
}

// pipelineOf finds a pipeline in a status.
func pipelineOf(status daemon.Status, name string) (daemon.PipelineStatus, bool) {
	for _, p := range status.Pipelines {
		if p.Name == name {
			return p, true
		}
	}
	return daemon.PipelineStatus{}, false
}

func sorted(s []string) []string {
	s = slices.Clone(s)
	sort.Strings(s)
	return s
}

// windowOf is the window of a pipeline's change queue: the one queue, or
// the one common to all of them.
func windowOf(status daemon.Status, pipeline string) (int, error) {
	p, ok := pipelineOf(status, pipeline)
	switch {
	case !ok:
		return 0, fmt.Errorf("no pipeline %q", pipeline)
	case len(p.Queues) == 0:
		return 0, errors.New("the pipeline has no change queue yet")
	}
	w := p.Queues[0].Window
	for _, q := range p.Queues[1:] {
		if q.Window != w {
			return 0, fmt.Errorf("the pipeline's change queues have different windows")
		}
	}
	return w, nil
}
