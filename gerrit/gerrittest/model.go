package gerrittest

import (
	"fmt"
	"net/http"
	"time"
)

// Submit types, as the REST API names them.
const (
	MergeIfNecessary  = "MERGE_IF_NECESSARY"
	FastForwardOnly   = "FAST_FORWARD_ONLY"
	RebaseIfNecessary = "REBASE_IF_NECESSARY"
	RebaseAlways      = "REBASE_ALWAYS"
	MergeAlways       = "MERGE_ALWAYS"
	CherryPick        = "CHERRY_PICK"
)

// Change statuses.
const (
	StatusNew       = "NEW"
	StatusMerged    = "MERGED"
	StatusAbandoned = "ABANDONED"
)

// Change kinds of a new patchset against the previous one.
const (
	kindRework        = "REWORK"
	kindTrivialRebase = "TRIVIAL_REBASE"
	kindNoCodeChange  = "NO_CODE_CHANGE"
	kindNoChange      = "NO_CHANGE"
)

type project struct {
	name       string
	submitType string
	head       string // default branch, short name
	repo       *repo
}

type change struct {
	number   int
	project  *project
	branch   string
	changeID string
	status   string
	wip      bool
	private  bool
	topic    string
	hashtags []string
	owner    *Account
	created  time.Time
	updated  time.Time

	submitted    time.Time
	submitter    *Account
	submissionID string

	patchsets []*patchset
	messages  []*message
	// reviewers are the accounts that reviewed the change, in order.
	reviewers []*Account
}

func (c *change) current() *patchset { return c.patchsets[len(c.patchsets)-1] }

func (c *change) patchset(n int) *patchset {
	if n < 1 || n > len(c.patchsets) {
		return nil
	}
	return c.patchsets[n-1]
}

func (c *change) open() bool { return c.status == StatusNew }

func (c *change) addReviewer(a *Account) {
	for _, r := range c.reviewers {
		if r == a {
			return
		}
	}
	c.reviewers = append(c.reviewers, a)
}

type patchset struct {
	number   int
	commit   *commitData
	uploader *Account
	created  time.Time
	kind     string
	// groups relate patchsets of a relation chain (Gerrit's patch set
	// groups): a patchset based on an open change's patchset shares its
	// groups.
	groups []string
	files  []fileStat
	votes  []*vote
}

func (p *patchset) ref(change int) string {
	return fmt.Sprintf("refs/changes/%02d/%d/%d", change%100, change, p.number)
}

func (p *patchset) vote(acc *Account, label string) *vote {
	for _, v := range p.votes {
		if v.account == acc && v.label == label {
			return v
		}
	}
	return nil
}

// setVote records a vote (0 removes it) and returns the previous value.
func (p *patchset) setVote(acc *Account, label string, value int, tag string, when time.Time) int {
	old := 0
	for i, v := range p.votes {
		if v.account == acc && v.label == label {
			old = v.value
			p.votes = append(p.votes[:i], p.votes[i+1:]...)
			break
		}
	}
	if value != 0 {
		p.votes = append(p.votes, &vote{account: acc, label: label, value: value, tag: tag, date: when})
	}
	return old
}

func (p *patchset) insertions() (n int) {
	for _, f := range p.files {
		n += f.inserted
	}
	return n
}

func (p *patchset) deletions() (n int) {
	for _, f := range p.files {
		n += f.deleted
	}
	return n
}

type vote struct {
	account *Account
	label   string
	value   int
	tag     string
	date    time.Time
}

type message struct {
	id       string
	author   *Account // nil: Gerrit itself
	date     time.Time
	text     string
	tag      string
	patchset int
}

// refLocation names a patchset by its commit.
type refLocation struct {
	change   *change
	patchset *patchset
}

// Error is a refusal by the simulated Gerrit: the HTTP status and text its
// REST API answers. The Go API returns it too.
type Error struct {
	Status  int
	Message string
}

func (e *Error) Error() string {
	return fmt.Sprintf("%d %s: %s", e.Status, http.StatusText(e.Status), e.Message)
}

func errorf(status int, format string, args ...any) *Error {
	return &Error{Status: status, Message: fmt.Sprintf(format, args...)}
}
