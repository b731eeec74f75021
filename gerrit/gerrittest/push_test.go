package gerrittest

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
)

const (
	changeIDA = "Iaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	changeIDB = "Ibbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
)

// cloneOf clones a project anonymously and returns the work tree.
func cloneOf(t *testing.T, s *Server, project string) string {
	t.Helper()
	dir := t.TempDir()
	git(t, dir, "clone", "-q", s.GitURL(project), "work")
	return filepath.Join(dir, "work")
}

func commitFile(t *testing.T, dir, file, content, message string) string {
	t.Helper()
	writeFile(t, filepath.Join(dir, file), content)
	git(t, dir, "add", file)
	git(t, dir, "commit", "-q", "-m", message)
	return git(t, dir, "rev-parse", "HEAD")
}

func TestPushForReview(t *testing.T) {
	s := start(t, Options{}, Project{Name: "org/project"})
	work := cloneOf(t, s, "org/project")
	url := s.AuthGitURL(DevUser, "org/project")

	// A stack of two commits makes two changes in a relation chain.
	a := commitFile(t, work, "a", "a\n", "Add a\n\nChange-Id: "+changeIDA)
	b := commitFile(t, work, "b", "b\n", "Add b\n\nChange-Id: "+changeIDB)
	out := git(t, work, "push", url, "HEAD:refs/for/master%topic=stack,wip")
	for _, want := range []string{"remote: SUCCESS", s.URL() + "c/org/project/+/1 Add a [NEW]", s.URL() + "c/org/project/+/2 Add b [NEW]", "HEAD -> refs/for/master%topic=stack,wip"} {
		if !strings.Contains(out, want) {
			t.Errorf("push output lacks %q:\n%s", want, out)
		}
	}
	one, two := mustChange(t, s, 1), mustChange(t, s, 2)
	if one.Revision != a || two.Revision != b || two.Parents[0] != a || one.ChangeID != changeIDA || !one.WIP || one.Topic != "stack" || one.Owner != DevUser {
		t.Errorf("changes from the push: %+v\n%+v", one, two)
	}

	// The patchset refs can be fetched.
	other := cloneOf(t, s, "org/project")
	git(t, other, "fetch", "-q", "origin", "refs/changes/02/2/1")
	if got := git(t, other, "rev-parse", "FETCH_HEAD"); got != b {
		t.Errorf("fetched %s, want %s", got, b)
	}

	// Amending b and pushing again: a new patchset of change 2 only;
	// %ready clears WIP, a push option sets the topic.
	git(t, work, "commit", "-q", "--amend", "-m", "Add b, better\n\nChange-Id: "+changeIDB)
	git(t, work, "push", "-q", "-o", "topic=better", url, "HEAD:refs/for/master%ready")
	two = mustChange(t, s, 2)
	if two.Patchset != 2 || two.Subject != "Add b, better" || two.WIP || two.Topic != "better" || mustChange(t, s, 1).Patchset != 1 {
		t.Errorf("after amending: %+v", two)
	}
}

func TestPushRejections(t *testing.T) {
	s := start(t, Options{}, Project{Name: "org/project"})
	work := cloneOf(t, s, "org/project")
	url := s.AuthGitURL(DevUser, "org/project")
	tests := []struct {
		name, setup, ref, want string
	}{
		{"no Change-Id", "no-id", "HEAD:refs/for/master", "missing Change-Id in message footer"},
		{"nothing new", "", "HEAD:refs/for/master", "no new changes"},
		{"no such branch", "with-id", "HEAD:refs/for/nope", "branch refs/heads/nope not found"},
		{"a change ref", "", "HEAD:refs/changes/01/1/2", "prohibited by Gerrit"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			switch tt.setup {
			case "no-id":
				commitFile(t, work, "x", tt.name, "No id")
			case "with-id":
				git(t, work, "reset", "-q", "--hard", "origin/master")
				commitFile(t, work, "y", tt.name, "With id\n\nChange-Id: "+changeIDA)
			default:
				git(t, work, "reset", "-q", "--hard", "origin/master")
			}
			out, err := gitErr(work, "push", url, tt.ref)
			if err == nil || !strings.Contains(out, tt.want) {
				t.Errorf("push %s: %v, want a rejection %q:\n%s", tt.ref, err, tt.want, out)
			}
		})
	}
	if got := len(s.Events()); got != 0 {
		t.Errorf("rejected pushes emitted %d events", got)
	}
	// Pushing needs an account; fetching does not.
	if out, err := gitErr(work, "push", s.GitURL("org/project"), "HEAD:refs/for/master"); err == nil {
		t.Errorf("an anonymous push was accepted:\n%s", out)
	}
	if out, err := gitErr(work, "ls-remote", strings.Replace(url, s.Password(DevUser), "wrong", 1)); err == nil {
		t.Errorf("a wrong password was accepted:\n%s", out)
	}
}

func TestPushToAClosedChange(t *testing.T) {
	s := start(t, Options{}, Project{Name: "org/project"})
	n := mustUpload(t, s, Upload{Project: "org/project"})
	id := mustChange(t, s, n).ChangeID
	if err := s.Abandon(n, AdminUser, ""); err != nil {
		t.Fatal(err)
	}
	work := cloneOf(t, s, "org/project")
	commitFile(t, work, "z", "z\n", "Again\n\nChange-Id: "+id)
	out, err := gitErr(work, "push", s.AuthGitURL(DevUser, "org/project"), "HEAD:refs/for/master")
	if err == nil || !strings.Contains(out, "closed") {
		t.Errorf("push to an abandoned change: %v\n%s", err, out)
	}
}

func TestGitProtocolV2AndAuthenticatedFetch(t *testing.T) {
	ctx := context.Background()
	s := start(t, Options{}, Project{Name: "org/project"})
	mustUpload(t, s, Upload{Project: "org/project"})
	dir := t.TempDir()
	out := git(t, dir, "-c", "protocol.version=2", "ls-remote", s.AuthGitURL(GatedUser, "org/project"))
	tip, _ := s.BranchTip(ctx, "org/project", "master")
	for _, want := range []string{tip + "\tHEAD", tip + "\trefs/heads/master", "\trefs/changes/01/1/1"} {
		if !strings.Contains(out, want) {
			t.Errorf("ls-remote lacks %q:\n%s", want, out)
		}
	}
}
