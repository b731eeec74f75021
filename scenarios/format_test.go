package scenarios

import (
	"strings"
	"testing"
	"time"
)

const sample = `name: failed change in the middle of the queue
config:
  pipelines:
    - name: gate
      manager: dependent
      window: 20
      window-floor: 3
projects:
  org/project:
    queue: integrated
    submit-type: MERGE_IF_NECESSARY
    files: {README: "hello\n"}
steps:
  - upload: {id: A, project: org/project}
  - upload: {id: B, project: org/project, parent: A, depends-on: [A], files: {b.txt: "b"}}
  - fail: {change: B}
  - flaky: {change: A, times: 2}
  - hold: true
  - approve: {change: A}
  - review: {change: A, labels: {Code-Review: -2}, message: "no"}
  - release: all
  - release: {change: A}
  - wait: settled
  - restart-gated: {}
  - gerrit-fault: {status: 500, count: 3, path: "/changes/"}
  - push-branch: {project: org/project, files: {x: y}}
  - new-patchset: {change: A}
  - expect:
      merged: [A]
      not-merged: [B]
      queue: {gate: []}
      running: [[A], [A, B]]
      builds-started: 3
      builds-cancelled: 1
      votes: {A: {Verified: 2}}
      comment-contains: {B: "merge conflict"}
      window: {gate: 10}
`

func TestParseSample(t *testing.T) {
	s, err := Parse("sample.yaml", []byte(sample))
	if err != nil {
		t.Fatal(err)
	}
	if s.Name != "failed change in the middle of the queue" || len(s.Projects) != 1 || len(s.Steps) != 15 {
		t.Fatalf("parsed %+v", s)
	}
	if p := s.Projects[0]; p.Name != "org/project" || p.Queue != "integrated" || p.Files["README"] != "hello\n" {
		t.Fatalf("project %+v", p)
	}
	if u := s.Steps[1].Upload; u.Parent != "A" || u.DependsOn[0] != "A" || u.Branch != "master" || s.Steps[1].Line != 15 {
		t.Fatalf("upload %+v line %d", u, s.Steps[1].Line)
	}
	if f := s.Steps[3].Flaky; f.Times != 2 {
		t.Fatalf("flaky %+v", f)
	}
	e := s.Steps[14].Expect
	if *e.BuildsStarted != 3 || len(e.Running) != 2 || e.Votes["A"]["Verified"] != 2 || e.Window["gate"] != 10 || len(e.Queue["gate"]) != 0 {
		t.Fatalf("expect %+v", e)
	}
	if !strings.Contains(string(s.Config), "window-floor: 3") {
		t.Fatalf("config fragment %q", s.Config)
	}
}

const sampleV2 = `name: the keys format v2 adds
gerrit: {submit-whole-topic: true}
projects:
  org/project:
    config: {trusted: true, workflow-file: .ci/wf.yaml}
steps:
  - upload: {id: A, project: org/project}
  - upload: {id: B, project: org/project}
  - new-patchset: {change: A, depends-on: [B], message: "A, again"}
  - push-branch: {id: P, project: org/project, files: {x: y}}
  - advance: 2h
  - expect:
      built: {post: [A, P], periodic: [org/project]}
      merged-together: [[A, B]]
  - reload:
      config: {pipelines: [{name: check, disabled: true}]}
      projects: [org/project]
  - reload: {}
`

func TestParseV2(t *testing.T) {
	s, err := Parse("v2.yaml", []byte(sampleV2))
	if err != nil {
		t.Fatal(err)
	}
	if !s.Gerrit.SubmitWholeTopic || !strings.Contains(string(s.Projects[0].Config), "trusted: true") {
		t.Fatalf("gerrit %+v, project config %q", s.Gerrit, s.Projects[0].Config)
	}
	if np := s.Steps[2].NewPatchset; np.Message != "A, again" || len(np.DependsOn) != 1 || np.DependsOn[0] != "B" {
		t.Fatalf("new-patchset %+v", np)
	}
	if pb := s.Steps[3].PushBranch; pb.ID != "P" {
		t.Fatalf("push-branch %+v", pb)
	}
	if s.Steps[4].Advance != 2*time.Hour {
		t.Fatalf("advance %v", s.Steps[4].Advance)
	}
	e := s.Steps[5].Expect
	if strings.Join(e.Built["post"], ",") != "A,P" || strings.Join(e.Built["periodic"], ",") != "org/project" || len(e.MergedTogether) != 1 {
		t.Fatalf("expect %+v", e)
	}
	if r := s.Steps[6].Reload; !strings.Contains(string(r.Config), "disabled: true") || len(r.Projects) != 1 {
		t.Fatalf("reload %+v", r)
	}
	if r := s.Steps[7].Reload; r.Config != nil || r.Projects != nil {
		t.Fatalf("reload with nothing: %+v", r)
	}
}

func TestParseErrorsNameTheLine(t *testing.T) {
	base := "projects: {p: {}}\nsteps:\n"
	for _, tc := range []struct{ name, yaml, want string }{
		{"unknown step", base + "  - teleport: {change: A}\n", `x.yaml:3: unknown step "teleport"`},
		{"unknown key", base + "  - upload: {id: A, project: p, colour: red}\n", `x.yaml:3: unknown upload key "colour"`},
		{"missing key", base + "  - upload: {project: p}\n", `x.yaml:3: upload: "id" is required`},
		{"unknown expectation", base + "  - expect:\n      merged: [A]\n      happy: true\n", `x.yaml:5: unknown expectation "happy"`},
		{"unknown top-level key", "projects: {p: {}}\nsurprise: 1\n", `x.yaml:2: unknown top-level key "surprise"`},
		{"two keys in a step", base + "  - {approve: {change: A}, abandon: {change: A}}\n", `x.yaml:3: a step is a map with exactly one key`},
		{"bad integer", base + "  - expect: {builds-started: many}\n", `x.yaml:3: expected an integer`},
		{"bad wait", base + "  - wait: forever\n", `x.yaml:3: wait: only 'settled'`},
		{"no projects", "steps: []\n", "no projects"},
		{"not YAML", "steps: [\n", "invalid YAML"},
		{"unknown gerrit key", "gerrit: {submit-hole-topic: true}\nprojects: {p: {}}\n", `x.yaml:1: unknown gerrit key "submit-hole-topic"`},
		{"bad gerrit value", "gerrit: {submit-whole-topic: often}\nprojects: {p: {}}\n", `x.yaml:1: expected true or false`},
		{"project config not a mapping", "projects: {p: {config: trusted}}\n", `x.yaml:1: expected a mapping of gated's configuration`},
		{"bad advance", base + "  - advance: a while\n", `x.yaml:3: advance: expected a duration`},
		{"negative advance", base + "  - advance: -1h\n", `x.yaml:3: advance: expected a duration`},
		{"unknown new-patchset key", base + "  - new-patchset: {change: A, parent: B}\n", `x.yaml:3: unknown new-patchset key "parent"`},
		{"unknown reload key", base + "  - reload: {projects: [p], pipelines: []}\n", `x.yaml:3: unknown reload key "pipelines"`},
		{"reload config not a mapping", base + "  - reload: {config: [a]}\n", `x.yaml:3: expected a mapping of gated's configuration`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("x.yaml", []byte(tc.yaml))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want %q", err, tc.want)
			}
		})
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte(sample))
	f.Add([]byte("projects: {p: {}}\nsteps:\n  - expect: {running: [[A]]}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := Parse("fuzz.yaml", data)
		if err == nil && len(s.Projects) == 0 {
			t.Fatal("a scenario without projects was accepted")
		}
	})
}
