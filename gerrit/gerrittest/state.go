package gerrittest

import (
	"context"
	"slices"
	"time"
)

// ChangeState is a change as the server holds it, for assertions.
type ChangeState struct {
	Number   int
	Project  string
	Branch   string
	ChangeID string
	Status   string
	WIP      bool
	Topic    string
	Owner    string
	// Patchset is the current patchset, Revision its commit, Parents the
	// commit's parents.
	Patchset int
	Revision string
	Parents  []string
	Subject  string
	// CommitMessage is the current patchset's full commit message.
	CommitMessage string
	// Votes are the non-zero votes on the current patchset, by username
	// then label.
	Votes map[string]map[string]int
	// Messages are the change messages, oldest first.
	Messages []Message
	// Submittable says whether every submit requirement is satisfied and
	// the change is open and not work in progress.
	Submittable bool
	// SubmissionID is shared by the changes merged by one submit (or one
	// push); "" while the change is not merged.
	SubmissionID string
}

// Message is a change message.
type Message struct {
	// Author is the username, or "" for Gerrit itself.
	Author   string
	Text     string
	Tag      string
	Patchset int
	Date     time.Time
}

// Change returns the state of a change.
func (s *Server) Change(number int) (ChangeState, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, err := s.lookupChange(number)
	if err != nil {
		return ChangeState{}, err
	}
	return s.stateLocked(c), nil
}

func (s *Server) stateLocked(c *change) ChangeState {
	ps := c.current()
	st := ChangeState{
		Number: c.number, Project: c.project.name, Branch: c.branch, ChangeID: c.changeID,
		Status: c.status, WIP: c.wip, Topic: c.topic, Owner: c.owner.Username,
		Patchset: ps.number, Revision: ps.commit.sha, Parents: slices.Clone(ps.commit.parents),
		Subject: ps.commit.subject(), CommitMessage: ps.commit.message,
		Votes:       map[string]map[string]int{},
		Submittable: submittable(c), SubmissionID: c.submissionID,
	}
	for _, v := range ps.votes {
		if st.Votes[v.account.Username] == nil {
			st.Votes[v.account.Username] = map[string]int{}
		}
		st.Votes[v.account.Username][v.label] = v.value
	}
	for _, m := range c.messages {
		msg := Message{Text: m.text, Tag: m.tag, Patchset: m.patchset, Date: m.date}
		if m.author != nil {
			msg.Author = m.author.Username
		}
		st.Messages = append(st.Messages, msg)
	}
	return st
}

func submittable(c *change) bool {
	return c.open() && !c.wip && len(unsatisfied(c.current())) == 0
}

// MergeOrder lists the changes merged so far, in the order they merged.
func (s *Server) MergeOrder() []int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.merged)
}

// BranchTip returns the commit a branch points to, or "" if there is no
// such branch.
func (s *Server) BranchTip(ctx context.Context, project, branch string) (string, error) {
	s.mu.Lock()
	p, err := s.project(project)
	s.mu.Unlock()
	if err != nil {
		return "", err
	}
	return p.repo.resolve(ctx, "refs/heads/"+branch)
}

// ReadFile returns a file's content at a revision (a commit or ref) of a
// project.
func (s *Server) ReadFile(ctx context.Context, project, revision, path string) (string, error) {
	s.mu.Lock()
	p, err := s.project(project)
	s.mu.Unlock()
	if err != nil {
		return "", err
	}
	return p.repo.readFile(ctx, revision, path)
}

// Events returns every event emitted so far, oldest first.
func (s *Server) Events() []Event { return s.hub.events() }

// Subscribe returns the events emitted from now on, in order, without
// loss. The channel is closed when ctx is done or the server closes.
func (s *Server) Subscribe(ctx context.Context) <-chan Event {
	sub := s.hub.subscribe(0)
	ch := make(chan Event)
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		defer close(ch)
		defer s.hub.unsubscribe(sub)
		stop := make(chan struct{})
		defer context.AfterFunc(ctx, func() { close(stop) })()
		for {
			e, ok := sub.next(stop)
			if !ok {
				return
			}
			select {
			case ch <- e:
			case <-stop:
				return
			case <-s.closing:
				return
			}
		}
	}()
	return ch
}
