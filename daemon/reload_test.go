package daemon

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"gated.dev/gated/gerrit/gerrittest"
)

// Reloading the configuration while items are queued: a pipeline added and
// a project removed take effect at once, the removed project's items leave
// with a report that says why; a bad file is refused (the running
// configuration stays, the status page shows why) until a good one
// replaces it, which gated notices on disk by itself.
func TestReload(t *testing.T) {
	w := newWorld(t, "org/a", "org/b")
	dir := t.TempDir()
	password := filepath.Join(dir, "password")
	if err := os.WriteFile(password, []byte(w.gerrit.Password(gerrittest.GatedUser)), 0o600); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, "gated.yaml")
	write := func(rest string) {
		t.Helper()
		yaml := fmt.Sprintf("data-dir: %s\ngerrit: {url: %q, password-file: %s}\nexecutor: {kind: sim}\n%s", w.cfg.DataDir, w.cfg.Gerrit.URL, password, rest)
		if err := os.WriteFile(file, []byte(yaml), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("projects: {org/a: {}, org/b: {}}\n")
	w.shutdown()
	w.configFile = file
	w.start()

	w.exec.Hold(true)
	b := w.upload("org/b", nil)
	a := w.upload("org/a", nil)
	w.waitFor("both checks building", func() bool { return len(w.exec.Running()) == 2 })

	write(`projects: {org/a: {}}
pipelines:
  - name: post
    manager: supercedent
    trigger: [{event: ref-updated, ref: ^refs/heads/}]
`)
	if err := w.d.Reload(t.Context()); err != nil {
		t.Fatal(err)
	}
	w.waitFor("org/b's check left, told why", w.told(b, "left the check pipeline: project org/b was removed from gated's configuration"))
	st := w.status()
	if got := w.items(st, "check"); !slices.Equal(got, []int{a}) || !hasPipeline(st, "post") {
		t.Fatalf("after the reload: check %v (want [%d]), pipelines %v", got, a, st.Pipelines)
	}

	write("projects: {org/a: {}}\npipelines: [{name: post, manager: supercedent, triger: []}]\n")
	if err := w.d.Reload(t.Context()); err == nil || !strings.Contains(err.Error(), "line 5: unknown key triger in pipelines.0 (did you mean trigger?)") {
		t.Fatalf("a bad file: Reload = %v", err)
	}
	w.waitFor("the refusal on the status page", func() bool { return strings.Contains(w.status().ConfigError, "unknown key triger") })
	if st := w.status(); !hasPipeline(st, "post") {
		t.Fatalf("the running configuration changed after a refusal: %v", st.Pipelines)
	}
	code, page := w.get("/")
	if code != 200 || !strings.Contains(page, "The configuration file was refused") {
		t.Fatalf("status page %d does not show the refusal", code)
	}

	// Fixed on disk, with no signal: gated notices.
	write("projects: {org/a: {}}\npipelines: [{name: check, disabled: true}]\n")
	w.waitFor("the fixed file applied", func() bool {
		st := w.status()
		return st.ConfigError == "" && !hasPipeline(st, "check") && !hasPipeline(st, "post")
	})
	w.waitFor("org/a's check left, told why", w.told(a, "left the check pipeline: the check pipeline was removed from gated's configuration"))

	// Changed while gated is down: at start, the items of a project that
	// went away leave with the reason, as on a reload.
	write("projects: {org/a: {}}\npipelines: [{name: post, manager: supercedent, trigger: [{event: ref-updated}]}]\n")
	if err := w.d.Reload(t.Context()); err != nil {
		t.Fatal(err)
	}
	if _, err := w.gerrit.PushBranch(t.Context(), gerrittest.Push{Project: "org/a", Branch: "stable"}); err != nil {
		t.Fatal(err)
	}
	w.waitFor("org/a's post item building", func() bool { return len(w.items(w.status(), "post")) == 1 && len(w.exec.Running()) == 1 })
	w.shutdown()
	write("projects: {org/b: {}}\npipelines: [{name: post, manager: supercedent, trigger: [{event: ref-updated}]}]\n")
	cfg, err := LoadConfig(file)
	if err != nil {
		t.Fatal(err)
	}
	w.cfg = cfg
	w.start()
	w.waitFor("org/a's post item gone", func() bool { return len(w.items(w.status(), "post")) == 0 })
	w.waitFor("its build stopped", func() bool { return len(w.exec.Running()) == 0 })
}

// told reports whether gated commented text on change n.
func (w *world) told(n int, text string) func() bool {
	return func() bool {
		c, _ := w.gerrit.Change(n)
		return slices.ContainsFunc(c.Messages, func(m gerrittest.Message) bool {
			return m.Author == gerrittest.GatedUser && strings.Contains(m.Text, text)
		})
	}
}

func (w *world) status() Status {
	w.t.Helper()
	st, err := w.d.Status(context.Background())
	if err != nil {
		w.t.Fatal(err)
	}
	return st
}

// items returns the changes of a pipeline's items.
func (w *world) items(st Status, pipeline string) []int {
	var out []int
	for _, p := range st.Pipelines {
		for _, q := range p.Queues {
			for _, it := range q.Items {
				if p.Name == pipeline {
					out = append(out, it.Change.Number)
				}
			}
		}
	}
	return out
}

func hasPipeline(st Status, name string) bool {
	return slices.ContainsFunc(st.Pipelines, func(p PipelineStatus) bool { return p.Name == name })
}
