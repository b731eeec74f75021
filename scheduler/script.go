package scheduler

import (
	"fmt"
	"slices"
	"sync"
)

// Script is the scripted results of builds, for scenarios and demos: the
// simulated executor plays it, and so does the scenario runner on the
// development cluster. Its zero value passes every build.
type Script struct {
	mu    sync.Mutex
	rules []scriptRule
}

// scriptRule fails the builds of change's item whose state contains every
// change of with; a flaky rule fails only its next times builds.
type scriptRule struct {
	change int
	with   []int
	times  int
	flaky  bool
}

// Fail makes every build of change's item fail from now on, or only those
// whose state contains every change in with.
func (s *Script) Fail(change int, with []int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rules = append(s.rules, scriptRule{change: change, with: with})
}

// Flaky makes the next times builds of change's item fail, then pass.
func (s *Script) Flaky(change, times int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rules = append(s.rules, scriptRule{change: change, times: times, flaky: true})
}

// Outcome decides how a build ends, using up a flaky failure if one
// applies: whether it fails, and the failing step's message.
func (s *Script) Outcome(b Build) (fail bool, message string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := range s.rules {
		r := &s.rules[i]
		if r.change != b.Change || !containsAll(b.Changes, r.with) {
			continue
		}
		if !r.flaky {
			return true, fmt.Sprintf("step test failed: exit code 1 (change %d fails)", b.Change)
		}
		if r.times > 0 {
			r.times--
			return true, "step test failed (flaky)"
		}
	}
	return false, ""
}

func containsAll(have, want []int) bool {
	for _, w := range want {
		if !slices.Contains(have, w) {
			return false
		}
	}
	return true
}
