package scenarios

import (
	"slices"
	"strings"
	"testing"
)

// The administrators' steps and the explanation's expectations (format
// v2) parse into what the runner needs, and their mistakes name the line.
func TestParseAdminSteps(t *testing.T) {
	s, err := Parse("admin.yaml", []byte(`projects: {p: {}}
steps:
  - dequeue: {change: A, pipeline: gate, reason: "breaks the build"}
  - enqueue: {change: A, pipeline: check}
  - promote: {pipeline: gate, changes: [C, B]}
  - expect:
      explain-mentions: {A: [B, C]}
      explain-contains: {A: "Code-Review"}
`))
	if err != nil {
		t.Fatal(err)
	}
	if a := s.Steps[0].Admin; s.Steps[0].Kind != "dequeue" || a.Pipeline != "gate" || !slices.Equal(a.Changes, []string{"A"}) || a.Reason != "breaks the build" {
		t.Fatalf("dequeue %+v", a)
	}
	if a := s.Steps[1].Admin; s.Steps[1].Kind != "enqueue" || a.Pipeline != "check" || !slices.Equal(a.Changes, []string{"A"}) {
		t.Fatalf("enqueue %+v", a)
	}
	if a := s.Steps[2].Admin; s.Steps[2].Kind != "promote" || !slices.Equal(a.Changes, []string{"C", "B"}) {
		t.Fatalf("promote %+v", a)
	}
	e := s.Steps[3].Expect
	if !slices.Equal(e.ExplainMentions["A"], []string{"B", "C"}) || e.ExplainContains["A"] != "Code-Review" || !slices.Equal(e.Keys, []string{"explain-mentions", "explain-contains"}) {
		t.Fatalf("expect %+v", e)
	}
	base := "projects: {p: {}}\nsteps:\n"
	for _, tc := range []struct{ name, yaml, want string }{
		{"dequeue without a pipeline", base + "  - dequeue: {change: A}\n", `x.yaml:3: dequeue: "pipeline" is required`},
		{"enqueue without a change", base + "  - enqueue: {pipeline: gate}\n", `x.yaml:3: enqueue: "change" is required`},
		{"promote of one change by the wrong key", base + "  - promote: {change: A, pipeline: gate}\n", `x.yaml:3: unknown promote key "change"`},
		{"promote of nothing", base + "  - promote: {changes: [], pipeline: gate}\n", `x.yaml:3: promote: changes: name at least one change`},
		{"explain-contains not a map", base + "  - expect: {explain-contains: [A]}\n", `x.yaml:3: explain-contains must be a mapping`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("x.yaml", []byte(tc.yaml))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want %q", err, tc.want)
			}
		})
	}
}
