package gerrit

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"gated.dev/gated/gerrit/gerrittest"
)

func TestReconcileReadsWhatTheQueryFindsAndWhatIsHeld(t *testing.T) {
	s := sim(t)
	if err := s.CreateProject(context.Background(), gerrittest.Project{Name: "org/other"}); err != nil {
		t.Fatal(err)
	}
	c := client(t, s)
	a := upload(t, s, gerrittest.Upload{})
	b := upload(t, s, gerrittest.Upload{DependsOn: []int{a}})
	held := upload(t, s, gerrittest.Upload{}) // not approved, but in the gate
	upload(t, s, gerrittest.Upload{})         // neither
	foreign := upload(t, s, gerrittest.Upload{Project: "org/other"})
	for _, n := range []int{b, a, foreign} {
		review(t, s, n, gerrittest.AliceUser, map[string]int{"Workflow": 1})
	}
	var runs [][]int
	err := c.Reconcile(context.Background(), Reconcile{
		Query: "status:open label:Workflow=1", Also: []int{held, a, 9999},
		Project: func(p string) bool { return p != "org/other" },
	}, func(_ context.Context, closure []Change, _ time.Time) error {
		var ns []int
		for _, ch := range closure {
			ns = append(ns, ch.Number)
		}
		runs = append(runs, ns)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// Each change once, oldest first, with its closure; a change that is
	// in an earlier closure is still read as its own (it may be the one to
	// enqueue); the unknown 9999 is skipped, the other project's change
	// is not read.
	want := fmt.Sprint([][]int{{a, b}, {b, a}, {held}})
	if got := fmt.Sprint(runs); got != want {
		t.Errorf("closures %s, want %s", got, want)
	}
}

func TestReconcileReportsFailuresAndGoesOn(t *testing.T) {
	s := sim(t)
	c := client(t, s)
	x := upload(t, s, gerrittest.Upload{})
	y := upload(t, s, gerrittest.Upload{})
	for _, n := range []int{x, y} {
		review(t, s, n, gerrittest.AliceUser, map[string]int{"Workflow": 1})
	}
	var seen []int
	err := c.Reconcile(context.Background(), Reconcile{Query: "label:Workflow=1"}, func(_ context.Context, closure []Change, _ time.Time) error {
		seen = append(seen, closure[0].Number)
		if closure[0].Number == x {
			return errors.New("engine busy")
		}
		return nil
	})
	if err == nil || fmt.Sprint(seen) != fmt.Sprint([]int{x, y}) {
		t.Errorf("Reconcile: %v, saw %v", err, seen)
	}
	s.InjectFault(gerrittest.Fault{Path: "/changes/", Status: 400, Count: 1})
	if err := c.Reconcile(context.Background(), Reconcile{Query: "label:Workflow=1"}, nil); err == nil {
		t.Error("a failed query was not reported")
	}
}

// TestReconcileStopsWhereGerritIsUnavailable: a change Gerrit cannot serve
// now stops the run there, so that no later change overtakes it; one it
// refuses for good is skipped.
func TestReconcileStopsWhereGerritIsUnavailable(t *testing.T) {
	for _, tc := range []struct {
		status int
		want   string
	}{
		{http.StatusInternalServerError, "[x]"},
		{http.StatusServiceUnavailable, "[x]"},
		{http.StatusForbidden, "[x z]"},
	} {
		t.Run(http.StatusText(tc.status), func(t *testing.T) {
			s := sim(t)
			c := client(t, s)
			x := upload(t, s, gerrittest.Upload{})
			y := upload(t, s, gerrittest.Upload{})
			z := upload(t, s, gerrittest.Upload{})
			names := map[int]string{x: "x", y: "y", z: "z"}
			for _, n := range []int{x, y, z} {
				review(t, s, n, gerrittest.AliceUser, map[string]int{"Workflow": 1})
			}
			var seen []string
			err := c.Reconcile(context.Background(), Reconcile{Query: "label:Workflow=1"}, func(_ context.Context, closure []Change, _ time.Time) error {
				seen = append(seen, names[closure[0].Number])
				if closure[0].Number == x { // y's reads fail, however often they are tried
					s.InjectFault(gerrittest.Fault{Path: fmt.Sprintf("~%d", y), Status: tc.status, Count: 1000})
				}
				return nil
			})
			if err == nil || !strings.Contains(err.Error(), fmt.Sprintf("change %d", y)) {
				t.Errorf("error %v, want one about change %d", err, y)
			}
			if got := fmt.Sprint(seen); got != tc.want {
				t.Errorf("read %s, want %s", got, tc.want)
			}
		})
	}
}
