package daemon

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"gated.dev/gated/gerrit/gerrittest"
)

// cycleWorld is a world whose projects org/a and org/b share a queue that
// allows circular dependencies, with a cycle in it: a change in each
// project, each with a Depends-On footer naming the other, both approved.
func cycleWorld(t *testing.T) (w *world, a, b int) {
	t.Helper()
	w = newWorldWith(t, func(cfg *Config) {
		cfg.Queues = []QueueYAML{{Name: "integrated", AllowCircularDependencies: true}}
		cfg.Pipelines = []PipelineYAML{{Name: "check", Disabled: true}}
		for _, p := range []string{"org/a", "org/b"} {
			cfg.Projects[p] = ProjectYAML{Queue: "integrated"}
		}
	}, "org/a", "org/b")
	ctx := context.Background()
	a = w.upload("org/a", nil)
	b, err := w.gerrit.Upload(ctx, gerrittest.Upload{Project: "org/b", DependsOn: []int{a}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.gerrit.NewPatchset(ctx, gerrittest.Patchset{Change: a, DependsOn: []int{b}}); err != nil {
		t.Fatal(err)
	}
	return w, a, b
}

// A crash between the two submits of a bundle leads to finishing it: the
// engine recorded the first merge before deciding the second submit, which
// the outbox replays after the restart. Whether the second submit reached
// Gerrit before the crash or not, each change merges exactly once.
func TestBundleSurvivesACrashBetweenItsSubmits(t *testing.T) {
	for _, landed := range []bool{false, true} {
		t.Run(fmt.Sprintf("second submit landed before the crash: %v", landed), func(t *testing.T) {
			w, a, b := cycleWorld(t)
			bs, err := w.gerrit.Change(b)
			if err != nil {
				t.Fatal(err)
			}
			// Gerrit holds gated's submit of b, and would refuse it in the
			// end: gated is killed meanwhile.
			w.gerrit.InjectFault(gerrittest.Fault{Path: fmt.Sprintf("~%d/revisions/%s/submit", b, bs.Revision), Delay: time.Minute, Status: http.StatusServiceUnavailable})
			w.approve(a)
			w.approve(b)
			w.waitFor("a merged and gated submitting b", func() bool { return w.merged(a)() && w.gerrit.FaultsPending() == 0 })
			w.shutdown()
			if landed {
				// The submit reached Gerrit just before gated died.
				if err := w.gerrit.Submit(context.Background(), b, gerrittest.GatedUser); err != nil {
					t.Fatal(err)
				}
			}
			w.start()
			w.waitFor("b merged", w.merged(a, b))
			w.waitFor("the gate emptied", w.gateEmpty)
			for n, count := range w.mergeEvents() {
				if count != 1 {
					t.Fatalf("change %d merged %d times", n, count)
				}
			}
			// The bundle was finished, not forgotten and tested again: its
			// two builds (one per project) are all there were.
			if started, _ := w.exec.Counts(); started != 2 {
				t.Fatalf("%d builds started, want the bundle's 2", started)
			}
			for _, n := range []int{a, b} {
				if c, _ := w.gerrit.Change(n); c.Votes[gerrittest.GatedUser]["Verified"] != 2 {
					t.Fatalf("change %d: gated's votes %v", n, c.Votes[gerrittest.GatedUser])
				}
			}
		})
	}
}

// Gerrit's change.submitWholeTopic turned on after gated read it (gated
// reads it again at its next reconcile): the engine takes a topic's
// changes for independent ones, and the reporter's check before each
// submit keeps Gerrit from merging a change that was not tested with the
// one submitted.
func TestSubmitNeverMergesAnUntestedTopicSibling(t *testing.T) {
	w := newWorldWith(t, func(cfg *Config) {
		cfg.Pipelines = []PipelineYAML{{Name: "check", Disabled: true}}
	}, "org/a", "org/b")
	// Read at start, and again by the first reconcile: once that is over,
	// gated reads it next in five minutes.
	w.waitFor("gated read the setting (off), and its first reconcile ended", func() bool {
		info := w.d.intake.info
		info.mu.Lock()
		defer info.mu.Unlock()
		return info.read && w.d.Idle()
	})
	w.gerrit.SetSubmitWholeTopic(true)
	ctx := context.Background()
	var topic []int
	for _, p := range []string{"org/a", "org/b"} {
		n, err := w.gerrit.Upload(ctx, gerrittest.Upload{Project: p, Topic: "feature"})
		if err != nil {
			t.Fatal(err)
		}
		topic = append(topic, n)
	}
	a, b := topic[0], topic[1]
	// b is verified by hand: Gerrit would submit it with a.
	if err := w.gerrit.Review(b, gerrittest.Review{Account: gerrittest.AdminUser, Labels: map[string]int{"Verified": 2}}); err != nil {
		t.Fatal(err)
	}
	w.approve(a)
	w.approve(b)
	w.waitFor("the gate emptied", func() bool {
		c, _ := w.gerrit.Change(a)
		return w.gateEmpty() && c.Votes[gerrittest.GatedUser]["Verified"] == -2
	})
	if merged := w.gerrit.MergeOrder(); len(merged) != 0 {
		t.Fatalf("merged %v: Gerrit submitted a topic whose changes were not tested together", merged)
	}
	c, _ := w.gerrit.Change(a)
	last := c.Messages[len(c.Messages)-1].Text
	if !strings.Contains(last, fmt.Sprintf("Gerrit would submit change %d together with it", b)) {
		t.Fatalf("the report on %d: %q", a, last)
	}
}
