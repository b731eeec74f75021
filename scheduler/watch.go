package scheduler

import (
	"context"
	"fmt"
	"sync"
	"time"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/tools/cache"
)

// change is what the informers hand to Run's loop.
type change struct {
	wf      *wfv1.Workflow
	deleted bool
}

// Run watches every gated workflow and calls sink, from one goroutine, with
// the state of each when it starts and then whenever a workflow's phase
// (or its message) changes, until ctx ends. One informer per namespace
// (one in all when Config.Namespaces is empty) lists and watches with the
// label selector. When a watch breaks, the informer watches again from
// the last resource version it saw; when that version has expired (the
// API server restarted, etcd compacted its history) it lists again, and
// the changes it missed are delivered from the difference with its cache,
// so no completion is lost. A workflow deleted before it finished is
// reported as an Error. With a retention period, Run also deletes
// forgotten workflows (Collect).
func (a *Argo) Run(ctx context.Context, sink func(Update)) error {
	ctx, cancel := context.WithCancel(ctx)
	changes := make(chan change, 256)
	send := func(c change) {
		select {
		case changes <- c:
		case <-ctx.Done():
		}
	}
	var informers []cache.SharedIndexInformer
	var wg sync.WaitGroup
	defer func() {
		cancel() // first: unblocks handlers stuck in send, stops the informers
		wg.Wait()
	}()
	for _, ns := range a.namespaces() {
		inf := cache.NewSharedIndexInformer(a.listWatch(ns), &wfv1.Workflow{}, 0, cache.Indexers{})
		if err := inf.SetWatchErrorHandler(a.watchError(ctx, ns)); err != nil {
			return fmt.Errorf("watch workflows: %w", err)
		}
		_, err := inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
			AddFunc:    func(obj any) { send(change{wf: asWorkflow(obj)}) },
			UpdateFunc: func(_, obj any) { send(change{wf: asWorkflow(obj)}) },
			DeleteFunc: func(obj any) { send(change{wf: asWorkflow(obj), deleted: true}) },
		})
		if err != nil {
			return fmt.Errorf("watch workflows: %w", err)
		}
		informers = append(informers, inf)
	}
	for _, inf := range informers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			inf.RunWithContext(ctx)
		}()
	}
	var gc <-chan time.Time
	if a.cfg.Retention > 0 {
		t := time.NewTicker(min(max(a.cfg.Retention/4, time.Minute), 10*time.Minute))
		defer t.Stop()
		gc = t.C
	}
	last := map[string]Update{} // what sink was last told, by workflow name
	for {
		select {
		case <-ctx.Done():
			return nil
		case now := <-gc:
			if _, err := a.Collect(ctx, now); err != nil {
				a.log.Warn("cannot delete workflows past their retention; trying again later", "error", err)
			}
		case c := <-changes:
			if c.wf == nil {
				continue
			}
			a.deliver(ctx, c, last, sink)
		}
	}
}

// deliver tells sink about a change that matters.
func (a *Argo) deliver(ctx context.Context, c change, last map[string]Update, sink func(Update)) {
	name := c.wf.Name
	prev, seen := last[name]
	if c.deleted {
		delete(last, name)
		a.mu.Lock()
		delete(a.where, name)
		a.mu.Unlock()
		if seen && !prev.Phase.Done() {
			prev.Phase, prev.Message, prev.Finished = PhaseError, "the workflow was deleted before it finished", time.Now()
			a.log.Warn("workflow deleted before it finished; reporting an error", "workflow", name, "namespace", c.wf.Namespace)
			sink(prev)
		}
		return
	}
	a.remember(c.wf)
	u := a.toUpdate(c.wf)
	if seen && prev.Phase == u.Phase && prev.Message == u.Message && prev.FailedNode == u.FailedNode {
		return
	}
	if u.Phase.Done() {
		a.summarize(ctx, &u)
	}
	last[name] = u
	a.log.Debug("workflow changed", "workflow", name, "namespace", u.Namespace, "phase", u.Phase, "message", u.Message)
	sink(u)
}

// listWatch lists and watches the gated workflows of a namespace, and
// logs when a watch expires (the informer then lists again by itself).
// After each list it nudges the unfinished workflows (see nudge).
func (a *Argo) listWatch(namespace string) *cache.ListWatch {
	api := a.wf.ArgoprojV1alpha1()
	return &cache.ListWatch{
		ListWithContextFunc: func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
			o.LabelSelector = selector
			list, err := api.Workflows(namespace).List(ctx, o)
			if err == nil {
				a.nudge(ctx, namespace, list.Items)
			}
			return list, err
		},
		WatchFuncWithContext: func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
			o.LabelSelector = selector
			noteExpiry := func(err error) {
				if apierrors.IsResourceExpired(err) || apierrors.IsGone(err) {
					a.log.Info("watch of workflows expired; listing them again", "namespace", displayNamespace(namespace), "resource_version", o.ResourceVersion)
				}
			}
			w, err := api.Workflows(namespace).Watch(ctx, o)
			if err != nil {
				noteExpiry(err)
				return nil, err
			}
			return watch.Filter(w, func(ev watch.Event) (watch.Event, bool) {
				if ev.Type == watch.Error {
					noteExpiry(apierrors.FromObject(ev.Object))
				}
				return ev, true
			}), nil
		},
	}
}

// watchError logs why a watch of workflows broke; the informer lists and
// watches again by itself, with backoff.
func (a *Argo) watchError(ctx context.Context, namespace string) cache.WatchErrorHandler {
	return func(_ *cache.Reflector, err error) {
		if ctx.Err() != nil {
			return // Run is ending
		}
		a.log.Warn("watch of workflows failed; retrying with backoff", "namespace", displayNamespace(namespace), "error", err)
	}
}

func displayNamespace(ns string) string {
	if ns == metav1.NamespaceAll {
		return "(all)"
	}
	return ns
}

func asWorkflow(obj any) *wfv1.Workflow {
	if d, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = d.Obj
	}
	wf, _ := obj.(*wfv1.Workflow)
	return wf
}
