package gerrittest

import (
	"context"
	"fmt"
	"net/http"
	"strings"
)

// Texts of Gerrit's submit failures (CommitMergeStatus, with the newlines
// that MergeOp turns into spaces in its problem list).
const (
	pathConflict   = "Change could not be merged due to a path conflict. Please rebase the change locally and upload the rebased commit for review."
	rebaseConflict = "Change could not be merged due to a conflict. Please rebase the change locally and upload the rebased commit for review."
	notFastForward = "Project policy requires all submissions to be a fast-forward. Please rebase the change locally and upload again for review."
)

// submitted is what happens to one change of a submission.
type submitted struct {
	change *change
	// rebasedTo is the commit a rebase or cherry-pick made of the
	// change, or ""; rebased is the patchset then stored for it.
	rebasedTo string
	rebased   *patchset
}

// submit submits a change with its unmerged ancestors (all but
// CHERRY_PICK), and with change.submitWholeTopic every open change of its
// topic, as Gerrit's MergeOp does: it checks that every change is ready,
// integrates each branch by its project's submit type with real git
// operations, and only when every branch integrated moves the branches and
// emits ref-updated per branch then change-merged per change.
func (s *Server) submit(ctx context.Context, c *change, revision string, acc *Account) error {
	if !acc.maySubmit() {
		return errorf(http.StatusForbidden, "submit not permitted")
	}
	if !c.open() {
		return errorf(http.StatusConflict, "change is %s", strings.ToLower(c.status))
	}
	if revision != "" {
		ps, err := resolveRevision(c, revision)
		if err != nil {
			return err
		}
		if ps != c.current() {
			return errorf(http.StatusConflict, "revision %s is not current revision", ps.commit.sha)
		}
	}
	set, problems := s.submissionSet(c, s.submitWholeTopic)
	for _, x := range set {
		if p := notReady(c, x); p != "" {
			problems = append(problems, p)
		}
	}
	if len(problems) > 0 {
		return submitFailure(len(set), problems)
	}
	branches := byBranch(set)
	for _, b := range branches {
		var err error
		ref := "refs/heads/" + b.branch
		if b.oldTip, err = b.project.repo.resolve(ctx, ref); err != nil {
			return err
		}
		if b.oldTip == "" {
			return errorf(http.StatusConflict, "destination branch \"%s\" not found.", ref)
		}
		b.newTip = b.oldTip
		for _, chain := range s.chains(b) {
			tip, results, problem, err := s.integrate(ctx, b.project.submitType, chain, b.newTip, acc)
			if err != nil {
				return err
			}
			if problem != "" {
				return submitFailure(len(set), []string{problem})
			}
			b.newTip = tip
			b.results = append(b.results, results...)
		}
	}
	for _, b := range branches {
		for i, res := range b.results {
			if res.rebasedTo != "" {
				ps, err := s.submitPatchset(ctx, res.change, res.rebasedTo, acc)
				if err != nil {
					return err
				}
				b.results[i].rebased = ps
			}
		}
	}
	for _, b := range branches {
		if b.newTip != b.oldTip {
			if err := b.project.repo.updateRef(ctx, "refs/heads/"+b.branch, b.newTip, b.oldTip); err != nil {
				return err
			}
		}
	}
	s.markMerged(branches, acc, submissionID(c))
	return nil
}

// notReady says why x cannot be submitted as part of submitting c, or "".
func notReady(c, x *change) string {
	var why []string
	if x.wip {
		why = append(why, "change is work in progress")
	}
	for _, name := range unsatisfied(x.current()) {
		why = append(why, fmt.Sprintf("submit requirement '%s' is unsatisfied", name))
	}
	if len(why) == 0 {
		return ""
	}
	if x == c {
		return fmt.Sprintf("Change %d: Change %d is not ready: %s.", x.number, x.number, strings.Join(why, ", "))
	}
	return fmt.Sprintf("Change %d: Change %d must be submitted with change %d but %d is not ready: %s.",
		x.number, c.number, x.number, x.number, strings.Join(why, ", "))
}

func submitFailure(n int, problems []string) *Error {
	noun := "change"
	if n != 1 {
		noun = "changes"
	}
	return errorf(http.StatusConflict, "Failed to submit %d %s due to the following problems:\n%s", n, noun, strings.Join(problems, "\n"))
}

// submittedTogether is the change and its unmerged ancestors, oldest first,
// with the problems of ancestors that cannot be submitted (outdated or
// abandoned). CHERRY_PICK submits a change alone.
func (s *Server) submittedTogether(c *change) ([]*change, []string) {
	set := []*change{c}
	if c.project.submitType == CherryPick {
		return set, nil
	}
	var problems []string
	for cur := c.current().commit; len(cur.parents) > 0; {
		loc, ok := s.revs[cur.parents[0]]
		if !ok || loc.change.status == StatusMerged || loc.change.project != c.project || loc.change.branch != c.branch {
			break
		}
		p := loc.change
		if !p.open() || loc.patchset != p.current() {
			problems = append(problems, fmt.Sprintf(
				"Change %d: Depends on change that was not submitted. Commit %s depends on commit %s of change %d which cannot be merged.",
				set[0].number, set[0].current().commit.sha, loc.patchset.commit.sha, p.number))
			break
		}
		set = append([]*change{p}, set...)
		cur = p.current().commit
	}
	return set, problems
}

// integrate builds the new branch tip from the changes (oldest first) by
// the submit type. A merge problem is returned as Gerrit's text.
func (s *Server) integrate(ctx context.Context, submitType string, set []*change, tip string, acc *Account) (string, []submitted, string, error) {
	r := set[0].project.repo
	last := set[len(set)-1]
	head := last.current().commit.sha
	results := make([]submitted, len(set))
	for i, x := range set {
		results[i] = submitted{change: x}
	}
	switch submitType {
	case FastForwardOnly, MergeIfNecessary, MergeAlways:
		ff, err := r.isAncestor(ctx, tip, head)
		if err != nil {
			return "", nil, "", err
		}
		if ff && submitType != MergeAlways {
			return head, results, "", nil
		}
		if submitType == FastForwardOnly {
			return "", nil, fmt.Sprintf("Change %d: %s", last.number, notFastForward), nil
		}
		if merged, err := r.isAncestor(ctx, head, tip); err != nil || merged {
			return tip, results, "", err
		}
		tree, conflicts, err := r.mergeTrees(ctx, tip, head)
		if err != nil {
			return "", nil, "", err
		}
		if len(conflicts) > 0 {
			return "", nil, fmt.Sprintf("Change %d: %s", last.number, pathConflict), nil
		}
		sha, err := r.commitTree(ctx, commitInput{
			tree: tree, parents: []string{tip, head},
			message: fmt.Sprintf("Merge \"%s\"\n", last.current().commit.subject()),
			author:  accountIdent(acc, s.serverIdent()), committer: s.serverIdent(),
		})
		return sha, results, "", err
	case RebaseIfNecessary, RebaseAlways, CherryPick:
		for i, x := range set {
			commit := x.current().commit
			if submitType != RebaseAlways && len(commit.parents) == 1 && commit.parents[0] == tip {
				tip = commit.sha
				continue
			}
			tree, conflicts, err := r.pick(ctx, commit, tip, submitType != CherryPick)
			if err != nil {
				return "", nil, "", err
			}
			if len(conflicts) > 0 {
				text := rebaseConflict
				if submitType == CherryPick {
					text = pathConflict
				}
				return "", nil, fmt.Sprintf("Change %d: %s", x.number, text), nil
			}
			msg := commit.message
			if submitType != RebaseIfNecessary {
				msg = s.withReviewFooters(x, msg)
			}
			sha, err := r.commitTree(ctx, commitInput{
				tree: tree, parents: []string{tip}, message: msg,
				author: commit.author, committer: accountIdent(acc, s.serverIdent()),
			})
			if err != nil {
				return "", nil, "", err
			}
			results[i].rebasedTo = sha
			tip = sha
		}
		return tip, results, "", nil
	}
	return "", nil, "", fmt.Errorf("unknown submit type %q", submitType)
}

// withReviewFooters appends the footers Gerrit adds to commits it creates
// on submit: Reviewed-on, and who approved and verified.
func (s *Server) withReviewFooters(c *change, msg string) string {
	msg = strings.TrimRight(msg, "\n") + "\nReviewed-on: " + s.changeURL(c)
	for _, v := range c.current().votes {
		switch l := labelByName(v.label); {
		case v.label == "Code-Review" && v.value == l.max:
			msg += fmt.Sprintf("\nReviewed-by: %s <%s>", v.account.Name, v.account.Email)
		case v.label == "Verified" && v.value == l.max:
			msg += fmt.Sprintf("\nTested-by: %s <%s>", v.account.Name, v.account.Email)
		}
	}
	return msg + "\n"
}

// submitPatchset stores a commit made by submit as a new patchset. Gerrit
// copies the votes and emits no patchset-created for it.
func (s *Server) submitPatchset(ctx context.Context, c *change, sha string, acc *Account) (*patchset, error) {
	r := c.project.repo
	commit, err := r.readCommit(ctx, sha)
	if err != nil {
		return nil, err
	}
	ps, err := s.newPatchset(ctx, c, commit, acc, kindTrivialRebase)
	if err != nil {
		return nil, err
	}
	for _, v := range c.current().votes {
		cp := *v
		ps.votes = append(ps.votes, &cp)
	}
	c.patchsets = append(c.patchsets, ps)
	s.revs[sha] = refLocation{c, ps}
	s.emit(refUpdatedEvent(c.project, ps.ref(c.number), "", sha, acc))
	return ps, nil
}

// markMerged closes the submitted changes, all with one submission id,
// and emits ref-updated for each branch that moved, then change-merged for
// each change with its branch's final tip.
func (s *Server) markMerged(branches []*branchSet, acc *Account, id string) {
	now := s.now()
	for _, b := range branches {
		for _, res := range b.results {
			c := res.change
			c.status = StatusMerged
			c.submitted, c.submitter, c.submissionID = now, acc, id
			text := fmt.Sprintf("Change has been successfully merged by %s", acc.Name)
			if res.rebased != nil {
				verb := "rebased and submitted"
				if c.project.submitType == CherryPick {
					verb = "cherry-picked"
				}
				text = fmt.Sprintf("Change has been successfully %s as %s by %s", verb, res.rebased.commit.sha, acc.Name)
			}
			s.addMessage(c, nil, text, "autogenerated:gerrit:merged")
			s.merged = append(s.merged, c.number)
		}
	}
	for _, b := range branches {
		if b.oldTip != b.newTip {
			s.emit(refUpdatedEvent(b.project, "refs/heads/"+b.branch, b.oldTip, b.newTip, acc))
		}
	}
	for _, b := range branches {
		for _, res := range b.results {
			e := s.changeEvent("change-merged", res.change)
			e.PatchSet = s.patchSetAttr(res.change, res.change.current())
			e.Submitter = evAcc(acc)
			e.NewRev = b.newTip
			s.emit(e)
		}
	}
}

// resolveRevision finds a patchset by Gerrit's {revision-id}: "current", a
// patchset number, or a (4 or more character) prefix of its commit.
func resolveRevision(c *change, id string) (*patchset, error) {
	if id == "current" || id == "" {
		return c.current(), nil
	}
	var n int
	if _, err := fmt.Sscanf(id, "%d", &n); err == nil && fmt.Sprint(n) == id {
		if ps := c.patchset(n); ps != nil {
			return ps, nil
		}
	}
	if len(id) >= 4 {
		for _, ps := range c.patchsets {
			if strings.HasPrefix(ps.commit.sha, id) {
				return ps, nil
			}
		}
	}
	return nil, errorf(http.StatusNotFound, "Not found: %s", id)
}
