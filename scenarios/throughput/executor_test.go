package throughput

import (
	"container/heap"
	"testing"
	"time"

	"gated.dev/gated/queue"
)

// The cluster runs at most its capacity, starts waiting builds first in
// first out as slots free, and charges a cancelled build the share it ran.
func TestExecutor(t *testing.T) {
	w := DefaultWorkload()
	w.Capacity = 2
	x, err := newWorld(w, strategy("zuul"), 1)
	if err != nil {
		t.Fatal(err)
	}
	b := func(item int, d time.Duration) *build {
		return &build{id: attempt{queue.ItemID(item), 1}, duration: d, result: queue.ResultSuccess}
	}
	for i, d := range []time.Duration{10, 20, 30, 40} {
		x.startBuild(b(i+1, d*time.Minute))
	}
	if len(x.exec.running) != 2 || len(x.exec.waiting) != 2 || x.exec.waiting[0].id.item != 3 {
		t.Fatalf("running %d, waiting %d; want 2 and 2, #3 first", len(x.exec.running), len(x.exec.waiting))
	}
	x.cancelBuild(attempt{4, 1}) // waiting: costs nothing
	x.now = 5 * time.Minute
	x.cancelBuild(attempt{2, 1}) // ran 5 of 20 minutes; #3 takes its slot
	if x.exec.dropped != 1 || x.exec.cancelled != 1 || x.exec.partial != 0.25 {
		t.Fatalf("dropped %d, cancelled %d, partial %.2f; want 1, 1, 0.25", x.exec.dropped, x.exec.cancelled, x.exec.partial)
	}
	if got := x.exec.running[attempt{3, 1}]; got == nil || got.started != 5*time.Minute {
		t.Fatalf("#3 did not start when #2's slot freed: %+v", got)
	}
	for x.line.Len() > 0 {
		next := heap.Pop(&x.line).(timed)
		x.now = next.at
		next.fire()
	}
	if x.exec.completed != 2 || x.exec.peak != 2 || len(x.exec.running) != 0 {
		t.Fatalf("completed %d, peak %d, running %d; want 2, 2, 0", x.exec.completed, x.exec.peak, len(x.exec.running))
	}
	if x.now != 35*time.Minute {
		t.Fatalf("the last build ended at %v, want 35m (started at 5m, 30m long)", x.now)
	}
}
