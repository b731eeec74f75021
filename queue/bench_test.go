package queue

import (
	"fmt"
	"runtime"
	"testing"
	"time"
)

// benchWorld is a gate with many queues, kept at a steady size: every merged
// change is replaced by a newly approved one in the same queue, and workers
// answer actions in order.
type benchWorld struct {
	e       *Engine
	now     time.Time
	pending []Action
	next    int
	queue   map[int]string // change → project
	refill  []string       // projects that lost a change
}

func newBenchWorld(tb testing.TB, queues, perQueue int) *benchWorld {
	cfg := Config{Pipelines: DefaultPipelines("gated")[1:], Projects: map[string]ProjectConfig{}}
	cfg.Pipelines[0].Window.Size = 0 // everything active: the most work per event
	for i := range queues {
		cfg.Projects[fmt.Sprintf("p%d", i)] = ProjectConfig{}
	}
	e, err := New(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	w := &benchWorld{e: e, now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), next: 1, queue: map[int]string{}}
	for range perQueue {
		for q := range queues {
			w.apply(w.approve(fmt.Sprintf("p%d", q)))
		}
	}
	// Answer every merge so that all items are building; the builds stay
	// pending.
	var builds []Action
	for len(w.pending) > 0 {
		a := w.pending[0]
		w.pending = w.pending[1:]
		if m, ok := a.(Merge); ok {
			w.apply(w.merged(m))
		} else {
			builds = append(builds, a)
		}
	}
	w.pending = builds
	return w
}

func (w *benchWorld) approve(project string) Event {
	n := w.next
	w.next++
	w.queue[n] = project
	c := Change{Number: n, Project: project, Branch: "master", Status: StatusNew, Patchset: 1, Revision: fmt.Sprintf("r%d", n),
		Votes: []Vote{{Label: "Code-Review", Account: "core", Value: 2}, {Label: "Workflow", Account: "core", Value: 1}}}
	return ChangeEvent{Type: "comment-added", Change: n, Approvals: []Approval{{Label: "Workflow", Value: 1}}, Changes: []Change{c}}
}

func (w *benchWorld) merged(a Merge) MergeCompleted {
	heads := map[string]string{}
	for _, r := range a.Changes {
		heads[r.Project] = fmt.Sprintf("h%d", a.Item)
	}
	bases := map[string]string{a.Changes[0].Project: "t0"}
	for k, v := range a.Bases {
		bases[k] = v
	}
	return MergeCompleted{Item: a.Item, Attempt: a.Attempt, Heads: heads, Bases: bases}
}

func (w *benchWorld) apply(ev Event) {
	w.now = w.now.Add(time.Second)
	w.pending = append(w.pending, w.e.Apply(w.now, ev)...)
	w.e.facts = Facts{} // observed, as the daemon's Ready does, without encoding the state
}

// step applies one event: an approval replacing a merged change, or the
// answer to the oldest pending action. Builds are answered only when
// nothing else is pending, so the queues stay full of running builds.
func (w *benchWorld) step() {
	if len(w.refill) > 0 {
		p := w.refill[0]
		w.refill = w.refill[1:]
		w.apply(w.approve(p))
		return
	}
	for len(w.pending) > 0 {
		a := w.pending[0]
		w.pending = w.pending[1:]
		switch a := a.(type) {
		case Merge:
			w.apply(w.merged(a))
			return
		case StartBuild:
			w.apply(BuildCompleted{Item: a.Item, Attempt: a.Attempt, Result: ResultSuccess})
			return
		case Submit:
			w.refill = append(w.refill, a.Change.Project)
			w.apply(SubmitCompleted{Item: a.Item, Attempt: a.Attempt, Merged: true, Tips: map[string]string{a.Change.Project: fmt.Sprintf("m%d", a.Item)}})
			return
		}
	}
}

// BenchmarkApply measures the cost of one event with 10,000 items across
// 500 change queues (and 1,000 across 50, as the baseline for scaling):
// approvals, merge results, build results and submits in a steady state.
func BenchmarkApply(b *testing.B) {
	for _, size := range []struct{ queues, perQueue int }{{50, 20}, {500, 20}} {
		b.Run(fmt.Sprintf("items=%d/queues=%d", size.queues*size.perQueue, size.queues), func(b *testing.B) {
			w := newBenchWorld(b, size.queues, size.perQueue)
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				w.step()
			}
			b.StopTimer()
			if n := len(w.e.items); n < size.queues*size.perQueue*9/10 {
				b.Fatalf("the world shrank to %d items", n)
			}
		})
	}
}

// BenchmarkStateMemory reports the heap used by the engine per item, for
// 1,000 and 10,000 items: it must stay flat (memory linear in items).
func BenchmarkStateMemory(b *testing.B) {
	for _, queues := range []int{50, 500} {
		b.Run(fmt.Sprintf("items=%d", queues*20), func(b *testing.B) {
			var perItem, encPerItem float64
			for range b.N {
				var before, after runtime.MemStats
				runtime.GC()
				runtime.ReadMemStats(&before)
				w := newBenchWorld(b, queues, 20)
				w.pending = nil
				runtime.GC()
				runtime.ReadMemStats(&after)
				data := encodeState(b, w.e)
				perItem = float64(after.HeapAlloc-before.HeapAlloc) / float64(len(w.e.items))
				encPerItem = float64(len(data)) / float64(len(w.e.items))
				runtime.KeepAlive(w)
			}
			b.ReportMetric(perItem, "heap-B/item")
			b.ReportMetric(encPerItem, "encoded-B/item")
		})
	}
}

// BenchmarkAdmin measures what administrators' requests and explanations
// cost the gate loop, in one change queue of 1,000 building items, beside
// one ordinary event of the same world (the baseline): the explanation of
// the last item and of a change that may not enter (its parent is
// unapproved), a promote of the last item, which rebuilds all 1,000, and
// a dequeue of the head, which does too.
func BenchmarkAdmin(b *testing.B) {
	const items = 1000
	b.Run("baseline-event", func(b *testing.B) {
		w := newBenchWorld(b, 1, items)
		b.ReportAllocs()
		b.ResetTimer()
		for range b.N {
			w.step()
		}
	})
	b.Run("explain-item", func(b *testing.B) {
		w := newBenchWorld(b, 1, items)
		last := w.next - 1
		b.ReportAllocs()
		b.ResetTimer()
		for range b.N {
			if x := w.e.Explain(last, nil); x.Pipelines[0].Position != items {
				b.Fatalf("explanation %+v", x.Pipelines[0])
			}
		}
	})
	b.Run("explain-refused", func(b *testing.B) {
		w := newBenchWorld(b, 1, items)
		parent := Change{Number: w.next, Project: "p0", Branch: "master", Status: StatusNew, Patchset: 1}
		child := Change{Number: w.next + 1, Project: "p0", Branch: "master", Status: StatusNew, Patchset: 1,
			Votes: []Vote{{Label: "Code-Review", Account: "core", Value: 2}, {Label: "Workflow", Account: "core", Value: 1}},
			Needs: []Need{{Number: parent.Number, Patchset: 1}}}
		snaps := []Change{child, parent}
		b.ReportAllocs()
		b.ResetTimer()
		for range b.N {
			if x := w.e.Explain(child.Number, snaps); len(x.Pipelines[0].Changes) != 1 {
				b.Fatalf("explanation %+v", x.Pipelines[0])
			}
		}
	})
	b.Run("promote-last", func(b *testing.B) {
		b.ReportAllocs()
		for i := range b.N {
			b.StopTimer()
			w := newBenchWorld(b, 1, items)
			ev := Promote{Admin: Admin{Request: uint64(i), By: "bench"}, Pipeline: "gate", Changes: []int{w.next - 1}}
			b.StartTimer()
			w.apply(ev)
		}
	})
	b.Run("dequeue-head", func(b *testing.B) {
		b.ReportAllocs()
		for i := range b.N {
			b.StopTimer()
			w := newBenchWorld(b, 1, items)
			ev := Dequeue{Admin: Admin{Request: uint64(i), By: "bench"}, Pipeline: "gate", Change: 1}
			b.StartTimer()
			w.apply(ev)
		}
	})
}
