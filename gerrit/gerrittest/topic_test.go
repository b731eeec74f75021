package gerrittest

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
)

// branchAndMergeEvents lists the ref-updated events of branches and the
// change-merged events emitted so far, in order.
func branchAndMergeEvents(t *testing.T, s *Server) []string {
	var out []string
	for _, e := range s.Events() {
		var ev struct {
			RefUpdate struct{ RefName, Project string }
			Change    struct{ Number int }
		}
		if err := json.Unmarshal(e.JSON, &ev); err != nil {
			t.Fatal(err)
		}
		switch {
		case e.Type == "change-merged":
			out = append(out, fmt.Sprintf("merged %d", ev.Change.Number))
		case e.Type == "ref-updated" && strings.HasPrefix(ev.RefUpdate.RefName, "refs/heads/"):
			out = append(out, "ref-updated "+ev.RefUpdate.Project)
		}
	}
	return out
}

func TestSubmitWholeTopic(t *testing.T) {
	ctx := context.Background()
	for _, on := range []bool{false, true} {
		t.Run(fmt.Sprintf("submitWholeTopic=%v", on), func(t *testing.T) {
			s := start(t, Options{SubmitWholeTopic: on}, Project{Name: "pa"}, Project{Name: "pb", SubmitType: RebaseIfNecessary})
			a := mustUpload(t, s, Upload{Project: "pa", Topic: "t"})
			parent := mustUpload(t, s, Upload{Project: "pb"}) // no topic: comes along as an ancestor
			b := mustUpload(t, s, Upload{Project: "pb", Parent: parent, Topic: "t"})
			other := mustUpload(t, s, Upload{Project: "pa", Topic: "u"})
			for _, n := range []int{a, parent, b, other} {
				approveAll(t, s, n)
			}
			if err := s.Submit(ctx, a, ""); err != nil {
				t.Fatal(err)
			}
			want := []int{a}
			if on {
				want = []int{a, parent, b}
			}
			if got := s.MergeOrder(); !slices.Equal(got, want) {
				t.Fatalf("merged %v, want %v", got, want)
			}
			for _, n := range want {
				if id := mustChange(t, s, n).SubmissionID; id != fmt.Sprintf("%d-t", a) {
					t.Errorf("change %d: submission id %q, want %d-t (the submitted change's number and topic)", n, id, a)
				}
			}
			if mustChange(t, s, other).Status != StatusNew {
				t.Errorf("a change of another topic was submitted")
			}
			if on {
				// Gerrit moves every branch, then says which changes merged.
				if got := strings.Join(branchAndMergeEvents(t, s), ", "); got != fmt.Sprintf("ref-updated pa, ref-updated pb, merged %d, merged %d, merged %d", a, parent, b) {
					t.Errorf("events: %s", got)
				}
				tipB, _ := s.BranchTip(ctx, "pb", "master")
				if newRev := lastEvent(t, s, "change-merged")["newRev"]; newRev != tipB {
					t.Errorf("change-merged of b has newRev %v, want the final tip %s", newRev, tipB)
				}
			}
		})
	}
}

func TestSubmitWholeTopicIsAllOrNothing(t *testing.T) {
	ctx := context.Background()
	s := start(t, Options{SubmitWholeTopic: true},
		Project{Name: "pa"}, Project{Name: "pb", Files: map[string]string{"file": "base\n"}})
	a := mustUpload(t, s, Upload{Project: "pa", Topic: "t"})
	b := mustUpload(t, s, Upload{Project: "pb", Topic: "t", Files: map[string]string{"file": "change\n"}})
	approveAll(t, s, a)
	mustReview(t, s, b, Review{Account: AliceUser, Labels: map[string]int{"Code-Review": 2, "Workflow": 1}})

	// b lacks Verified: a may not go alone.
	want := fmt.Sprintf("Failed to submit 2 changes due to the following problems:\nChange %d: Change %d must be submitted with change %d but %d is not ready: submit requirement 'Verified' is unsatisfied.", b, a, b, b)
	if err := wantError(s.Submit(ctx, a, ""), 409, want); err != nil {
		t.Error(err)
	}

	// b conflicts with its branch: nothing moves, in a either.
	mustReview(t, s, b, Review{Account: GatedUser, Labels: map[string]int{"Verified": 2}})
	if _, err := s.PushBranch(ctx, Push{Project: "pb", Files: map[string]string{"file": "pushed\n"}}); err != nil {
		t.Fatal(err)
	}
	tipA, _ := s.BranchTip(ctx, "pa", "master")
	want = fmt.Sprintf("Failed to submit 2 changes due to the following problems:\nChange %d: %s", b, pathConflict)
	if err := wantError(s.Submit(ctx, a, ""), 409, want); err != nil {
		t.Error(err)
	}
	if after, _ := s.BranchTip(ctx, "pa", "master"); after != tipA || len(s.MergeOrder()) != 0 {
		t.Errorf("a failed topic submit moved a branch or merged %v", s.MergeOrder())
	}
}

// Gerrit's own example (cross-repository-changes.txt): submitting a
// change pulls in its parent, whose other topic pulls in that topic's
// changes.
func TestSubmitWholeTopicIsTransitive(t *testing.T) {
	ctx := context.Background()
	s := start(t, Options{SubmitWholeTopic: true}, Project{Name: "pa"}, Project{Name: "pb"})
	a1 := mustUpload(t, s, Upload{Project: "pa", Topic: "t2"})
	a2 := mustUpload(t, s, Upload{Project: "pa", Parent: a1, Topic: "t1"})
	b1 := mustUpload(t, s, Upload{Project: "pb", Topic: "t2"})
	for _, n := range []int{a1, a2, b1} {
		approveAll(t, s, n)
	}
	if err := s.Submit(ctx, a2, ""); err != nil {
		t.Fatal(err)
	}
	if got := s.MergeOrder(); !slices.Equal(got, []int{a1, a2, b1}) {
		t.Errorf("merged %v, want [%d %d %d]", got, a1, a2, b1)
	}
}

// Two changes of a topic on one branch that do not descend from each
// other are integrated one after the other, lowest number first.
func TestSubmitWholeTopicOnOneBranch(t *testing.T) {
	ctx := context.Background()
	s := start(t, Options{SubmitWholeTopic: true}, Project{Name: "pa"})
	x := mustUpload(t, s, Upload{Project: "pa", Topic: "t"})
	y := mustUpload(t, s, Upload{Project: "pa", Topic: "t"})
	approveAll(t, s, x)
	approveAll(t, s, y)
	if err := s.Submit(ctx, y, ""); err != nil {
		t.Fatal(err)
	}
	tip, _ := s.BranchTip(ctx, "pa", "master")
	merge := commit(t, s, "pa", tip)
	if len(merge.parents) != 2 || merge.parents[0] != mustChange(t, s, x).Revision || merge.parents[1] != mustChange(t, s, y).Revision {
		t.Errorf("tip %s has parents %v, want x fast-forwarded then y merged", tip, merge.parents)
	}
	if id := mustChange(t, s, x).SubmissionID; id != fmt.Sprintf("%d-t", y) {
		t.Errorf("submission id %q", id)
	}
}

func TestSubmittedTogetherWithTopics(t *testing.T) {
	s := start(t, Options{}, Project{Name: "pa"}, Project{Name: "pb"})
	a := mustUpload(t, s, Upload{Project: "pa", Topic: "t"})
	b1 := mustUpload(t, s, Upload{Project: "pb"})
	b2 := mustUpload(t, s, Upload{Project: "pb", Parent: b1, Topic: "t"})
	together := func(n int, query string) string {
		t.Helper()
		status, body := call(t, s, GatedUser, "GET", fmt.Sprintf("changes/%d/submitted_together%s", n, query), nil)
		if status != 200 {
			t.Fatalf("submitted_together of %d%s: %d %s", n, query, status, body)
		}
		if strings.HasPrefix(body, "{") {
			var obj struct {
				Changes changeNumbers `json:"changes"`
				Hidden  int           `json:"non_visible_changes"`
			}
			decodeJSON(t, body, &obj)
			return fmt.Sprintf("{%s}", obj.Changes)
		}
		var list changeNumbers
		decodeJSON(t, body, &list)
		return list.String()
	}
	wantAll := fmt.Sprintf("%d %d %d", a, b2, b1) // by project, descendants first
	tests := []struct {
		name string
		got  func() string
		want string
	}{
		{"without the setting, a goes alone", func() string { return together(a, "") }, ""},
		{"TOPIC_CLOSURE reports the topic as an object", func() string { return together(a, "?o=TOPIC_CLOSURE") }, "{" + wantAll + "}"},
		{"with the setting, the topic and its ancestors", func() string { s.SetSubmitWholeTopic(true); return together(a, "") }, wantAll},
		{"from another member", func() string { return together(b2, "") }, wantAll},
		{"not from an ancestor outside the topic", func() string { return together(b1, "") }, ""},
		{"after the submit, the submission", func() string {
			for _, n := range []int{a, b1, b2} {
				approveAll(t, s, n)
			}
			if err := s.Submit(context.Background(), b2, ""); err != nil {
				t.Fatal(err)
			}
			return together(a, "")
		}, wantAll},
	}
	for _, tt := range tests {
		if got := tt.got(); got != tt.want {
			t.Errorf("%s: %q, want %q", tt.name, got, tt.want)
		}
	}
	// The changes carry their current revision and whether they are
	// submittable, and nothing more unless asked.
	_, body := call(t, s, GatedUser, "GET", fmt.Sprintf("changes/%d/submitted_together", a), nil)
	if !strings.Contains(body, `"current_revision"`) || strings.Contains(body, `"labels"`) {
		t.Errorf("default fields: %s", body)
	}
	if status, _ := call(t, s, GatedUser, "GET", fmt.Sprintf("changes/%d/submitted_together?o=NOPE", a), nil); status != 400 {
		t.Errorf("an unknown option: %d", status)
	}
}

func TestServerInfoSaysSubmitWholeTopic(t *testing.T) {
	s := start(t, Options{})
	info := func() string {
		_, body := call(t, s, "", "GET", "config/server/info", nil)
		var v struct {
			Change map[string]any `json:"change"`
		}
		decodeJSON(t, body, &v)
		return fmt.Sprint(v.Change["submit_whole_topic"])
	}
	if got := info(); got != "<nil>" {
		t.Errorf("off: submit_whole_topic is %s, want it omitted", got)
	}
	s.SetSubmitWholeTopic(true)
	if got := info(); got != "true" {
		t.Errorf("on: submit_whole_topic is %s", got)
	}
}

func TestSubmissionIDs(t *testing.T) {
	ctx := context.Background()
	s := start(t, Options{}, Project{Name: "pa"})
	x := mustUpload(t, s, Upload{Project: "pa"})
	y := mustUpload(t, s, Upload{Project: "pa", Parent: x})
	approveAll(t, s, x)
	approveAll(t, s, y)
	if mustChange(t, s, y).SubmissionID != "" {
		t.Errorf("an open change has a submission id")
	}
	if err := s.Submit(ctx, y, ""); err != nil {
		t.Fatal(err)
	}
	for _, n := range []int{x, y} {
		if id := mustChange(t, s, n).SubmissionID; id != fmt.Sprint(y) {
			t.Errorf("change %d: submission id %q, want %d", n, id, y)
		}
	}
	_, body := call(t, s, GatedUser, "GET", fmt.Sprintf("changes/?q=submissionid:%d", y), nil)
	var found changeNumbers
	decodeJSON(t, body, &found)
	if found.String() != fmt.Sprintf("%d %d", y, x) && found.String() != fmt.Sprintf("%d %d", x, y) {
		t.Errorf("submissionid:%d found %s", y, found)
	}
}
