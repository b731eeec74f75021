package queue

import (
	"strings"
	"testing"
)

// filesConfig is lifecycleConfig where p's check skips documentation
// (irrelevant-files) and p's post builds only sources (files).
func filesConfig() Config {
	c := lifecycleConfig()
	c.Projects["p"] = ProjectConfig{
		Queue:           "integrated",
		IrrelevantFiles: map[string][]string{"check": {`docs/`, `.*\.md$`}, "gate": {`docs/`}},
		Files:           map[string][]string{"post": {`src/`}},
	}
	return c
}

// Table tests of file matchers (Zuul's files and irrelevant-files).
func TestFileMatchers(t *testing.T) {
	for _, tc := range []struct{ name, script string }{
		{"a docs-only change gets no check build and is told so; the gate builds it all the same", `
			change 1 files=/COMMIT_MSG,docs/guide.txt,README.md
			recheck 1
			- report check 1,1 skipped
			queue check:
			approve 1
			- merge #1.1 gate [1,1]
		`},
		{"one relevant file is enough", `
			change 1 files=/COMMIT_MSG,docs/guide.txt,src/main.go
			recheck 1
			- merge #1.1 check [1,1]
		`},
		{"no files known, or only Gerrit's magic ones: it builds", `
			change 1
			recheck 1
			- merge #1.1 check [1,1]
			change 2 files=/COMMIT_MSG
			recheck 2
			- merge #2.1 check [2,1]
		`},
		{"other projects have no matchers", `
			change 1 project=r files=docs/guide.txt
			recheck 1
			- merge #1.1 check [1,1]
		`},
		{"a ref update whose files none matches files leaves after its checkout, reported on the change it came from", `
			change 1
			approve 1
			- merge #1.1 gate [1,1]
			merge #1
			- build #1.1 gate [1,1]
			pass #1
			- report gate 1,1 success Verified+2
			- submit #1.1 gate 1,1 expect p=t0p
			submitted #1
			- forget #1 gate
			refupdate p t1 old=t0p
			- checkout #2.1 post p refs/heads/master@t1 from t0p
			checkout #2 files=docs/guide.txt
			- report post 1,1 skipped
			- forget #2 post
			refupdate p t2 old=t1
			- checkout #3.1 post p refs/heads/master@t2 from t1
			checkout #3 files=src/main.go
			- build #3.1 post [] p:master@t2
		`},
		{"the waiting item of a supercedent queue starts when the head is skipped", `
			refupdate p t1
			- checkout #1.1 post p refs/heads/master@t1
			refupdate p t2
			checkout #1 files=README.md
			- forget #1 post
			- checkout #2.1 post p refs/heads/master@t2
		`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			newHarness(t, filesConfig()).run(tc.script)
		})
	}
}

func TestSkippedReportSaysWhy(t *testing.T) {
	h := newHarness(t, filesConfig())
	h.run(`change 1 files=docs/a.txt`)
	acts := h.do("recheck 1")
	if len(acts) != 1 || !strings.Contains(acts[0].(Report).Message, "no build in the check pipeline: every file it changes matches the project's irrelevant-files") {
		t.Fatalf("got %v", acts)
	}
}

// Which workflow a pipeline runs, and where a trusted project reads it.
func TestWorkflows(t *testing.T) {
	cfg := lifecycleConfig()
	cfg.Projects["p"] = ProjectConfig{Queue: "integrated", Trusted: true}
	cfg.Projects["q"] = ProjectConfig{Queue: "integrated", Workflow: "ci.yaml", Workflows: map[string]string{"post": ".pipeline/publish.yaml", "check": ""}}
	for _, tc := range []struct{ name, script string }{
		{"a project runs its workflow file unless a pipeline maps it elsewhere, or to nothing: then no item at all", `
			change 1 project=q
			recheck 1
			approve 1
			- merge #1.1 gate [1,1]
			merge #1
			- build #1.1 gate [1,1] workflow=ci.yaml
			refupdate q t1 ref=refs/heads/stable
			- checkout #2.1 post q refs/heads/stable@t1
			checkout #2
			- build #2.1 post [] q:stable@t1 workflow=.pipeline/publish.yaml
		`},
		{"a trusted project's builds read the workflow at the branch the state was built on", `
			change 1 files=.pipeline/argo-workflow.yaml
			recheck 1
			- merge #1.1 check [1,1]
			merge #1
			- build #1.1 check [1,1] trusted@t0p
		`},
		{"a trusted project's ref item reads it at the commit it builds: merged code", `
			refupdate p t1
			- checkout #1.1 post p refs/heads/master@t1
			checkout #1
			- build #1.1 post [] p:master@t1 trusted@t1
		`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			newHarness(t, cfg).run(tc.script)
		})
	}
	t.Run("a change that edits a trusted project's workflow is told its version is used once merged", func(t *testing.T) {
		h := newHarness(t, cfg)
		h.run(`
			change 1 files=.pipeline/argo-workflow.yaml
			change 2 files=src/a.go
			recheck 1
			- merge #1.1 check [1,1]
			merge #1
			- build #1.1 check [1,1] trusted@t0p
			recheck 2
			- merge #2.1 check [2,1]
			merge #2
			- build #2.1 check [2,1] trusted@t0p
		`)
		for _, c := range []struct {
			cmd  string
			note bool
		}{{"pass #1", true}, {"pass #2", false}} {
			r := h.do(c.cmd)[0].(Report)
			if got := strings.Contains(r.Message, "edits .pipeline/argo-workflow.yaml, but p is a trusted project"); got != c.note {
				t.Errorf("%s: report %q: note %v, want %v", c.cmd, r.Message, got, c.note)
			}
		}
	})
}
