package gerrittest

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
)

func approveAll(t *testing.T, s *Server, n int) {
	t.Helper()
	mustReview(t, s, n, Review{Account: AliceUser, Labels: map[string]int{"Code-Review": 2, "Workflow": 1}})
	mustReview(t, s, n, Review{Account: GatedUser, Labels: map[string]int{"Verified": 2}})
}

// commit reads a commit of a project's repository.
func commit(t *testing.T, s *Server, project, rev string) *commitData {
	t.Helper()
	s.mu.Lock()
	p := s.projects[project]
	s.mu.Unlock()
	c, err := p.repo.readCommit(context.Background(), rev)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestSubmitTypes(t *testing.T) {
	const (
		conflictText = "Change %d: Change could not be merged due to a path conflict. Please rebase the change locally and upload the rebased commit for review."
		rebaseText   = "Change %d: Change could not be merged due to a conflict. Please rebase the change locally and upload the rebased commit for review."
		ffText       = "Change %d: Project policy requires all submissions to be a fast-forward. Please rebase the change locally and upload again for review."
	)
	// branch says how the branch moved after the upload: "" not at all,
	// "other" with an unrelated file, "same" with the change's file.
	// result is how the new tip relates to the change: "change" (the tip
	// is the change's commit), "merge" (a merge of the old tip and the
	// change), "new" (a new commit on the old tip, a new patchset), or
	// the 409 text.
	tests := []struct {
		submitType, branch, result string
		footers                    bool
	}{
		{MergeIfNecessary, "", "change", false},
		{MergeIfNecessary, "other", "merge", false},
		{MergeIfNecessary, "same", conflictText, false},
		{MergeAlways, "", "merge", false},
		{MergeAlways, "other", "merge", false},
		{MergeAlways, "same", conflictText, false},
		{FastForwardOnly, "", "change", false},
		{FastForwardOnly, "other", ffText, false},
		{RebaseIfNecessary, "", "change", false},
		{RebaseIfNecessary, "other", "new", false},
		{RebaseIfNecessary, "same", rebaseText, false},
		{RebaseAlways, "", "new", true},
		{RebaseAlways, "other", "new", true},
		{RebaseAlways, "same", rebaseText, false},
		{CherryPick, "", "change", false},
		{CherryPick, "other", "new", true},
		{CherryPick, "same", conflictText, false},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%s, branch moved by %q", tt.submitType, tt.branch), func(t *testing.T) {
			ctx := context.Background()
			s := start(t, Options{}, Project{Name: "p", SubmitType: tt.submitType, Files: map[string]string{"file": "base\n"}})
			n := mustUpload(t, s, Upload{Project: "p", Files: map[string]string{"file": "change\n"}})
			approveAll(t, s, n)
			before := mustChange(t, s, n)
			switch tt.branch {
			case "other":
				if _, err := s.PushBranch(ctx, Push{Project: "p", Files: map[string]string{"other": "x\n"}}); err != nil {
					t.Fatal(err)
				}
			case "same":
				if _, err := s.PushBranch(ctx, Push{Project: "p", Files: map[string]string{"file": "pushed\n"}}); err != nil {
					t.Fatal(err)
				}
			}
			oldTip, _ := s.BranchTip(ctx, "p", "master")
			events := len(s.Events())
			err := s.Submit(ctx, n, "")
			if strings.HasPrefix(tt.result, "Change") {
				want := "Failed to submit 1 change due to the following problems:\n" + fmt.Sprintf(tt.result, n)
				if werr := wantError(err, 409, want); werr != nil {
					t.Error(werr)
				}
				if tip, _ := s.BranchTip(ctx, "p", "master"); tip != oldTip {
					t.Errorf("a refused submit moved the branch")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tip, _ := s.BranchTip(ctx, "p", "master")
			after := mustChange(t, s, n)
			top := commit(t, s, "p", tip)
			switch tt.result {
			case "change":
				if tip != before.Revision || after.Patchset != 1 {
					t.Errorf("tip %s patchset %d, want the change's commit %s", tip, after.Patchset, before.Revision)
				}
			case "merge":
				if !slices.Equal(top.parents, []string{oldTip, before.Revision}) {
					t.Errorf("merge parents %v, want old tip %s and change %s", top.parents, oldTip, before.Revision)
				}
				if top.message != fmt.Sprintf("Merge \"%s\"\n", before.Subject) {
					t.Errorf("merge message %q", top.message)
				}
			case "new":
				if !slices.Equal(top.parents, []string{oldTip}) || after.Patchset != 2 || after.Revision != tip {
					t.Errorf("tip %s parents %v, change patchset %d at %s: want a new patchset on %s", tip, top.parents, after.Patchset, after.Revision, oldTip)
				}
				if has := strings.Contains(top.message, "\nReviewed-on: "+s.URL()+"c/p/+/1\nReviewed-by: Alice Core <alice@example.com>\nTested-by: gated <gated@example.com>\n"); has != tt.footers {
					t.Errorf("footers in %q: %v, want %v", top.message, has, tt.footers)
				}
			}
			if got, _ := s.ReadFile(ctx, "p", tip, "file"); got != "change\n" {
				t.Errorf("file at the new tip: %q", got)
			}
			if tt.branch == "other" {
				if got, _ := s.ReadFile(ctx, "p", tip, "other"); got != "x\n" {
					t.Errorf("the pushed file is gone from the new tip")
				}
			}
			if after.Status != StatusMerged {
				t.Errorf("status %s", after.Status)
			}
			// Events: the branch's ref-updated, then change-merged with
			// the new tip; no patchset-created for a rebase.
			var types []string
			for _, e := range s.Events()[events:] {
				if !strings.Contains(string(e.JSON), `"refName":"refs/changes/`) {
					types = append(types, e.Type)
				}
			}
			if fmt.Sprint(types) != "[ref-updated change-merged]" {
				t.Errorf("events %v", types)
			}
			merged := lastEvent(t, s, "change-merged")
			if merged["newRev"] != tip || merged["submitter"].(map[string]any)["username"] != GatedUser {
				t.Errorf("change-merged %v, want newRev %s", merged, tip)
			}
		})
	}
}

func mustChange(t *testing.T, s *Server, n int) ChangeState {
	t.Helper()
	c, err := s.Change(n)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestSubmitTakesUnmergedAncestors(t *testing.T) {
	ctx := context.Background()
	s := start(t, Options{}, Project{Name: "p"}, Project{Name: "cp", SubmitType: CherryPick})
	a := mustUpload(t, s, Upload{Project: "p"})
	b := mustUpload(t, s, Upload{Project: "p", Parent: a})
	c := mustUpload(t, s, Upload{Project: "p", Parent: b})
	approveAll(t, s, b)
	approveAll(t, s, c)

	// a is not ready: neither b nor c may go.
	want := fmt.Sprintf("Failed to submit 3 changes due to the following problems:\nChange %d: Change %d must be submitted with change %d but %d is not ready: submit requirement 'Code-Review' is unsatisfied, submit requirement 'Verified' is unsatisfied, submit requirement 'Workflow' is unsatisfied.", a, c, a, a)
	if err := wantError(s.Submit(ctx, c, ""), 409, want); err != nil {
		t.Error(err)
	}
	approveAll(t, s, a)
	if err := s.Submit(ctx, b, ""); err != nil {
		t.Fatal(err)
	}
	if got := s.MergeOrder(); !slices.Equal(got, []int{a, b}) {
		t.Errorf("merged %v, want [%d %d]", got, a, b)
	}
	tip, _ := s.BranchTip(ctx, "p", "master")
	if tip != mustChange(t, s, b).Revision || mustChange(t, s, c).Status != StatusNew {
		t.Errorf("tip %s, want b's commit; c must stay open", tip)
	}
	var merged []int
	for _, e := range s.Events() {
		if e.Type == "change-merged" {
			merged = append(merged, e.Change)
		}
	}
	if !slices.Equal(merged, []int{a, b}) {
		t.Errorf("change-merged for %v", merged)
	}

	// An ancestor on an outdated patchset cannot be submitted with it.
	d := mustUpload(t, s, Upload{Project: "p"})
	e := mustUpload(t, s, Upload{Project: "p", Parent: d})
	approveAll(t, s, d)
	approveAll(t, s, e)
	if _, err := s.NewPatchset(ctx, Patchset{Change: d}); err != nil {
		t.Fatal(err)
	}
	err := s.Submit(ctx, e, "")
	if err == nil || !strings.Contains(err.Error(), fmt.Sprintf("Change %d: Depends on change that was not submitted.", e)) {
		t.Errorf("submit on an outdated parent: %v", err)
	}

	// CHERRY_PICK takes the change alone.
	x := mustUpload(t, s, Upload{Project: "cp", Files: map[string]string{"x": "x\n"}})
	y := mustUpload(t, s, Upload{Project: "cp", Parent: x, Files: map[string]string{"y": "y\n"}})
	approveAll(t, s, y)
	if err := s.Submit(ctx, y, ""); err != nil {
		t.Fatal(err)
	}
	tip, _ = s.BranchTip(ctx, "cp", "master")
	if _, err := s.ReadFile(ctx, "cp", tip, "x"); err == nil || mustChange(t, s, x).Status != StatusNew {
		t.Errorf("cherry-picking y took its parent x along")
	}
	if got, _ := s.ReadFile(ctx, "cp", tip, "y"); got != "y\n" {
		t.Errorf("y is not on the branch")
	}
}

func TestSubmitRefusals(t *testing.T) {
	ctx := context.Background()
	s := start(t, Options{}, Project{Name: "p"})
	n := mustUpload(t, s, Upload{Project: "p"})
	approveAll(t, s, n)
	if err := wantError(s.Submit(ctx, n, AliceUser), 403, "submit not permitted"); err != nil {
		t.Error(err)
	}
	if err := s.SetWorkInProgress(n, DevUser, true); err != nil {
		t.Fatal(err)
	}
	want := fmt.Sprintf("Failed to submit 1 change due to the following problems:\nChange %d: Change %d is not ready: change is work in progress.", n, n)
	if err := wantError(s.Submit(ctx, n, ""), 409, want); err != nil {
		t.Error(err)
	}
	if err := s.SetWorkInProgress(n, DevUser, false); err != nil {
		t.Fatal(err)
	}
	if err := s.Submit(ctx, n, ""); err != nil {
		t.Fatal(err)
	}
	if err := wantError(s.Submit(ctx, n, ""), 409, "change is merged"); err != nil {
		t.Error(err)
	}
}

func TestDirectPushMergesContainedChanges(t *testing.T) {
	ctx := context.Background()
	s := start(t, Options{}, Project{Name: "p"})
	n := mustUpload(t, s, Upload{Project: "p"})
	rev := mustChange(t, s, n).Revision
	dir := t.TempDir()
	git(t, dir, "clone", "-q", s.GitURL("p"), "c")
	clone := dir + "/c"
	git(t, clone, "fetch", "-q", "origin", "refs/changes/01/1/1")
	git(t, clone, "merge", "-q", "--ff-only", "FETCH_HEAD")
	// Only those allowed may push to a branch directly.
	if out, err := gitErr(clone, "push", s.AuthGitURL(DevUser, "p"), "HEAD:master"); err == nil || !strings.Contains(out, "prohibited by Gerrit") {
		t.Errorf("dev pushed to master: %v\n%s", err, out)
	}
	git(t, clone, "push", "-q", s.AuthGitURL(AdminUser, "p"), "HEAD:master")
	if tip, _ := s.BranchTip(ctx, "p", "master"); tip != rev {
		t.Fatalf("master %s, want %s", tip, rev)
	}
	c := mustChange(t, s, n)
	if c.Status != StatusMerged || c.Messages[len(c.Messages)-1].Text != "Change has been successfully pushed." || c.SubmissionID != fmt.Sprint(n) {
		t.Errorf("the pushed change: %+v", c)
	}
	ref := lastEvent(t, s, "ref-updated")["refUpdate"].(map[string]any)
	if ref["refName"] != "refs/heads/master" || ref["newRev"] != rev {
		t.Errorf("ref-updated %v", ref)
	}
	if lastEvent(t, s, "change-merged")["newRev"] != rev {
		t.Errorf("no change-merged for the pushed change")
	}
}

// TestSubmitMergesAsJGit submits changes whose merge JGit decides
// otherwise than git: a lone carriage return makes a file binary, and with
// core.useGitattributesForMerge the attributes of JGit's "ours" (the
// branch for a merge or cherry-pick, the change for a rebase) decide.
func TestSubmitMergesAsJGit(t *testing.T) {
	lines := func(two, nine string) string {
		return "1\n" + two + "\n3\n4\n5\n6\n7\n8\n" + nine + "\n10\n"
	}
	const conflict = "conflict"
	tests := []struct {
		name           string
		gitattributes  bool
		attributes     string
		base           string
		branch, change string
		// want is the file after submit, by submit type, or conflict.
		want map[string]string
	}{
		{name: "a lone CR makes a file binary", base: lines("2", "9\r9"),
			branch: lines("branch 2", "9\r9"), change: lines("2", "9\r9 change"),
			want: map[string]string{MergeIfNecessary: conflict, RebaseIfNecessary: conflict, CherryPick: conflict}},
		{name: "text merges line by line", base: lines("2", "9"), branch: lines("branch 2", "9"), change: lines("2", "change 9"),
			want: map[string]string{MergeIfNecessary: lines("branch 2", "change 9"), RebaseIfNecessary: lines("branch 2", "change 9"),
				CherryPick: lines("branch 2", "change 9")}},
		{name: "binary attribute, off", attributes: "*.txt binary\n", base: lines("2", "9"),
			branch: lines("branch 2", "9"), change: lines("2", "change 9"),
			want: map[string]string{MergeIfNecessary: lines("branch 2", "change 9"), RebaseIfNecessary: lines("branch 2", "change 9")}},
		{name: "binary attribute, on", gitattributes: true, attributes: "*.txt binary\n", base: lines("2", "9"),
			branch: lines("branch 2", "9"), change: lines("2", "change 9"),
			want: map[string]string{MergeIfNecessary: conflict, RebaseIfNecessary: conflict, CherryPick: conflict}},
		{name: "union attribute, off", attributes: "*.txt merge=union\n", base: lines("2", "9"),
			branch: lines("branch", "9"), change: lines("change", "9"),
			want: map[string]string{MergeIfNecessary: conflict, RebaseIfNecessary: conflict}},
		{name: "union attribute, on: ours first", gitattributes: true, attributes: "*.txt merge=union\n", base: lines("2", "9"),
			branch: lines("branch", "9"), change: lines("change", "9"),
			want: map[string]string{MergeIfNecessary: lines("branch\nchange", "9"), CherryPick: lines("branch\nchange", "9"),
				RebaseIfNecessary: lines("change\nbranch", "9")}},
	}
	for _, tt := range tests {
		for _, typ := range slices.Sorted(maps.Keys(tt.want)) {
			want := tt.want[typ]
			t.Run(tt.name+", "+typ, func(t *testing.T) {
				ctx := context.Background()
				files := map[string]string{"a.txt": tt.base}
				if tt.attributes != "" {
					files[".gitattributes"] = tt.attributes
				}
				s := start(t, Options{UseGitattributesForMerge: tt.gitattributes}, Project{Name: "p", SubmitType: typ, Files: files})
				n := mustUpload(t, s, Upload{Project: "p", Files: map[string]string{"a.txt": tt.change}})
				approveAll(t, s, n)
				if _, err := s.PushBranch(ctx, Push{Project: "p", Files: map[string]string{"a.txt": tt.branch}}); err != nil {
					t.Fatal(err)
				}
				err := s.Submit(ctx, n, "")
				if want == conflict {
					if err == nil || !strings.Contains(err.Error(), "conflict") {
						t.Fatalf("submit: %v; Gerrit refuses it with a conflict", err)
					}
					return
				}
				if err != nil {
					t.Fatal(err)
				}
				tip, _ := s.BranchTip(ctx, "p", "master")
				if got, _ := s.ReadFile(ctx, "p", tip, "a.txt"); got != want {
					t.Errorf("a.txt is %q; Gerrit makes %q", got, want)
				}
			})
		}
	}
}
