package scheduler

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"sigs.k8s.io/yaml"
)

// Sim is the simulated executor: builds that run nowhere and end as
// scripted. The demo runs it on a wall clock (every build takes Duration);
// the scenario runner drives it step by step (Advance), so that a scenario
// plays out the same way every time. Like Argo, it outlives the daemons that
// use it: a restarted daemon finds its builds with List and Run.
type Sim struct {
	opts SimOptions

	mu        sync.Mutex
	builds    map[string]*simBuild
	order     []string // names, in start order
	hold      bool
	script    Script
	started   int
	cancelled int
	queued    []Update // updates not yet handed to the sink
	wake      chan struct{}
}

// SimOptions configures a Sim.
type SimOptions struct {
	// Duration, if set, makes builds end on their own that long after they
	// start (the demo). Without it builds end only by Advance or Release.
	Duration func(Build) time.Duration
	// URL is the base of the builds' (fake) pages; without it builds have
	// no page of the executor's (gated shows its own).
	URL string
	// Now is the clock; default time.Now.
	Now func() time.Time
}

type simBuild struct {
	build  Build
	update Update
	held   bool
	due    time.Time
}

// NewSim returns a simulated executor.
func NewSim(opts SimOptions) *Sim {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Sim{opts: opts, builds: map[string]*simBuild{}, wake: make(chan struct{}, 1)}
}

// Start starts a build, or returns the build of that name if it exists.
// A build without a workflow definition fails as Argo's executor would not
// even submit it.
func (s *Sim) Start(_ context.Context, b Build) (Update, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	name := b.Name()
	if sb, ok := s.builds[name]; ok {
		return sb.update, nil
	}
	if err := simValidate(b.Workflow); err != nil {
		return Update{}, err
	}
	now := s.opts.Now()
	sb := &simBuild{build: b, held: s.hold, update: Update{
		Name: name, Namespace: b.Namespace, Pipeline: b.Pipeline, Item: b.Item, Attempt: b.Attempt, Part: b.Part,
		Phase: PhaseRunning, Started: now,
	}}
	if s.opts.URL != "" {
		sb.update.URL = s.opts.URL + "/builds/" + name
	}
	if s.opts.Duration != nil {
		sb.due = now.Add(s.opts.Duration(b))
	}
	s.builds[name] = sb
	s.order = append(s.order, name)
	s.started++
	s.emit(sb.update)
	return sb.update, nil
}

// Cancel stops a running build; stopping an unknown or finished build is
// not an error.
func (s *Sim) Cancel(_ context.Context, name string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	sb, ok := s.builds[name]
	if !ok || sb.update.Phase.Done() {
		return nil
	}
	s.cancelled++
	s.finish(sb, PhaseFailed, "Stopped with strategy 'Terminate'")
	return nil
}

// List returns every build.
func (s *Sim) List(context.Context) ([]Update, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Update
	for _, name := range s.order {
		out = append(out, s.builds[name].update)
	}
	return out, nil
}

// Run hands updates to sink until ctx ends, starting with the state of
// every build (as an informer's first list does), and ends builds when
// their duration is up.
func (s *Sim) Run(ctx context.Context, sink func(Update)) error {
	s.mu.Lock()
	s.queued = nil
	for _, name := range s.order {
		s.queued = append(s.queued, s.builds[name].update)
	}
	s.mu.Unlock()
	for {
		s.mu.Lock()
		if len(s.queued) > 0 {
			u := s.queued[0]
			s.mu.Unlock()
			sink(u)
			s.mu.Lock()
			s.queued = s.queued[1:]
			s.mu.Unlock()
			continue
		}
		wait := s.dueLocked()
		s.mu.Unlock()
		timer := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			timer.Stop()
			return nil
		case <-s.wake:
		case <-timer.C:
		}
		timer.Stop()
	}
}

// dueLocked ends the builds whose time is up and returns how long until the
// next one is.
func (s *Sim) dueLocked() time.Duration {
	next := time.Hour
	now := s.opts.Now()
	for _, name := range s.order {
		sb := s.builds[name]
		if sb.update.Phase.Done() || sb.held || sb.due.IsZero() {
			continue
		}
		if d := sb.due.Sub(now); d <= 0 {
			s.complete(sb)
		} else if d < next {
			next = d
		}
	}
	return next
}

func (s *Sim) emit(u Update) {
	s.queued = append(s.queued, u)
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

func (s *Sim) finish(sb *simBuild, phase Phase, msg string) {
	sb.update.Phase = phase
	sb.update.Message = msg
	sb.update.Finished = s.opts.Now()
	if phase == PhaseFailed {
		sb.update.FailedNode = "test"
	}
	s.emit(sb.update)
}

// SimulateAnnotation, set to "fail" on a workflow's metadata, makes the
// simulated executor fail its builds: a change that sets it is a change
// that breaks its own build (used by the demo and the crash test, where the
// executor runs in another process than the test).
const SimulateAnnotation = "gated.dev/simulate"

// complete ends a build with its scripted result.
func (s *Sim) complete(sb *simBuild) {
	b := sb.build
	if simAnnotation(b.Workflow) == "fail" {
		s.finish(sb, PhaseFailed, fmt.Sprintf("step test failed: the workflow asks to fail (%s)", SimulateAnnotation))
		return
	}
	if fail, msg := s.script.Outcome(b); fail {
		s.finish(sb, PhaseFailed, msg)
		return
	}
	s.finish(sb, PhaseSucceeded, "")
}

// simValidate checks what a simulated build can check of a workflow
// definition: that it exists, is YAML, and is an Argo Workflow.
func simValidate(wf []byte) error {
	if wf == nil {
		return &DefinitionError{Kind: "missing", Message: "the workflow definition file does not exist at the speculative state"}
	}
	var doc struct {
		APIVersion string `json:"apiVersion"`
		Kind       string `json:"kind"`
	}
	if err := yaml.Unmarshal(wf, &doc); err != nil {
		return &DefinitionError{Kind: "yaml", Message: "the workflow definition is not valid YAML: " + err.Error()}
	}
	if doc.Kind != "Workflow" || !strings.HasPrefix(doc.APIVersion, "argoproj.io/") {
		return &DefinitionError{Kind: "validation", Message: fmt.Sprintf("the workflow definition is not an Argo Workflow (apiVersion %q, kind %q)", doc.APIVersion, doc.Kind)}
	}
	return nil
}

func simAnnotation(wf []byte) string {
	var doc struct {
		Metadata struct {
			Annotations map[string]string `json:"annotations"`
		} `json:"metadata"`
	}
	if yaml.Unmarshal(wf, &doc) != nil {
		return ""
	}
	return doc.Metadata.Annotations[SimulateAnnotation]
}

// Fail makes every build of change's item fail from now on, or only those
// whose state contains every change in with.
func (s *Sim) Fail(change int, with []int) { s.script.Fail(change, with) }

// Flaky makes the next times builds of change's item fail, then pass.
func (s *Sim) Flaky(change, times int) { s.script.Flaky(change, times) }

// Hold makes builds started from now on wait for a Release (or not).
func (s *Sim) Hold(hold bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.hold = hold
}

// Release ends the held builds of change's item (all held builds if change
// is 0) with their scripted results, oldest first.
func (s *Sim) Release(change int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, name := range s.order {
		sb := s.builds[name]
		if sb.held && !sb.update.Phase.Done() && (change == 0 || sb.build.Change == change) {
			sb.held = false
			s.complete(sb)
		}
	}
}

// Advance ends the oldest running build that is not held, with its scripted
// result, and reports whether there was one.
func (s *Sim) Advance() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, name := range s.order {
		sb := s.builds[name]
		if !sb.held && !sb.update.Phase.Done() {
			s.complete(sb)
			return true
		}
	}
	return false
}

// Running returns the builds running now (held or not), oldest first.
func (s *Sim) Running() []Build {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Build
	for _, name := range s.order {
		if sb := s.builds[name]; !sb.update.Phase.Done() {
			out = append(out, sb.build)
		}
	}
	return out
}

// Started returns every build started so far, in start order.
func (s *Sim) Started() []Build {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Build, 0, len(s.order))
	for _, name := range s.order {
		out = append(out, s.builds[name].build)
	}
	return out
}

// Counts returns how many builds were started and cancelled so far.
func (s *Sim) Counts() (started, cancelled int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.started, s.cancelled
}

// Undelivered is how many updates wait for the sink.
func (s *Sim) Undelivered() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.queued)
}
