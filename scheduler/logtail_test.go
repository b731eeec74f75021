package scheduler

import (
	"context"
	"errors"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestLogTail(t *testing.T) {
	long := strings.Repeat("x", 100) + "\n"
	for _, tc := range []struct {
		name, in string
		check    func(string) bool
	}{
		{"a short log is kept whole", "ok\nFAIL: TestX\n", func(s string) bool { return s == "ok\nFAIL: TestX\n" }},
		{"a long log keeps its end, from a line's start", strings.Repeat(long, 1000) + "FAIL: the end\n", func(s string) bool {
			return len(s) <= MaxLogTail && strings.HasSuffix(s, "FAIL: the end\n") && strings.HasPrefix(s, "xxx")
		}},
		{"invalid UTF-8 is replaced", "bad \xff\xfe byte\n", func(s string) bool { return utf8.ValidString(s) && strings.Contains(s, "byte") }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := logTail([]byte(tc.in)); !tc.check(got) {
				t.Fatalf("logTail gave %d bytes: %.200q", len(got), got)
			}
		})
	}
}

// A simulated build has one step, which says why a failure has no log.
func TestSimSteps(t *testing.T) {
	s := NewSim(SimOptions{})
	s.Fail(7, nil)
	b := Build{Pipeline: "gate", Item: "1", Attempt: 1, Change: 7, Workflow: []byte("apiVersion: argoproj.io/v1alpha1\nkind: Workflow\n")}
	if _, err := s.Start(context.Background(), b); err != nil {
		t.Fatal(err)
	}
	steps, err := s.Steps(context.Background(), b.Name())
	if err != nil || len(steps) != 1 || steps[0].Phase != "Running" {
		t.Fatalf("running: %+v %v", steps, err)
	}
	s.Advance()
	steps, _ = s.Steps(context.Background(), b.Name())
	if steps[0].Phase != "Failed" || steps[0].NoLog == "" || steps[0].Finished.IsZero() {
		t.Fatalf("failed: %+v", steps)
	}
	if _, err := s.Steps(context.Background(), "gated-gate-9-1"); !errors.Is(err, ErrNoSuchBuild) {
		t.Fatalf("unknown build: %v", err)
	}
}
