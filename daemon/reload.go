package daemon

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"os"
	"reflect"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"gated.dev/gated/queue"
)

// Live configuration. SIGHUP (serve calls Reload) or the configuration
// file changing on disk reloads it. The file is checked exactly as serve
// checks it at start (LoadConfig); a file that does not pass is refused:
// the running configuration stays, and the error is logged and shown on
// the status page until a good file replaces it. A good one reaches the
// engine as an event (queue.Reconfigure), applied and committed by the
// loop like any other: the queues are kept, and the engine decides which
// items leave and tells their changes why. Pipelines and projects change
// at once; the other settings (Gerrit, the executor, the listen address,
// the history) take effect at the next start, and a project in a build
// namespace the executor does not watch is refused until then.

// projects is the live configuration of the projects, read by the intake
// (which events concern gated) and the builders (namespaces).
type projects struct {
	m atomic.Pointer[map[string]ProjectYAML]
}

func newProjects(m map[string]ProjectYAML) *projects {
	p := &projects{}
	p.set(m)
	return p
}

func (p *projects) set(m map[string]ProjectYAML) { p.m.Store(&m) }

func (p *projects) get(name string) (ProjectYAML, bool) {
	pc, ok := (*p.m.Load())[name]
	return pc, ok
}

func (p *projects) has(name string) bool {
	_, ok := p.get(name)
	return ok
}

// configNote tells the loop whether the last reload was refused, and why.
type configNote struct{ err string }

// configPoll is how often the configuration file is checked for changes.
const configPoll = 2 * time.Second

// Reload reads the configuration file again and applies it, or refuses
// it (the error says why, by line, and is shown on the status page).
func (d *Daemon) Reload(ctx context.Context) error {
	if d.configFile == "" {
		return errors.New("reload: gated was started without a configuration file")
	}
	d.reloading.Lock()
	defer d.reloading.Unlock()
	d.loaded = fileHash(d.configFile)
	next, err := LoadConfig(d.configFile)
	if err == nil {
		err = d.reloadable(next)
	}
	if err != nil {
		d.log.Error("configuration refused; the running configuration stays", "file", d.configFile, "error", err)
		d.mail.post(ctx, input{config: &configNote{err: err.Error()}})
		return err
	}
	if changed := restartOnly(d.cfg, next); len(changed) > 0 {
		d.log.Warn("some settings take effect at the next start only", "settings", strings.Join(changed, ", "))
	}
	before := d.live
	d.live = next
	d.projects.set(next.Projects)
	d.intake.info.setByTopic(next)
	qc := next.QueueConfig()
	if !d.mail.post(ctx, input{event: queue.Reconfigure{Config: qc}, config: &configNote{}}) {
		return ctx.Err()
	}
	d.log.Info("configuration reloaded", "file", d.configFile,
		"pipelines", names(qc.Pipelines), "projects_added", added(next.Projects, before.Projects), "projects_removed", added(before.Projects, next.Projects))
	return nil
}

// reloadable refuses what a running gated cannot take: a build namespace
// its executor does not watch.
func (d *Daemon) reloadable(next Config) error {
	if d.cfg.Executor.Kind != "argo" {
		return nil
	}
	var errs []error
	for _, name := range slices.Sorted(mapKeys(next.Projects)) {
		if ns := next.Projects[name].Namespace; ns != "" && !d.namespaces[ns] {
			errs = append(errs, fmt.Errorf("projects.%s.namespace: gated watches the builds of namespace %s only after a restart", name, ns))
		}
	}
	return errors.Join(errs...)
}

// restartOnly names the settings that differ and take effect at the next
// start only.
func restartOnly(running, next Config) []string {
	next.PublicURL = strings.TrimSuffix(next.PublicURL, "/")
	if next.PublicURL == "" {
		next.PublicURL = "http://" + next.Listen
	}
	var out []string
	for _, s := range []struct {
		key  string
		a, b any
	}{
		{"data-dir", running.DataDir, next.DataDir}, {"listen", running.Listen, next.Listen},
		{"public-url", running.PublicURL, next.PublicURL}, {"gerrit", running.Gerrit, next.Gerrit},
		{"executor", running.Executor, next.Executor}, {"history", running.History, next.History},
		{"admin", running.Admin, next.Admin}, // the token file's content is read on every request
	} {
		if !reflect.DeepEqual(s.a, s.b) {
			out = append(out, s.key)
		}
	}
	return out
}

func names(ps []queue.PipelineConfig) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = p.Name
	}
	return out
}

// added returns the keys of b that a lacks, sorted.
func added(b, a map[string]ProjectYAML) []string {
	var out []string
	for _, k := range slices.Sorted(mapKeys(b)) {
		if _, ok := a[k]; !ok {
			out = append(out, k)
		}
	}
	return out
}

// watchConfig reloads the configuration when the file's content changes
// (a ConfigMap update replaces it) from what was last loaded, checking
// every configPoll.
func (d *Daemon) watchConfig(ctx context.Context) {
	t := time.NewTicker(configPoll)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		d.reloading.Lock()
		h, last := fileHash(d.configFile), d.loaded
		d.reloading.Unlock()
		if h == nil || bytes.Equal(h, last) {
			continue // unreadable for a moment (being replaced), or the same
		}
		d.log.Info("the configuration file changed; reloading it", "file", d.configFile)
		d.Reload(ctx) // it logs and shows a refusal
	}
}

func fileHash(path string) []byte {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil
	}
	sum := sha256.Sum256(data)
	return sum[:]
}
