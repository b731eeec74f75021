package daemon

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"path"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
	"k8s.io/apimachinery/pkg/util/validation"

	"gated.dev/gated/merger"
	"gated.dev/gated/queue"
	"gated.dev/gated/scheduler"
)

// Config is gated's configuration, read from one YAML file.
type Config struct {
	// DataDir holds the bbolt file and the merger's repository cache.
	DataDir string `yaml:"data-dir"`
	// Listen is the address of the HTTP server (status page, API, webhook,
	// git, metrics).
	Listen string `yaml:"listen"`
	// PublicURL is how users and build pods reach gated (links in reports,
	// the git URL given to workflows); defaults to http://Listen.
	PublicURL string                 `yaml:"public-url"`
	Gerrit    GerritConfig           `yaml:"gerrit"`
	Executor  ExecutorConfig         `yaml:"executor"`
	Pipelines []PipelineYAML         `yaml:"pipelines"`
	Projects  map[string]ProjectYAML `yaml:"projects"`
	// Queues configure named change queues (Zuul's queue objects);
	// projects join one by name (projects.X.queue). A queue named by
	// projects without an entry here is a plain shared queue.
	Queues []QueueYAML `yaml:"queues"`
	// History is how long and how many build records are kept.
	History HistoryConfig `yaml:"history"`
	// Admin configures the administrators' API (/api/admin/).
	Admin AdminConfig `yaml:"admin"`
}

// AdminConfig configures the administrators' API.
type AdminConfig struct {
	// TokenFile holds the administrators' bearer tokens, one "name token"
	// a line (# starts a comment); it is read again on every request, so
	// tokens change without a restart. Empty turns /api/admin/ off.
	TokenFile string `yaml:"token-file"`
}

// GerritConfig says how to reach Gerrit.
type GerritConfig struct {
	URL  string `yaml:"url"`
	User string `yaml:"user"`
	// The HTTP password: from a file, or from an environment variable.
	PasswordFile string `yaml:"password-file"`
	PasswordEnv  string `yaml:"password-env"`
	// Webhook authenticates Gerrit's webhooks plugin.
	Webhook WebhookConfig `yaml:"webhook"`
	// Stream, if set, also reads `gerrit stream-events` over SSH.
	Stream *StreamConfig `yaml:"stream"`
	// ReconcileInterval is how often gated re-queries Gerrit for approved
	// changes, so a missed event never strands one.
	ReconcileInterval Duration `yaml:"reconcile-interval"`
	// ReconcileQuery selects the changes the reconcile looks at.
	ReconcileQuery string `yaml:"reconcile-query"`
	// Timeout bounds each try of a REST request.
	Timeout Duration `yaml:"timeout"`
	// UseGitattributesForMerge is Gerrit's core.useGitattributesForMerge
	// (Gerrit 3.12, default off), which REST does not show: with it, the
	// merger follows the binary, -merge and merge=union attributes as
	// Gerrit's JGit does.
	UseGitattributesForMerge bool `yaml:"use-gitattributes-for-merge"`
}

// WebhookConfig is the webhook endpoint's authentication.
type WebhookConfig struct {
	SecretFile string `yaml:"secret-file"`
	SecretEnv  string `yaml:"secret-env"`
}

// StreamConfig reads events from `ssh -p PORT USER@HOST gerrit stream-events`.
type StreamConfig struct {
	Host           string `yaml:"host"`
	Port           int    `yaml:"port"`
	User           string `yaml:"user"`
	KeyFile        string `yaml:"key-file"`
	KnownHostsFile string `yaml:"known-hosts-file"`
}

// ExecutorConfig chooses where builds run.
type ExecutorConfig struct {
	// Kind is "argo" (Argo Workflows on Kubernetes) or "sim" (the simulated
	// executor: every build passes after SimDuration).
	Kind        string     `yaml:"kind"`
	SimDuration Duration   `yaml:"sim-duration"`
	Argo        ArgoConfig `yaml:"argo"`
}

// ArgoConfig configures the Argo executor.
type ArgoConfig struct {
	// Kubeconfig is a kubeconfig file; empty means in-cluster.
	Kubeconfig string `yaml:"kubeconfig"`
	// UIURL is the Argo UI, for links.
	UIURL string `yaml:"ui-url"`
	// Namespace is the default namespace of builds (projects may override).
	Namespace string `yaml:"namespace"`
	// WorkflowFile is where projects keep their workflow definition.
	WorkflowFile string `yaml:"workflow-file"`
	// MaxDeadline caps activeDeadlineSeconds of untrusted workflows.
	MaxDeadline Duration `yaml:"max-deadline"`
	// MaxParallelism caps the parallelism of untrusted workflows.
	MaxParallelism int `yaml:"max-parallelism"`
	// MaxFanOut caps a step's withItems and withSequence (0: the
	// scheduler's default).
	MaxFanOut int `yaml:"max-fan-out"`
	// PodSecurity is the Pod Security Standards level every build pod
	// must meet: baseline (default) or restricted.
	PodSecurity string `yaml:"pod-security"`
	// AllowedTemplates and AllowedClusterTemplates are the
	// WorkflowTemplates (in a build's namespace) and
	// ClusterWorkflowTemplates that untrusted workflows may refer to;
	// gated reads and checks them at submit.
	AllowedTemplates        []string `yaml:"allowed-templates"`
	AllowedClusterTemplates []string `yaml:"allowed-cluster-templates"`
	// Retention is how long workflows of finished items are kept.
	Retention Duration `yaml:"retention"`
	// Artifacts, if set, is the S3 store where Argo keeps artifacts.
	Artifacts *ArtifactsConfig `yaml:"artifacts"`
}

// ArtifactsConfig is an S3-compatible store (MinIO).
type ArtifactsConfig struct {
	Endpoint      string `yaml:"endpoint"`
	Bucket        string `yaml:"bucket"`
	Insecure      bool   `yaml:"insecure"`
	AccessKeyFile string `yaml:"access-key-file"`
	SecretKeyFile string `yaml:"secret-key-file"`
	// PublicURL is where users download artifacts (links in reports).
	PublicURL string `yaml:"public-url"`
}

// HistoryConfig bounds the build history.
type HistoryConfig struct {
	MaxAge   Duration `yaml:"max-age"`
	MaxCount int      `yaml:"max-count"`
}

// ProjectYAML is one project's configuration.
type ProjectYAML struct {
	// Queue names a change queue shared with other projects.
	Queue string `yaml:"queue"`
	// SubmitType is the project's Gerrit submit type.
	SubmitType string `yaml:"submit-type"`
	// Namespace is where the project's builds run.
	Namespace string `yaml:"namespace"`
	// WorkflowFile overrides executor.argo.workflow-file.
	WorkflowFile string `yaml:"workflow-file"`
	// Workflows maps a pipeline to the workflow file it runs instead of
	// workflow-file; mapping it to "" means the project has no build (and
	// no report) in that pipeline.
	Workflows map[string]string `yaml:"workflows"`
	// Trusted projects' builds run the workflow of their branch, never
	// one an unmerged change proposes, and the policy lets them use
	// podSpecPatch.
	Trusted bool `yaml:"trusted"`
	// Files and IrrelevantFiles are Zuul's file matchers, per pipeline
	// (regular expressions anchored at the start): in an independent or
	// supercedent pipeline, a change or ref update none of whose files
	// matches files, or all of whose files match irrelevant-files, gets no
	// build.
	Files           map[string]StringList `yaml:"files"`
	IrrelevantFiles map[string]StringList `yaml:"irrelevant-files"`
	// Branches is a regular expression of the branches a timer builds;
	// empty means the default branch.
	Branches string `yaml:"branches"`
}

// QueueYAML is a named change queue, as Zuul's queue object.
type QueueYAML struct {
	Name string `yaml:"name"`
	// AllowCircularDependencies lets a dependency cycle enter as one
	// bundle: one speculative state, one build per project, submitted
	// together. Without it, a cycle is refused.
	AllowCircularDependencies bool `yaml:"allow-circular-dependencies"`
	// DependenciesByTopic makes the open changes of a topic one cycle, as
	// Gerrit's change.submitWholeTopic does for every queue.
	DependenciesByTopic bool `yaml:"dependencies-by-topic"`
}

// PipelineYAML is a pipeline as written in the file. A pipeline named like
// a default one (check, gate) changes only the fields given; another name
// defines a new pipeline.
type PipelineYAML struct {
	Name     string        `yaml:"name"`
	Disabled bool          `yaml:"disabled"`
	Manager  *string       `yaml:"manager"`
	Trigger  []TriggerYAML `yaml:"trigger"`
	Require  *FilterYAML   `yaml:"require"`
	Reject   *FilterYAML   `yaml:"reject"`
	Start    *ReportYAML   `yaml:"start"`
	Success  *ReportYAML   `yaml:"success"`
	Failure  *ReportYAML   `yaml:"failure"`
	Retries  *int          `yaml:"retries"`
	// The gate strategies of queue.PipelineConfig (dependent pipelines).
	RetryCleared *bool `yaml:"retry-cleared"`
	Probe        *int  `yaml:"probe"`
	ProbeGroup   *int  `yaml:"probe-group"`
	// ParallelMerges sends every item's merge at once, as Zuul does,
	// instead of after the item ahead's; ClearPasses is how many passed
	// builds clear a change for retry-cleared.
	ParallelMerges *bool `yaml:"parallel-merges"`
	ClearPasses    *int  `yaml:"clear-passes"`

	Window               *int    `yaml:"window"`
	WindowFloor          *int    `yaml:"window-floor"`
	WindowCeiling        *int    `yaml:"window-ceiling"`
	WindowIncreaseType   *string `yaml:"window-increase-type"`
	WindowIncreaseFactor *int    `yaml:"window-increase-factor"`
	WindowDecreaseType   *string `yaml:"window-decrease-type"`
	WindowDecreaseFactor *int    `yaml:"window-decrease-factor"`
}

// TriggerYAML is one trigger: a Gerrit event type with optional filters,
// or a timer.
type TriggerYAML struct {
	Event    string         `yaml:"event"`
	Approval map[string]any `yaml:"approval"`
	Comment  string         `yaml:"comment"`
	Username string         `yaml:"username"`
	// Ref (ref-updated) and Branch are regular expressions, one or a list.
	Ref    StringList `yaml:"ref"`
	Branch StringList `yaml:"branch"`
	// Time (event: timer) is a cron schedule in UTC, like "0 3 * * *".
	Time string `yaml:"time"`
}

// StringList is one text value or a list of them, as Zuul's layouts
// write regular expressions.
type StringList []string

// UnmarshalYAML accepts a text value or a list of them.
func (l *StringList) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode {
		*l = StringList{n.Value}
		return nil
	}
	var list []string
	if err := n.Decode(&list); err != nil {
		return fmt.Errorf("line %d: expected a text value or a list of them", n.Line)
	}
	*l = list
	return nil
}

// FilterYAML is a require/reject clause: approvals as label → value or
// list of values.
type FilterYAML struct {
	Approval map[string]any `yaml:"approval"`
	Username string         `yaml:"username"`
}

// ReportYAML is what to tell Gerrit.
type ReportYAML struct {
	Labels  map[string]int `yaml:"labels"`
	Submit  bool           `yaml:"submit"`
	Message string         `yaml:"message"`
}

// Duration is a time.Duration written as "90s", "5m".
type Duration time.Duration

// UnmarshalYAML parses a duration.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	v, err := time.ParseDuration(n.Value)
	if err != nil {
		return fmt.Errorf("line %d: %q is not a duration (like 90s or 5m)", n.Line, n.Value)
	}
	*d = Duration(v)
	return nil
}

// ServiceAccount is the Gerrit username gated votes as by default.
const ServiceAccount = "gated"

// Defaults returns a configuration with every default filled in and no
// projects.
func Defaults() Config {
	return Config{
		Listen: "127.0.0.1:8080",
		Gerrit: GerritConfig{
			User:              ServiceAccount,
			ReconcileInterval: Duration(5 * time.Minute),
			ReconcileQuery:    "status:open label:Workflow=1",
			Timeout:           Duration(30 * time.Second),
		},
		Executor: ExecutorConfig{
			Kind:        "argo",
			SimDuration: Duration(2 * time.Second),
			Argo: ArgoConfig{
				Namespace: "gated", WorkflowFile: ".pipeline/argo-workflow.yaml",
				MaxDeadline: Duration(2 * time.Hour), MaxParallelism: 10, Retention: Duration(24 * time.Hour),
			},
		},
		History: HistoryConfig{MaxAge: Duration(30 * 24 * time.Hour), MaxCount: 10000},
	}
}

// LoadConfig reads and validates a configuration file. Its error names
// every problem found, each with the file and line.
func LoadConfig(path string) (Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Config{}, fmt.Errorf("read config: %w", err)
	}
	cfg, err := ParseConfig(data)
	if err != nil {
		var lines []string
		for _, e := range unjoin(err) {
			lines = append(lines, path+": "+e.Error())
		}
		return Config{}, errors.New(strings.Join(lines, "\n"))
	}
	return cfg, nil
}

// ParseConfig decodes a YAML configuration over the defaults and validates
// it: every unknown key and wrongly typed value first, then every value
// that is not usable, each with the line of the offending field. It is
// what both `gated validate` and `gated serve` check.
func ParseConfig(data []byte) (Config, error) {
	cfg := Defaults()
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return Config{}, fmt.Errorf("invalid YAML: %w", err)
	}
	p := &problems{root: &root}
	checkShape(&root, reflect.TypeFor[Config](), nil, p)
	if len(p.errs) > 0 {
		return Config{}, errors.Join(p.errs...)
	}
	if len(root.Content) > 0 {
		if err := root.Decode(&cfg); err != nil {
			return Config{}, err
		}
	}
	return cfg, cfg.validate(&root)
}

// lineOf finds the line of a field in the YAML tree, by path (map keys and
// list indexes as strings), or 0.
func lineOf(n *yaml.Node, path ...string) int {
	if n == nil {
		return 0
	}
	if n.Kind == yaml.DocumentNode && len(n.Content) > 0 {
		n = n.Content[0]
	}
	line := n.Line
	for _, p := range path {
		switch n.Kind {
		case yaml.MappingNode:
			var next *yaml.Node
			for i := 0; i+1 < len(n.Content); i += 2 {
				if n.Content[i].Value == p {
					line, next = n.Content[i].Line, n.Content[i+1]
				}
			}
			if next == nil {
				return line
			}
			n = next
		case yaml.SequenceNode:
			i, err := strconv.Atoi(p)
			if err != nil || i >= len(n.Content) {
				return line
			}
			n = n.Content[i]
			line = n.Line
		default:
			return line
		}
	}
	return line
}

type problems struct {
	root *yaml.Node
	errs []error
}

func (p *problems) add(path []string, format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	field := strings.Join(path, ".")
	if l := lineOf(p.root, path...); l > 0 {
		p.errs = append(p.errs, fmt.Errorf("line %d: %s: %s", l, field, msg))
		return
	}
	p.errs = append(p.errs, fmt.Errorf("%s: %s", field, msg))
}

// validate checks that every value is usable.
func (c Config) validate(root *yaml.Node) error {
	p := &problems{root: root}
	c.validateServer(p)
	c.validateGerrit(p)
	c.validateExecutor(p)
	if len(c.Projects) == 0 {
		p.add([]string{"projects"}, "no project is configured")
	}
	managers := c.managers()
	for _, name := range slices.Sorted(mapKeys(c.Projects)) {
		c.Projects[name].validate(p, name, managers)
	}
	c.validateQueues(p)
	for i, py := range c.Pipelines {
		path := []string{"pipelines", strconv.Itoa(i)}
		pc, err := py.overlay(c.defaultPipeline(py.Name))
		if err != nil {
			p.add(path, "%v", err)
			continue
		}
		if err := (queue.Config{Pipelines: []queue.PipelineConfig{pc}}).Validate(); err != nil {
			for _, e := range unjoin(err) {
				at, msg := triggerPath(path, e.Error())
				p.add(at, "%s", msg)
			}
		}
	}
	if c.History.MaxAge <= 0 {
		p.add([]string{"history", "max-age"}, "must be positive")
	}
	if c.History.MaxCount < 1 {
		p.add([]string{"history", "max-count"}, "must be at least 1")
	}
	return errors.Join(p.errs...)
}

// validateQueues checks each queue as the engine would, at its line, and
// that no name is used twice. A queue that projects name without an entry
// is a plain shared queue, and an entry no project names is no problem
// either.
func (c Config) validateQueues(p *problems) {
	seen := map[string]bool{}
	for i, q := range c.QueueConfig().Queues {
		path := []string{"queues", strconv.Itoa(i)}
		if seen[q.Name] && q.Name != "" {
			p.add(append(path, "name"), "queue %q is defined twice", q.Name)
		}
		seen[q.Name] = true
		if err := (queue.Config{Queues: []queue.QueueConfig{q}}).Validate(); err != nil {
			for _, e := range unjoin(err) {
				p.add(path, "%s", strings.TrimPrefix(e.Error(), "queues[0]."))
			}
		}
	}
}

func (c Config) validateServer(p *problems) {
	if host, port, err := net.SplitHostPort(c.Listen); err != nil {
		p.add([]string{"listen"}, "%q is not a host:port address (like 127.0.0.1:8080 or :8080): %v", c.Listen, err)
	} else if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 || strings.ContainsAny(host, "/ ") {
		p.add([]string{"listen"}, "%q is not a host:port address (like 127.0.0.1:8080 or :8080)", c.Listen)
	}
	if c.PublicURL != "" {
		if u, err := url.Parse(c.PublicURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			p.add([]string{"public-url"}, "%q is not an http(s) URL", c.PublicURL)
		}
	}
}

func (c Config) validateGerrit(p *problems) {
	g := c.Gerrit
	if g.URL == "" {
		p.add([]string{"gerrit", "url"}, "must be set")
	} else if u, err := url.Parse(g.URL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		p.add([]string{"gerrit", "url"}, "%q is not an http(s) URL", g.URL)
	}
	switch {
	case g.PasswordFile != "" && g.PasswordEnv != "":
		p.add([]string{"gerrit", "password-file"}, "set password-file or password-env, not both")
	case g.User != "" && g.PasswordFile == "" && g.PasswordEnv == "":
		p.add([]string{"gerrit"}, "user %q has no password: set password-file (the HTTP password, from a Secret) or password-env", g.User)
	}
	if g.ReconcileInterval < 0 {
		p.add([]string{"gerrit", "reconcile-interval"}, "must not be negative (0 reconciles only at start)")
	}
	if g.Timeout <= 0 {
		p.add([]string{"gerrit", "timeout"}, "must be positive")
	}
	if s := g.Stream; s != nil {
		if s.Host == "" || s.User == "" || s.KeyFile == "" {
			p.add([]string{"gerrit", "stream"}, "host, user and key-file must be set")
		}
		if s.Port < 0 || s.Port > 65535 {
			p.add([]string{"gerrit", "stream", "port"}, "%d is not a port", s.Port)
		}
	}
}

func (c Config) validateExecutor(p *problems) {
	switch c.Executor.Kind {
	case "argo", "sim":
	default:
		p.add([]string{"executor", "kind"}, "%q is neither argo nor sim", c.Executor.Kind)
	}
	if c.Executor.SimDuration < 0 {
		p.add([]string{"executor", "sim-duration"}, "must not be negative")
	}
	a := c.Executor.Argo
	path := func(k string) []string { return []string{"executor", "argo", k} }
	if time.Duration(a.MaxDeadline) < time.Second {
		p.add(path("max-deadline"), "must be at least 1s (it caps every workflow's activeDeadlineSeconds)")
	}
	if a.MaxParallelism < 1 {
		p.add(path("max-parallelism"), "must be at least 1")
	} else if time.Duration(a.MaxDeadline) >= time.Second {
		if err := a.Policy().Validate(); err != nil {
			p.add([]string{"executor", "argo"}, "%v", err)
		}
	}
	for _, list := range []struct {
		key   string
		names []string
	}{{"allowed-templates", a.AllowedTemplates}, {"allowed-cluster-templates", a.AllowedClusterTemplates}} {
		for _, name := range list.names {
			if msgs := validation.IsDNS1123Subdomain(name); len(msgs) > 0 {
				p.add(path(list.key), "%q is not a template name: %s", name, strings.Join(msgs, "; "))
			}
		}
	}
	if a.Retention < 0 {
		p.add(path("retention"), "must not be negative")
	}
	if msgs := validation.IsDNS1123Label(a.Namespace); len(msgs) > 0 {
		p.add(path("namespace"), "%q is not a Kubernetes namespace name: %s", a.Namespace, strings.Join(msgs, "; "))
	}
	if err := validRepoPath(a.WorkflowFile); err != nil {
		p.add(path("workflow-file"), "%v", err)
	}
	if a.UIURL != "" {
		if u, err := url.Parse(a.UIURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			p.add(path("ui-url"), "%q is not an http(s) URL", a.UIURL)
		}
	}
	if art := a.Artifacts; art != nil && (art.Endpoint == "" || art.Bucket == "") {
		p.add(path("artifacts"), "endpoint and bucket must be set")
	}
}

func (pr ProjectYAML) validate(p *problems, name string, managers map[string]queue.Manager) {
	path := func(k ...string) []string { return append([]string{"projects", name}, k...) }
	pr.validatePipelines(p, path, managers)
	if err := validProjectName(name); err != nil {
		p.add(path(), "%v", err)
	} else if err := merger.ValidProjectName(name); err != nil {
		p.add(path(), "%v", err)
	}
	if err := (queue.Config{Projects: map[string]queue.ProjectConfig{name: {SubmitType: pr.SubmitType}}}).Validate(); err != nil {
		p.add(path("submit-type"), "unknown submit type %q", pr.SubmitType)
	}
	if pr.Namespace != "" {
		if msgs := validation.IsDNS1123Label(pr.Namespace); len(msgs) > 0 {
			p.add(path("namespace"), "%q is not a Kubernetes namespace name: %s", pr.Namespace, strings.Join(msgs, "; "))
		}
	}
	if pr.WorkflowFile != "" {
		if err := validRepoPath(pr.WorkflowFile); err != nil {
			p.add(path("workflow-file"), "%v", err)
		}
	}
}

// Policy is the policy untrusted workflows are held to.
func (a ArgoConfig) Policy() scheduler.Policy {
	return scheduler.Policy{
		MaxDeadline: time.Duration(a.MaxDeadline), MaxParallelism: int64(a.MaxParallelism), MaxFanOut: a.MaxFanOut,
		PodSecurity: a.PodSecurity, AllowedTemplates: a.AllowedTemplates, AllowedClusterTemplates: a.AllowedClusterTemplates,
	}
}

// validProjectName accepts the Gerrit project names gated can use safely:
// as a path in its git cache and URLs, and as an argument to git.
func validProjectName(name string) error {
	switch {
	case name == "":
		return errors.New("a project name must not be empty")
	case strings.HasPrefix(name, "-"):
		return fmt.Errorf("project name %q must not start with '-' (git would read it as an option)", name)
	case strings.HasPrefix(name, "/") || strings.HasSuffix(name, "/"):
		return fmt.Errorf("project name %q must not start or end with '/'", name)
	case strings.HasSuffix(name, ".git"):
		return fmt.Errorf("project name %q must not end with .git (Gerrit adds it)", name)
	}
	for _, r := range name {
		if r < 0x20 || r == 0x7f || strings.ContainsRune(` \:*?"<>|~^[`+"`", r) {
			return fmt.Errorf("project name %q contains %q, which gated does not accept", name, r)
		}
	}
	for _, part := range strings.Split(name, "/") {
		if part == "" || strings.HasPrefix(part, ".") {
			return fmt.Errorf("project name %q has an empty part or a part starting with '.'", name)
		}
	}
	return nil
}

// validRepoPath accepts a path to a file inside a repository.
func validRepoPath(p string) error {
	switch {
	case p == "":
		return errors.New("must be set")
	case path.IsAbs(p) || path.Clean(p) != p || strings.HasPrefix(p, "../") || p == "..":
		return fmt.Errorf("%q is not a clean path inside the repository (like .pipeline/argo-workflow.yaml)", p)
	}
	return nil
}

// defaultPipeline returns the default pipeline of that name, if any.
func (c Config) defaultPipeline(name string) *queue.PipelineConfig {
	for _, p := range queue.DefaultPipelines(c.Gerrit.User) {
		if p.Name == name {
			return &p
		}
	}
	return nil
}

// QueueConfig returns the queue engine's configuration: the default
// pipelines changed by the file, and the projects.
func (c Config) QueueConfig() queue.Config {
	var pipelines []queue.PipelineConfig
	overlaid := map[string]bool{}
	for _, py := range c.Pipelines {
		overlaid[py.Name] = true
	}
	for _, d := range queue.DefaultPipelines(c.Gerrit.User) {
		if !overlaid[d.Name] {
			pipelines = append(pipelines, d)
		}
	}
	for _, py := range c.Pipelines {
		if py.Disabled {
			continue
		}
		pc, err := py.overlay(c.defaultPipeline(py.Name))
		if err == nil {
			pipelines = append(pipelines, pc)
		}
	}
	qc := queue.Config{Pipelines: pipelines, Projects: map[string]queue.ProjectConfig{}}
	for name, p := range c.Projects {
		workflow := p.WorkflowFile
		if workflow == "" {
			workflow = c.Executor.Argo.WorkflowFile
		}
		qc.Projects[name] = queue.ProjectConfig{
			Queue: p.Queue, SubmitType: p.SubmitType, Trusted: p.Trusted,
			Workflow: workflow, Workflows: p.Workflows, Branches: p.Branches,
			Files: lists(p.Files), IrrelevantFiles: lists(p.IrrelevantFiles),
		}
	}
	for _, q := range c.Queues {
		qc.Queues = append(qc.Queues, queue.QueueConfig{
			Name: q.Name, AllowCircularDependencies: q.AllowCircularDependencies, DependenciesByTopic: q.DependenciesByTopic,
		})
	}
	return qc
}

func lists(m map[string]StringList) map[string][]string {
	if len(m) == 0 {
		return nil
	}
	out := map[string][]string{}
	for k, v := range m {
		out[k] = v
	}
	return out
}

// overlay applies the fields given in the file onto base (a default
// pipeline, or nil for a new one).
func (py PipelineYAML) overlay(base *queue.PipelineConfig) (queue.PipelineConfig, error) {
	var pc queue.PipelineConfig
	if base != nil {
		pc = *base
	} else {
		pc = queue.PipelineConfig{Name: py.Name, Window: queue.DefaultWindow()}
		if py.Manager == nil {
			return pc, errors.New("manager: must be set for a pipeline that is not a default one (check, gate)")
		}
		if len(py.Trigger) == 0 && !py.Disabled {
			return pc, errors.New("trigger: a new pipeline needs at least one trigger")
		}
	}
	if py.Manager != nil {
		pc.Manager = queue.Manager(*py.Manager)
	}
	if py.Trigger != nil {
		pc.Triggers = nil
		for i, t := range py.Trigger {
			approvals, err := filters(t.Approval, "")
			if err != nil {
				return pc, fmt.Errorf("trigger.%d.approval: %w", i, err)
			}
			pc.Triggers = append(pc.Triggers, queue.Trigger{
				Event: t.Event, Approvals: approvals, Comment: t.Comment, Username: t.Username,
				Ref: t.Ref, Branch: t.Branch, Time: t.Time,
			})
		}
	}
	var err error
	if py.Require != nil {
		if pc.Require, err = filters(py.Require.Approval, py.Require.Username); err != nil {
			return pc, fmt.Errorf("require.approval: %w", err)
		}
	}
	if py.Reject != nil {
		if pc.Reject, err = filters(py.Reject.Approval, py.Reject.Username); err != nil {
			return pc, fmt.Errorf("reject.approval: %w", err)
		}
	}
	for _, r := range []struct {
		from *ReportYAML
		to   *queue.ReportConfig
	}{{py.Start, &pc.Start}, {py.Success, &pc.Success}, {py.Failure, &pc.Failure}} {
		if r.from != nil {
			*r.to = queue.ReportConfig{Labels: r.from.Labels, Submit: r.from.Submit, Message: r.from.Message}
		}
	}
	set := func(dst *int, src *int) {
		if src != nil {
			*dst = *src
		}
	}
	setS := func(dst *string, src *string) {
		if src != nil {
			*dst = *src
		}
	}
	set(&pc.Retries, py.Retries)
	if py.RetryCleared != nil {
		pc.RetryCleared = *py.RetryCleared
	}
	set(&pc.Probe, py.Probe)
	set(&pc.ProbeGroup, py.ProbeGroup)
	set(&pc.ClearPasses, py.ClearPasses)
	if py.ParallelMerges != nil {
		pc.ParallelMerges = *py.ParallelMerges
	}
	set(&pc.Window.Size, py.Window)
	set(&pc.Window.Floor, py.WindowFloor)
	set(&pc.Window.Ceiling, py.WindowCeiling)
	setS(&pc.Window.IncreaseType, py.WindowIncreaseType)
	set(&pc.Window.IncreaseFactor, py.WindowIncreaseFactor)
	setS(&pc.Window.DecreaseType, py.WindowDecreaseType)
	set(&pc.Window.DecreaseFactor, py.WindowDecreaseFactor)
	return pc, nil
}

// filters turns {Label: value or [values]} into approval filters, sorted by
// label so that the configuration is deterministic.
func filters(m map[string]any, username string) ([]queue.ApprovalFilter, error) {
	var out []queue.ApprovalFilter
	for _, label := range slices.Sorted(mapKeys(m)) {
		f := queue.ApprovalFilter{Label: label, Username: username}
		switch v := m[label].(type) {
		case int:
			f.Values = []int{v}
		case []any:
			for _, x := range v {
				n, ok := x.(int)
				if !ok {
					return nil, fmt.Errorf("%s: %v is not a vote value", label, x)
				}
				f.Values = append(f.Values, n)
			}
		default:
			return nil, fmt.Errorf("%s: %v is neither a vote value nor a list of them", label, v)
		}
		out = append(out, f)
	}
	return out, nil
}

func mapKeys[V any](m map[string]V) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

func unjoin(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []error
		for _, e := range j.Unwrap() {
			out = append(out, unjoin(e)...)
		}
		return out
	}
	return []error{err}
}
