package merger

import (
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// maxRequestBody bounds an upload-pack request: wants and haves, a few
// lines per ref of the client.
const maxRequestBody = 32 << 20

// uploadPackConfig makes git upload-pack read-only and narrow: it
// advertises branch heads and refs/gated/* only, and hands out only the
// advertised tips and what they reach. Protocol v2 is never offered
// (GIT_PROTOCOL is not passed on), because git's v2 upload-pack serves any
// object it is asked for by id, hidden refs included.
var uploadPackConfig = []string{
	"-c", "uploadpack.hideRefs=refs/",
	"-c", "uploadpack.hideRefs=!refs/heads/",
	"-c", "uploadpack.hideRefs=!" + RefPrefix,
	"-c", "uploadpack.allowTipSHA1InWant=false",
	"-c", "uploadpack.allowReachableSHA1InWant=false",
	"-c", "uploadpack.allowAnySHA1InWant=false",
	"-c", "uploadpack.allowFilter=false",
	"-c", "uploadpack.allowRefInWant=false",
}

// Handler serves the cache read-only over git's smart HTTP protocol, at
// /git/<project> (a trailing .git is accepted), for build pods to fetch the
// states they were given: `git fetch <url>/git/<project> <sha>` or a clone
// and a fetch of refs/gated/*. It serves upload-pack only, advertising
// branch heads and refs/gated/*; pushes, the dumb protocol, other refs and
// paths outside the cache are refused. The system git does the serving.
func (m *Merger) Handler() http.Handler { return http.HandlerFunc(m.serveGit) }

func (m *Merger) serveGit(w http.ResponseWriter, req *http.Request) {
	rest, ok := strings.CutPrefix(req.URL.Path, "/git/")
	if !ok {
		http.NotFound(w, req)
		return
	}
	project, advertise := "", false
	switch {
	case strings.HasSuffix(rest, "/git-receive-pack"),
		strings.HasSuffix(rest, "/info/refs") && req.URL.Query().Get("service") == "git-receive-pack":
		http.Error(w, "gated serves speculative states read-only", http.StatusForbidden)
		return
	case strings.HasSuffix(rest, "/info/refs"):
		if req.URL.Query().Get("service") != "git-upload-pack" {
			http.Error(w, "gated serves git's smart HTTP protocol only", http.StatusForbidden)
			return
		}
		if req.Method != http.MethodGet {
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		project, advertise = strings.TrimSuffix(rest, "/info/refs"), true
	case strings.HasSuffix(rest, "/git-upload-pack"):
		if req.Method != http.MethodPost {
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		project = strings.TrimSuffix(rest, "/git-upload-pack")
	default:
		http.NotFound(w, req)
		return
	}
	project = strings.TrimSuffix(project, ".git")
	dir := projectDir(m.dir, project)
	if checkProject(project) != nil || !isRepository(dir) {
		http.NotFound(w, req)
		return
	}
	if advertise {
		m.advertise(w, req, project, dir)
	} else {
		m.uploadPack(w, req, project, dir)
	}
}

func isRepository(dir string) bool {
	fi, err := os.Stat(filepath.Join(dir, "objects"))
	return err == nil && fi.IsDir()
}

func uploadPackCommand(ctx context.Context, dir string, args ...string) *exec.Cmd {
	args = append(append(append([]string{}, uploadPackConfig...), "upload-pack", "--strict", "--stateless-rpc"), args...)
	cmd := exec.CommandContext(ctx, "git", append(args, dir)...)
	cmd.Env = gitEnv()
	cmd.WaitDelay = waitDelay
	return cmd
}

func (m *Merger) advertise(w http.ResponseWriter, req *http.Request, project, dir string) {
	out, err := uploadPackCommand(req.Context(), dir, "--advertise-refs").Output()
	if err != nil {
		m.log.ErrorContext(req.Context(), "cannot advertise refs to a git client; it gets an error",
			"project", project, "err", err)
		http.Error(w, "cannot list refs", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/x-git-upload-pack-advertisement")
	w.Header().Set("Cache-Control", "no-cache")
	header := "# service=git-upload-pack\n"
	fmt.Fprintf(w, "%04x%s0000", len(header)+4, header)
	w.Write(out)
}

func (m *Merger) uploadPack(w http.ResponseWriter, req *http.Request, project, dir string) {
	var body io.Reader = http.MaxBytesReader(w, req.Body, maxRequestBody)
	if req.Header.Get("Content-Encoding") == "gzip" {
		gz, err := gzip.NewReader(body)
		if err != nil {
			http.Error(w, "bad gzip body", http.StatusBadRequest)
			return
		}
		defer gz.Close()
		body = io.LimitReader(gz, maxRequestBody)
	}
	w.Header().Set("Content-Type", "application/x-git-upload-pack-result")
	w.Header().Set("Cache-Control", "no-cache")
	cmd := uploadPackCommand(req.Context(), dir)
	cmd.Stdin, cmd.Stdout = body, w
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil && req.Context().Err() == nil {
		// The status line is gone with the first byte of the pack; git
		// tells the client itself what went wrong.
		m.log.WarnContext(req.Context(), "git upload-pack failed for a client",
			"project", project, "err", err, "stderr", strings.TrimSpace(stderr.String()))
	}
}
