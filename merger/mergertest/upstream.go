package mergertest

import (
	"context"
	"io"
	"net/http/cgi"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
)

// Upstream is a git server in the role of Gerrit: bare repositories under
// Dir, served over smart HTTP by git http-backend at URL(project), with
// every ref (refs/changes/* included) advertised and fetchable.
type Upstream struct {
	Dir    string
	server *httptest.Server
}

// NewUpstream starts an upstream in a temporary directory, stopped when
// the test ends.
func NewUpstream(t testing.TB) *Upstream {
	t.Helper()
	u, err := StartUpstream(t.Context(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(u.Close)
	return u
}

// StartUpstream serves the repositories under dir until Close, for
// fixtures that outlive one test, such as a benchmark's.
func StartUpstream(ctx context.Context, dir string) (*Upstream, error) {
	exec, err := TryGit(ctx, "", nil, "--exec-path")
	if err != nil {
		return nil, err
	}
	u := &Upstream{Dir: dir}
	u.server = httptest.NewServer(&cgi.Handler{
		Path: filepath.Join(exec, "git-http-backend"),
		Env: append(Env(),
			"GIT_PROJECT_ROOT="+u.Dir,
			"GIT_HTTP_EXPORT_ALL=1",
		),
		Stderr: io.Discard, // its complaints reach the client as HTTP errors
	})
	return u, nil
}

// Close stops the server.
func (u *Upstream) Close() { u.server.Close() }

// URL is where a project is fetched from.
func (u *Upstream) URL(project string) string { return u.server.URL + "/" + project }

// Remote maps projects to their URLs, as merger.New wants.
func (u *Upstream) Remote(project string) string { return u.URL(project) }

// Repo returns the bare repository of a project, created empty if needed.
func (u *Upstream) Repo(t testing.TB, project string) string {
	t.Helper()
	dir := filepath.Join(u.Dir, filepath.FromSlash(project))
	if _, err := os.Stat(dir); err != nil {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		Git(t, dir, "init", "--quiet", "--bare", "--initial-branch=master")
	}
	return dir
}
