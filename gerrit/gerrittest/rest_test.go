package gerrittest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// call does a REST call as an account ("" for anonymous, without /a/) and
// returns the status and the body without Gerrit's )]}' line.
func call(t *testing.T, s *Server, account, method, path string, body any) (int, string) {
	t.Helper()
	target := s.URL() + strings.TrimPrefix(path, "/")
	if account != "" {
		target = s.URL() + "a/" + strings.TrimPrefix(path, "/")
	}
	var r io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, target, r)
	if err != nil {
		t.Fatal(err)
	}
	if account != "" {
		req.SetBasicAuth(account, s.Password(account))
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		if !bytes.HasPrefix(b, []byte(")]}'\n")) {
			t.Errorf("%s %s: JSON without the )]}' line", method, path)
		}
		b = bytes.TrimPrefix(b, []byte(")]}'\n"))
	}
	return resp.StatusCode, string(b)
}

func decodeJSON(t *testing.T, body string, v any) {
	t.Helper()
	if err := json.Unmarshal([]byte(body), v); err != nil {
		t.Fatalf("%v in %s", err, body)
	}
}

type changeNumbers []struct {
	Number int  `json:"_number"`
	More   bool `json:"_more_changes"`
}

func (c changeNumbers) String() string {
	var parts []string
	for _, x := range c {
		p := fmt.Sprint(x.Number)
		if x.More {
			p += "+"
		}
		parts = append(parts, p)
	}
	return strings.Join(parts, " ")
}

func TestQueryOperators(t *testing.T) {
	s := start(t, Options{}, Project{Name: "org/project"}, Project{Name: "org/lib"})
	a := mustUpload(t, s, Upload{Project: "org/project", Topic: "t1", Subject: "Frobnicate the widget"})
	b := mustUpload(t, s, Upload{Project: "org/lib", DependsOn: []int{a}, Owner: AliceUser})
	c := mustUpload(t, s, Upload{Project: "org/project", Parent: a})
	d := mustUpload(t, s, Upload{Project: "org/project", Branch: "master"})
	mustReview(t, s, a, Review{Account: AliceUser, Labels: map[string]int{"Code-Review": 2, "Workflow": 1}})
	mustReview(t, s, c, Review{Account: BobUser, Labels: map[string]int{"Code-Review": -2}})
	if err := s.Abandon(d, AdminUser, ""); err != nil {
		t.Fatal(err)
	}
	idA := mustChange(t, s, a).ChangeID
	tests := []struct {
		query string
		want  []int // newest update first
	}{
		{"status:open", []int{c, a, b}},
		{"is:open", []int{c, a, b}},
		{"status:abandoned", []int{d}},
		{"status:closed", []int{d}},
		{"-status:open", []int{d}},
		{"NOT is:open", []int{d}},
		{"project:org/lib", []int{b}},
		{"project:{org/lib}", []int{b}},
		{"branch:master status:open project:org/project", []int{c, a}},
		{`topic:"t1"`, []int{a}},
		{"label:Workflow=1", []int{a}},
		{"label:Workflow=+1", []int{a}},
		{"status:open label:Code-Review=MAX", []int{a}},
		{"label:Code-Review=-2", []int{c}},
		{"label:Code-Review<=-1", []int{c}},
		{"label:Code-Review>=1,user=alice", []int{a}},
		{"status:open -label:Code-Review=MIN", []int{a, b}},
		{"label:Workflow=0 status:open", []int{c, b}},
		{fmt.Sprintf("change:%d", a), []int{a}},
		{"change:" + idA, []int{a}},
		{fmt.Sprint(b), []int{b}},
		{fmt.Sprintf("change:org/lib~%d", b), []int{b}},
		{"message:{Depends-On: " + s.URL() + fmt.Sprintf("c/org/project/+/%d}", a), []int{b}},
		{"message:frobnicate", []int{a}},
		{fmt.Sprintf("(change:%d OR change:%d)", a, b), []int{a, b}},
		{fmt.Sprintf("change:%d OR change:%d AND status:open", d, b), []int{d, b}},
		{"owner:alice", []int{b}},
		{fmt.Sprintf("parentof:%d", c), []int{a}},
		{"is:wip", nil},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			status, body := call(t, s, "", "GET", "changes/?q="+url.QueryEscape(tt.query), nil)
			if status != 200 {
				t.Fatalf("%d %s", status, body)
			}
			var got changeNumbers
			decodeJSON(t, body, &got)
			var ns []int
			for _, x := range got {
				ns = append(ns, x.Number)
			}
			if !slices.Equal(ns, tt.want) {
				t.Errorf("got %v, want %v", ns, tt.want)
			}
		})
	}
	for _, bad := range []string{"frob:nicate", "(status:open", "label:", "status:sleeping"} {
		if status, body := call(t, s, "", "GET", "changes/?q="+url.QueryEscape(bad), nil); status != 400 {
			t.Errorf("query %q: %d %s, want 400", bad, status, body)
		}
	}
}

func TestQueryPagingAndOptions(t *testing.T) {
	s := start(t, Options{}, Project{Name: "p"})
	for i := 0; i < 5; i++ {
		mustUpload(t, s, Upload{Project: "p"})
	}
	pages := []struct {
		path, want string
	}{
		{"changes/?q=status:open&n=2", "5 4+"},
		{"changes/?q=status:open&n=2&start=2", "3 2+"},
		{"changes/?q=status:open&n=2&S=4", "1"},
		{"changes/?q=status:open", "5 4 3 2 1"},
	}
	for _, p := range pages {
		_, body := call(t, s, "", "GET", p.path, nil)
		var got changeNumbers
		decodeJSON(t, body, &got)
		if got.String() != p.want {
			t.Errorf("%s: %s, want %s", p.path, got, p.want)
		}
	}
	// Several q give a list per query.
	_, body := call(t, s, "", "GET", "changes/?q=change:1&q=change:2", nil)
	var lists [][]struct {
		Number int `json:"_number"`
	}
	decodeJSON(t, body, &lists)
	if len(lists) != 2 || lists[0][0].Number != 1 || lists[1][0].Number != 2 {
		t.Errorf("two queries: %s", body)
	}
	// Options gate fields.
	var plain, full []map[string]any
	_, body = call(t, s, "", "GET", "changes/?q=change:1", nil)
	decodeJSON(t, body, &plain)
	_, body = call(t, s, GatedUser, "GET", "changes/?q=change:1&o=CURRENT_REVISION&o=CURRENT_COMMIT&o=DETAILED_ACCOUNTS&o=LABELS&o=SUBMITTABLE&o=CURRENT_FILES&o=MESSAGES", nil)
	decodeJSON(t, body, &full)
	for _, key := range []string{"revisions", "labels", "submittable", "messages", "current_revision", "permitted_labels"} {
		if _, ok := plain[0][key]; ok {
			t.Errorf("%s present without its option", key)
		}
		if _, ok := full[0][key]; !ok {
			t.Errorf("%s missing with its option", key)
		}
	}
	if owner := full[0]["owner"].(map[string]any); owner["username"] != DevUser {
		t.Errorf("DETAILED_ACCOUNTS owner %v", owner)
	}
	rev := full[0]["revisions"].(map[string]any)[full[0]["current_revision"].(string)].(map[string]any)
	if rev["commit"].(map[string]any)["message"] == nil || rev["files"].(map[string]any)["change-1.txt"] == nil {
		t.Errorf("revision %v lacks the commit or the files", rev)
	}
	if status, body := call(t, s, "", "GET", "changes/?q=status:open&o=BOGUS", nil); status != 400 || !strings.Contains(body, `"BOGUS" is not a valid value for "-o"`) {
		t.Errorf("a bad option: %d %s", status, body)
	}
}

func TestAuthentication(t *testing.T) {
	s := start(t, Options{}, Project{Name: "p"})
	n := mustUpload(t, s, Upload{Project: "p"})
	req, _ := http.NewRequest("GET", s.URL()+"a/changes/1", nil)
	req.SetBasicAuth(GatedUser, "wrong")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 401 || resp.Header.Get("WWW-Authenticate") == "" {
		t.Errorf("a wrong password on /a/: %d %v", resp.StatusCode, resp.Header)
	}
	if status, _ := call(t, s, "", "GET", fmt.Sprintf("changes/%d", n), nil); status != 200 {
		t.Errorf("anonymous read: %d", status)
	}
	if status, body := call(t, s, "", "POST", fmt.Sprintf("changes/%d/revisions/current/review", n), map[string]any{"message": "hi"}); status != 403 {
		t.Errorf("anonymous review: %d %s", status, body)
	}
	if status, body := call(t, s, GatedUser, "GET", "accounts/self", nil); status != 200 || !strings.Contains(body, `"username":"gated"`) {
		t.Errorf("accounts/self: %d %s", status, body)
	}
}

func TestChangeIDForms(t *testing.T) {
	s := start(t, Options{}, Project{Name: "org/project"})
	n := mustUpload(t, s, Upload{Project: "org/project"})
	c := mustChange(t, s, n)
	for _, id := range []string{
		fmt.Sprint(n), "org%2Fproject~" + fmt.Sprint(n), "org%2Fproject~master~" + c.ChangeID, c.ChangeID,
	} {
		if status, body := call(t, s, "", "GET", "changes/"+id, nil); status != 200 || !strings.Contains(body, `"_number":1`) {
			t.Errorf("changes/%s: %d %s", id, status, body)
		}
		if status, body := call(t, s, "", "GET", "changes/"+id+"/revisions/"+c.Revision[:8]+"/commit", nil); status != 200 || !strings.Contains(body, c.Revision) {
			t.Errorf("changes/%s/revisions/<short sha>/commit: %d %s", id, status, body)
		}
	}
	if status, _ := call(t, s, "", "GET", "changes/42", nil); status != 404 {
		t.Errorf("a missing change: %d", status)
	}
	if status, _ := call(t, s, "", "GET", fmt.Sprintf("changes/%d/revisions/7/commit", n), nil); status != 404 {
		t.Errorf("a missing patchset: %d", status)
	}
}

func TestRelatedChanges(t *testing.T) {
	ctx := t.Context()
	s := start(t, Options{}, Project{Name: "p"})
	a := mustUpload(t, s, Upload{Project: "p"})
	b := mustUpload(t, s, Upload{Project: "p", Parent: a})
	c := mustUpload(t, s, Upload{Project: "p", Parent: b})
	alone := mustUpload(t, s, Upload{Project: "p"})
	if _, err := s.NewPatchset(ctx, Patchset{Change: a}); err != nil {
		t.Fatal(err)
	}
	type entry struct {
		Number   int `json:"_change_number"`
		Revision int `json:"_revision_number"`
		Current  int `json:"_current_revision_number"`
		Commit   struct {
			Commit  string
			Parents []struct{ Commit string }
		}
		Status string
	}
	related := func(n int, rev string) string {
		t.Helper()
		_, body := call(t, s, "", "GET", fmt.Sprintf("changes/%d/revisions/%s/related", n, rev), nil)
		var r struct{ Changes []entry }
		decodeJSON(t, body, &r)
		var parts []string
		for _, e := range r.Changes {
			parts = append(parts, fmt.Sprintf("%d,%d/%d", e.Number, e.Revision, e.Current))
		}
		return strings.Join(parts, " ")
	}
	// Newest first: descendants, the change, its ancestors; a's entry is
	// its outdated patchset 1, which b is based on.
	chain := fmt.Sprintf("%d,1/1 %d,1/1 %d,1/2", c, b, a)
	if got := related(b, "current"); got != chain {
		t.Errorf("related of b: %s, want %s", got, chain)
	}
	if got := related(a, "1"); got != chain {
		t.Errorf("related of a,1: %s, want %s", got, chain)
	}
	if got := related(alone, "current"); got != "" {
		t.Errorf("related of a change alone: %q", got)
	}
}

func TestSubmittedTogether(t *testing.T) {
	s := start(t, Options{}, Project{Name: "p"})
	a := mustUpload(t, s, Upload{Project: "p"})
	b := mustUpload(t, s, Upload{Project: "p", Parent: a})
	_, body := call(t, s, "", "GET", fmt.Sprintf("changes/%d/submitted_together", b), nil)
	var got changeNumbers
	decodeJSON(t, body, &got)
	if got.String() != "2 1" {
		t.Errorf("submitted together with b: %s", got)
	}
	_, body = call(t, s, "", "GET", fmt.Sprintf("changes/%d/submitted_together?o=NON_VISIBLE_CHANGES", a), nil)
	if body != `{"changes":[],"non_visible_changes":0}`+"\n" {
		t.Errorf("a alone, object form: %s", body)
	}
}

func TestProjectsAndConfig(t *testing.T) {
	s := start(t, Options{}, Project{Name: "org/project", Branch: "main"})
	tip, _ := s.BranchTip(t.Context(), "org/project", "main")
	tests := []struct{ path, want string }{
		{"config/server/version", `"3.10.0"`},
		{"projects/org%2Fproject/HEAD", `"refs/heads/main"`},
		{"projects/org%2Fproject/branches/main", `{"ref":"refs/heads/main","revision":"` + tip + `"}`},
		{"projects/org%2Fproject/branches/refs%2Fheads%2Fmain", `{"ref":"refs/heads/main","revision":"` + tip + `"}`},
		{"projects/org%2Fproject/branches/", `[{"ref":"refs/heads/main","revision":"` + tip + `"}]`},
	}
	for _, tt := range tests {
		if status, body := call(t, s, GatedUser, "GET", tt.path, nil); status != 200 || strings.TrimSpace(body) != tt.want {
			t.Errorf("%s: %d %s, want %s", tt.path, status, body, tt.want)
		}
	}
	if status, _ := call(t, s, "", "GET", "projects/nope/HEAD", nil); status != 404 {
		t.Errorf("a missing project: %d", status)
	}
	if status, body := call(t, s, "", "GET", "config/server/info", nil); status != 200 || !strings.Contains(body, `"change":{`) || strings.Contains(body, `"submit_whole_topic"`) {
		t.Errorf("server info: %d %s", status, body)
	}
	if status, body := call(t, s, "", "GET", "tools/hooks/commit-msg", nil); status != 200 || !strings.HasPrefix(body, "#!/bin/sh") {
		t.Errorf("commit-msg hook: %d", status)
	}
}

func TestWebPages(t *testing.T) {
	s := start(t, Options{}, Project{Name: "org/project"})
	n := mustUpload(t, s, Upload{Project: "org/project", Subject: "Visible <subject>"})
	for _, path := range []string{"", fmt.Sprintf("c/org/project/+/%d", n), fmt.Sprint(n)} {
		status, body := get(t, s.URL()+path)
		if status != 200 || !strings.Contains(body, "Visible &lt;subject&gt;") {
			t.Errorf("/%s: %d %s", path, status, body)
		}
	}
}

// TestNewPatchsetDependsOn: a new patchset can replace the Depends-On:
// footers (closing a dependency cycle, say), keeping the Change-Id.
func TestNewPatchsetDependsOn(t *testing.T) {
	ctx := context.Background()
	s := start(t, Options{}, Project{Name: "org/project"}, Project{Name: "org/lib"})
	a := mustUpload(t, s, Upload{Project: "org/project", Subject: "Use the widget"})
	b := mustUpload(t, s, Upload{Project: "org/lib", DependsOn: []int{a}})
	c := mustUpload(t, s, Upload{Project: "org/lib"})
	if _, err := s.NewPatchset(ctx, Patchset{Change: a, DependsOn: []int{b, c}}); err != nil {
		t.Fatal(err)
	}
	st := mustChange(t, s, a)
	want := "Use the widget\n\nDepends-On: " + s.URL() + "c/org/lib/+/" + strconv.Itoa(b) + "\nDepends-On: " + s.URL() + "c/org/lib/+/" + strconv.Itoa(c) + "\nChange-Id: " + st.ChangeID + "\n"
	if st.Patchset != 2 || st.CommitMessage != want {
		t.Fatalf("patchset %d, message:\n%s\nwant:\n%s", st.Patchset, st.CommitMessage, want)
	}
	if _, err := s.NewPatchset(ctx, Patchset{Change: a, DependsOn: []int{}, Message: "Use the widget, alone"}); err != nil {
		t.Fatal(err)
	}
	if got := mustChange(t, s, a).CommitMessage; got != "Use the widget, alone\n\nChange-Id: "+st.ChangeID+"\n" {
		t.Fatalf("message %q", got)
	}
}
