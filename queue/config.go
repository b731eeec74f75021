package queue

import (
	"errors"
	"fmt"
	"regexp"
)

// Manager is the kind of a pipeline.
type Manager string

// Pipeline managers, as in Zuul.
const (
	// Independent pipelines (check) test every change alone on its branch tip.
	Independent Manager = "independent"
	// Dependent pipelines (gate) test every change on the speculative state
	// of the changes ahead of it in its change queue, and submit in order.
	Dependent Manager = "dependent"
	// Supercedent pipelines (post, promote) keep one queue per project and
	// branch (or ref) with at most one item building and one waiting: a
	// newer item replaces the waiting one, never the one that builds.
	Supercedent Manager = "supercedent"
)

// Config is the engine's configuration: pipelines and projects.
type Config struct {
	Pipelines []PipelineConfig `json:"pipelines"`
	// Projects lists the projects gated acts on; events of other projects
	// are ignored.
	Projects map[string]ProjectConfig `json:"projects"`
	// Queues configure named change queues, as Zuul's queue objects do: a
	// project joins one by name (ProjectConfig.Queue). A queue named by
	// projects but not configured here is a plain shared queue.
	Queues []QueueConfig `json:"queues,omitempty"`
}

// QueueConfig configures a named change queue.
type QueueConfig struct {
	Name string `json:"name"`
	// AllowCircularDependencies lets a dependency cycle (changes that need
	// each other: Depends-On both ways, a relation chain and a Depends-On
	// back, or one topic) enter as one bundle: merged into one speculative
	// state, built once per project it touches, submitted together.
	// Without it such changes are refused, with the reason.
	AllowCircularDependencies bool `json:"allow_circular_dependencies,omitempty"`
	// DependenciesByTopic makes the open changes of one topic need each
	// other (one cycle), as Gerrit's change.submitWholeTopic does for every
	// queue. It needs AllowCircularDependencies.
	DependenciesByTopic bool `json:"dependencies_by_topic,omitempty"`
}

// ProjectConfig says how one project is gated.
type ProjectConfig struct {
	// Queue names a change queue shared with other projects; empty means a
	// queue of the project's own. Queues are per branch.
	Queue string `json:"queue,omitempty"`
	// SubmitType is the project's Gerrit submit type (MERGE_IF_NECESSARY,
	// FAST_FORWARD_ONLY, REBASE_IF_NECESSARY, REBASE_ALWAYS, MERGE_ALWAYS,
	// CHERRY_PICK); the merger builds speculative states the same way.
	SubmitType string `json:"submit_type,omitempty"`
	// Trusted projects' builds run the workflow of the branch, never the
	// one an unmerged change proposes (Zuul's config projects).
	Trusted bool `json:"trusted,omitempty"`
	// Workflow is the workflow file every pipeline runs; empty means
	// DefaultWorkflow.
	Workflow string `json:"workflow,omitempty"`
	// Workflows maps a pipeline to the workflow file it runs instead;
	// mapping it to "" means the project has no build (and no report)
	// there.
	Workflows map[string]string `json:"workflows,omitempty"`
	// Files and IrrelevantFiles are Zuul's file matchers, per pipeline:
	// regular expressions (anchored at the start) over the paths a change
	// or ref update changes. In independent and supercedent pipelines an
	// item none of whose files matches Files, or all of whose files match
	// IrrelevantFiles, gets no build.
	Files           map[string][]string `json:"files,omitempty"`
	IrrelevantFiles map[string][]string `json:"irrelevant_files,omitempty"`
	// Branches is a regular expression selecting the branches a timer
	// builds; empty means the project's default branch.
	Branches string `json:"branches,omitempty"`
}

// PipelineConfig configures one pipeline.
type PipelineConfig struct {
	Name    string  `json:"name"`
	Manager Manager `json:"manager"`
	// Triggers are the events that enqueue a change (any one suffices).
	Triggers []Trigger `json:"triggers"`
	// Require must all hold on the change for it to enter and to stay.
	Require []ApprovalFilter `json:"require,omitempty"`
	// Reject: if any holds, the change may not enter, and leaves.
	Reject []ApprovalFilter `json:"reject,omitempty"`
	// Window configures the active window of dependent change queues.
	Window WindowConfig `json:"window"`
	// Start is reported when an item enters the pipeline (nothing if empty).
	Start ReportConfig `json:"start"`
	// Success is reported when an item passes; Submit makes it a gate.
	Success ReportConfig `json:"success"`
	// Failure is reported when an item fails.
	Failure ReportConfig `json:"failure"`
	// Retries is how many times a failed build of an unchanged speculative
	// state is run again before the failure counts (flaky-build tolerance);
	// 0 is Zuul's behaviour.
	Retries int `json:"retries,omitempty"`
	// RetryCleared (dependent pipelines) runs a failed build again only
	// if its item's change is cleared: a build whose state included the
	// change passed, so the change is not bad and the failure was flaky
	// (or caused by an item ahead, whose own failure then resets this
	// one). Other failures count at once, as in Zuul, instead of delaying
	// the reset of the items behind. It needs Retries >= 1. See rules.md.
	RetryCleared bool `json:"retry_cleared,omitempty"`
	// ClearPasses (with RetryCleared) is how many passed builds whose
	// state included a change clear it; 0 and 1 mean one. When a build
	// containing a bad change passes sometimes (the bug is not always
	// caught), one lucky pass clears a bad change, its failures are
	// retried, and it merges more often; two passes make that rare. A
	// passed probe counts as one pass (and the change is not probed
	// again). See rules.md.
	ClearPasses int `json:"clear_passes,omitempty"`
	// Probe (dependent pipelines) is how many items beyond the window are
	// built alone on their branch tip while they wait: a probe that
	// passes clears the change; one that fails (after Retries) fails the
	// item, so that the items behind skip it. A probe is never submitted:
	// in the window, the item is built on the state ahead as usual. See
	// rules.md.
	Probe int `json:"probe,omitempty"`
	// ProbeGroup (with Probe) is how many waiting items one probe builds
	// together on the branch tip: group testing. A group that passes
	// clears every change in it for one build; one that fails (or does
	// not merge) says only that one of them is bad or the build was
	// flaky, so each of its items is then probed alone. 0 and 1 probe
	// every item alone. See rules.md.
	ProbeGroup int `json:"probe_group,omitempty"`
	// ParallelMerges (dependent pipelines) asks for an item's merge without
	// waiting for the merge of the item ahead, as Zuul sends each item's
	// chain to a merger independently. Every merge of a chain is pinned to
	// the same branch tips (those the engine last saw), so that the chain
	// is still built on one tip. See rules.md.
	ParallelMerges bool `json:"parallel_merges,omitempty"`
}

// Trigger matches a Gerrit event, or the clock.
type Trigger struct {
	// Event is a Gerrit event type (patchset-created, comment-added,
	// change-restored, change-merged, ref-updated, ...), "reconcile" for
	// a periodic re-query, or "timer" (with Time).
	Event string `json:"event"`
	// Ref (ref-updated) lists regular expressions of which the updated
	// ref's full name (refs/heads/master, refs/tags/v1.0) must match one.
	Ref []string `json:"ref,omitempty"`
	// Branch lists regular expressions of which the branch (of the change,
	// or of the updated ref) must match one.
	Branch []string `json:"branch,omitempty"`
	// Time (timer) is a cron schedule in UTC ("0 3 * * *"): when it fires,
	// every project's branches (ProjectConfig.Branches) are enqueued.
	Time string `json:"time,omitempty"`
	// Approvals must all be present among the event's approvals.
	Approvals []ApprovalFilter `json:"approvals,omitempty"`
	// Comment is a regular expression the event's comment must match.
	Comment string `json:"comment,omitempty"`
	// Username, if set, must equal the event author's username.
	Username string `json:"username,omitempty"`
}

// ApprovalFilter matches a vote: on Label, with one of Values, by Username
// if set.
type ApprovalFilter struct {
	Label    string `json:"label"`
	Values   []int  `json:"values"`
	Username string `json:"username,omitempty"`
}

// ReportConfig is what gated tells Gerrit: labels to vote and whether to
// submit.
type ReportConfig struct {
	Labels map[string]int `json:"labels,omitempty"`
	Submit bool           `json:"submit,omitempty"`
	// Message, if set, replaces the default first line of the report.
	Message string `json:"message,omitempty"`
}

// WindowConfig is the active window of a dependent change queue: only the
// first Size items are merged and built. Zuul's TCP-like defaults: 20, floor
// 3, +1 per merge, halved per failure.
type WindowConfig struct {
	Size           int    `json:"size"`
	Floor          int    `json:"floor"`
	Ceiling        int    `json:"ceiling,omitempty"` // 0: no ceiling
	IncreaseType   string `json:"increase_type"`     // linear | exponential
	IncreaseFactor int    `json:"increase_factor"`
	DecreaseType   string `json:"decrease_type"` // linear | exponential
	DecreaseFactor int    `json:"decrease_factor"`
}

// DefaultWindow returns Zuul's window defaults.
func DefaultWindow() WindowConfig {
	return WindowConfig{Size: 20, Floor: 3, IncreaseType: "linear", IncreaseFactor: 1, DecreaseType: "exponential", DecreaseFactor: 2}
}

// RecheckComment is Zuul's regular expression for a "recheck" comment.
const RecheckComment = `(?i)^(Patch Set [0-9]+:)?( [\w\\+-]*)*(\n\n)?\s*recheck`

// DefaultPipelines returns the usual check and gate pipelines: check runs on
// every new patchset, restore and "recheck" and votes Verified ±1; gate
// enqueues changes with Code-Review +2 and Workflow +1 (and no Code-Review
// -2 or Verified -2), votes Verified ±2 and submits. account is gated's own
// Gerrit username: a Verified +1 from it on an approved change (a passed
// recheck) also enqueues into the gate, as in OpenStack's configuration.
func DefaultPipelines(account string) []PipelineConfig {
	check := PipelineConfig{
		Name:    "check",
		Manager: Independent,
		Triggers: []Trigger{
			{Event: "patchset-created"},
			{Event: "change-restored"},
			{Event: "comment-added", Comment: RecheckComment},
		},
		Success: ReportConfig{Labels: map[string]int{"Verified": 1}},
		Failure: ReportConfig{Labels: map[string]int{"Verified": -1}},
	}
	gate := PipelineConfig{
		Name:    "gate",
		Manager: Dependent,
		Triggers: []Trigger{
			{Event: "comment-added", Approvals: []ApprovalFilter{{Label: "Workflow", Values: []int{1}}}},
			{Event: "comment-added", Approvals: []ApprovalFilter{{Label: "Code-Review", Values: []int{2}}}},
			{Event: "reconcile"},
		},
		Require: []ApprovalFilter{
			{Label: "Code-Review", Values: []int{2}},
			{Label: "Workflow", Values: []int{1}},
		},
		Reject: []ApprovalFilter{
			{Label: "Code-Review", Values: []int{-2}},
			{Label: "Verified", Values: []int{-2}},
			{Label: "Workflow", Values: []int{-1}},
		},
		Window:  DefaultWindow(),
		Success: ReportConfig{Labels: map[string]int{"Verified": 2}, Submit: true},
		Failure: ReportConfig{Labels: map[string]int{"Verified": -2}},
	}
	if account != "" {
		gate.Triggers = append(gate.Triggers, Trigger{
			Event:     "comment-added",
			Approvals: []ApprovalFilter{{Label: "Verified", Values: []int{1}}},
			Username:  account,
		})
	}
	return []PipelineConfig{check, gate}
}

// compiled is a validated configuration with its regular expressions.
type compiled struct {
	Config
	pipelines []*compiledPipeline
	byName    map[string]*compiledPipeline
	projects  map[string]*compiledProject
	timers    []timer
	queues    map[string]QueueConfig
}

type compiledPipeline struct {
	PipelineConfig
	comments []*regexp.Regexp // per trigger; nil when the trigger has none
	refs     [][]*regexp.Regexp
	branches [][]*regexp.Regexp
}

// Validate checks the configuration and returns every problem found, each
// naming the field.
func (c Config) Validate() error {
	_, err := compile(c)
	return err
}

func compile(c Config) (*compiled, error) {
	var errs []error
	out := &compiled{Config: c, byName: map[string]*compiledPipeline{}, projects: map[string]*compiledProject{}, queues: map[string]QueueConfig{}}
	for i, p := range c.Pipelines {
		field := fmt.Sprintf("pipelines[%d]", i)
		if p.Name == "" {
			errs = append(errs, fmt.Errorf("%s.name: must not be empty", field))
		} else if _, dup := out.byName[p.Name]; dup {
			errs = append(errs, fmt.Errorf("%s.name: pipeline %q is defined twice", field, p.Name))
		}
		if p.Manager != Independent && p.Manager != Dependent && p.Manager != Supercedent {
			errs = append(errs, fmt.Errorf("%s.manager: %q is none of %q, %q and %q", field, p.Manager, Independent, Dependent, Supercedent))
		}
		if p.Retries < 0 {
			errs = append(errs, fmt.Errorf("%s.retries: must not be negative", field))
		}
		if p.RetryCleared && (p.Manager != Dependent || p.Retries < 1) {
			errs = append(errs, fmt.Errorf("%s.retry_cleared: only for dependent pipelines with retries >= 1", field))
		}
		if p.ClearPasses < 0 || (p.ClearPasses > 1 && !p.RetryCleared) {
			errs = append(errs, fmt.Errorf("%s.clear_passes: must be >= 0, and at most 1 unless retry_cleared is set", field))
		}
		if p.Probe < 0 || (p.Probe > 0 && p.Manager != Dependent) {
			errs = append(errs, fmt.Errorf("%s.probe: must be >= 0, and 0 unless the pipeline is dependent", field))
		}
		if p.ProbeGroup < 0 || (p.ProbeGroup > 1 && p.Probe == 0) {
			errs = append(errs, fmt.Errorf("%s.probe_group: must be >= 0, and at most 1 unless probe is set", field))
		}
		if p.ParallelMerges && p.Manager != Dependent {
			errs = append(errs, fmt.Errorf("%s.parallel_merges: only for dependent pipelines", field))
		}
		if p.Manager == Dependent {
			if err := p.Window.validate(); err != nil {
				errs = append(errs, fmt.Errorf("%s.window: %w", field, err))
			}
		}
		cp := &compiledPipeline{PipelineConfig: p}
		for j, t := range p.Triggers {
			errs = append(errs, out.compileTrigger(cp, fmt.Sprintf("%s.triggers[%d]", field, j), t)...)
		}
		out.pipelines = append(out.pipelines, cp)
		out.byName[p.Name] = cp
	}
	for name, p := range c.Projects {
		switch p.SubmitType {
		case "", "MERGE_IF_NECESSARY", "FAST_FORWARD_ONLY", "REBASE_IF_NECESSARY", "REBASE_ALWAYS", "MERGE_ALWAYS", "CHERRY_PICK":
		default:
			errs = append(errs, fmt.Errorf("projects[%q].submit_type: unknown submit type %q", name, p.SubmitType))
		}
		errs = append(errs, out.compileProject(name, p)...)
	}
	for i, q := range c.Queues {
		field := fmt.Sprintf("queues[%d]", i)
		switch _, dup := out.queues[q.Name]; {
		case q.Name == "":
			errs = append(errs, fmt.Errorf("%s.name: must not be empty", field))
		case dup:
			errs = append(errs, fmt.Errorf("%s.name: queue %q is defined twice", field, q.Name))
		}
		if q.DependenciesByTopic && !q.AllowCircularDependencies {
			errs = append(errs, fmt.Errorf("%s.dependencies_by_topic: makes the changes of a topic a dependency cycle, so it needs allow_circular_dependencies", field))
		}
		out.queues[q.Name] = q
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return out, nil
}

func (w WindowConfig) validate() error {
	var errs []error
	if w.Size < 0 {
		errs = append(errs, errors.New("size must be >= 0 (0: unlimited)"))
	}
	if w.Floor < 1 {
		errs = append(errs, errors.New("floor must be >= 1"))
	}
	if w.Ceiling != 0 && w.Ceiling < w.Floor {
		errs = append(errs, errors.New("ceiling must be >= floor"))
	}
	if w.IncreaseFactor < 1 || w.DecreaseFactor < 1 {
		errs = append(errs, errors.New("increase and decrease factors must be >= 1"))
	}
	for _, t := range []string{w.IncreaseType, w.DecreaseType} {
		if t != "linear" && t != "exponential" {
			errs = append(errs, fmt.Errorf("type %q is neither linear nor exponential", t))
		}
	}
	return errors.Join(errs...)
}

func (c *compiled) project(name string) (ProjectConfig, bool) {
	p, ok := c.Projects[name]
	return p, ok
}

// queueName is the change queue a project's changes on a branch go to.
func (c *compiled) queueName(project, branch string) string {
	name := project
	if p, ok := c.Projects[project]; ok && p.Queue != "" {
		name = p.Queue
	}
	return name + "@" + branch
}

// queueConfig is the configuration of a project's named queue; a project
// with a queue of its own, or whose queue is not configured, has none.
func (c *compiled) queueConfig(project string) (QueueConfig, bool) {
	p, ok := c.Projects[project]
	if !ok || p.Queue == "" {
		return QueueConfig{}, false
	}
	q, ok := c.queues[p.Queue]
	return q, ok
}

func (c *compiled) submitType(project string) string {
	if p, ok := c.Projects[project]; ok && p.SubmitType != "" {
		return p.SubmitType
	}
	return "MERGE_IF_NECESSARY"
}
