package gerrit

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"runtime"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"gated.dev/gated/gerrit/gerrittest"
)

// sim starts a Gerrit simulator with projects org/proj and org/lib, and
// checks at the end that no goroutine of ours was left behind.
func sim(t *testing.T) *gerrittest.Server {
	t.Helper()
	s, err := gerrittest.New(gerrittest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
		noLeaks(t)
	})
	for _, p := range []string{"org/proj", "org/lib"} {
		if err := s.CreateProject(context.Background(), gerrittest.Project{Name: p}); err != nil {
			t.Fatal(err)
		}
	}
	return s
}

// noLeaks waits until no goroutine runs code of this package or of the
// simulator.
func noLeaks(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		buf := make([]byte, 1<<20)
		var leaked []string
		for _, g := range strings.Split(string(buf[:runtime.Stack(buf, true)]), "\n\n") {
			if strings.Contains(g, "testing.tRunner") || strings.Contains(g, "gerrit.noLeaks") {
				continue
			}
			if strings.Contains(g, "gated.dev/gated/gerrit.") || strings.Contains(g, "gated.dev/gated/gerrit/gerrittest.") {
				leaked = append(leaked, g)
			}
		}
		if len(leaked) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("goroutines left running:\n%s", strings.Join(leaked, "\n\n"))
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// countingTransport counts requests per method and path prefix.
type countingTransport struct {
	base http.RoundTripper
	n    atomic.Int64
	path string
}

func (c *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if strings.Contains(r.URL.Path, c.path) {
		c.n.Add(1)
	}
	return c.base.RoundTrip(r)
}

// client is gated's client of the simulator, with fast retries.
func client(t *testing.T, s *gerrittest.Server, mod ...func(*Config)) *Client {
	t.Helper()
	cfg := Config{
		URL: s.URL(), User: gerrittest.GatedUser, Password: s.Password(gerrittest.GatedUser),
		Timeout: 5 * time.Second, Retry: RetryPolicy{WaitMin: time.Millisecond, WaitMax: 5 * time.Millisecond},
		Logger: slog.New(slog.DiscardHandler),
	}
	for _, m := range mod {
		m(&cfg)
	}
	c, err := NewClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func upload(t *testing.T, s *gerrittest.Server, u gerrittest.Upload) int {
	t.Helper()
	if u.Project == "" {
		u.Project = "org/proj"
	}
	n, err := s.Upload(context.Background(), u)
	if err != nil {
		t.Fatalf("upload %+v: %v", u, err)
	}
	return n
}

func review(t *testing.T, s *gerrittest.Server, n int, account string, labels map[string]int) {
	t.Helper()
	if err := s.Review(n, gerrittest.Review{Account: account, Labels: labels}); err != nil {
		t.Fatalf("review %d: %v", n, err)
	}
}

// approve gives a change everything it needs to be submitted.
func approve(t *testing.T, s *gerrittest.Server, n int) {
	t.Helper()
	review(t, s, n, gerrittest.AliceUser, map[string]int{"Code-Review": 2, "Workflow": 1})
	review(t, s, n, gerrittest.GatedUser, map[string]int{"Verified": 2})
}

func state(t *testing.T, s *gerrittest.Server, n int) gerrittest.ChangeState {
	t.Helper()
	st, err := s.Change(n)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func TestChangeSnapshot(t *testing.T) {
	ctx := context.Background()
	s := sim(t)
	c := client(t, s)
	tip, _ := s.BranchTip(ctx, "org/proj", "master")
	n := upload(t, s, gerrittest.Upload{Subject: "Fix the frobnicator", Message: "Details.", Topic: "frob"})
	approve(t, s, n)
	st := state(t, s, n)

	got, err := c.Change(ctx, n)
	if err != nil {
		t.Fatal(err)
	}
	alice := Account{ID: 1000002, Username: "alice", Name: "Alice Core", Email: "alice@example.com"}
	gated := Account{ID: 1000001, Username: "gated", Name: "gated", Email: "gated@example.com"}
	want := Change{
		Number: n, Project: "org/proj", Branch: "master", ChangeID: st.ChangeID, Status: StatusNew, Topic: "frob",
		Patchset: 1, Revision: st.Revision, Ref: "refs/changes/01/1/1", Parents: []string{tip},
		Subject: "Fix the frobnicator", Message: st.CommitMessage,
		Owner:      Account{ID: 1000004, Username: "dev", Name: "Dev Eloper", Email: "dev@example.com"},
		URL:        s.URL() + "c/org/proj/+/1",
		SubmitType: "MERGE_IF_NECESSARY",
		Votes: []Vote{
			{Label: "Code-Review", Account: alice, Value: 2},
			{Label: "Verified", Account: gated, Value: 2},
			{Label: "Workflow", Account: alice, Value: 1},
		},
		Submittable: true,
		Files:       []string{"/COMMIT_MSG", "change-1.txt"},
		Requirements: []Requirement{
			{Name: "Code-Review", Status: "SATISFIED", Expression: "label:Code-Review=MAX AND -label:Code-Review=MIN"},
			{Name: "Verified", Status: "SATISFIED", Expression: "label:Verified=MAX AND -label:Verified=MIN"},
			{Name: "Workflow", Status: "SATISFIED", Expression: "label:Workflow=MAX AND -label:Workflow=MIN"},
		},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Change:\ngot  %+v\nwant %+v", got, want)
	}

	// A vote removed is no longer in the snapshot; a -2 blocks.
	if err := s.DeleteVote(n, "alice", "Workflow", "alice"); err != nil {
		t.Fatal(err)
	}
	review(t, s, n, gerrittest.BobUser, map[string]int{"Code-Review": -2})
	got, err = c.Change(ctx, n)
	if err != nil {
		t.Fatal(err)
	}
	if got.Submittable || len(got.Votes) != 3 || got.Votes[1].Account.Username != "bob" || got.Votes[1].Value != -2 {
		t.Errorf("after removing Workflow and a -2: submittable %v votes %+v", got.Submittable, got.Votes)
	}
	if _, err := c.Change(ctx, 99); !IsNotFound(err) {
		t.Errorf("Change(99) error = %v, want not found", err)
	}
}

func TestRelationChainNeeds(t *testing.T) {
	ctx := context.Background()
	s := sim(t)
	c := client(t, s)
	a := upload(t, s, gerrittest.Upload{})
	b := upload(t, s, gerrittest.Upload{Parent: a})
	d := upload(t, s, gerrittest.Upload{Parent: b})
	deps := func(n int) (needs []Need, neededBy []int) {
		t.Helper()
		ch, err := c.Change(ctx, n)
		if err != nil {
			t.Fatal(err)
		}
		return ch.Needs, ch.NeededBy
	}
	check := func(step string, n int, wantNeeds []Need, wantNeededBy []int) {
		t.Helper()
		needs, neededBy := deps(n)
		if fmt.Sprint(needs) != fmt.Sprint(wantNeeds) || fmt.Sprint(neededBy) != fmt.Sprint(wantNeededBy) {
			t.Errorf("%s: change %d needs %v, needed by %v; want %v and %v", step, n, needs, neededBy, wantNeeds, wantNeededBy)
		}
	}
	check("chain", a, nil, []int{b})
	check("chain", b, []Need{{a, 1}}, []int{d})
	check("chain", d, []Need{{b, 1}}, nil)

	// A new patchset of A leaves B on A's outdated patchset 1: B still
	// needs A,1; A's current revision has no children.
	if _, err := s.NewPatchset(ctx, gerrittest.Patchset{Change: a}); err != nil {
		t.Fatal(err)
	}
	check("parent outdated", b, []Need{{a, 1}}, []int{d})
	check("parent outdated", a, nil, nil)

	// Rebased on A's patchset 2, B is A's child again.
	if _, err := s.NewPatchset(ctx, gerrittest.Patchset{Change: b, Rebase: true}); err != nil {
		t.Fatal(err)
	}
	check("rebased", b, []Need{{a, 2}}, nil)
	check("rebased", a, nil, []int{b})

	// A merged is no longer needed; an abandoned parent still is.
	approve(t, s, a)
	if err := s.Submit(ctx, a, ""); err != nil {
		t.Fatal(err)
	}
	check("parent merged", b, nil, nil)
	if err := s.Abandon(b, "admin", "no"); err != nil {
		t.Fatal(err)
	}
	check("parent abandoned", d, []Need{{b, 1}}, nil)
}

func TestDependsOnNeeds(t *testing.T) {
	ctx := context.Background()
	s := sim(t)
	c := client(t, s)
	lib := upload(t, s, gerrittest.Upload{Project: "org/lib"})
	libID := state(t, s, lib).ChangeID
	byURL := upload(t, s, gerrittest.Upload{DependsOn: []int{lib}})
	byID := upload(t, s, gerrittest.Upload{Message: "Depends-On: " + libID})
	foreign := upload(t, s, gerrittest.Upload{Message: "Depends-On: https://github.com/org/lib/pull/1\nDepends-On: " + s.URL() + "c/org/lib/+/99"})
	check := func(step string, n int, wantNeeds []Need, wantNeededBy []int) {
		t.Helper()
		ch, err := c.Change(ctx, n)
		if err != nil {
			t.Fatal(err)
		}
		if fmt.Sprint(ch.Needs) != fmt.Sprint(wantNeeds) || fmt.Sprint(ch.NeededBy) != fmt.Sprint(wantNeededBy) {
			t.Errorf("%s: change %d needs %v, needed by %v; want %v and %v", step, n, ch.Needs, ch.NeededBy, wantNeeds, wantNeededBy)
		}
	}
	check("open", byURL, []Need{{lib, 0}}, nil)
	check("open", byID, []Need{{lib, 0}}, nil)
	check("open", lib, nil, []int{byURL, byID})
	check("foreign and unknown URLs are ignored", foreign, nil, nil)

	// An abandoned dependency blocks by URL; the legacy form counts only
	// open changes.
	if err := s.Abandon(lib, "admin", ""); err != nil {
		t.Fatal(err)
	}
	check("abandoned", byURL, []Need{{lib, 0}}, nil)
	check("abandoned", byID, nil, nil)
	if err := s.Restore(lib, "admin", ""); err != nil {
		t.Fatal(err)
	}
	approve(t, s, lib)
	if err := s.Submit(ctx, lib, ""); err != nil {
		t.Fatal(err)
	}
	check("merged", byURL, nil, nil)
}

func TestClosure(t *testing.T) {
	ctx := context.Background()
	s := sim(t)
	log, logs := testLogger()
	c := client(t, s, func(cfg *Config) { cfg.Logger = log })
	// x and y depend on each other; z is stacked on y; w is alone; t1
	// and t2 share a topic with x.
	x := upload(t, s, gerrittest.Upload{Topic: "feature"})
	y := upload(t, s, gerrittest.Upload{DependsOn: []int{x}})
	z := upload(t, s, gerrittest.Upload{Parent: y})
	upload(t, s, gerrittest.Upload{})
	t1 := upload(t, s, gerrittest.Upload{Topic: "feature"})
	t2 := upload(t, s, gerrittest.Upload{Topic: "feature"})
	xs := state(t, s, x)
	if _, err := s.NewPatchset(ctx, gerrittest.Patchset{Change: x, Message: xs.Subject + "\n\nDepends-On: " + s.URL() + fmt.Sprintf("c/org/proj/+/%d", y) + "\nChange-Id: " + xs.ChangeID}); err != nil {
		t.Fatal(err)
	}
	numbers := func(cs []Change) []int {
		var ns []int
		for _, ch := range cs {
			ns = append(ns, ch.Number)
		}
		return ns
	}
	topics := func(Change) bool { return true }
	for _, tt := range []struct {
		from, limit int
		topic       func(Change) bool
		want        []int
	}{
		{x, 0, nil, []int{x, y, z}},
		{z, 0, nil, []int{z, y, x}},
		{y, 2, nil, []int{y, x}},
		{z, 0, topics, []int{z, y, x, t2, t1}}, // topic members by last update, as Gerrit lists them
		{t2, 0, topics, []int{t2, x, t1, y, z}},
	} {
		got, err := c.Closure(ctx, tt.from, ClosureOptions{Limit: tt.limit, Topic: tt.topic})
		if err != nil {
			t.Fatal(err)
		}
		if fmt.Sprint(numbers(got)) != fmt.Sprint(tt.want) {
			t.Errorf("Closure(%d, %d, topics %v) = %v, want %v", tt.from, tt.limit, tt.topic != nil, numbers(got), tt.want)
		}
	}
	if !strings.Contains(logs.String(), "closure limit") {
		t.Errorf("a cut-off closure was not logged:\n%s", logs)
	}
}

func TestQueryPagesThroughAllResults(t *testing.T) {
	ctx := context.Background()
	s := sim(t)
	counter := &countingTransport{base: http.DefaultTransport, path: "/changes/"}
	c := client(t, s, func(cfg *Config) { cfg.PageSize = 2; cfg.Transport = counter })
	var want []int
	for i := 0; i < 5; i++ {
		n := upload(t, s, gerrittest.Upload{})
		review(t, s, n, gerrittest.AliceUser, map[string]int{"Workflow": 1})
		want = append([]int{n}, want...) // newest update first
	}
	upload(t, s, gerrittest.Upload{}) // not approved
	got, err := c.Query(ctx, "status:open label:Workflow=1")
	if err != nil {
		t.Fatal(err)
	}
	var ns []int
	for _, ch := range got {
		ns = append(ns, ch.Number)
		if ch.Revision == "" || len(ch.Votes) != 1 {
			t.Errorf("query result %d is not a full snapshot: %+v", ch.Number, ch)
		}
	}
	if fmt.Sprint(ns) != fmt.Sprint(want) {
		t.Errorf("Query = %v, want %v", ns, want)
	}
	// Three pages of 2, plus for each change its related changes and
	// the search for changes that depend on it.
	pages := counter.n.Load() - 5*2
	if pages != 3 {
		t.Errorf("Query fetched %d pages, want 3", pages)
	}
	if _, err := c.Query(ctx, "bogus:operator"); err == nil || !strings.Contains(err.Error(), "400") {
		t.Errorf("a bad query: error %v, want Gerrit's 400", err)
	}
}

func TestReview(t *testing.T) {
	ctx := context.Background()
	s := sim(t)
	c := client(t, s)
	n := upload(t, s, gerrittest.Upload{})
	rev := state(t, s, n).Revision
	err := c.Review(ctx, ReviewInput{
		Project: "org/proj", Branch: "master", Number: n, Revision: rev,
		// gated may not vote Code-Review and there is no Frobnicated:
		// both are dropped, not refused.
		Labels:  map[string]int{"Verified": 2, "Code-Review": 2, "Frobnicated": 1},
		Message: "gated: build succeeded in the gate pipeline.",
		Links:   []Link{{"status", "https://gated.example.com/status"}, {"argo", "https://argo.example.com/wf/1"}},
		Tag:     "autogenerated:gated", Notify: "NONE",
	})
	if err != nil {
		t.Fatal(err)
	}
	st := state(t, s, n)
	if fmt.Sprint(st.Votes) != "map[gated:map[Verified:2]]" {
		t.Errorf("votes %v, want gated's Verified+2 only", st.Votes)
	}
	last := st.Messages[len(st.Messages)-1]
	wantText := "Patch Set 1: Verified+2\n\ngated: build succeeded in the gate pipeline.\n\n- status https://gated.example.com/status\n- argo https://argo.example.com/wf/1"
	if last.Author != "gated" || last.Tag != "autogenerated:gated" || last.Text != wantText {
		t.Errorf("message %+v, want by gated, tagged, with text %q", last, wantText)
	}
	// Labels on a closed change are refused with Gerrit's 409.
	if err := s.Abandon(n, "admin", ""); err != nil {
		t.Fatal(err)
	}
	err = c.Review(ctx, ReviewInput{Project: "org/proj", Number: n, Labels: map[string]int{"Verified": -2}})
	var ae *APIError
	if !errors.As(err, &ae) || ae.StatusCode != 409 || strings.TrimSpace(ae.Message) != "change is closed" {
		t.Errorf("review of a closed change: %v, want 409 change is closed", err)
	}
}

func TestFormatMessageIsBounded(t *testing.T) {
	long := strings.Repeat("é", MaxMessageBytes)
	got := FormatMessage(long, []Link{{"x", "y"}})
	if len(got) > MaxMessageBytes || !strings.HasSuffix(got, "(message truncated)") || !strings.HasPrefix(got, "é") {
		t.Errorf("FormatMessage of %d bytes gave %d bytes ending %q", len(long), len(got), got[len(got)-30:])
	}
	if got := FormatMessage("", []Link{{"a", "b"}}); got != "- a b" {
		t.Errorf("links alone: %q", got)
	}
}

func TestSubmit(t *testing.T) {
	ctx := context.Background()
	s := sim(t)
	c := client(t, s)
	ready := upload(t, s, gerrittest.Upload{Files: map[string]string{"a.txt": "one\n"}})
	approve(t, s, ready)
	tested := upload(t, s, gerrittest.Upload{})
	approve(t, s, tested)
	testedRev := state(t, s, tested).Revision
	notReady := upload(t, s, gerrittest.Upload{})
	review(t, s, notReady, gerrittest.AliceUser, map[string]int{"Code-Review": 2, "Workflow": 1})
	conflicting := upload(t, s, gerrittest.Upload{Files: map[string]string{"a.txt": "two\n"}})
	approve(t, s, conflicting)
	outdated := upload(t, s, gerrittest.Upload{})
	approve(t, s, outdated)
	oldRev := state(t, s, outdated).Revision
	if _, err := s.NewPatchset(ctx, gerrittest.Patchset{Change: outdated, Message: "same change, new message"}); err != nil {
		t.Fatal(err)
	}
	abandoned := upload(t, s, gerrittest.Upload{})
	if err := s.Abandon(abandoned, "admin", ""); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name     string
		in       SubmitInput
		want     string // "" for success, else the SubmitError text
		status   string
		mergedAt []int
	}{
		{name: "ready", in: SubmitInput{Project: "org/proj", Number: ready}, status: string(StatusMerged)},
		{name: "already merged is success", in: SubmitInput{Project: "org/proj", Number: ready}, status: string(StatusMerged)},
		{name: "the tested revision", in: SubmitInput{Project: "org/proj", Number: tested, Revision: testedRev, Notify: "NONE"}, status: string(StatusMerged)},
		{name: "not ready", in: SubmitInput{Number: notReady},
			want: fmt.Sprintf("Failed to submit 1 change due to the following problems:\nChange %d: Change %d is not ready: submit requirement 'Verified' is unsatisfied.", notReady, notReady)},
		{name: "conflict", in: SubmitInput{Project: "org/proj", Number: conflicting},
			want: fmt.Sprintf("Failed to submit 1 change due to the following problems:\nChange %d: Change could not be merged due to a path conflict. Please rebase the change locally and upload the rebased commit for review.", conflicting)},
		{name: "tested revision outdated", in: SubmitInput{Project: "org/proj", Number: outdated, Revision: oldRev},
			want: fmt.Sprintf("revision %s is not current revision", oldRev)},
		{name: "abandoned", in: SubmitInput{Number: abandoned}, want: "change is abandoned"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := c.Submit(ctx, tt.in)
			if tt.want == "" {
				if err != nil {
					t.Fatalf("Submit: %v", err)
				}
				if st := state(t, s, tt.in.Number); st.Status != tt.status {
					t.Errorf("status %s, want %s", st.Status, tt.status)
				}
				return
			}
			var se *SubmitError
			if !errors.As(err, &se) || se.StatusCode != 409 || strings.TrimSpace(se.Message) != tt.want {
				t.Errorf("Submit error = %v (%T), want a 409 SubmitError %q", err, err, tt.want)
			}
		})
	}
	if got := s.MergeOrder(); fmt.Sprint(got) != fmt.Sprint([]int{ready, tested}) {
		t.Errorf("merged %v, want [%d %d]", got, ready, tested)
	}
}

func TestBranchTip(t *testing.T) {
	ctx := context.Background()
	s := sim(t)
	c := client(t, s)
	sha, err := s.PushBranch(ctx, gerrittest.Push{Project: "org/proj", Branch: "stable/1.0"})
	if err != nil {
		t.Fatal(err)
	}
	for _, branch := range []string{"stable/1.0", "refs/heads/stable/1.0"} {
		if got, err := c.BranchTip(ctx, "org/proj", branch); err != nil || got != sha {
			t.Errorf("BranchTip(%s) = %s, %v; want %s", branch, got, err, sha)
		}
	}
	if _, err := c.BranchTip(ctx, "org/proj", "nope"); !IsNotFound(err) {
		t.Errorf("BranchTip of a missing branch: %v, want not found", err)
	}
}

func TestBranches(t *testing.T) {
	ctx := context.Background()
	s := sim(t)
	c := client(t, s)
	stable, err := s.PushBranch(ctx, gerrittest.Push{Project: "org/proj", Branch: "stable/1.0"})
	if err != nil {
		t.Fatal(err)
	}
	master, _ := s.BranchTip(ctx, "org/proj", "master")
	head, tips, err := c.Branches(ctx, "org/proj")
	if want := map[string]string{"master": master, "stable/1.0": stable}; err != nil || head != "master" || !reflect.DeepEqual(tips, want) {
		t.Fatalf("Branches = %q, %v, %v; want master, %v", head, tips, err, want)
	}
	if _, _, err := c.Branches(ctx, "org/nope"); !IsNotFound(err) {
		t.Errorf("Branches of a missing project: %v, want not found", err)
	}
}

func TestRetries(t *testing.T) {
	tests := []struct {
		name    string
		fault   gerrittest.Fault
		submit  bool
		timeout time.Duration
		ok      bool
		left    int // faults not consumed
	}{
		{name: "500s are retried", fault: gerrittest.Fault{Path: "/changes/1", Status: 500, Count: 2}, ok: true},
		{name: "502 and 503 too", fault: gerrittest.Fault{Path: "/changes/1", Status: 503, Count: 3}, ok: true},
		{name: "429 too", fault: gerrittest.Fault{Path: "/changes/1", Status: 429, Count: 1}, ok: true},
		{name: "a timeout too", fault: gerrittest.Fault{Path: "/changes/1", Delay: time.Minute, Count: 1}, timeout: 300 * time.Millisecond, ok: true},
		{name: "404 is not", fault: gerrittest.Fault{Path: "/changes/1", Status: 404, Count: 2}, left: 1},
		{name: "400 is not", fault: gerrittest.Fault{Path: "/changes/1", Status: 400, Count: 2}, left: 1},
		{name: "retries end", fault: gerrittest.Fault{Path: "/changes/1", Status: 500, Count: 10}, left: 5},
		{name: "a submit answered 500 is retried", fault: gerrittest.Fault{Path: "/submit", Status: 500, Count: 2}, submit: true, ok: true},
		{name: "a submit answered 409 is not", fault: gerrittest.Fault{Path: "/submit", Status: 409, Body: "blocked by Verified", Count: 2}, submit: true, left: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			s := sim(t)
			n := upload(t, s, gerrittest.Upload{})
			approve(t, s, n)
			c := client(t, s, func(cfg *Config) {
				cfg.Retry.Max = 4
				if tt.timeout > 0 {
					cfg.Timeout = tt.timeout
				}
			})
			s.InjectFault(tt.fault)
			var err error
			if tt.submit {
				err = c.Submit(ctx, SubmitInput{Project: "org/proj", Number: n})
			} else {
				_, err = c.Change(ctx, n)
			}
			if tt.ok != (err == nil) {
				t.Errorf("error = %v, want success %v", err, tt.ok)
			}
			if got := s.FaultsPending(); got != tt.left {
				t.Errorf("%d faulty answers left, want %d", got, tt.left)
			}
			if tt.submit && !tt.ok {
				var se *SubmitError
				if !errors.As(err, &se) || se.Message != "blocked by Verified\n" {
					t.Errorf("submit error %v, want Gerrit's 409 text", err)
				}
			}
		})
	}
}

func TestCredentials(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "password")
	if err := os.WriteFile(file, []byte("from-file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	empty := filepath.Join(dir, "empty")
	if err := os.WriteFile(empty, []byte("\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("GATED_TEST_GERRIT_PASSWORD", "from-env")
	tests := []struct {
		name string
		cfg  Config
		want string // the password, or an error text
		err  bool
	}{
		{"file", Config{User: "gated", PasswordFile: file}, "from-file", false},
		{"env", Config{User: "gated", PasswordEnv: "GATED_TEST_GERRIT_PASSWORD"}, "from-env", false},
		{"inline", Config{User: "gated", Password: "inline"}, "inline", false},
		{"anonymous", Config{}, "", false},
		{"two sources", Config{User: "gated", Password: "x", PasswordFile: file}, "only one", true},
		{"no password", Config{User: "gated"}, "no password", true},
		{"password without user", Config{Password: "x"}, "without a user", true},
		{"missing file", Config{User: "gated", PasswordFile: filepath.Join(dir, "nope")}, "no such file", true},
		{"empty file", Config{User: "gated", PasswordFile: empty}, "empty", true},
		{"unset env", Config{User: "gated", PasswordEnv: "GATED_TEST_UNSET"}, "empty or unset", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.cfg.password()
			if tt.err {
				if err == nil || !strings.Contains(err.Error(), tt.want) {
					t.Errorf("error %v, want %q", err, tt.want)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Errorf("password() = %q, %v; want %q", got, err, tt.want)
			}
		})
	}
	if _, err := NewClient(Config{URL: "review.example.com"}); err == nil {
		t.Error("a URL without scheme was accepted")
	}
}

func TestPasswordNeverLogged(t *testing.T) {
	s := sim(t)
	log, logs := testLogger()
	password := s.Password(gerrittest.GatedUser)
	c := client(t, s, func(cfg *Config) { cfg.Logger = log })
	log.Info("client config", "gerrit", Config{URL: s.URL(), User: "gated", Password: password})
	s.InjectFault(gerrittest.Fault{Path: "/changes/", Status: 500, Count: 2})
	if _, err := c.Query(context.Background(), "status:open"); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(logs.String(), "retrying") {
		t.Errorf("retries were not logged:\n%s", logs)
	}
	if strings.Contains(logs.String(), password) {
		t.Errorf("the password is in the logs:\n%s", logs)
	}
}

func TestAnonymousClientReads(t *testing.T) {
	s := sim(t)
	n := upload(t, s, gerrittest.Upload{})
	c := client(t, s, func(cfg *Config) { cfg.User, cfg.Password = "", "" })
	if ch, err := c.Change(context.Background(), n); err != nil || ch.Number != n {
		t.Errorf("anonymous Change = %+v, %v", ch, err)
	}
	err := c.Submit(context.Background(), SubmitInput{Number: n})
	var se *SubmitError
	if !errors.As(err, &se) || se.StatusCode != 403 {
		t.Errorf("anonymous submit: %v, want 403", err)
	}
}

// TestGitRemoteFetchesPatchsets checks, with the real git, that the remote
// the merger is given reaches the project with gated's credentials (the
// authenticated /a/ path) and without (anonymous).
func TestGitRemoteFetchesPatchsets(t *testing.T) {
	s := sim(t)
	n := upload(t, s, gerrittest.Upload{})
	for _, tc := range []struct {
		name string
		c    *Client
		auth bool
	}{
		{"authenticated", client(t, s), true},
		{"anonymous", client(t, s, func(c *Config) { c.User, c.Password = "", "" }), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			remote := tc.c.GitRemote("org/proj")
			if got := strings.Contains(remote, "/a/org/proj"); got != tc.auth {
				t.Errorf("remote %s: authenticated path %v, want %v", remote, got, tc.auth)
			}
			out, err := exec.Command("git", "ls-remote", remote, ChangeRef(n, 1)).CombinedOutput()
			if err != nil || !strings.Contains(string(out), ChangeRef(n, 1)) {
				t.Errorf("git ls-remote %s: %v: %s", ChangeRef(n, 1), err, out)
			}
		})
	}
}

func TestSubmitWholeTopicAndSubmittedTogether(t *testing.T) {
	ctx := context.Background()
	s := sim(t)
	c := client(t, s)
	lib := upload(t, s, gerrittest.Upload{Project: "org/lib", Topic: "feature"})
	parent := upload(t, s, gerrittest.Upload{})
	app := upload(t, s, gerrittest.Upload{Parent: parent, Topic: "feature"})
	for _, tt := range []struct {
		on         bool
		from       int
		wantTopic  bool
		wantWith   []int
		whatItSays string
	}{
		{false, app, false, []int{parent}, "without the setting: the ancestors"},
		{true, app, true, []int{lib, parent}, "with it: the topic's changes and their ancestors too"},
		{true, lib, true, []int{parent, app}, "from any change of the topic"},
	} {
		s.SetSubmitWholeTopic(tt.on)
		on, err := c.SubmitWholeTopic(ctx)
		if err != nil || on != tt.wantTopic {
			t.Errorf("%s: SubmitWholeTopic = %v, %v", tt.whatItSays, on, err)
		}
		with, err := c.SubmittedTogether(ctx, state(t, s, tt.from).Project, tt.from)
		slices.Sort(with)
		if err != nil || !slices.Equal(with, tt.wantWith) {
			t.Errorf("%s: SubmittedTogether(%d) = %v, %v; want %v", tt.whatItSays, tt.from, with, err, tt.wantWith)
		}
	}
}
