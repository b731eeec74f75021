package gerrittest

import (
	"crypto/subtle"
	"fmt"
	"net/http"
	"slices"

	"golang.org/x/crypto/ssh"
)

// Account is a user of the simulated Gerrit.
type Account struct {
	// ID is the account number; New assigns one from 1000000 if zero.
	ID       int
	Username string
	Name     string
	Email    string
	// Password is the HTTP password (basic auth on /a/ and for git).
	Password string
	// Admin may do everything: vote any value of any label, submit,
	// push directly to branches, read stream-events.
	Admin bool
	// Labels are the votes the account may give, per label.
	Labels map[string]Range
	// Submit allows submitting changes.
	Submit bool
	// StreamEvents allows `gerrit stream-events` over SSH.
	StreamEvents bool
	// SSHKeys authenticate the account on the SSH port.
	SSHKeys []ssh.PublicKey
}

// Range is a closed range of label values.
type Range struct{ Min, Max int }

// The usernames of the default accounts.
const (
	// AdminUser may do everything.
	AdminUser = "admin"
	// GatedUser is gated's service account: it votes Verified (-2..+2),
	// submits and reads stream-events.
	GatedUser = "gated"
	// Alice and Bob are core reviewers: Code-Review -2..+2 and
	// Workflow -1..+1.
	AliceUser = "alice"
	BobUser   = "bob"
	// DevUser is a contributor, the default owner of uploaded changes:
	// Code-Review -1..+1 and Workflow -1..0.
	DevUser = "dev"
)

// DefaultAccounts are the accounts of a new server unless Options says
// otherwise. Each password is the username followed by "-secret".
func DefaultAccounts() []Account {
	core := map[string]Range{"Code-Review": {-2, 2}, "Workflow": {-1, 1}}
	return []Account{
		{Username: AdminUser, Name: "Administrator", Admin: true},
		{Username: GatedUser, Name: "gated", Labels: map[string]Range{"Verified": {-2, 2}}, Submit: true, StreamEvents: true},
		{Username: AliceUser, Name: "Alice Core", Labels: core},
		{Username: BobUser, Name: "Bob Core", Labels: core},
		{Username: DevUser, Name: "Dev Eloper", Labels: map[string]Range{"Code-Review": {-1, 1}, "Workflow": {-1, 0}}},
	}
}

// accounts is the account table. It never changes after New but for SSH
// keys, which are guarded by the server's mutex.
type accounts struct {
	list []*Account
}

func newAccounts(given []Account) (*accounts, error) {
	a := &accounts{}
	next := 1000000
	for _, acc := range given {
		if acc.Username == "" {
			return nil, fmt.Errorf("account %q: no username", acc.Name)
		}
		if a.byName(acc.Username) != nil {
			return nil, fmt.Errorf("account %q: defined twice", acc.Username)
		}
		if acc.ID == 0 {
			for a.byID(next) != nil {
				next++
			}
			acc.ID = next
			next++
		}
		if acc.Email == "" {
			acc.Email = acc.Username + "@example.com"
		}
		if acc.Name == "" {
			acc.Name = acc.Username
		}
		if acc.Password == "" {
			acc.Password = acc.Username + "-secret"
		}
		acc.SSHKeys = slices.Clone(acc.SSHKeys)
		a.list = append(a.list, &acc)
	}
	return a, nil
}

func (a *accounts) byName(username string) *Account {
	for _, acc := range a.list {
		if acc.Username == username {
			return acc
		}
	}
	return nil
}

func (a *accounts) byID(id int) *Account {
	for _, acc := range a.list {
		if acc.ID == id {
			return acc
		}
	}
	return nil
}

// lookup finds an account as Gerrit's REST API names one: by number,
// username, email or "self".
func (a *accounts) lookup(id string, self *Account) *Account {
	if id == "self" {
		return self
	}
	for _, acc := range a.list {
		if id == acc.Username || id == acc.Email || id == fmt.Sprint(acc.ID) {
			return acc
		}
	}
	return nil
}

// authenticate checks HTTP basic auth.
func (a *accounts) authenticate(r *http.Request) *Account {
	user, pass, ok := r.BasicAuth()
	if !ok {
		return nil
	}
	acc := a.byName(user)
	if acc == nil || subtle.ConstantTimeCompare([]byte(pass), []byte(acc.Password)) != 1 {
		return nil
	}
	return acc
}

// permitted is the range of votes acc may give on a label.
func (acc *Account) permitted(l *label) (Range, bool) {
	if acc.Admin {
		return Range{l.min, l.max}, true
	}
	r, ok := acc.Labels[l.name]
	if !ok {
		return Range{}, false
	}
	return Range{max(r.Min, l.min), min(r.Max, l.max)}, true
}

func (acc *Account) maySubmit() bool       { return acc.Admin || acc.Submit }
func (acc *Account) mayStreamEvents() bool { return acc.Admin || acc.StreamEvents }
