package gerrit

import (
	"context"
	"errors"
	"fmt"
	"testing"
)

func TestDedupeForgetsTheOldestBeyondCapacity(t *testing.T) {
	d := NewDedupe(2)
	steps := []struct {
		id   string
		seen bool
	}{
		{"a", false}, {"a", true}, {"b", false}, {"c", false}, // a is forgotten
		{"b", true}, {"c", true}, {"a", false},
	}
	for i, s := range steps {
		if got := d.Seen(s.id); got != s.seen {
			t.Fatalf("step %d: Seen(%s) = %v, want %v", i, s.id, got, s.seen)
		}
	}
}

func TestDedupeFilterDropsRepeatsButNotRefusedEvents(t *testing.T) {
	d := NewDedupe(100)
	var taken []string
	refuse := true
	sink := d.Filter(func(_ context.Context, e Event) error {
		if refuse && e.Comment == "refused once" {
			refuse = false
			return errors.New("inbox full")
		}
		taken = append(taken, e.Comment)
		return nil
	})
	ctx := context.Background()
	for _, c := range []string{"one", "one", "refused once", "two", "refused once", "two"} {
		err := sink(ctx, Event{Type: "comment-added", Comment: c})
		if c == "refused once" && len(taken) == 1 && err == nil {
			t.Errorf("the sink's refusal was swallowed")
		}
	}
	if got, want := fmt.Sprint(taken), "[one two refused once]"; got != want {
		t.Errorf("taken %s, want %s", got, want)
	}
}
