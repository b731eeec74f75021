package scenarios

import (
	"context"
	"fmt"
	"sync"

	"sigs.k8s.io/yaml"

	"gated.dev/gated/deploy/devcluster"
	"gated.dev/gated/scheduler"
)

// argoExecutor runs a scenario's builds as real Argo Workflows on the
// development cluster, and plays the scenario's fail and flaky steps by
// asking the cluster's fake kubelet to exit 1 in the builds they concern.
// Time is real: builds run for a moment and end on their own, so a scenario
// that holds builds needs the simulated executor.
type argoExecutor struct {
	*scheduler.Argo
	scheduler.Script

	mu        sync.Mutex
	started   map[string]bool
	order     []scheduler.Build // started builds, in start order
	running   map[string]scheduler.Build
	cancelled int
}

func newArgoExecutor(a *scheduler.Argo) *argoExecutor {
	return &argoExecutor{Argo: a, started: map[string]bool{}, running: map[string]scheduler.Build{}}
}

func (e *argoExecutor) Start(ctx context.Context, b scheduler.Build) (scheduler.Update, error) {
	name := b.Name()
	e.mu.Lock()
	first := !e.started[name]
	e.mu.Unlock()
	if first {
		fail, _ := e.Outcome(b)
		if wf, err := annotate(b.Workflow, fail); err == nil {
			b.Workflow = wf
		}
	}
	u, err := e.Argo.Start(ctx, b)
	if err == nil {
		e.mu.Lock()
		if !e.started[name] {
			e.started[name] = true
			e.running[name] = b
			e.order = append(e.order, b)
		}
		e.mu.Unlock()
	}
	return u, err
}

// annotate asks the cluster's fake kubelet to run every pod of the
// workflow briefly, and to exit 1 when the build must fail. A workflow it
// cannot read is left as it is, for the executor to refuse.
func annotate(wf []byte, fail bool) ([]byte, error) {
	var doc map[string]any
	if err := yaml.Unmarshal(wf, &doc); err != nil {
		return nil, err
	}
	spec, _ := doc["spec"].(map[string]any)
	templates, _ := spec["templates"].([]any)
	for _, t := range templates {
		tm, ok := t.(map[string]any)
		if !ok {
			continue
		}
		meta, _ := tm["metadata"].(map[string]any)
		if meta == nil {
			meta = map[string]any{}
			tm["metadata"] = meta
		}
		ann, _ := meta["annotations"].(map[string]any)
		if ann == nil {
			ann = map[string]any{}
			meta["annotations"] = ann
		}
		ann[devcluster.AnnotationDuration] = "300ms"
		if fail {
			ann[devcluster.AnnotationExitCode] = "1"
		}
	}
	return yaml.Marshal(doc)
}

func (e *argoExecutor) Cancel(ctx context.Context, name string) error {
	e.mu.Lock()
	if _, ok := e.running[name]; ok {
		delete(e.running, name)
		e.cancelled++
	}
	e.mu.Unlock()
	return e.Argo.Cancel(ctx, name)
}

func (e *argoExecutor) Run(ctx context.Context, sink func(scheduler.Update)) error {
	return e.Argo.Run(ctx, func(u scheduler.Update) {
		if u.Phase.Done() {
			e.mu.Lock()
			delete(e.running, u.Name)
			e.mu.Unlock()
		}
		sink(u)
	})
}

func (e *argoExecutor) Running() []scheduler.Build {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []scheduler.Build
	for _, b := range e.running {
		out = append(out, b)
	}
	return out
}

func (e *argoExecutor) Started() []scheduler.Build {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]scheduler.Build(nil), e.order...)
}

func (e *argoExecutor) Counts() (started, cancelled int) {
	e.mu.Lock()
	defer e.mu.Unlock()
	return len(e.started), e.cancelled
}

// The steps of virtual time do not exist on a real cluster.
func (e *argoExecutor) Hold(bool)        {}
func (e *argoExecutor) Release(int)      {}
func (e *argoExecutor) Advance() bool    { return false }
func (e *argoExecutor) Undelivered() int { return 0 }

// startCluster builds (if needed) and starts the development cluster.
func startCluster(ctx context.Context) (*devcluster.Cluster, error) {
	bins, err := devcluster.Build(ctx, devcluster.BuildOptions{})
	if err != nil {
		return nil, fmt.Errorf("build the development cluster: %w", err)
	}
	return devcluster.Start(ctx, devcluster.Options{Binaries: bins})
}
