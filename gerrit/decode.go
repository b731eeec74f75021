package gerrit

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// DecodeEvent decodes one event from Gerrit's JSON, as stream-events writes
// it (one object per line) and the webhooks plugin posts it. Decoding is
// lenient, as Gerrit's documentation asks ("any field may be missing"):
// numbers may be JSON numbers or strings, the project may be a name or an
// object {"name": ...}, unknown fields and event types are kept out of the
// way. Only invalid JSON, a value of the wrong shape or a missing type is an
// error.
func DecodeEvent(data []byte) (Event, error) {
	var w wireEvent
	if err := json.Unmarshal(data, &w); err != nil {
		return Event{}, fmt.Errorf("decode gerrit event: %w", err)
	}
	if w.Type == "" {
		return Event{}, errors.New("decode gerrit event: no type")
	}
	e := Event{
		Type:      w.Type,
		CreatedOn: int64(w.EventCreatedOn),
		Project:   string(w.Project),
		RefName:   w.RefName,
		Actor: firstAccount(w.Author, w.Uploader, w.Submitter, w.Abandoner, w.Restorer,
			w.Changer, w.Remover, w.Deleter, w.Editor, w.Adder),
		Reviewer: w.Reviewer.account(),
		Comment:  w.Comment,
		Reason:   w.Reason,
		OldTopic: w.OldTopic,
		NewRev:   w.NewRev,
	}
	if c := w.Change; c != nil {
		e.Change = &EventChange{
			Number:        int(c.Number),
			Project:       string(c.Project),
			Branch:        c.Branch,
			Topic:         c.Topic,
			ID:            c.ID,
			Subject:       c.Subject,
			Owner:         c.Owner.account(),
			URL:           c.URL,
			CommitMessage: c.CommitMessage,
			Status:        Status(c.Status),
			WIP:           bool(c.WIP),
			Private:       bool(c.Private),
			Hashtags:      c.Hashtags,
		}
		if e.Project == "" {
			e.Project = e.Change.Project
		}
	}
	if p := w.PatchSet; p != nil {
		e.PatchSet = &EventPatchSet{
			Number:   int(p.Number),
			Revision: p.Revision,
			Parents:  p.Parents,
			Ref:      p.Ref,
			Uploader: p.Uploader.account(),
			Author:   p.Author.account(),
			Kind:     p.Kind,
		}
	}
	for _, a := range w.Approvals {
		ap := Approval{Type: a.Type, Description: a.Description, Value: int(a.Value)}
		if a.OldValue != nil {
			v := int(*a.OldValue)
			ap.OldValue = &v
		}
		e.Approvals = append(e.Approvals, ap)
	}
	if r := w.RefUpdate; r != nil {
		e.RefUpdate = &RefUpdate{Project: string(r.Project), RefName: r.RefName, OldRev: r.OldRev, NewRev: r.NewRev}
		if e.Project == "" {
			e.Project = e.RefUpdate.Project
		}
	}
	return e, nil
}

// wireEvent is the union of the fields of Gerrit's event types that gated
// reads (EventFactory and the *Event classes of Gerrit).
type wireEvent struct {
	Type           string         `json:"type"`
	EventCreatedOn flexInt        `json:"eventCreatedOn"`
	Project        flexName       `json:"project"`
	RefName        string         `json:"refName"`
	Change         *wireChange    `json:"change"`
	PatchSet       *wirePatchSet  `json:"patchSet"`
	Author         *wireAccount   `json:"author"`
	Uploader       *wireAccount   `json:"uploader"`
	Submitter      *wireAccount   `json:"submitter"`
	Abandoner      *wireAccount   `json:"abandoner"`
	Restorer       *wireAccount   `json:"restorer"`
	Changer        *wireAccount   `json:"changer"`
	Reviewer       *wireAccount   `json:"reviewer"`
	Remover        *wireAccount   `json:"remover"`
	Deleter        *wireAccount   `json:"deleter"`
	Editor         *wireAccount   `json:"editor"`
	Adder          *wireAccount   `json:"adder"`
	Approvals      []wireApproval `json:"approvals"`
	Comment        string         `json:"comment"`
	Reason         string         `json:"reason"`
	OldTopic       string         `json:"oldTopic"`
	NewRev         string         `json:"newRev"`
	RefUpdate      *wireRefUpdate `json:"refUpdate"`
}

type wireChange struct {
	Number        flexInt      `json:"number"`
	Project       flexName     `json:"project"`
	Branch        string       `json:"branch"`
	Topic         string       `json:"topic"`
	ID            string       `json:"id"`
	Subject       string       `json:"subject"`
	Owner         *wireAccount `json:"owner"`
	URL           string       `json:"url"`
	CommitMessage string       `json:"commitMessage"`
	Status        string       `json:"status"`
	WIP           flexBool     `json:"wip"`
	Private       flexBool     `json:"private"`
	Hashtags      []string     `json:"hashtags"`
}

type wirePatchSet struct {
	Number   flexInt      `json:"number"`
	Revision string       `json:"revision"`
	Parents  []string     `json:"parents"`
	Ref      string       `json:"ref"`
	Uploader *wireAccount `json:"uploader"`
	Author   *wireAccount `json:"author"`
	Kind     string       `json:"kind"`
}

type wireAccount struct {
	Name     string `json:"name"`
	Email    string `json:"email"`
	Username string `json:"username"`
}

func (a *wireAccount) account() *Account {
	if a == nil || *a == (wireAccount{}) {
		return nil
	}
	return &Account{Username: a.Username, Name: a.Name, Email: a.Email}
}

func firstAccount(as ...*wireAccount) *Account {
	for _, a := range as {
		if acc := a.account(); acc != nil {
			return acc
		}
	}
	return nil
}

type wireApproval struct {
	Type        string   `json:"type"`
	Description string   `json:"description"`
	Value       flexInt  `json:"value"`
	OldValue    *flexInt `json:"oldValue"`
}

type wireRefUpdate struct {
	Project flexName `json:"project"`
	RefName string   `json:"refName"`
	OldRev  string   `json:"oldRev"`
	NewRev  string   `json:"newRev"`
}

// flexInt is an integer sent as a JSON number or as a string ("12"), as
// Gerrit did before 2.14 for change numbers and still does for approval
// values.
type flexInt int64

func (n *flexInt) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if string(b) == "null" {
		return nil
	}
	s := string(b)
	if len(b) > 0 && b[0] == '"' {
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		s = strings.TrimSpace(s)
		if s == "" {
			*n = 0
			return nil
		}
	}
	if i, err := strconv.ParseInt(s, 10, 64); err == nil {
		*n = flexInt(i)
		return nil
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f != math.Trunc(f) || math.Abs(f) > 1<<53 {
		return fmt.Errorf("%s is not an integer", b)
	}
	*n = flexInt(f)
	return nil
}

// flexName is a project name sent as a string (stream-events) or as an
// object {"name": ...} (Gerrit's plain Gson, used by the webhooks plugin).
type flexName string

func (p *flexName) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case string(b) == "null":
		return nil
	case len(b) > 0 && b[0] == '{':
		var o struct {
			Name string `json:"name"`
		}
		if err := json.Unmarshal(b, &o); err != nil {
			return err
		}
		*p = flexName(o.Name)
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	*p = flexName(s)
	return nil
}

// flexBool is a boolean sent as true/false or as a string "true"/"false".
type flexBool bool

func (v *flexBool) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		b = []byte(s)
	}
	switch string(b) {
	case "true":
		*v = true
	case "false", "null", "":
		*v = false
	default:
		return fmt.Errorf("%s is not a boolean", b)
	}
	return nil
}
