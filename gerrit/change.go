package gerrit

import (
	"fmt"
	"slices"
	"strings"

	gogerrit "github.com/andygrunwald/go-gerrit"
)

// Status is the state of a change.
type Status string

// Change statuses.
const (
	StatusNew       Status = "NEW"
	StatusMerged    Status = "MERGED"
	StatusAbandoned Status = "ABANDONED"
)

// Account is a Gerrit account. Events carry no ID; any field may be empty.
type Account struct {
	ID       int    `json:"id,omitempty"`
	Username string `json:"username,omitempty"`
	Name     string `json:"name,omitempty"`
	Email    string `json:"email,omitempty"`
}

// String names the account for humans and logs: its username, else its
// email, else its name, else its number.
func (a Account) String() string {
	switch {
	case a.Username != "":
		return a.Username
	case a.Email != "":
		return a.Email
	case a.Name != "":
		return a.Name
	}
	return fmt.Sprintf("account %d", a.ID)
}

// Change is a snapshot of a change as Gerrit reports it, with what it
// depends on: everything the gate needs to decide, read in one go.
type Change struct {
	Number   int    `json:"number"`
	Project  string `json:"project"`
	Branch   string `json:"branch"`
	ChangeID string `json:"change_id"`
	Status   Status `json:"status"`
	WIP      bool   `json:"wip,omitempty"`
	Topic    string `json:"topic,omitempty"`
	// Patchset is the number of the current patchset; Revision is its
	// commit and Ref the ref it is stored under (refs/changes/NN/N/P).
	Patchset int      `json:"patchset"`
	Revision string   `json:"revision"`
	Ref      string   `json:"ref"`
	Parents  []string `json:"parents,omitempty"`
	Subject  string   `json:"subject"`
	Message  string   `json:"message"`
	Owner    Account  `json:"owner"`
	URL      string   `json:"url,omitempty"`
	// SubmitType is the project's submit type for this change
	// (MERGE_IF_NECESSARY, ...); empty for merged changes.
	SubmitType string `json:"submit_type,omitempty"`
	// Votes are the non-zero votes on the current patchset.
	Votes []Vote `json:"votes,omitempty"`
	// Submittable is Gerrit's verdict that the change could be submitted
	// now. It stays false until gated's own vote is in.
	Submittable bool `json:"submittable,omitempty"`
	// Requirements are the change's submit requirements and their status.
	Requirements []Requirement `json:"requirements,omitempty"`
	// Needs are the changes this change depends on and that are not
	// merged: its relation-chain parent (with the patchset its commit is
	// based on, which may be outdated) and the changes its Depends-On
	// footers name (Patchset 0: whatever is current). An abandoned need
	// is kept: it blocks.
	Needs []Need `json:"needs,omitempty"`
	// NeededBy are the open changes that depend on this one: children in
	// the relation chain whose current patchset is based on this change's
	// current revision, and changes whose Depends-On footers name it.
	NeededBy []int `json:"needed_by,omitempty"`
	// Files are the paths the current patchset changes against its first
	// parent, sorted, with Gerrit's magic /COMMIT_MSG (and /MERGE_LIST).
	Files []string `json:"files,omitempty"`
}

// Open reports whether the change is neither merged nor abandoned.
func (c Change) Open() bool { return c.Status == StatusNew }

// Vote is one account's vote on one label.
type Vote struct {
	Label   string  `json:"label"`
	Account Account `json:"account"`
	Value   int     `json:"value"`
}

// Need names a change another change depends on.
type Need struct {
	Number int `json:"number"`
	// Patchset is the patchset required; 0 means the current one.
	Patchset int `json:"patchset,omitempty"`
}

// Requirement is one submit requirement of a change.
type Requirement struct {
	Name string `json:"name"`
	// Status is SATISFIED, UNSATISFIED, OVERRIDDEN, NOT_APPLICABLE, ERROR,
	// FORCED or TIMEOUT.
	Status string `json:"status"`
	// Expression is the submittability expression, e.g.
	// "label:Verified=MAX AND -label:Verified=MIN".
	Expression string `json:"expression,omitempty"`
}

// ChangeRef is the ref Gerrit stores a patchset under: refs/changes/NN/N/P,
// NN being the last two digits of the change number.
func ChangeRef(number, patchset int) string {
	return fmt.Sprintf("refs/changes/%02d/%d/%d", number%100, number, patchset)
}

// changeFromInfo converts go-gerrit's ChangeInfo, read with changeOptions.
func changeFromInfo(info *gogerrit.ChangeInfo) Change {
	c := Change{
		Number:      info.Number,
		Project:     info.Project,
		Branch:      info.Branch,
		ChangeID:    info.ChangeID,
		Status:      Status(info.Status),
		WIP:         info.WorkInProgress,
		Topic:       info.Topic,
		Subject:     info.Subject,
		Owner:       accountFromInfo(info.Owner),
		SubmitType:  info.SubmitType,
		Submittable: info.Submittable,
		Revision:    info.CurrentRevision,
	}
	if rev, ok := info.Revisions[info.CurrentRevision]; ok {
		c.Patchset = rev.Number
		c.Ref = rev.Ref
		c.Message = rev.Commit.Message
		for _, p := range rev.Commit.Parents {
			c.Parents = append(c.Parents, p.Commit)
		}
		for f := range rev.Files {
			c.Files = append(c.Files, f)
		}
		slices.Sort(c.Files)
	}
	if c.Ref == "" && c.Patchset > 0 {
		c.Ref = ChangeRef(c.Number, c.Patchset)
	}
	for label, li := range info.Labels {
		for _, a := range li.All {
			if a.Value != 0 {
				c.Votes = append(c.Votes, Vote{Label: label, Account: accountFromInfo(a.AccountInfo), Value: a.Value})
			}
		}
	}
	slices.SortFunc(c.Votes, func(a, b Vote) int {
		if n := strings.Compare(a.Label, b.Label); n != 0 {
			return n
		}
		return a.Account.ID - b.Account.ID
	})
	for _, r := range info.SubmitRequirements {
		c.Requirements = append(c.Requirements, Requirement{
			Name:       r.Name,
			Status:     r.Status,
			Expression: r.SubmittabilityExpressionResult.Expression,
		})
	}
	return c
}

func accountFromInfo(a gogerrit.AccountInfo) Account {
	return Account{ID: a.AccountID, Username: a.Username, Name: a.Name, Email: a.Email}
}
