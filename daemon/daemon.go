package daemon

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"gated.dev/gated/gerrit"
	"gated.dev/gated/gitcredential"
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
	// ConfigFile is the file the configuration was read from: Reload
	// reads it again, and Run reloads it when it changes.
	ConfigFile string
}

// Daemon is gated: the gate loop, its workers, the intake of Gerrit events
// and the HTTP endpoints. It moves events into the queue engine and actions
// out of it; every decision is the engine's.
type Daemon struct {
	cfg Config
	log *slog.Logger
	now func() time.Time

	db      *storage.DB
	gerrit  *gerrit.Client
	merger  *merger.Merger
	exec    Executor
	hub     *hub
	metrics *metrics
	// gitKey mints and checks the credentials builds fetch speculative
	// states with.
	gitKey *gitcredential.Key

	mail     *mailbox
	loop     *loop
	work     *workers
	intake   *intake
	webhook  http.Handler
	adminAPI *adminAPI // nil: the admin API is off
	mux      *http.ServeMux

	// The live configuration (reload.go): the file, the projects as the
	// intake and builders see them, the configuration in force and the
	// hash of the file last loaded (reloading guards both), and the build
	// namespaces the executor watches.
	configFile string
	projects   *projects
	reloading  sync.Mutex
	live       Config
	loaded     []byte
	namespaces map[string]bool

	ready atomic.Bool
	// requests numbers administrators' requests; explaining bounds the
	// explanations under way.
	requests   atomic.Uint64
	explaining chan struct{}
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
		cfg: cfg, log: opts.Logger, now: opts.Now, hub: newHub(), metrics: newMetrics(), mail: newMailbox(),
		configFile: opts.ConfigFile, projects: newProjects(cfg.Projects), live: cfg, namespaces: namespaces(cfg),
		explaining: make(chan struct{}, maxExplaining),
	}
	if d.configFile != "" {
		d.loaded = fileHash(d.configFile)
	}
	var err error
	if d.db, err = storage.Open(filepath.Join(cfg.DataDir, "gated.db")); err != nil {
		return nil, err
	}
	if err := d.setup(ctx, opts); err != nil {
		d.db.Close()
		return nil, err
	}
	return d, nil
}

func (d *Daemon) setup(ctx context.Context, opts Options) error {
	qc := d.cfg.QueueConfig()
	parts, err := d.db.State()
	if err != nil {
		return err
	}
	var eng *queue.Engine
	if len(parts) == 0 {
		eng, err = queue.New(qc)
	} else {
		eng, err = queue.RestoreParts(qc, parts)
	}
	if err != nil {
		return err
	}
	gc := gerrit.Config{
		URL: d.cfg.Gerrit.URL, User: d.cfg.Gerrit.User, PasswordFile: d.cfg.Gerrit.PasswordFile,
		PasswordEnv: d.cfg.Gerrit.PasswordEnv, Password: opts.GerritPassword, Logger: d.log.With("component", "gerrit"),
		Timeout: time.Duration(d.cfg.Gerrit.Timeout),
	}
	if gc.Password != "" {
		gc.PasswordFile, gc.PasswordEnv = "", ""
	}
	if d.gerrit, err = gerrit.NewClient(gc); err != nil {
		return err
	}
	d.log.Info("Gerrit client ready", "gerrit", gc) // gc logs no password (gerrit.Config.LogValue)
	if d.merger, err = merger.New(ctx, filepath.Join(d.cfg.DataDir, "git"), d.gerrit.GitRemote, merger.WithLogger(d.log.With("component", "merger")),
		merger.WithGitattributesForMerge(d.cfg.Gerrit.UseGitattributesForMerge)); err != nil {
		return err
	}
	if d.gitKey, err = gitcredential.LoadOrCreateKey(filepath.Join(d.cfg.DataDir, "git-credential.key")); err != nil {
		return err
	}
	if d.exec = opts.Executor; d.exec == nil {
		if d.exec, err = newExecutor(d.cfg, d.log); err != nil {
			return err
		}
	}
	d.intake = newIntake(d.log.With("component", "intake"), d.db, d.gerrit, d.projects, d.mail, d.metrics, d.now)
	d.intake.info.setByTopic(d.cfg)
	secret := opts.WebhookSecret
	if secret == "" {
		if secret, err = readSecret(d.cfg.Gerrit.Webhook.SecretFile, d.cfg.Gerrit.Webhook.SecretEnv); err != nil {
			return fmt.Errorf("webhook secret: %w", err)
		}
	}
	if secret != "" {
		if d.webhook, err = gerrit.NewWebhookHandler(gerrit.WebhookConfig{Secret: secret, Logger: d.log.With("component", "webhook")}, d.Deliver); err != nil {
			return err
		}
	} else {
		d.log.Warn("no webhook secret configured: the webhook endpoint is disabled; events come from stream-events and the periodic reconcile only")
	}
	if f := d.cfg.Admin.TokenFile; f != "" {
		if d.adminAPI, err = newAdminAPI(d, f); err != nil {
			return err
		}
	}
	d.work = newWorkers(d.log, d.mail, d.metrics,
		&merging{m: d.merger, metrics: d.metrics},
		&building{exec: d.exec, merger: d.merger, projects: d.projects, argo: d.cfg.Executor.Argo, publicURL: d.cfg.PublicURL, gitKey: d.gitKey, now: d.now},
		&reporting{log: d.log.With("component", "reporter"), gerrit: d.gerrit, user: d.cfg.Gerrit.User, merger: d.merger, publicURL: d.cfg.PublicURL},
		d.intake,
	)
	d.loop = &loop{
		log: d.log.With("component", "loop"), db: d.db, eng: eng, now: d.now, mail: d.mail, work: d.work,
		metrics: d.metrics, hub: d.hub, gerritURL: strings.TrimSuffix(d.cfg.Gerrit.URL, "/"), notes: map[queue.ItemID]string{},
		timed: map[uint64]timedAction{},
	}
	n, err := learnHistory(d.db, &d.loop.est)
	if err != nil {
		return err
	}
	d.log.Debug("build estimates learnt from the history", "builds", n)
	d.setupMux()
	return nil
}

// Deliver hands gated a Gerrit event, as the webhook and the stream-events
// reader do once they have decoded it (embedders such as the scenario
// runner and the demo call it too). The event is stored before Deliver
// returns; an error means it was not, and the sender should try again.
func (d *Daemon) Deliver(ctx context.Context, ev gerrit.Event) error { return d.intake.take(ctx, ev) }

// Ready reports whether the daemon has recovered and runs.
func (d *Daemon) Ready() bool { return d.ready.Load() }

// Idle reports whether nothing is in flight: no event waiting, no action
// unfinished, no answer unconsumed, no reconcile under way. Builds that
// run (in the executor) do not count.
func (d *Daemon) Idle() bool { return d.Ready() && d.mail.idle() }

// Status returns the status as of now (not the rate-limited one the page
// shows), from the gate loop.
func (d *Daemon) Status(ctx context.Context) (Status, error) {
	reply := make(chan Status, 1)
	if !d.mail.post(ctx, input{tick: true, status: reply}) {
		return Status{}, ctx.Err()
	}
	select {
	case st := <-reply:
		return st, nil
	case <-ctx.Done():
		return Status{}, ctx.Err()
	}
}

// Close releases the state file. Call it after Run returned.
func (d *Daemon) Close() error { return d.db.Close() }

// Handler serves gated's HTTP endpoints.
func (d *Daemon) Handler() http.Handler { return d.mux }

// readSecret reads a secret from the first line of a file, or from an
// environment variable; neither set is no secret.
func readSecret(file, env string) (string, error) {
	switch {
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

func newExecutor(cfg Config, log *slog.Logger) (Executor, error) {
	if cfg.Executor.Kind == "sim" {
		d := time.Duration(cfg.Executor.SimDuration)
		return scheduler.NewSim(scheduler.SimOptions{Duration: func(scheduler.Build) time.Duration { return d }}), nil
	}
	ac := cfg.Executor.Argo
	rc, err := scheduler.RESTConfig(ac.Kubeconfig)
	if err != nil {
		return nil, fmt.Errorf("kubernetes: %w", err)
	}
	sc := scheduler.Config{
		REST: rc, UIURL: ac.UIURL, Retention: time.Duration(ac.Retention), Log: log.With("component", "argo"),
		Policy: ac.Policy(),
	}
	for ns := range namespaces(cfg) {
		sc.Namespaces = append(sc.Namespaces, ns)
	}
	sort.Strings(sc.Namespaces)
	if a := ac.Artifacts; a != nil {
		access, err := readSecret(a.AccessKeyFile, "")
		if err != nil {
			return nil, fmt.Errorf("artifacts access key: %w", err)
		}
		secret, err := readSecret(a.SecretKeyFile, "")
		if err != nil {
			return nil, fmt.Errorf("artifacts secret key: %w", err)
		}
		sc.Artifacts = &scheduler.S3Config{Endpoint: a.Endpoint, Bucket: a.Bucket, AccessKey: access, SecretKey: secret, Insecure: a.Insecure, PublicURL: a.PublicURL}
	}
	return scheduler.NewArgo(sc)
}

// namespaces are the build namespaces of a configuration: the executor's
// default and the projects'.
func namespaces(cfg Config) map[string]bool {
	out := map[string]bool{cfg.Executor.Argo.Namespace: true}
	for _, p := range cfg.Projects {
		if p.Namespace != "" {
			out[p.Namespace] = true
		}
	}
	return out
}
