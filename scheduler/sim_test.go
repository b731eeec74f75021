package scheduler

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"
)

func build(item string, change int, state ...int) Build {
	return Build{Pipeline: "gate", Item: item, Attempt: 1, Change: change, Changes: append(state, change), Workflow: []byte("apiVersion: argoproj.io/v1alpha1\nkind: Workflow\n")}
}

// collect runs the sim's watch and records every update.
func collect(t *testing.T, s *Sim) (func() []Update, func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var mu sync.Mutex
	var got []Update
	done := make(chan struct{})
	go func() {
		defer close(done)
		s.Run(ctx, func(u Update) {
			mu.Lock()
			got = append(got, u)
			mu.Unlock()
		})
	}()
	return func() []Update {
			deadline := time.Now().Add(5 * time.Second)
			for s.Undelivered() > 0 && time.Now().Before(deadline) {
				time.Sleep(time.Millisecond)
			}
			mu.Lock()
			defer mu.Unlock()
			return append([]Update(nil), got...)
		}, func() {
			cancel()
			<-done
		}
}

func TestSimScriptedResults(t *testing.T) {
	s := NewSim(SimOptions{})
	s.Fail(2, nil)
	s.Fail(3, []int{9})
	s.Flaky(4, 1)
	ctx := context.Background()
	for _, b := range []Build{build("1", 1), build("2", 2), build("3", 3), build("3b", 3, 9), build("4", 4), build("4b", 4)} {
		if _, err := s.Start(ctx, b); err != nil {
			t.Fatal(err)
		}
	}
	updates, stop := collect(t, s)
	defer stop()
	for s.Advance() {
	}
	final := map[string]Phase{}
	for _, u := range updates() {
		final[u.Item] = u.Phase
	}
	want := map[string]Phase{"1": PhaseSucceeded, "2": PhaseFailed, "3": PhaseSucceeded, "3b": PhaseFailed, "4": PhaseFailed, "4b": PhaseSucceeded}
	for item, phase := range want {
		if final[item] != phase {
			t.Errorf("item %s ended %s, want %s", item, final[item], phase)
		}
	}
	if started, cancelled := s.Counts(); started != 6 || cancelled != 0 {
		t.Fatalf("counts %d started, %d cancelled", started, cancelled)
	}
}

func TestSimStartIsIdempotentAndCancelStops(t *testing.T) {
	s := NewSim(SimOptions{})
	ctx := context.Background()
	b := build("1", 1)
	u1, _ := s.Start(ctx, b)
	u2, _ := s.Start(ctx, b)
	if u1.Name != u2.Name || len(s.Running()) != 1 {
		t.Fatalf("second Start made another build: %v %v", u1, u2)
	}
	if err := s.Cancel(ctx, b.Name()); err != nil {
		t.Fatal(err)
	}
	if err := s.Cancel(ctx, "no-such-build"); err != nil {
		t.Fatal("cancelling an unknown build:", err)
	}
	if len(s.Running()) != 0 || s.Advance() {
		t.Fatal("a cancelled build still runs")
	}
	if _, cancelled := s.Counts(); cancelled != 1 {
		t.Fatalf("cancelled %d, want 1", cancelled)
	}
}

func TestSimHoldAndRelease(t *testing.T) {
	s := NewSim(SimOptions{})
	ctx := context.Background()
	s.Hold(true)
	s.Start(ctx, build("1", 1))
	s.Start(ctx, build("2", 2))
	s.Hold(false)
	s.Start(ctx, build("3", 3))
	if !s.Advance() || s.Advance() {
		t.Fatal("Advance must end only the build that is not held")
	}
	s.Release(2)
	if r := s.Running(); len(r) != 1 || r[0].Change != 1 {
		t.Fatalf("running after releasing 2: %v", r)
	}
	s.Release(0)
	if len(s.Running()) != 0 {
		t.Fatal("release all left builds running")
	}
}

func TestSimRefusesBadDefinitions(t *testing.T) {
	for _, tc := range []struct {
		name, kind string
		wf         []byte
	}{
		{"missing", "missing", nil},
		{"empty", "validation", []byte{}},
		{"not YAML", "yaml", []byte("kind: [Workflow")},
		{"not a workflow", "validation", []byte("apiVersion: v1\nkind: Pod\n")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := NewSim(SimOptions{})
			b := build("1", 1)
			b.Workflow = tc.wf
			_, err := s.Start(context.Background(), b)
			var def *DefinitionError
			if !errors.As(err, &def) || def.Kind != tc.kind {
				t.Fatalf("error %v, want a %s definition error", err, tc.kind)
			}
			if len(s.Running()) != 0 {
				t.Fatal("a build started anyway")
			}
		})
	}
}

// A watch that starts later (a restarted daemon) sees every build's state.
func TestSimRunResyncs(t *testing.T) {
	s := NewSim(SimOptions{})
	ctx := context.Background()
	s.Start(ctx, build("1", 1))
	s.Start(ctx, build("2", 2))
	s.Advance()
	updates, stop := collect(t, s)
	defer stop()
	got := updates()
	if len(got) != 2 || got[0].Phase != PhaseSucceeded || got[1].Phase != PhaseRunning {
		t.Fatalf("resync %+v", got)
	}
}

func TestSimDurations(t *testing.T) {
	s := NewSim(SimOptions{Duration: func(Build) time.Duration { return 10 * time.Millisecond }})
	updates, stop := collect(t, s)
	defer stop()
	s.Start(context.Background(), build("1", 1))
	deadline := time.Now().Add(5 * time.Second)
	for len(s.Running()) > 0 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	got := updates()
	if len(got) != 2 || got[1].Phase != PhaseSucceeded {
		t.Fatalf("updates %+v", got)
	}
}

func TestBuildNames(t *testing.T) {
	for _, tc := range []struct {
		pipeline, item string
		attempt, part  int
		want           string
	}{
		{"gate", "17", 2, 0, "gated-gate-17-2"},
		{"gate", "17", 2, 1, "gated-gate-17-2-p1"},
		{"Post_Review!", "3", 1, 0, "gated-post-review-3-1"},
		{"a-very-long-pipeline-name-that-goes-on-and-on", "123456", 99, 0, "gated-a-very-long-pipeline-name-that-123456-99"},
	} {
		if got := BuildName(tc.pipeline, tc.item, tc.attempt, tc.part); got != tc.want || len(got) > 63 {
			t.Errorf("BuildName(%q, %q, %d, %d) = %q, want %q", tc.pipeline, tc.item, tc.attempt, tc.part, got, tc.want)
		}
	}
}

func TestSimFailsWorkflowsThatAskToFail(t *testing.T) {
	s := NewSim(SimOptions{})
	updates, stop := collect(t, s)
	defer stop()
	b := build("1", 1)
	b.Workflow = []byte("apiVersion: argoproj.io/v1alpha1\nkind: Workflow\nmetadata:\n  annotations: {gated.dev/simulate: fail}\n")
	s.Start(context.Background(), b)
	s.Advance()
	got := updates()
	if last := got[len(got)-1]; last.Phase != PhaseFailed {
		t.Fatalf("build ended %s, want Failed", last.Phase)
	}
}
