package queue

import (
	"fmt"
	"testing"
)

func TestWindowArithmetic(t *testing.T) {
	zuul := DefaultWindow()
	ceiling := zuul
	ceiling.Ceiling = 6
	linear := zuul
	linear.DecreaseType, linear.DecreaseFactor = "linear", 3
	expo := zuul
	expo.IncreaseType, expo.IncreaseFactor = "exponential", 2
	for _, tc := range []struct {
		name  string
		w     WindowConfig
		start int
		ops   string // + increase, - decrease
		want  []int
	}{
		{"Zuul's worked example: 20, halve to the floor, then +1", zuul, 20, "---++", []int{10, 5, 3, 4, 5}},
		{"unlimited never changes", zuul, 0, "-+", []int{0, 0}},
		{"the ceiling caps growth", ceiling, 5, "+++", []int{6, 6, 6}},
		{"linear decrease stops at the floor", linear, 8, "---", []int{5, 3, 3}},
		{"exponential increase", expo, 3, "++", []int{6, 12}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			size := tc.start
			for i, op := range tc.ops {
				if op == '+' {
					size = tc.w.increase(size)
				} else {
					size = tc.w.decrease(size)
				}
				if size != tc.want[i] {
					t.Fatalf("after %q: size %d, want %d", tc.ops[:i+1], size, tc.want[i])
				}
			}
		})
	}
}

func TestWindowValidation(t *testing.T) {
	for _, tc := range []struct {
		name string
		w    func(*WindowConfig)
	}{
		{"negative size", func(w *WindowConfig) { w.Size = -1 }},
		{"floor below 1", func(w *WindowConfig) { w.Floor = 0 }},
		{"ceiling below floor", func(w *WindowConfig) { w.Ceiling = 2 }},
		{"zero factor", func(w *WindowConfig) { w.DecreaseFactor = 0 }},
		{"unknown type", func(w *WindowConfig) { w.IncreaseType = "cubic" }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := gateOnly()
			tc.w(&cfg.Pipelines[0].Window)
			if _, err := New(cfg); err == nil {
				t.Fatal("New accepted an invalid window")
			}
		})
	}
}

func windowConfig(size, floor int) Config {
	cfg := gateOnly()
	cfg.Pipelines[0].Window.Size = size
	cfg.Pipelines[0].Window.Floor = floor
	return cfg
}

// Items outside the window wait without merges or builds; the window grows
// by one when a change merges and halves when one fails.
func TestGateWindow(t *testing.T) {
	h := newHarness(t, windowConfig(2, 1))
	h.run(`
		change 1
		change 2
		change 3
		change 4
		approve 1
		- merge #1.1 gate [1,1]
		approve 2
		approve 3
		approve 4
		merge #1
		- build #1.1 gate [1,1]
		- merge #2.1 gate [1,1 2,1] on p=t0p
		merge #2
		- build #2.1 gate [1,1 2,1]
		pass #1
		- report gate 1,1 success Verified+2
		- submit #1.1 gate 1,1 expect p=t0p
		submitted #1
		- forget #1 gate
		- merge #3.1 gate [2,1 3,1] on p=t1
	`)
	if w := h.e.queues["gate"]["integrated@master"].Window; w != 3 {
		t.Fatalf("window after a merge: %d, want 3", w)
	}
	h.run(`
		merge #3
		- build #3.1 gate [2,1 3,1]
		- merge #4.1 gate [2,1 3,1 4,1] on p=t1
		fail #2
		- report gate 2,1 failure Verified-2
		- cancel #3.1 gate
		- forget #2 gate
		- merge #3.2 gate [3,1]
	`)
	if w := h.e.queues["gate"]["integrated@master"].Window; w != 1 {
		t.Fatalf("window after a failure: %d, want 1 (3 halved, floor 1)", w)
	}
}

// A refused submit leaves the window as it was, as in Zuul.
func TestWindowUnchangedBySubmitFailure(t *testing.T) {
	h := newHarness(t, windowConfig(4, 1))
	for _, l := range []string{"change 1", "approve 1", "merge #1", "pass #1", "refused #1"} {
		h.do(l)
	}
	if w := h.e.queues["gate"]["integrated@master"].Window; w != 4 {
		t.Fatalf("window %d, want 4", w)
	}
}

// The window counts positions from the head, including failing items.
func TestWindowCountsFailingItems(t *testing.T) {
	h := newHarness(t, windowConfig(2, 2))
	for i := 1; i <= 3; i++ {
		h.do(fmt.Sprintf("change %d", i))
		h.do(fmt.Sprintf("approve %d", i))
	}
	h.run(`
		merge #1
		- build #1.1 gate [1,1]
		- merge #2.1 gate [1,1 2,1] on p=t0p
		conflict #2
		queue gate: 1 2:failed 3^1
	`)
}
