package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"time"

	"gated.dev/gated/daemon"
	"gated.dev/gated/gerrit/gerrittest"
	"gated.dev/gated/scheduler"
)

// The demo's projects: two sharing a change queue, one with a queue of its
// own.
var demoProjects = []struct{ name, queue string }{
	{"demo/lib", "integrated"},
	{"demo/app", "integrated"},
	{"demo/docs", ""},
}

const demoWorkflow = `apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata:
  generateName: demo-
spec:
  entrypoint: test
  activeDeadlineSeconds: 900
  arguments:
    parameters:
      - name: gated-git-url
      - name: gated-revision
  templates:
    - name: test
      inputs:
        artifacts:
          - name: source
            path: /src
            git:
              repo: "{{workflow.parameters.gated-git-url}}"
              revision: "{{workflow.parameters.gated-revision}}"
      container:
        image: golang:1.26
        workingDir: /src
        command: [go, test, ./...]
`

func demo(ctx context.Context, args []string) int {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	listen := fs.String("listen", "127.0.0.1:8080", "address of the status page")
	every := fs.Duration("every", 6*time.Second, "a new change is uploaded and approved this often")
	build := fs.Duration("build", 8*time.Second, "mean build duration of the simulated executor")
	executor := fs.String("executor", "sim", "sim (simulated builds); argo needs the local cluster of deploy/devcluster")
	debug := fs.Bool("debug", false, "log debug messages")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *executor != "sim" {
		fmt.Fprintln(os.Stderr, "gated demo: only the simulated executor is wired into the demo in this build; use -executor=sim")
		return 2
	}
	level := slog.LevelInfo
	if *debug {
		level = slog.LevelDebug
	}
	log := logger(level)
	if err := runDemo(ctx, log, *listen, *every, *build); err != nil {
		log.Error("demo stopped", "error", err)
		return 1
	}
	return 0
}

func runDemo(ctx context.Context, log *slog.Logger, listen string, every, build time.Duration) error {
	dir, err := os.MkdirTemp("", "gated-demo-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	sim, err := gerrittest.New(gerrittest.Options{Dir: filepath.Join(dir, "gerrit"), NoSSH: true, Logger: log.With("component", "gerritsim")})
	if err != nil {
		return err
	}
	defer sim.Close()
	cfg := daemon.Defaults()
	cfg.DataDir = filepath.Join(dir, "gated")
	cfg.Listen = listen
	cfg.Gerrit.URL = sim.URL()
	cfg.Gerrit.ReconcileInterval = daemon.Duration(time.Minute)
	cfg.Executor.Kind = "sim"
	cfg.Projects = map[string]daemon.ProjectYAML{}
	for _, p := range demoProjects {
		err := sim.CreateProject(ctx, gerrittest.Project{Name: p.name, Files: map[string]string{
			"README": "A project of gated's demo.\n", cfg.Executor.Argo.WorkflowFile: demoWorkflow,
		}})
		if err != nil {
			return err
		}
		cfg.Projects[p.name] = daemon.ProjectYAML{Queue: p.queue}
	}
	exec := scheduler.NewSim(scheduler.SimOptions{
		URL: "http://" + listen + "/sim",
		Duration: func(scheduler.Build) time.Duration {
			return build/2 + time.Duration(rand.Int64N(int64(build)))
		},
	})
	secret := fmt.Sprintf("demo-%d", rand.Int64())
	opts := daemon.Options{Executor: exec, Logger: log, GerritPassword: sim.Password(gerrittest.GatedUser), WebhookSecret: secret}
	started := make(chan string, 1)
	errc := make(chan error, 1)
	go func() { errc <- serveDaemon(ctx, cfg, opts, func(addr string) { started <- addr }) }()
	var addr string
	select {
	case addr = <-started:
	case err := <-errc:
		return err
	}
	sim.SetWebhook(gerrittest.Webhook{URL: "http://" + addr + "/gerrit/events", Secret: secret})
	fmt.Printf("\ngated demo: status page at http://%s/ (Gerrit simulator at %s). Ctrl-C stops.\n\n", addr, sim.URL())
	go stream(ctx, log, sim, exec, every)
	return <-errc
}

// stream uploads and approves changes, forever: most pass, some fail their
// build, some conflict with the change before them, some are stacked.
func stream(ctx context.Context, log *slog.Logger, sim *gerrittest.Server, exec *scheduler.Sim, every time.Duration) {
	tick := time.NewTicker(every)
	defer tick.Stop()
	for i := 1; ; i++ {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		p := demoProjects[rand.IntN(len(demoProjects))].name
		in := gerrittest.Upload{Project: p, Subject: fmt.Sprintf("Demo change %d", i)}
		kind := "good"
		switch r := rand.IntN(10); {
		case r == 0:
			kind = "conflicting"
			in.Files = map[string]string{"README": fmt.Sprintf("Rewritten by change %d.\n", i)}
		case r <= 2:
			kind = "bad"
		}
		n, err := sim.Upload(ctx, in)
		if err != nil {
			log.Warn("demo: upload failed", "error", err)
			continue
		}
		if kind == "bad" {
			exec.Fail(n, nil)
		}
		if err := sim.Review(n, gerrittest.Review{Account: gerrittest.AliceUser, Labels: map[string]int{"Code-Review": 2, "Workflow": 1}}); err != nil {
			log.Warn("demo: approval failed", "change", n, "error", err)
		}
		log.Info("demo: uploaded and approved a change", "change", n, "project", p, "kind", kind)
	}
}
