package gerrittest

import (
	"bytes"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestFaults(t *testing.T) {
	s := start(t, Options{}, Project{Name: "p"})
	n := mustUpload(t, s, Upload{Project: "p"})
	s.InjectFault(Fault{Path: "/changes/", Status: 500, Count: 2})
	s.InjectFault(Fault{Path: "/review", Method: http.MethodPost, Status: 503, Body: "try later"})
	s.InjectFault(Fault{Path: "/projects/", Delay: 20 * time.Millisecond})
	tests := []struct {
		method, path string
		status       int
		body         string
	}{
		{"GET", "changes/1", 500, "Internal Server Error\n"},
		{"GET", "changes/1/revisions/current/review", 500, "Internal Server Error\n"},
		{"GET", "changes/1", 200, ""},
		{"POST", "changes/1/revisions/current/review", 503, "try later\n"},
		{"POST", "changes/1/revisions/current/review", 200, ""},
		{"GET", "projects/p/HEAD", 200, `"refs/heads/master"`},
	}
	for _, tt := range tests {
		var body any
		if tt.method == "POST" {
			body = map[string]any{"message": "hello"}
		}
		status, got := call(t, s, GatedUser, tt.method, tt.path, body)
		if status != tt.status || !strings.Contains(got, tt.body) {
			t.Errorf("%s %s: %d %q, want %d %q", tt.method, tt.path, status, got, tt.status, tt.body)
		}
	}
	if left := s.FaultsPending(); left != 0 {
		t.Errorf("%d faults left", left)
	}
	// A faulty answer has no effect: only the second review was taken.
	c := mustChange(t, s, n)
	if len(c.Messages) != 2 || c.Messages[1].Text != "Patch Set 1:\n\nhello" {
		t.Errorf("messages %+v", c.Messages)
	}
}

func TestAccountsAndURLs(t *testing.T) {
	hostKey, _ := sshKey(t, t.TempDir())
	s := start(t, Options{Accounts: []Account{{Username: "ci", Password: "pw", Submit: true}}, SSHHostKey: hostKey})
	if !bytes.Equal(s.HostKey().Marshal(), hostKey.PublicKey().Marshal()) {
		t.Error("the SSH host key is not the one given")
	}
	accs := s.Accounts()
	if len(accs) != 1 || accs[0].Username != "ci" || accs[0].ID != 1000000 || accs[0].Email != "ci@example.com" || s.Password("ci") != "pw" {
		t.Errorf("accounts %+v", accs)
	}
	if got, want := s.AuthGitURL("ci", "p"), strings.Replace(s.URL(), "http://", "http://ci:pw@", 1)+"a/p"; got != want {
		t.Errorf("AuthGitURL %s, want %s", got, want)
	}
	if _, err := New(Options{Accounts: []Account{{Username: "x"}, {Username: "x"}}}); err == nil {
		t.Error("two accounts with one name")
	}
	if err := s.CreateProject(t.Context(), Project{Name: "changes/x"}); err == nil {
		t.Error("a project hiding the REST API")
	}
	if err := s.CreateProject(t.Context(), Project{Name: "p", SubmitType: "YOLO"}); err == nil {
		t.Error("an unknown submit type")
	}
}
