package gerrit

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"gated.dev/gated/gerrit/gerrittest"
)

func TestReconcile(t *testing.T) {
	s := sim(t)
	c := client(t, s)
	a := upload(t, s, gerrittest.Upload{})
	b := upload(t, s, gerrittest.Upload{DependsOn: []int{a}})
	later := upload(t, s, gerrittest.Upload{})
	upload(t, s, gerrittest.Upload{}) // never approved
	review(t, s, a, gerrittest.AliceUser, map[string]int{"Workflow": 1})
	review(t, s, b, gerrittest.AliceUser, map[string]int{"Workflow": 1})

	runs := make(chan []int, 10)
	trigger := make(chan struct{})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- c.Reconcile(ctx, ReconcileConfig{Query: "status:open label:Workflow=1", Interval: time.Hour, Trigger: trigger},
			func(_ context.Context, closure []Change) error {
				var ns []int
				for _, ch := range closure {
					ns = append(ns, ch.Number)
				}
				runs <- ns
				return nil
			})
	}()
	// The first run finds b (newest) with a in its closure, and does not
	// read a again.
	if got := <-runs; fmt.Sprint(got) != fmt.Sprint([]int{b, a}) {
		t.Errorf("first closure %v, want [%d %d]", got, b, a)
	}
	review(t, s, later, gerrittest.AliceUser, map[string]int{"Workflow": 1})
	trigger <- struct{}{}
	if got := <-runs; fmt.Sprint(got) != fmt.Sprint([]int{later}) {
		t.Errorf("triggered run: %v, want [%d]", got, later)
	}
	if got := <-runs; fmt.Sprint(got) != fmt.Sprint([]int{b, a}) {
		t.Errorf("triggered run: %v, want [%d %d]", got, b, a)
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("Reconcile returned %v", err)
	}
	select {
	case extra := <-runs:
		t.Errorf("an extra closure %v", extra)
	default:
	}
}

func TestReconcileOnceReportsFailuresAndGoesOn(t *testing.T) {
	s := sim(t)
	c := client(t, s)
	x := upload(t, s, gerrittest.Upload{})
	y := upload(t, s, gerrittest.Upload{})
	for _, n := range []int{x, y} {
		review(t, s, n, gerrittest.AliceUser, map[string]int{"Workflow": 1})
	}
	var seen []int
	err := c.ReconcileOnce(context.Background(), "label:Workflow=1", 0, func(_ context.Context, closure []Change) error {
		seen = append(seen, closure[0].Number)
		if closure[0].Number == y {
			return errors.New("engine busy")
		}
		return nil
	})
	if err == nil || fmt.Sprint(seen) != fmt.Sprint([]int{y, x}) {
		t.Errorf("ReconcileOnce: %v, saw %v", err, seen)
	}
	if err := c.Reconcile(context.Background(), ReconcileConfig{}, nil); err == nil {
		t.Error("Reconcile without a query started")
	}
}
