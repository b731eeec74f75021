package gerrittest

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// These tests run clients that Gerrit users already use against the
// simulator: Debian's git-review and python3-pygerrit2. CI installs them
// (apt-get install git-review python3-pygerrit2) and sets
// GATED_REQUIRE_TOOLS=1, so that a missing tool fails instead of skipping.

// requireTool skips the test (or fails it under GATED_REQUIRE_TOOLS=1) when
// a tool is missing.
func requireTool(t *testing.T, what string, check func() error) {
	t.Helper()
	if err := check(); err != nil {
		msg := fmt.Sprintf("%s is not available (%v); install it with: apt-get install -y git-review python3-pygerrit2", what, err)
		if os.Getenv("GATED_REQUIRE_TOOLS") == "1" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
}

// clientEnv is the environment of the client tools: an empty home, no
// system git configuration, no proxy for the local server.
func clientEnv(home string) []string {
	env := gitEnv(home, "GIT_AUTHOR_NAME=Dev Eloper", "GIT_AUTHOR_EMAIL=dev@example.com",
		"GIT_COMMITTER_NAME=Dev Eloper", "GIT_COMMITTER_EMAIL=dev@example.com",
		"NO_PROXY=127.0.0.1,localhost", "no_proxy=127.0.0.1,localhost", "GIT_CONFIG_GLOBAL="+filepath.Join(home, ".gitconfig"))
	var out []string
	for _, kv := range env {
		if !strings.HasPrefix(strings.ToLower(kv), "http_proxy=") && !strings.HasPrefix(strings.ToLower(kv), "https_proxy=") {
			out = append(out, kv)
		}
	}
	return out
}

func run(t *testing.T, dir string, env []string, name string, args ...string) string {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir, cmd.Env = dir, env
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

func TestGitReviewUploadsChangesAndPatchsets(t *testing.T) {
	requireTool(t, "git-review", func() error { _, err := exec.LookPath("git-review"); return err })
	ctx := context.Background()
	s := start(t, Options{})
	u, _ := url.Parse(s.URL())
	gitreview := fmt.Sprintf("[gerrit]\nhost=%s\nport=%s\nproject=org/project.git\nscheme=http\n", u.Hostname(), u.Port())
	if err := s.CreateProject(ctx, Project{Name: "org/project", Files: map[string]string{".gitreview": gitreview, "README": "hello\n"}}); err != nil {
		t.Fatal(err)
	}
	home := t.TempDir()
	env := clientEnv(home)
	creds := filepath.Join(home, "credentials")
	writeFile(t, creds, fmt.Sprintf("http://dev:%s@%s\n", s.Password(DevUser), u.Host))
	writeFile(t, filepath.Join(home, ".gitconfig"), fmt.Sprintf(
		"[user]\n\tname = Dev Eloper\n\temail = dev@example.com\n[gitreview]\n\tusername = dev\n[credential]\n\thelper = store --file=%s\n", creds))

	// Set up a clone as a contributor does: clone, git review -s.
	run(t, home, env, "git", "clone", s.GitURL("org/project"), "work")
	work := filepath.Join(home, "work")
	run(t, work, env, "git-review", "-s")
	if _, err := os.Stat(filepath.Join(work, ".git", "hooks", "commit-msg")); err != nil {
		t.Fatalf("git review -s did not install the commit-msg hook: %v", err)
	}

	// Upload a change from a topic branch.
	run(t, work, env, "git", "checkout", "-b", "feature-x")
	writeFile(t, filepath.Join(work, "feature.txt"), "feature x\n")
	run(t, work, env, "git", "add", "feature.txt")
	run(t, work, env, "git", "commit", "-m", "Add feature x")
	out := run(t, work, env, "git-review", "-y")
	head := strings.TrimSpace(run(t, work, env, "git", "rev-parse", "HEAD"))
	changeID := strings.TrimSpace(run(t, work, env, "git", "log", "-1", "--format=%(trailers:key=Change-Id,valueonly)"))
	if !strings.Contains(out, s.URL()+"c/org/project/+/1") {
		t.Errorf("git review output lacks the change URL:\n%s", out)
	}
	c, err := s.Change(1)
	if err != nil {
		t.Fatal(err)
	}
	want := ChangeState{Number: 1, Project: "org/project", Branch: "master", Status: StatusNew, Topic: "feature-x",
		Owner: DevUser, Patchset: 1, Revision: head, Subject: "Add feature x", ChangeID: changeID}
	if got := (ChangeState{Number: c.Number, Project: c.Project, Branch: c.Branch, Status: c.Status, Topic: c.Topic,
		Owner: c.Owner, Patchset: c.Patchset, Revision: c.Revision, Subject: c.Subject, ChangeID: c.ChangeID}); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("uploaded change:\ngot  %+v\nwant %+v", got, want)
	}

	// Amend and upload again: a new patchset of the same change.
	writeFile(t, filepath.Join(work, "feature.txt"), "feature x, reworked\n")
	run(t, work, env, "git", "commit", "-a", "--amend", "--no-edit")
	run(t, work, env, "git-review", "-y")
	head = strings.TrimSpace(run(t, work, env, "git", "rev-parse", "HEAD"))
	if c, _ = s.Change(1); c.Patchset != 2 || c.Revision != head {
		t.Errorf("after amending: patchset %d revision %s, want 2 %s", c.Patchset, c.Revision, head)
	}

	// Another clone lists and downloads it.
	run(t, home, env, "git", "clone", s.GitURL("org/project"), "other")
	other := filepath.Join(home, "other")
	run(t, other, env, "git-review", "-s")
	if list := run(t, other, env, "git-review", "-l"); !strings.Contains(list, "Add feature x") {
		t.Errorf("git review -l does not list the change:\n%s", list)
	}
	run(t, other, env, "git-review", "-d", "1")
	if got := strings.TrimSpace(run(t, other, env, "git", "rev-parse", "HEAD")); got != head {
		t.Errorf("git review -d 1 checked out %s, want %s", got, head)
	}
}

// pygerritScript queries, reviews and submits a change with pygerrit2, as
// the admin, and prints what it saw as JSON.
const pygerritScript = `
import json, os, sys
from requests.auth import HTTPBasicAuth
from requests.exceptions import HTTPError
from pygerrit2.rest import GerritRestAPI, GerritReview

rest = GerritRestAPI(url=os.environ["GERRIT_URL"],
                     auth=HTTPBasicAuth(os.environ["GERRIT_USER"], os.environ["GERRIT_PASSWORD"]))
out = {"self": rest.get("/accounts/self")}
changes = rest.get("/changes/?q=status:open+project:org/project&o=CURRENT_REVISION&o=DETAILED_LABELS")
out["changes"] = changes
change = changes[0]

review = GerritReview()
review.set_message("Looks good from pygerrit2")
review.add_labels({"Code-Review": 2, "Workflow": 1})
rest.review(change["id"], change["current_revision"], review)
out["detail"] = rest.get("/changes/%d/detail" % change["_number"])

try:
    rest.post("/changes/%d/submit" % change["_number"])
    out["early_submit"] = {"status": 200}
except HTTPError as e:
    out["early_submit"] = {"status": e.response.status_code, "text": e.response.text}

verify = GerritReview()
verify.add_labels({"Verified": 2})
rest.review(change["id"], "current", verify)
out["submit"] = rest.post("/changes/%d/submit" % change["_number"])
json.dump(out, sys.stdout)
`

func TestPygerrit2QueriesReviewsAndSubmits(t *testing.T) {
	requireTool(t, "python3-pygerrit2", func() error {
		return exec.Command("/usr/bin/python3", "-c", "import pygerrit2.rest").Run()
	})
	ctx := context.Background()
	s := start(t, Options{}, Project{Name: "org/project"})
	n, err := s.Upload(ctx, Upload{Project: "org/project", Subject: "Fix the frobnicator"})
	if err != nil {
		t.Fatal(err)
	}
	env := append(clientEnv(t.TempDir()), "GERRIT_URL="+s.URL(), "GERRIT_USER="+AdminUser, "GERRIT_PASSWORD="+s.Password(AdminUser))
	out := run(t, t.TempDir(), env, "/usr/bin/python3", "-c", pygerritScript)
	var got struct {
		Self    struct{ Username string }
		Changes []struct {
			Number          int    `json:"_number"`
			Subject         string `json:"subject"`
			CurrentRevision string `json:"current_revision"`
		}
		Detail struct {
			Labels map[string]struct {
				All []struct {
					Username string `json:"username"`
					Value    int    `json:"value"`
				} `json:"all"`
			} `json:"labels"`
			Messages []struct{ Message string } `json:"messages"`
		}
		EarlySubmit struct {
			Status int
			Text   string
		} `json:"early_submit"`
		Submit struct{ Status string }
	}
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("pygerrit2 output: %v\n%s", err, out)
	}
	if got.Self.Username != AdminUser {
		t.Errorf("accounts/self: %q, want %q", got.Self.Username, AdminUser)
	}
	c, _ := s.Change(n)
	if len(got.Changes) != 1 || got.Changes[0].Number != n || got.Changes[0].Subject != "Fix the frobnicator" || got.Changes[0].CurrentRevision != c.Revision {
		t.Errorf("query: got %+v, want change %d at %s", got.Changes, n, c.Revision)
	}
	if all := got.Detail.Labels["Code-Review"].All; len(all) != 1 || all[0].Username != AdminUser || all[0].Value != 2 {
		t.Errorf("detail Code-Review votes: %+v", all)
	}
	if m := got.Detail.Messages; len(m) == 0 || m[len(m)-1].Message != "Patch Set 1: Code-Review+2 Workflow+1\n\nLooks good from pygerrit2" {
		t.Errorf("detail messages: %+v", m)
	}
	wantEarly := fmt.Sprintf("Failed to submit 1 change due to the following problems:\nChange %d: Change %d is not ready: submit requirement 'Verified' is unsatisfied.\n", n, n)
	if got.EarlySubmit.Status != 409 || got.EarlySubmit.Text != wantEarly {
		t.Errorf("submit without Verified: %d %q, want 409 %q", got.EarlySubmit.Status, got.EarlySubmit.Text, wantEarly)
	}
	if got.Submit.Status != StatusMerged {
		t.Errorf("submit answered status %q, want MERGED", got.Submit.Status)
	}
	c, _ = s.Change(n)
	if c.Status != StatusMerged || c.Votes[AdminUser]["Code-Review"] != 2 || c.Votes[AdminUser]["Verified"] != 2 {
		t.Errorf("after pygerrit2: %+v", c)
	}
	if tip, _ := s.BranchTip(ctx, "org/project", "master"); tip != c.Revision {
		t.Errorf("master is %s, want the change %s (fast-forward)", tip, c.Revision)
	}
}

// pygerritTopicScript reads the server's submitWholeTopic setting and what
// a change would be submitted with, submits it, and reads that again, with
// pygerrit2, and prints what it saw as JSON.
const pygerritTopicScript = `
import json, os, sys
from requests.auth import HTTPBasicAuth
from pygerrit2.rest import GerritRestAPI

rest = GerritRestAPI(url=os.environ["GERRIT_URL"],
                     auth=HTTPBasicAuth(os.environ["GERRIT_USER"], os.environ["GERRIT_PASSWORD"]))
n = int(os.environ["CHANGE"])
out = {"info": rest.get("/config/server/info")["change"].get("submit_whole_topic", False)}
out["before"] = [c["_number"] for c in rest.get("/changes/%d/submitted_together" % n)]
out["closure"] = rest.get("/changes/%d/submitted_together?o=NON_VISIBLE_CHANGES" % n)["non_visible_changes"]
out["submit"] = rest.post("/changes/%d/submit" % n)["status"]
after = rest.get("/changes/%d/submitted_together" % n)
out["after"] = [c["_number"] for c in after]
out["ids"] = sorted(set(rest.get("/changes/%d" % c)["submission_id"] for c in out["after"]))
json.dump(out, sys.stdout)
`

func TestPygerrit2ReadsSubmittedTogether(t *testing.T) {
	requireTool(t, "python3-pygerrit2", func() error {
		return exec.Command("/usr/bin/python3", "-c", "import pygerrit2.rest").Run()
	})
	s := start(t, Options{SubmitWholeTopic: true}, Project{Name: "org/lib"}, Project{Name: "org/app"})
	lib := mustUpload(t, s, Upload{Project: "org/lib", Topic: "feature"})
	app := mustUpload(t, s, Upload{Project: "org/app", Topic: "feature"})
	approveAll(t, s, lib)
	approveAll(t, s, app)
	env := append(clientEnv(t.TempDir()), "GERRIT_URL="+s.URL(), "GERRIT_USER="+AdminUser, "GERRIT_PASSWORD="+s.Password(AdminUser), fmt.Sprintf("CHANGE=%d", lib))
	out := run(t, t.TempDir(), env, "/usr/bin/python3", "-c", pygerritTopicScript)
	want := fmt.Sprintf(`{"info": true, "before": [%d, %d], "closure": 0, "submit": "MERGED", "after": [%d, %d], "ids": ["%d-feature"]}`, app, lib, app, lib, lib)
	if out != want {
		t.Errorf("pygerrit2 saw\n%s\nwant\n%s", out, want)
	}
}
