package merger

import (
	"context"
	"errors"
	"fmt"
	"net/url"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing/transport"
	githttp "github.com/go-git/go-git/v5/plumbing/transport/http"
)

// fetch brings refs (branch heads, patchset refs) from the project's remote
// into the cache under the same names, with the objects they need and
// nothing else. Callers hold r.mu.
func (m *Merger) fetch(ctx context.Context, r *repo, refs []string) error {
	if len(refs) == 0 {
		return nil
	}
	raw := m.remote(r.project)
	endpoint, auth, err := remoteAuth(raw)
	if err != nil {
		return fmt.Errorf("fetch %s: remote URL: %w", r.project, err)
	}
	specs := make([]config.RefSpec, len(refs))
	for i, ref := range refs {
		specs[i] = config.RefSpec("+" + ref + ":" + ref)
	}
	m.fetches.Add(1)
	remote := git.NewRemote(r.storage, &config.RemoteConfig{Name: "gerrit", URLs: []string{endpoint}})
	err = remote.FetchContext(ctx, &git.FetchOptions{
		RefSpecs: specs,
		Auth:     auth,
		Tags:     git.NoTags,
		Force:    true,
	})
	if err != nil && !errors.Is(err, git.NoErrAlreadyUpToDate) {
		return fmt.Errorf("fetch %s from %s: %w", r.project, redact(raw), err)
	}
	return nil
}

// remoteAuth splits credentials out of a remote URL, so that go-git never
// holds them in a URL it may print.
func remoteAuth(raw string) (string, transport.AuthMethod, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return "", nil, errors.New("cannot parse " + redact(raw))
	}
	if u.User == nil || (u.Scheme != "http" && u.Scheme != "https") {
		return raw, nil, nil
	}
	pass, _ := u.User.Password()
	auth := &githttp.BasicAuth{Username: u.User.Username(), Password: pass}
	u.User = nil
	return u.String(), auth, nil
}

// redact hides the password of a URL, for messages.
func redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "<unparsable URL>"
	}
	return u.Redacted()
}
