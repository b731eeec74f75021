package mergertest

import (
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

// NewUpstream starts an upstream, stopped when the test ends.
func NewUpstream(t testing.TB) *Upstream {
	t.Helper()
	exec := Git(t, "", "--exec-path")
	u := &Upstream{Dir: t.TempDir()}
	u.server = httptest.NewServer(&cgi.Handler{
		Path: filepath.Join(exec, "git-http-backend"),
		Env: append(Env(),
			"GIT_PROJECT_ROOT="+u.Dir,
			"GIT_HTTP_EXPORT_ALL=1",
		),
		Stderr: io.Discard, // its complaints reach the client as HTTP errors
	})
	t.Cleanup(u.server.Close)
	return u
}

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
