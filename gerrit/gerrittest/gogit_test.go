package gerrittest

import (
	"context"
	"testing"

	gogit "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
	githttp "github.com/go-git/go-git/v5/plumbing/transport/http"
)

// TestGoGitClientFetchesChanges fetches a patchset with go-git, the client
// gated's merger uses, authenticated as gated.
func TestGoGitClientFetchesChanges(t *testing.T) {
	ctx := context.Background()
	s := start(t, Options{}, Project{Name: "org/project"})
	n := mustUpload(t, s, Upload{Project: "org/project"})
	want := mustChange(t, s, n).Revision
	repo, err := gogit.PlainInitWithOptions(t.TempDir(), &gogit.PlainInitOptions{Bare: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := repo.CreateRemote(&config.RemoteConfig{Name: "gerrit", URLs: []string{s.URL() + "a/org/project"}}); err != nil {
		t.Fatal(err)
	}
	err = repo.FetchContext(ctx, &gogit.FetchOptions{
		RemoteName: "gerrit",
		RefSpecs:   []config.RefSpec{"+refs/heads/*:refs/remotes/gerrit/*", "+refs/changes/01/1/1:refs/gerrit/1/1"},
		Auth:       &githttp.BasicAuth{Username: GatedUser, Password: s.Password(GatedUser)},
	})
	if err != nil {
		t.Fatal(err)
	}
	ref, err := repo.Reference(plumbing.ReferenceName("refs/gerrit/1/1"), true)
	if err != nil || ref.Hash().String() != want {
		t.Errorf("fetched %v (%v), want %s", ref, err, want)
	}
}
