package scenarios

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sync/atomic"
	"time"

	"go.yaml.in/yaml/v3"

	"gated.dev/gated/daemon"
	"gated.dev/gated/gerrit/gerrittest"
	"gated.dev/gated/queue"
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
	// cfg is gated's configuration, read from configFile; configured are
	// the scenario's projects in it (all, until a reload says otherwise);
	// namespace is the cluster namespace of the builds under argo.
	cfg        daemon.Config
	configFile string
	configured []string
	namespace  string
	gated      *daemon.Daemon
	cancel     context.CancelFunc
	done       chan error
	ids        map[string]int // scenario id → change number
	names      map[int]string
	pushes     map[string]string // push-branch id → the commit it pushed
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
	// The simulator merges as the Gerrit gated is configured for, and
	// submits a whole topic when the scenario says Gerrit does.
	var site daemon.Config
	if s.Config != nil {
		daemon.DecodeFragment(s.Config, &site) // a bad fragment is reported below
	}
	opts := gerrittest.Options{Dir: filepath.Join(dir, "gerrit"), NoSSH: true, UseGitattributesForMerge: site.Gerrit.UseGitattributesForMerge, SubmitWholeTopic: s.Gerrit.SubmitWholeTopic}
	if w.gerrit, err = gerrittest.New(opts); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	if err := w.setUp(ctx); err != nil {
		w.close()
		return nil, err
	}
	return w, nil
}

// setUp creates the scenario's projects on the simulator, chooses the
// executor and writes gated's configuration file, then starts gated.
func (w *world) setUp(ctx context.Context) error {
	s := w.s
	var err error
	if w.front, err = startFront(w.dir); err != nil {
		return err
	}
	for _, p := range s.Projects {
		files := map[string]string{}
		for k, v := range p.Files {
			files[k] = v
		}
		if _, ok := files[queue.DefaultWorkflow]; !ok {
			files[queue.DefaultWorkflow] = defaultWorkflow
		}
		if err := w.gerrit.CreateProject(ctx, gerrittest.Project{Name: p.Name, SubmitType: p.SubmitType, Files: files}); err != nil {
			return err
		}
		if p.Config != nil {
			if err := daemon.DecodeFragment(p.Config, &daemon.ProjectYAML{}); err != nil {
				return fmt.Errorf("project %s: config: %w", p.Name, err)
			}
		}
		w.configured = append(w.configured, p.Name)
	}
	if s.Config != nil {
		if err := daemon.DecodeFragment(s.Config, &daemon.Config{}); err != nil {
			return fmt.Errorf("config: %w", err)
		}
	}
	if w.r.argo() {
		if err := w.useArgo(ctx); err != nil {
			return err
		}
	} else {
		w.exec = simExecutor{scheduler.NewSim(scheduler.SimOptions{URL: "http://sim.invalid"})}
	}
	if err := w.configure(s.Config); err != nil {
		return fmt.Errorf("config: %w", err)
	}
	return w.startGated(ctx)
}

// configure writes gated's configuration file as a deployment would: the
// scenario's fragment, the configured projects with their settings, and
// what the runner owns (the data directory, Gerrit, the executor), then
// reads it back exactly as serve does.
func (w *world) configure(fragment []byte) error {
	doc := map[string]any{}
	if err := yaml.Unmarshal(fragment, &doc); err != nil {
		return err
	}
	section := func(m map[string]any, key string) map[string]any {
		sub, ok := m[key].(map[string]any)
		if !ok {
			sub = map[string]any{}
			m[key] = sub
		}
		return sub
	}
	password := filepath.Join(w.dir, "gerrit-password")
	if err := os.WriteFile(password, []byte(w.gerrit.Password(gerrittest.GatedUser)+"\n"), 0o600); err != nil {
		return err
	}
	doc["data-dir"], doc["listen"] = filepath.Join(w.dir, "gated"), "127.0.0.1:0"
	delete(doc, "public-url")
	g := section(doc, "gerrit")
	g["url"], g["password-file"] = w.gerrit.URL(), password
	delete(g, "password-env")
	if _, ok := g["reconcile-interval"]; !ok {
		g["reconcile-interval"] = "0s" // only at start: scenarios deliver every event
	}
	section(doc, "admin")["token-file"] = w.front.tokenFile
	ex := section(doc, "executor")
	ex["kind"] = "sim"
	if w.r.argo() {
		ex["kind"] = "argo"
		section(ex, "argo")["namespace"] = w.namespace
	}
	projects := map[string]any{}
	for _, p := range w.s.Projects {
		if !slices.Contains(w.configured, p.Name) {
			continue
		}
		pc := map[string]any{}
		if err := yaml.Unmarshal(p.Config, &pc); err != nil {
			return err
		}
		if p.Queue != "" {
			pc["queue"] = p.Queue
		}
		if p.SubmitType != "" {
			pc["submit-type"] = p.SubmitType
		}
		projects[p.Name] = pc
	}
	doc["projects"] = projects
	data, err := yaml.Marshal(doc)
	if err != nil {
		return err
	}
	w.configFile = filepath.Join(w.dir, "gated.yaml")
	if err := os.WriteFile(w.configFile, data, 0o600); err != nil {
		return err
	}
	w.cfg, err = daemon.LoadConfig(w.configFile)
	return err
}

// useArgo gives the scenario a namespace of the development cluster and an
// Argo executor in it.
func (w *world) useArgo(ctx context.Context) error {
	r := w.r
	if r.Cluster == nil {
		c, err := startCluster(ctx)
		if err != nil {
			return err
		}
		r.Cluster, r.ownCluster = c, true
	}
	r.scenarios++
	w.namespace = fmt.Sprintf("gated-scenario-%d", r.scenarios)
	if err := r.Cluster.PrepareNamespace(ctx, w.namespace); err != nil {
		return err
	}
	a, err := scheduler.NewArgo(scheduler.Config{
		REST: r.Cluster.RESTConfig(), Namespaces: []string{w.namespace}, Log: slog.New(slog.DiscardHandler),
		Policy: scheduler.Policy{MaxDeadline: 10 * time.Minute, MaxParallelism: 10},
	})
	if err != nil {
		return err
	}
	w.exec, err = newArgoExecutor(a, r.Cluster.RESTConfig())
	return err
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
		Executor: w.exec, Logger: log, WebhookSecret: "scenario", ConfigFile: w.configFile,
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
