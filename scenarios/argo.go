package scenarios

import (
	"context"
	"fmt"
	"sync"

	wfclientset "github.com/argoproj/argo-workflows/v3/pkg/client/clientset/versioned"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/yaml"

	"gated.dev/gated/deploy/devcluster"
	"gated.dev/gated/scheduler"
)

// argoExecutor runs a scenario's builds as real Argo Workflows on the
// development cluster, and plays the scenario's fail and flaky steps by
// asking the cluster's fake kubelet to exit 1 in the builds they concern.
// Time is real: builds run for a moment and end on their own, unless held:
// a build started while the scenario holds builds is submitted suspended
// (spec.suspend, as `argo suspend` sets it), so the controller starts none
// of its pods until the scenario releases it (`argo resume`).
type argoExecutor struct {
	*scheduler.Argo
	scheduler.Script
	workflows wfclientset.Interface

	mu        sync.Mutex
	hold      bool
	held      map[string]scheduler.Build // suspended builds, by name
	started   map[string]bool
	order     []scheduler.Build // started builds, in start order
	running   map[string]scheduler.Build
	cancelled int
}

func newArgoExecutor(a *scheduler.Argo, rc *rest.Config) (*argoExecutor, error) {
	wf, err := wfclientset.NewForConfig(rc)
	if err != nil {
		return nil, err
	}
	return &argoExecutor{Argo: a, workflows: wf, held: map[string]scheduler.Build{}, started: map[string]bool{}, running: map[string]scheduler.Build{}}, nil
}

func (e *argoExecutor) Start(ctx context.Context, b scheduler.Build) (scheduler.Update, error) {
	name := b.Name()
	e.mu.Lock()
	first, hold := !e.started[name], e.hold
	e.mu.Unlock()
	if first {
		fail, _ := e.Outcome(b)
		if wf, err := annotate(b.Workflow, fail, hold); err == nil {
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
			if hold {
				e.held[name] = b
			}
		}
		e.mu.Unlock()
	}
	return u, err
}

// annotate asks the cluster's fake kubelet to run every pod of the
// workflow briefly, and to exit 1 when the build must fail; a held build
// is submitted suspended. A workflow it cannot read is left as it is, for
// the executor to refuse.
func annotate(wf []byte, fail, hold bool) ([]byte, error) {
	var doc map[string]any
	if err := yaml.Unmarshal(wf, &doc); err != nil {
		return nil, err
	}
	spec, _ := doc["spec"].(map[string]any)
	if hold && spec != nil {
		spec["suspend"] = true
	}
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

// Cancel stops a build; a held one is resumed first, since the controller
// does not act on a suspended workflow's shutdown.
func (e *argoExecutor) Cancel(ctx context.Context, name string) error {
	e.mu.Lock()
	if _, ok := e.running[name]; ok {
		delete(e.running, name)
		e.cancelled++
	}
	_, held := e.held[name]
	e.mu.Unlock()
	if held {
		if err := e.resume(ctx, name); err != nil {
			return err
		}
	}
	return e.Argo.Cancel(ctx, name)
}

// Hold makes builds started from now on wait, suspended, for a Release.
func (e *argoExecutor) Hold(hold bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.hold = hold
}

// Release resumes the held builds of change's item (all if change is 0),
// oldest first.
func (e *argoExecutor) Release(ctx context.Context, change int) error {
	e.mu.Lock()
	var names []string
	for _, b := range e.order {
		if _, ok := e.held[b.Name()]; ok && (change == 0 || b.Change == change) {
			names = append(names, b.Name())
		}
	}
	e.mu.Unlock()
	for _, name := range names {
		if err := e.resume(ctx, name); err != nil {
			return err
		}
	}
	return nil
}

// heldCount is how many builds are held.
func (e *argoExecutor) heldCount() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return len(e.held)
}

// resume clears a held workflow's spec.suspend, as `argo resume` does.
func (e *argoExecutor) resume(ctx context.Context, name string) error {
	e.mu.Lock()
	b, ok := e.held[name]
	delete(e.held, name)
	e.mu.Unlock()
	if !ok {
		return nil
	}
	patch := []byte(`{"spec":{"suspend":null}}`)
	_, err := e.workflows.ArgoprojV1alpha1().Workflows(b.Namespace).Patch(ctx, name, types.MergePatchType, patch, metav1.PatchOptions{})
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("resume workflow %s: %w", name, err)
	}
	return nil
}

func (e *argoExecutor) Run(ctx context.Context, sink func(scheduler.Update)) error {
	return e.Argo.Run(ctx, func(u scheduler.Update) {
		// gated counts the update as work before the build stops counting
		// as running: settle never sees neither.
		sink(u)
		if u.Phase.Done() {
			e.mu.Lock()
			delete(e.running, u.Name)
			e.mu.Unlock()
		}
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
