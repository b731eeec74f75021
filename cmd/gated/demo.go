package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"time"

	"gated.dev/gated/daemon"
	"gated.dev/gated/deploy/devcluster"
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

// demoWorkflow is the demo projects' build. The devcluster annotation
// makes its pod run a few seconds on the development cluster's fake
// kubelet; on a real cluster it means nothing.
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
      metadata:
        annotations: {devcluster.gated.dev/duration: 6s}
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
	if *executor != "sim" && *executor != "argo" {
		fmt.Fprintln(os.Stderr, "gated demo: -executor is sim or argo")
		return 2
	}
	level := slog.LevelInfo
	if *debug {
		level = slog.LevelDebug
	}
	log := logger(level)
	if err := runDemo(ctx, log, demoOptions{listen: *listen, every: *every, build: *build, argo: *executor == "argo"}); err != nil {
		log.Error("demo stopped", "error", err)
		return 1
	}
	return 0
}

// demoOptions say how the demo runs.
type demoOptions struct {
	listen string
	// every is how often a change is uploaded and approved; build the
	// mean build duration; argo runs builds on the development cluster.
	every, build time.Duration
	argo         bool
	// ready, if set, is called once gated serves, with its URL and its
	// admin token file.
	ready func(url, tokenFile string)
}

func runDemo(ctx context.Context, log *slog.Logger, o demoOptions) error {
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
	cfg.Listen = o.listen
	cfg.Gerrit.URL = sim.URL()
	cfg.Gerrit.ReconcileInterval = daemon.Duration(time.Minute)
	cfg.Executor.Kind = "sim"
	cfg.Admin.TokenFile = filepath.Join(dir, "admin-tokens")
	if err := os.WriteFile(cfg.Admin.TokenFile, []byte(fmt.Sprintf("demo demo-%016x%016x\n", rand.Uint64(), rand.Uint64())), 0o600); err != nil {
		return err
	}
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
	var exec daemon.Executor = scheduler.NewSim(scheduler.SimOptions{
		Duration: func(scheduler.Build) time.Duration {
			return o.build/2 + time.Duration(rand.Int64N(int64(o.build)))
		},
	})
	if o.argo {
		a, stop, err := demoCluster(ctx, log)
		if err != nil {
			return err
		}
		defer stop()
		exec = a
		cfg.Executor.Kind = "argo"
		cfg.Executor.Argo.Namespace = demoNamespace
	}
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
	fmt.Printf("\ngated demo: status page at http://%s/ (Gerrit simulator at %s). Ctrl-C stops.\n", addr, sim.URL())
	fmt.Printf("gated demo: act as an administrator with\n  gated admin dequeue|enqueue|promote -url http://%s -token-file %s CHANGE...\n  gated admin explain -url http://%s CHANGE\n\n", addr, cfg.Admin.TokenFile, addr)
	if o.ready != nil {
		o.ready("http://"+addr, cfg.Admin.TokenFile)
	}
	go stream(ctx, log, sim, o.every)
	return <-errc
}

const demoNamespace = "gated-demo"

// demoCluster starts the development cluster (deploy/devcluster), building
// its binaries first if they are not cached, and an Argo executor on it.
func demoCluster(ctx context.Context, log *slog.Logger) (*scheduler.Argo, func(), error) {
	fmt.Println("gated demo: starting the development cluster (its binaries are built first if not cached: about 15 minutes on 2 cores)")
	bins, err := devcluster.Build(ctx, devcluster.BuildOptions{Log: os.Stderr})
	if err != nil {
		return nil, nil, err
	}
	c, err := devcluster.Start(ctx, devcluster.Options{Binaries: bins})
	if err != nil {
		return nil, nil, err
	}
	stop := func() { c.Stop() }
	if err := c.PrepareNamespace(ctx, demoNamespace); err != nil {
		stop()
		return nil, nil, err
	}
	a, err := scheduler.NewArgo(scheduler.Config{
		REST: c.RESTConfig(), Namespaces: []string{demoNamespace}, Log: log.With("component", "argo"),
		Policy: scheduler.Policy{MaxDeadline: 15 * time.Minute, MaxParallelism: 10},
	})
	if err != nil {
		stop()
		return nil, nil, err
	}
	fmt.Printf("gated demo: builds run as Argo Workflows: KUBECONFIG=%s kubectl get workflows -n %s\n", c.Kubeconfig(), demoNamespace)
	return a, stop, nil
}

// badWorkflow is demoWorkflow asking to fail: gated.dev/simulate for the
// simulated executor, an exit code for the development cluster's kubelet.
var badWorkflow = strings.NewReplacer(
	"generateName: demo-\n", "generateName: demo-\n  annotations: {gated.dev/simulate: fail}\n",
	"{devcluster.gated.dev/duration: 6s}", `{devcluster.gated.dev/duration: 6s, devcluster.gated.dev/exit-code: "1"}`,
).Replace(demoWorkflow)

// stream uploads and approves changes, forever: most pass, some break
// their build (their workflow asks the executor to fail: both the
// simulated one and the development cluster's kubelet understand), some
// conflict with a change before them.
func stream(ctx context.Context, log *slog.Logger, sim *gerrittest.Server, every time.Duration) {
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
			in.Files = map[string]string{".pipeline/argo-workflow.yaml": badWorkflow, fmt.Sprintf("bad-%d.txt", i): "breaks the build\n"}
		}
		n, err := sim.Upload(ctx, in)
		if err != nil {
			log.Warn("demo: upload failed", "error", err)
			continue
		}
		if err := sim.Review(n, gerrittest.Review{Account: gerrittest.AliceUser, Labels: map[string]int{"Code-Review": 2, "Workflow": 1}}); err != nil {
			log.Warn("demo: approval failed", "change", n, "error", err)
		}
		log.Info("demo: uploaded and approved a change", "change", n, "project", p, "kind", kind)
	}
}
