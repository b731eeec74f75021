package throughput

import (
	"container/heap"
	"time"
)

// timed is something that happens at a virtual time; seq breaks ties in
// the order things were scheduled, so that runs are deterministic.
type timed struct {
	at   time.Duration
	seq  uint64
	fire func()
}

type timeline []timed

func (t timeline) Len() int { return len(t) }
func (t timeline) Less(i, j int) bool {
	return t[i].at < t[j].at || (t[i].at == t[j].at && t[i].seq < t[j].seq)
}
func (t timeline) Swap(i, j int) { t[i], t[j] = t[j], t[i] }
func (t *timeline) Push(x any)   { *t = append(*t, x.(timed)) }
func (t *timeline) Pop() any {
	old := *t
	x := old[len(old)-1]
	*t = old[:len(old)-1]
	return x
}

// at schedules f at virtual time t.
func (w *world) at(t time.Duration, f func()) {
	w.seq++
	heap.Push(&w.line, timed{at: t, seq: w.seq, fire: f})
}
