package merger

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net/url"

	"gated.dev/gated/merger/jgitmerge"
)

// fetch brings refs (branch heads, patchset refs) from the project's remote
// into the cache under the same names, with the objects they need and
// nothing else. It runs the system git, whose writes survive a crash at any
// moment (packs and refs are written aside and renamed into place; go-git's
// were found truncated after a SIGKILL), then reopens the repository so
// that go-git sees what arrived. Callers hold r.mu.
func (m *Merger) fetch(ctx context.Context, r *repo, refs []string) error {
	if len(refs) == 0 {
		return nil
	}
	raw := m.remote(r.project)
	endpoint, header, err := remoteAuth(raw)
	if err != nil {
		return fmt.Errorf("fetch %s: remote URL: %w", r.project, err)
	}
	args := []string{"fetch", "--quiet", "--no-tags", "--no-write-fetch-head", endpoint}
	for _, ref := range refs {
		args = append(args, "+"+ref+":"+ref)
	}
	m.fetches.Add(1)
	cmd := gitCommand(ctx, r.dir, args...)
	if header != "" {
		// In the environment, not the arguments: others on the machine
		// can read a process's arguments, not its environment.
		cmd.Env = append(cmd.Env, "GIT_CONFIG_COUNT=1", "GIT_CONFIG_KEY_0=http.extraHeader", "GIT_CONFIG_VALUE_0="+header)
	}
	if _, err := jgitmerge.Run(ctx, cmd, nil, args); err != nil {
		return fmt.Errorf("fetch %s from %s: %w", r.project, redact(raw), err)
	}
	if err := r.close(); err != nil {
		return err
	}
	return r.open()
}

// remoteAuth splits credentials out of a remote URL into an HTTP header,
// so that they never appear in a URL git may print.
func remoteAuth(raw string) (string, string, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return "", "", errors.New("cannot parse " + redact(raw))
	}
	if u.User == nil || (u.Scheme != "http" && u.Scheme != "https") {
		return raw, "", nil
	}
	pass, _ := u.User.Password()
	header := "Authorization: Basic " + base64.StdEncoding.EncodeToString([]byte(u.User.Username()+":"+pass))
	u.User = nil
	return u.String(), header, nil
}

// redact hides the password of a URL, for messages.
func redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "<unparsable URL>"
	}
	return u.Redacted()
}
