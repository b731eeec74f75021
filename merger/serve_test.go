package merger

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	mt "gated.dev/gated/merger/mergertest"
)

// TestServe fetches speculative states from the merger's HTTP endpoint
// with the system git, and checks that nothing else can be read or
// written through it.
func TestServe(t *testing.T) {
	f := newFixture(t)
	h := newHistory(f)
	res, err := f.m.Merge(t.Context(), request("refs/gated/gate/17", f.change(1, h.onBase, MergeIfNecessary)))
	if err != nil {
		t.Fatal(err)
	}
	head := res.Heads[f.project]
	// a patchset the cache holds but no state uses
	if _, err := f.m.Merge(t.Context(), request("refs/gated/gate/18", f.change(2, h.clash, MergeIfNecessary))); err == nil {
		t.Fatal("the clash merged")
	}
	srv := httptest.NewServer(f.m.GitServer(GitServer{}))
	t.Cleanup(srv.Close)
	url := srv.URL + "/git/" + f.project
	work := t.TempDir()
	git := func(args ...string) (string, error) { return mt.TryGit(t.Context(), work, nil, args...) }

	t.Run("clone and fetch the state", func(t *testing.T) {
		for _, version := range []string{"0", "2"} {
			dir := fmt.Sprintf("clone-v%s", version)
			if _, err := git("-c", "protocol.version="+version, "clone", "--quiet", "--bare", url+".git", dir); err != nil {
				t.Fatalf("clone over protocol v%s: %v", version, err)
			}
			if _, err := git("-C", dir, "-c", "protocol.version="+version, "fetch", "--quiet", url, head); err != nil {
				t.Fatalf("fetch %s over protocol v%s: %v", head, version, err)
			}
			if got, _ := git("-C", dir, "rev-parse", "FETCH_HEAD"); got != head {
				t.Errorf("FETCH_HEAD = %s; want %s", got, head)
			}
		}
	})
	t.Run("only HEAD, branch heads and gated refs are advertised", func(t *testing.T) {
		for _, version := range []string{"0", "2"} {
			out, err := git("-c", "protocol.version="+version, "ls-remote", url)
			if err != nil {
				t.Fatal(err)
			}
			var refs []string
			for _, line := range strings.Split(out, "\n") {
				refs = append(refs, strings.Fields(line)[1])
			}
			want := []string{"HEAD", "refs/gated/gate/17", "refs/heads/master"}
			if strings.Join(refs, " ") != strings.Join(want, " ") {
				t.Errorf("protocol v%s advertises %q; want %q", version, refs, want)
			}
		}
	})
	refused := []struct {
		name string
		args []string
	}{
		{"fetch a patchset ref", []string{"fetch", url, "refs/changes/01/1/1"}},
		{"fetch a patchset no state uses by id, protocol v0", []string{"-c", "protocol.version=0", "fetch", url, h.clash}},
		{"fetch a patchset no state uses by id, protocol v2", []string{"-c", "protocol.version=2", "fetch", url, h.clash}},
		{"push a branch", []string{"push", url, head + ":refs/heads/pushed"}},
		{"push a gated ref", []string{"push", url, head + ":refs/gated/pushed"}},
		{"clone another project", []string{"clone", "--bare", srv.URL + "/git/org/other", "other"}},
	}
	for _, tc := range refused {
		t.Run("refuses to "+tc.name, func(t *testing.T) {
			dir := t.TempDir()
			mt.Git(t, dir, "init", "--quiet", "--bare")
			if out, err := mt.TryGit(t.Context(), dir, nil, tc.args...); err == nil {
				t.Errorf("git %s succeeded: %s", strings.Join(tc.args, " "), out)
			}
		})
	}
}

// TestServeRefusesRequests sends raw HTTP requests outside the read-only
// smart protocol.
func TestServeRefusesRequests(t *testing.T) {
	f := newFixture(t)
	h := newHistory(f)
	if _, err := f.m.Merge(t.Context(), request("refs/gated/gate/1", f.change(1, h.onBase, MergeIfNecessary))); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(f.m.GitServer(GitServer{}))
	t.Cleanup(srv.Close)
	cases := []struct {
		name, method, path string
		want               int
	}{
		{"advertisement", "GET", "/git/org/project/info/refs?service=git-upload-pack", http.StatusOK},
		{"push advertisement", "GET", "/git/org/project/info/refs?service=git-receive-pack", http.StatusForbidden},
		{"push", "POST", "/git/org/project/git-receive-pack", http.StatusForbidden},
		{"dumb protocol refs", "GET", "/git/org/project/info/refs", http.StatusForbidden},
		{"dumb protocol HEAD", "GET", "/git/org/project/HEAD", http.StatusNotFound},
		{"dumb protocol packs", "GET", "/git/org/project/objects/info/packs", http.StatusNotFound},
		{"config file", "GET", "/git/org/project/config", http.StatusNotFound},
		{"parent directory", "GET", "/git/org/../org/project/info/refs?service=git-upload-pack", http.StatusNotFound},
		{"escaped parent directory", "GET", "/git/org/%2e%2e/org/project/info/refs?service=git-upload-pack", http.StatusNotFound},
		{"outside the cache", "GET", "/git/../../etc/info/refs?service=git-upload-pack", http.StatusNotFound},
		{"absolute path", "GET", "/git//etc/info/refs?service=git-upload-pack", http.StatusNotFound},
		{"unknown project", "GET", "/git/org/unknown/info/refs?service=git-upload-pack", http.StatusNotFound},
		{"outside /git/", "GET", "/org/project/info/refs?service=git-upload-pack", http.StatusNotFound},
		{"upload-pack by GET", "GET", "/git/org/project/git-upload-pack", http.StatusMethodNotAllowed},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req, err := http.NewRequestWithContext(t.Context(), tc.method, srv.URL+tc.path, nil)
			if err != nil {
				t.Fatal(err)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tc.want {
				t.Errorf("%s %s = %s; want %d", tc.method, tc.path, resp.Status, tc.want)
			}
		})
	}
	t.Run("gzip request body", func(t *testing.T) {
		head := mt.Git(t, f.cache(f.m), "rev-parse", "refs/gated/gate/1")
		var body bytes.Buffer
		gz := gzip.NewWriter(&body)
		want := "want " + head + "\n"
		fmt.Fprintf(gz, "%04x%s0000%04xdone\n", len(want)+4, want, len("done\n")+4)
		gz.Close()
		req, err := http.NewRequestWithContext(t.Context(), "POST", srv.URL+"/git/org/project/git-upload-pack", &body)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/x-git-upload-pack-request")
		req.Header.Set("Content-Encoding", "gzip")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		out, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Contains(out, []byte("PACK")) {
			t.Errorf("response %.200q has no pack", out)
		}
	})
}

// The configuration's validation refuses project names the cache could not
// hold safely: names git could take for an option, names that leave the
// cache or collide with its layout.
func TestValidProjectName(t *testing.T) {
	for name, ok := range map[string]bool{
		"org/project": true, "tools/gated": true, "a": true,
		"--upload-pack=touch /tmp/x": false, "org/-x": false, "org/.git": false, "org/repo.git": false,
		"../etc": false, "org/../etc": false, "/abs": false, "org//x": false, "": false, "org\\x": false, "c:x": false,
	} {
		if err := ValidProjectName(name); (err == nil) != ok {
			t.Errorf("ValidProjectName(%q) = %v, want ok %v", name, err, ok)
		}
	}
}
