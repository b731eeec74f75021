package scenarios

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync/atomic"
	"time"

	"gated.dev/gated/daemon"
	"gated.dev/gated/gerrit/gerrittest"
	"gated.dev/gated/scheduler"
)

// world is one running scenario.
type world struct {
	r      *Runner
	s      *Scenario
	dir    string
	gerrit *gerrittest.Server
	front  *front // gated's HTTP address, for the admin steps
	exec   executor
	cfg    daemon.Config
	gated  *daemon.Daemon
	cancel context.CancelFunc
	done   chan error
	ids    map[string]int // scenario id → change number
	names  map[int]string
	pushes map[string]string // push-branch id → the commit it pushed
	// clock is how far gated's clock is ahead of the wall clock (advance).
	clock    atomic.Int64
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
	w := &world{r: r, s: s, dir: dir, ids: map[string]int{}, names: map[int]string{}, pushes: map[string]string{}}
	// The simulator merges as the Gerrit gated is configured for.
	var site daemon.Config
	if s.Config != nil {
		daemon.DecodeFragment(s.Config, &site) // a bad fragment is reported below
	}
	opts := gerrittest.Options{Dir: filepath.Join(dir, "gerrit"), NoSSH: true, UseGitattributesForMerge: site.Gerrit.UseGitattributesForMerge}
	if w.gerrit, err = gerrittest.New(opts); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	cfg := daemon.Defaults()
	if w.front, cfg.Admin.TokenFile, err = startFront(dir); err != nil {
		w.close()
		return nil, err
	}
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
		pc := daemon.ProjectYAML{Queue: p.Queue, SubmitType: p.SubmitType}
		if p.Config != nil {
			if err := daemon.DecodeFragment(p.Config, &pc); err != nil {
				w.close()
				return nil, fmt.Errorf("project %s: config: %w", p.Name, err)
			}
		}
		cfg.Projects[p.Name] = pc
	}
	if s.Config != nil {
		runner := cfg // what the runner owns, whatever the fragment says
		if err := daemon.DecodeFragment(s.Config, &cfg); err != nil {
			w.close()
			return nil, fmt.Errorf("config: %w", err)
		}
		cfg.DataDir, cfg.Listen, cfg.PublicURL, cfg.Gerrit.URL, cfg.Projects = runner.DataDir, runner.Listen, runner.PublicURL, runner.Gerrit.URL, runner.Projects
	}
	if err := daemon.ValidateFragment(cfg); err != nil {
		w.close()
		return nil, fmt.Errorf("config: %w", err)
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
		Now: func() time.Time { return time.Now().Add(time.Duration(w.clock.Load())) },
	})
	if err != nil {
		return err
	}
	runCtx, cancel := context.WithCancel(ctx)
	w.gated, w.cancel, w.done = d, cancel, make(chan error, 1)
	w.front.serve(d.Handler())
	go func() { w.done <- d.Run(runCtx) }()
	return w.quiesce(ctx)
}

// stopGated stops gated the way kill -9 would, as far as its state is
// concerned: nothing more is committed, in-flight work is cut short.
func (w *world) stopGated() {
	if w.gated == nil {
		return
	}
	w.front.serve(nil)
	w.cancel()
	<-w.done
	w.gated.Close()
	w.gated = nil
}

func (w *world) close() {
	w.stopGated()
	if w.front != nil {
		w.front.close()
	}
	if w.gerrit != nil {
		w.gerrit.Close()
	}
	os.RemoveAll(w.dir)
}
