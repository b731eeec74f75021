package gerrit

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
)

// SubmitInput names the change to submit.
type SubmitInput struct {
	Project string
	Number  int
	// Revision, if set, is the commit that was tested: Gerrit refuses
	// (409) if it is no longer the current patchset, so an untested
	// patchset is never submitted.
	Revision string
	// Notify is NONE, OWNER, OWNER_REVIEWERS or ALL (Gerrit's default).
	Notify string
}

// SubmitError is Gerrit's refusal to submit a change, with its text: the
// change is not ready, conflicts with its branch, is abandoned, or its tested
// revision is outdated. The gate reports it and dequeues the change;
// retrying will not help.
type SubmitError struct {
	StatusCode int
	Message    string
}

// Error gives Gerrit's status and text.
func (e *SubmitError) Error() string {
	return fmt.Sprintf("gerrit refused to submit (%d): %s", e.StatusCode, strings.TrimSpace(e.Message))
}

// Submit submits a change (with its unmerged ancestors, as Gerrit does). It
// returns nil when Gerrit merged the change, now or before (so that a
// retried submit succeeds), a *SubmitError when Gerrit refused, and any
// other error when Gerrit could not be asked (worth retrying later).
func (c *Client) Submit(ctx context.Context, in SubmitInput) error {
	path := "changes/" + changePath(in.Project, in.Number)
	if in.Revision != "" {
		path += "/revisions/" + in.Revision
	}
	path += "/submit"
	body := struct {
		Notify string `json:"notify,omitempty"`
	}{in.Notify}
	err := c.post(ctx, path, body, &struct{}{})
	var ae *APIError
	switch {
	case err == nil:
		c.log.Info("submitted change", "change", in.Number, "project", in.Project)
		return nil
	case errors.As(err, &ae) && ae.StatusCode == http.StatusConflict && strings.TrimSpace(ae.Message) == "change is merged":
		c.log.Info("change was already merged", "change", in.Number, "project", in.Project)
		return nil
	case errors.As(err, &ae) && ae.StatusCode/100 == 4 &&
		ae.StatusCode != http.StatusTooManyRequests && ae.StatusCode != http.StatusRequestTimeout:
		return &SubmitError{StatusCode: ae.StatusCode, Message: ae.Message}
	}
	return fmt.Errorf("submit change %d: %w", in.Number, err)
}
