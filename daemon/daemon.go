package daemon

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"gated.dev/gated/gerrit"
	"gated.dev/gated/merger"
	"gated.dev/gated/queue"
	"gated.dev/gated/scheduler"
	"gated.dev/gated/storage"
)

// Options are what a caller may give a daemon besides its configuration.
type Options struct {
	// Executor runs the builds; nil means the one the configuration names.
	Executor Executor
	// Logger receives the daemon's logs; default slog.Default().
	Logger *slog.Logger
	// Now is the clock; default time.Now.
	Now func() time.Time
	// GerritPassword overrides the configured password source.
	GerritPassword string
	// WebhookSecret overrides the configured webhook secret.
	WebhookSecret string
}

// Daemon is gated: one gate loop, its workers, and its HTTP endpoints.
type Daemon struct {
	cfg  Config
	opts Options
	log  *slog.Logger
	now  func() time.Time

	db      *storage.DB
	eng     *queue.Engine // owned by the loop goroutine once Run starts
	gerrit  *gerrit.Client
	merger  *merger.Merger
	exec    Executor
	hub     *hub
	metrics *metrics
	est     estimates

	in chan input
	// work counts what is in flight anywhere in the daemon: events in the
	// inbox, inputs on their way to the loop, actions queued or being
	// performed, a reconcile under way. Every handoff counts the new unit
	// before it uncounts the old one, so work is never 0 while anything
	// moves: that is Idle.
	work    atomic.Int64
	loop    *loop
	intake  *intake
	pools   []*pool
	byKind  map[string]*pool
	webhook http.Handler
	mux     *http.ServeMux

	notesMu sync.Mutex
	notes   map[queue.ItemID]string

	ready     atomic.Bool
	published time.Time
	dirty     bool
}

// New opens gated's state and connects its parts. It does not start
// anything: see Run.
func New(ctx context.Context, cfg Config, opts Options) (*Daemon, error) {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if cfg.DataDir == "" {
		return nil, errors.New("data-dir is not set")
	}
	if cfg.PublicURL == "" {
		cfg.PublicURL = "http://" + cfg.Listen
	}
	cfg.PublicURL = strings.TrimSuffix(cfg.PublicURL, "/")
	d := &Daemon{
		cfg: cfg, opts: opts, log: opts.Logger, now: opts.Now,
		hub: newHub(), metrics: newMetrics(), in: make(chan input, 256),
		notes: map[queue.ItemID]string{},
	}
	var err error
	if d.db, err = storage.Open(filepath.Join(cfg.DataDir, "gated.db")); err != nil {
		return nil, err
	}
	if err := d.setup(ctx); err != nil {
		d.db.Close()
		return nil, err
	}
	return d, nil
}

func (d *Daemon) setup(ctx context.Context) error {
	qc := d.cfg.QueueConfig()
	parts, err := d.db.State()
	if err != nil {
		return err
	}
	if len(parts) == 0 {
		d.eng, err = queue.New(qc)
	} else {
		d.eng, err = queue.RestoreParts(qc, parts)
	}
	if err != nil {
		return err
	}
	gc := gerrit.Config{
		URL: d.cfg.Gerrit.URL, User: d.cfg.Gerrit.User, PasswordFile: d.cfg.Gerrit.PasswordFile,
		PasswordEnv: d.cfg.Gerrit.PasswordEnv, Password: d.opts.GerritPassword, Logger: d.log.With("component", "gerrit"),
		Timeout: time.Duration(d.cfg.Gerrit.Timeout),
	}
	if gc.Password != "" {
		gc.PasswordFile, gc.PasswordEnv = "", ""
	}
	if d.gerrit, err = gerrit.NewClient(gc); err != nil {
		return err
	}
	password, err := readSecret(gc.Password, gc.PasswordFile, gc.PasswordEnv)
	if err != nil {
		return fmt.Errorf("gerrit password: %w", err)
	}
	remote := gitRemote(d.cfg.Gerrit.URL, gc.User, password)
	if d.merger, err = merger.New(ctx, filepath.Join(d.cfg.DataDir, "git"), remote, merger.WithLogger(d.log.With("component", "merger"))); err != nil {
		return err
	}
	d.exec = d.opts.Executor
	if d.exec == nil {
		if d.exec, err = newExecutor(d.cfg, d.log); err != nil {
			return err
		}
	}
	projects := map[string]bool{}
	for p := range d.cfg.Projects {
		projects[p] = true
	}
	d.intake = &intake{
		log: d.log.With("component", "intake"), db: d.db, gerrit: d.gerrit, projects: projects, send: d.send,
		dedupe: gerrit.NewDedupe(4096), wake: make(chan struct{}, 1), metrics: d.metrics, now: d.now, work: &d.work,
		limit: gerrit.DefaultClosureLimit,
	}
	secret := d.opts.WebhookSecret
	if secret == "" {
		if secret, err = readSecret("", d.cfg.Gerrit.Webhook.SecretFile, d.cfg.Gerrit.Webhook.SecretEnv); err != nil {
			return fmt.Errorf("webhook secret: %w", err)
		}
	}
	if secret != "" {
		if d.webhook, err = gerrit.NewWebhookHandler(gerrit.WebhookConfig{Secret: secret, Logger: d.log.With("component", "webhook")}, d.sink); err != nil {
			return err
		}
	} else {
		d.log.Warn("no webhook secret configured: the webhook endpoint is disabled; events come from stream-events and the periodic reconcile only")
	}
	d.loop = &loop{
		log: d.log.With("component", "loop"), db: d.db, eng: d.eng, now: d.now, in: d.in, jobs: d.dispatch,
		observe: d.observe, tick: func() Status { d.publish(true); st, _, _, _ := d.hub.latest(); return st },
		consumed: func(n int) { d.work.Add(int64(-n)) },
	}
	d.setupPools()
	d.setupMux()
	return nil
}

// sink takes an event from the webhook or the stream reader.
func (d *Daemon) sink(ctx context.Context, ev gerrit.Event) error {
	return d.intake.sink(ctx, ev)
}

// Deliver hands gated a Gerrit event, as the webhook does once it has
// authenticated it (for embedders: the scenario runner, the demo).
func (d *Daemon) Deliver(ctx context.Context, ev gerrit.Event) error { return d.sink(ctx, ev) }

// Ready reports whether the daemon has recovered and runs.
func (d *Daemon) Ready() bool { return d.ready.Load() }

// Status returns the status as of now (not the rate-limited one the page
// shows), from the gate loop.
func (d *Daemon) Status(ctx context.Context) (Status, error) {
	reply := make(chan Status, 1)
	if !submit(ctx, d.in, input{tick: true, status: reply}) {
		return Status{}, ctx.Err()
	}
	select {
	case st := <-reply:
		return st, nil
	case <-ctx.Done():
		return Status{}, ctx.Err()
	}
}

func (d *Daemon) setupPools() {
	m := &merging{m: d.merger, metrics: d.metrics}
	b := &building{exec: d.exec, merger: d.merger, projects: d.cfg.Projects, argo: d.cfg.Executor.Argo, gitURL: d.gitURL}
	r := &reporting{log: d.log.With("component", "reporter"), gerrit: d.gerrit, user: d.cfg.Gerrit.User, merger: d.merger, publicURL: d.cfg.PublicURL}
	d.byKind = map[string]*pool{
		"merge":  newPool("merger", 2, d.log, m.perform),
		"build":  newPool("builder", 4, d.log, b.perform),
		"report": newPool("reporter", 1, d.log, r.perform),
	}
	for _, name := range []string{"merge", "build", "report"} {
		p := d.byKind[name]
		p.done = d.jobDone
		p.inFlight = &d.work
		p.onRetry = func(j job, err error, wait time.Duration) {
			d.metrics.actionRetries.WithLabelValues(p.name).Inc()
			if id := queue.ItemID(itemOf(j.action)); id != 0 {
				d.setNote(id, fmt.Sprintf("%s: %v (retrying in %s)", describeAction(j.action), err, wait.Round(time.Second)))
			}
		}
		d.pools = append(d.pools, p)
	}
}

// gitURL is where builds fetch a project's speculative states.
func (d *Daemon) gitURL(project string) string { return d.cfg.PublicURL + "/git/" + project }

// dispatch hands an action to its workers; it never blocks.
func (d *Daemon) dispatch(j job) {
	switch j.action.(type) {
	case queue.Merge:
		d.byKind["merge"].push(j)
	case queue.StartBuild, queue.CancelBuild, queue.Forget:
		d.byKind["build"].push(j)
	case queue.Report, queue.Submit:
		d.byKind["report"].push(j)
	}
}

// jobDone hands a finished action, and its answer, to the loop.
func (d *Daemon) jobDone(ctx context.Context, j job, ev queue.Event) {
	if id := queue.ItemID(itemOf(j.action)); id != 0 {
		d.clearNote(id)
	}
	if j.id == 0 && ev == nil {
		return
	}
	d.send(ctx, input{event: ev, done: j.id})
}

// send hands an input to the loop, counting it until it is committed.
func (d *Daemon) send(ctx context.Context, xs ...input) bool {
	d.work.Add(int64(len(xs)))
	for i, x := range xs {
		if !submit(ctx, d.in, x) {
			d.work.Add(-int64(len(xs) - i))
			return false
		}
	}
	return true
}

func (d *Daemon) setNote(id queue.ItemID, note string) {
	d.notesMu.Lock()
	defer d.notesMu.Unlock()
	d.notes[id] = note
}

func (d *Daemon) clearNote(id queue.ItemID) {
	d.notesMu.Lock()
	defer d.notesMu.Unlock()
	delete(d.notes, id)
}

// observe runs on the loop goroutine after each committed batch.
func (d *Daemon) observe(tr transition) {
	for _, ev := range tr.events {
		switch ev := ev.(type) {
		case queue.BuildStarted:
			d.cancelIfStale(ev)
		}
	}
	for _, r := range tr.records {
		d.est.add(r)
	}
	d.metrics.observe(d.eng, tr, tr.enqueued)
	d.dirty = true
	d.publish(false)
}

// cancelIfStale stops a build that started for an attempt that is no longer
// current (its item was reset or left while the build was being created):
// no workflow is left running for nothing.
func (d *Daemon) cancelIfStale(ev queue.BuildStarted) {
	it, pipeline, ok := d.eng.Item(ev.Item)
	if ok && it.Attempt == ev.Attempt && it.Phase == queue.PhaseBuilding {
		return
	}
	if !ok {
		pipeline = pipelineOfBuild(ev.Name)
	}
	if pipeline == "" {
		return
	}
	d.dispatch(job{action: queue.CancelBuild{Item: ev.Item, Attempt: ev.Attempt, Pipeline: pipeline}})
}

// pipelineOfBuild finds the pipeline in a build name made by BuildName.
func pipelineOfBuild(name string) string {
	rest, ok := strings.CutPrefix(name, "gated-")
	if !ok {
		return ""
	}
	i := strings.LastIndex(rest, "-")
	if i < 0 {
		return ""
	}
	j := strings.LastIndex(rest[:i], "-")
	if j < 0 {
		return ""
	}
	return rest[:j]
}

// publish renders the status for the page, at most every 100ms unless
// forced; the loop's ticks publish what was skipped.
func (d *Daemon) publish(force bool) {
	now := d.now()
	if !d.dirty && !force {
		return
	}
	if !force && now.Sub(d.published) < 100*time.Millisecond {
		return
	}
	d.notesMu.Lock()
	notes := make(map[queue.ItemID]string, len(d.notes))
	for k, v := range d.notes {
		notes[k] = v
	}
	d.notesMu.Unlock()
	d.hub.publish(snapshot(d.eng, now, strings.TrimSuffix(d.cfg.Gerrit.URL, "/"), &d.est, notes))
	d.published, d.dirty = now, false
}

func readSecret(value, file, env string) (string, error) {
	switch {
	case value != "":
		return value, nil
	case file != "":
		data, err := os.ReadFile(file)
		if err != nil {
			return "", err
		}
		return strings.TrimSpace(strings.SplitN(string(data), "\n", 2)[0]), nil
	case env != "":
		v := os.Getenv(env)
		if v == "" {
			return "", fmt.Errorf("environment variable %s is empty", env)
		}
		return v, nil
	}
	return "", nil
}

// gitRemote gives the merger the URL of a project's repository in Gerrit:
// the authenticated /a/ path with the HTTP password, or the anonymous one.
func gitRemote(base, user, password string) func(string) string {
	base = strings.TrimSuffix(base, "/")
	return func(project string) string {
		u, err := url.Parse(base)
		if err != nil {
			return base + "/" + project
		}
		if user != "" && password != "" {
			u.User = url.UserPassword(user, password)
			u.Path += "/a"
		}
		u.Path += "/" + project
		return u.String()
	}
}

// randomSecret makes a secret for embedded setups (demo, scenarios).
func randomSecret() string {
	b := make([]byte, 16)
	rand.Read(b)
	return hex.EncodeToString(b)
}

func newExecutor(cfg Config, log *slog.Logger) (Executor, error) {
	if cfg.Executor.Kind == "sim" {
		d := time.Duration(cfg.Executor.SimDuration)
		return scheduler.NewSim(scheduler.SimOptions{Duration: func(scheduler.Build) time.Duration { return d }, URL: cfg.PublicURL + "/sim"}), nil
	}
	ac := cfg.Executor.Argo
	rc, err := scheduler.RESTConfig(ac.Kubeconfig)
	if err != nil {
		return nil, fmt.Errorf("kubernetes: %w", err)
	}
	namespaces := map[string]bool{ac.Namespace: true}
	for _, p := range cfg.Projects {
		if p.Namespace != "" {
			namespaces[p.Namespace] = true
		}
	}
	sc := scheduler.Config{
		REST: rc, UIURL: ac.UIURL, Retention: time.Duration(ac.Retention), Log: log.With("component", "argo"),
		Policy: scheduler.Policy{MaxDeadline: time.Duration(ac.MaxDeadline), MaxParallelism: int64(ac.MaxParallelism)},
	}
	for ns := range namespaces {
		sc.Namespaces = append(sc.Namespaces, ns)
	}
	sort.Strings(sc.Namespaces)
	if a := ac.Artifacts; a != nil {
		access, err := readSecret("", a.AccessKeyFile, "")
		if err != nil {
			return nil, fmt.Errorf("artifacts access key: %w", err)
		}
		secret, err := readSecret("", a.SecretKeyFile, "")
		if err != nil {
			return nil, fmt.Errorf("artifacts secret key: %w", err)
		}
		sc.Artifacts = &scheduler.S3Config{Endpoint: a.Endpoint, Bucket: a.Bucket, AccessKey: access, SecretKey: secret, Insecure: a.Insecure, PublicURL: a.PublicURL}
	}
	return scheduler.NewArgo(sc)
}
