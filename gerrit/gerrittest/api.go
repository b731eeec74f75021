package gerrittest

import (
	"context"
	"crypto/sha1"
	"fmt"
	"net/http"
	"strings"
)

// Upload describes a change to upload through the Go API, as if pushed to
// refs/for/<branch>.
type Upload struct {
	Project string
	// Branch is the target branch; default the project's default branch.
	Branch string
	// Files are written on top of the parent (the Parent change's current
	// patchset, or the branch tip); default one file unique to the change
	// (change-<number>.txt), so that uploads never conflict by accident.
	Files map[string]string
	// Parent stacks the change on that change's current patchset (a
	// relation chain).
	Parent int
	// DependsOn adds a Depends-On: footer with the URL of each change.
	DependsOn []int
	Topic     string
	// Subject is the first line of the commit message; default
	// "Change <number>". Message is the body below it.
	Subject string
	Message string
	// Owner uploads the change; default DevUser.
	Owner string
	WIP   bool
}

// Upload creates a change and returns its number. It emits ref-updated
// (for the patchset ref) then patchset-created.
func (s *Server) Upload(ctx context.Context, u Upload) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, err := s.project(u.Project)
	if err != nil {
		return 0, err
	}
	branch := u.Branch
	if branch == "" {
		branch = p.head
	}
	owner, err := s.account(u.Owner, DevUser)
	if err != nil {
		return 0, err
	}
	var base string
	if u.Parent != 0 {
		parent, err := s.lookupChange(u.Parent)
		if err != nil {
			return 0, err
		}
		if parent.project != p || parent.branch != branch {
			return 0, errorf(http.StatusBadRequest, "parent change %d is on %s %s, not %s %s", u.Parent, parent.project.name, parent.branch, p.name, branch)
		}
		base = parent.current().commit.sha
	} else if base, err = p.repo.resolve(ctx, "refs/heads/"+branch); err != nil {
		return 0, err
	} else if base == "" {
		return 0, errorf(http.StatusBadRequest, "branch refs/heads/%s not found", branch)
	}
	number := s.nextChange
	files := u.Files
	if len(files) == 0 {
		files = map[string]string{fmt.Sprintf("change-%d.txt", number): fmt.Sprintf("change %d\n", number)}
	}
	subject := u.Subject
	if subject == "" {
		subject = fmt.Sprintf("Change %d", number)
	}
	var footers []string
	for _, d := range u.DependsOn {
		dep, err := s.lookupChange(d)
		if err != nil {
			return 0, err
		}
		footers = append(footers, "Depends-On: "+s.changeURL(dep))
	}
	footers = append(footers, "Change-Id: "+s.newChangeID(p, branch, subject))
	msg := subject + "\n\n"
	if body := strings.TrimSpace(u.Message); body != "" {
		msg += body + "\n\n"
	}
	msg += strings.Join(footers, "\n") + "\n"
	commit, err := s.makeCommit(ctx, p.repo, base, base, files, msg, owner)
	if err != nil {
		return 0, err
	}
	c, err := s.addChange(ctx, p, branch, commit, owner, changeOptions{topic: u.Topic, wip: u.WIP})
	if err != nil {
		return 0, err
	}
	return c.number, nil
}

// Patchset describes a new patchset to upload through the Go API.
type Patchset struct {
	Change int
	// Files are written on top of the current patchset; default one file
	// unique to the patchset, so that the new patchset is a REWORK.
	Files map[string]string
	// Message, if set, replaces the commit message; a Change-Id footer is
	// kept.
	Message string
	// DependsOn, if set, replaces the message's Depends-On: footers with
	// one for each of these changes.
	DependsOn []int
	// Rebase bases the patchset on the current branch tip (or, for a
	// stacked change, on its parent change's current patchset) instead of
	// the current patchset's parent.
	Rebase bool
	// Uploader uploads it; default the change's owner.
	Uploader string
}

// NewPatchset uploads a new patchset of a change and returns its number.
// Votes are copied or reset by the kind of change, as the labels say; it
// emits ref-updated then patchset-created.
func (s *Server) NewPatchset(ctx context.Context, in Patchset) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, err := s.lookupChange(in.Change)
	if err != nil {
		return 0, err
	}
	if !c.open() {
		return 0, errorf(http.StatusConflict, "change %d closed", c.number)
	}
	uploader, err := s.account(in.Uploader, c.owner.Username)
	if err != nil {
		return 0, err
	}
	r := c.project.repo
	cur := c.current().commit
	parent, base := "", cur.sha
	if len(cur.parents) > 0 {
		parent = cur.parents[0]
	}
	if in.Rebase {
		if parent, err = s.rebaseTarget(ctx, c); err != nil {
			return 0, err
		}
		tree, conflicts, err := r.pick(ctx, cur, parent, true)
		if err != nil {
			return 0, err
		}
		if len(conflicts) > 0 {
			return 0, errorf(http.StatusConflict, "The change could not be rebased due to a conflict during merge.\n\nmerge conflict(s):\n%s", strings.Join(conflicts, "\n"))
		}
		base = tree
	}
	files := in.Files
	if len(files) == 0 && in.Message == "" && !in.Rebase {
		files = map[string]string{fmt.Sprintf("change-%d.txt", c.number): fmt.Sprintf("change %d patchset %d\n", c.number, len(c.patchsets)+1)}
	}
	msg := cur.message
	if in.Message != "" {
		msg = strings.TrimRight(in.Message, "\n") + "\n"
		if changeIDOf(msg) == "" {
			msg += "\nChange-Id: " + c.changeID + "\n"
		}
	}
	if in.DependsOn != nil {
		var footers []string
		for _, d := range in.DependsOn {
			dep, err := s.lookupChange(d)
			if err != nil {
				return 0, err
			}
			footers = append(footers, "Depends-On: "+s.changeURL(dep))
		}
		var kept []string
		for _, line := range strings.Split(strings.TrimRight(msg, "\n"), "\n") {
			if !strings.HasPrefix(line, "Depends-On:") && !strings.HasPrefix(line, "Change-Id:") {
				kept = append(kept, line)
			}
		}
		msg = strings.TrimRight(strings.Join(kept, "\n"), "\n") + "\n\n" + strings.Join(append(footers, "Change-Id: "+c.changeID), "\n") + "\n"
	}
	commit, err := s.makeCommit(ctx, r, parent, base, files, msg, uploader)
	if err != nil {
		return 0, err
	}
	ps, err := s.addPatchset(ctx, c, commit, uploader)
	if err != nil {
		return 0, err
	}
	return ps.number, nil
}

// rebaseTarget is what a rebase puts a change on: its parent change's
// current patchset if the parent is open, the branch tip otherwise.
func (s *Server) rebaseTarget(ctx context.Context, c *change) (string, error) {
	if cur := c.current().commit; len(cur.parents) > 0 {
		if loc, ok := s.revs[cur.parents[0]]; ok && loc.change.open() && loc.change != c {
			return loc.change.current().commit.sha, nil
		}
	}
	tip, err := c.project.repo.resolve(ctx, "refs/heads/"+c.branch)
	if err != nil {
		return "", err
	}
	if tip == "" {
		return "", errorf(http.StatusConflict, "destination branch \"refs/heads/%s\" not found.", c.branch)
	}
	return tip, nil
}

// Push describes a direct push to a branch, outside review.
type Push struct {
	Project string
	// Branch is pushed to; default the project's default branch. A new
	// branch starts from the default branch.
	Branch string
	// Files are written on top of the branch tip; default one file unique
	// to the push.
	Files   map[string]string
	Message string
	// Account pushes; default AdminUser.
	Account string
}

// PushBranch commits on top of a branch and moves the branch, as a direct
// push does, and returns the new tip. It emits ref-updated, and closes (as
// merged) the open changes whose current patchset the branch now contains.
func (s *Server) PushBranch(ctx context.Context, in Push) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, err := s.project(in.Project)
	if err != nil {
		return "", err
	}
	acc, err := s.account(in.Account, AdminUser)
	if err != nil {
		return "", err
	}
	branch := in.Branch
	if branch == "" {
		branch = p.head
	}
	ref := "refs/heads/" + branch
	old, err := p.repo.resolve(ctx, ref)
	if err != nil {
		return "", err
	}
	base := old
	if base == "" {
		if base, err = p.repo.resolve(ctx, "refs/heads/"+p.head); err != nil {
			return "", err
		}
	}
	s.seq++
	files := in.Files
	if len(files) == 0 {
		files = map[string]string{fmt.Sprintf("push-%d.txt", s.seq): fmt.Sprintf("push %d\n", s.seq)}
	}
	msg := in.Message
	if msg == "" {
		msg = fmt.Sprintf("Direct push %d", s.seq)
	}
	commit, err := s.makeCommit(ctx, p.repo, base, base, files, strings.TrimRight(msg, "\n")+"\n", acc)
	if err != nil {
		return "", err
	}
	if err := p.repo.updateRef(ctx, ref, commit.sha, old); err != nil {
		return "", err
	}
	s.emit(refUpdatedEvent(p, ref, old, commit.sha, acc))
	if err := s.closeMergedByPush(ctx, p, branch, commit.sha, acc); err != nil {
		return "", err
	}
	return commit.sha, nil
}

// closeMergedByPush marks merged the open changes of a branch whose current
// patchset a push made part of the branch, as Gerrit does.
func (s *Server) closeMergedByPush(ctx context.Context, p *project, branch, tip string, acc *Account) error {
	id := "" // the changes one push closes share a submission id
	for n := 1; n < s.nextChange; n++ {
		c := s.changes[n]
		if c == nil || c.project != p || c.branch != branch || !c.open() {
			continue
		}
		in, err := p.repo.isAncestor(ctx, c.current().commit.sha, tip)
		if err != nil {
			return err
		}
		if !in {
			continue
		}
		now := s.now()
		if id == "" {
			id = submissionID(c)
		}
		c.status, c.submitted, c.submitter, c.submissionID = StatusMerged, now, acc, id
		s.addMessage(c, nil, "Change has been successfully pushed.", "autogenerated:gerrit:merged")
		s.merged = append(s.merged, c.number)
		e := s.changeEvent("change-merged", c)
		e.PatchSet = s.patchSetAttr(c, c.current())
		e.Submitter = evAcc(acc)
		e.NewRev = tip
		s.emit(e)
	}
	return nil
}

// makeCommit writes files over base (a commit or tree, "" for none) and
// commits the result on parent ("" for a root commit) as acc.
func (s *Server) makeCommit(ctx context.Context, r *repo, parent, base string, files map[string]string, msg string, acc *Account) (*commitData, error) {
	tree, err := r.writeTree(ctx, base, files)
	if err != nil {
		return nil, err
	}
	who := accountIdent(acc, s.serverIdent())
	in := commitInput{tree: tree, message: msg, author: who, committer: who}
	if parent != "" {
		in.parents = []string{parent}
	}
	sha, err := r.commitTree(ctx, in)
	if err != nil {
		return nil, err
	}
	return r.readCommit(ctx, sha)
}

func (s *Server) newChangeID(p *project, branch, subject string) string {
	s.seq++
	sum := sha1.Sum(fmt.Appendf(nil, "%s\x00%s\x00%s\x00%d\x00%d", p.name, branch, subject, s.seq, s.now().UnixNano()))
	return fmt.Sprintf("I%x", sum)
}

// account finds an account by username, or the default one.
func (s *Server) account(username, def string) (*Account, error) {
	if username == "" {
		username = def
	}
	acc := s.accounts.byName(username)
	if acc == nil {
		return nil, errorf(http.StatusUnprocessableEntity, "Account '%s' not found", username)
	}
	return acc, nil
}

// Review describes a review through the Go API.
type Review struct {
	// Account reviews; default AliceUser.
	Account string
	// Labels are the votes; 0 removes one. Unknown labels, invalid values
	// and votes the account may not give are refused, as Gerrit's strict
	// labels do.
	Labels  map[string]int
	Message string
	Tag     string
	// Patchset is reviewed; default the current one.
	Patchset int
}

// Review votes and comments on a change as POST .../review does, and emits
// comment-added (with one approval per label, oldValue on the changed ones).
func (s *Server) Review(number int, r Review) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, err := s.lookupChange(number)
	if err != nil {
		return err
	}
	acc, err := s.account(r.Account, AliceUser)
	if err != nil {
		return err
	}
	ps := c.current()
	if r.Patchset != 0 {
		if ps = c.patchset(r.Patchset); ps == nil {
			return errorf(http.StatusNotFound, "Not found: %d", r.Patchset)
		}
	}
	_, err = s.review(c, ps, acc, reviewRequest{labels: r.Labels, message: r.Message, tag: r.Tag, strict: true})
	return err
}

// DeleteVote removes reviewer's vote on a label of the current patchset,
// as remover, and emits vote-deleted.
func (s *Server) DeleteVote(number int, reviewer, label, remover string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, err := s.lookupChange(number)
	if err != nil {
		return err
	}
	rev, err := s.account(reviewer, "")
	if err != nil {
		return err
	}
	rem, err := s.account(remover, AdminUser)
	if err != nil {
		return err
	}
	return s.deleteVote(c, rev, label, rem)
}

// Abandon abandons a change (as account, default AdminUser) and emits
// change-abandoned.
func (s *Server) Abandon(number int, account, reason string) error {
	return s.changeAction(number, account, func(c *change, acc *Account) error { return s.abandon(c, acc, reason) })
}

// Restore restores an abandoned change (as account, default AdminUser) and
// emits change-restored.
func (s *Server) Restore(number int, account, reason string) error {
	return s.changeAction(number, account, func(c *change, acc *Account) error { return s.restore(c, acc, reason) })
}

// SetTopic sets or (with "") removes a change's topic and emits
// topic-changed.
func (s *Server) SetTopic(number int, account, topic string) error {
	return s.changeAction(number, account, func(c *change, acc *Account) error {
		s.setTopic(c, acc, topic)
		return nil
	})
}

// SetWorkInProgress changes a change's work-in-progress state and emits
// wip-state-changed.
func (s *Server) SetWorkInProgress(number int, account string, wip bool) error {
	return s.changeAction(number, account, func(c *change, acc *Account) error {
		s.setWIP(c, acc, wip)
		return nil
	})
}

// Submit submits a change (as account, default GatedUser) as POST
// .../submit does; a refusal is an *Error with Gerrit's 409 text.
func (s *Server) Submit(ctx context.Context, number int, account string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, err := s.lookupChange(number)
	if err != nil {
		return err
	}
	acc, err := s.account(account, GatedUser)
	if err != nil {
		return err
	}
	return s.submit(ctx, c, "", acc)
}

func (s *Server) changeAction(number int, account string, f func(*change, *Account) error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, err := s.lookupChange(number)
	if err != nil {
		return err
	}
	acc, err := s.account(account, AdminUser)
	if err != nil {
		return err
	}
	return f(c, acc)
}
