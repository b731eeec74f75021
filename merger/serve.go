package merger

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"
)

// maxRequestBody bounds an upload-pack request: wants and haves, a few
// lines per ref of the client. It is read whole before git starts.
const maxRequestBody = 4 << 20

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

// ValidProjectName says why a name cannot be a project's (one git could
// take for an option, like --upload-pack=…, or one that leaves the cache
// or collides with its layout, like org/.git or ../x); nil if it can. The
// configuration's validation calls it for every project.
func ValidProjectName(name string) error { return checkProject(name) }

// GitServer configures the read-only git endpoint (Merger.GitServer).
// Zero values mean the defaults.
type GitServer struct {
	// Authorize, if set, decides who may read a project: the user name
	// and password of the request's HTTP Basic authentication, which git
	// takes from the URL (gitcredential.Key.Verify fits). A request it
	// refuses gets 401, before anything is read or run. Nil lets anyone
	// read, which only a NetworkPolicy admitting build namespaces alone
	// makes safe.
	Authorize func(project, user, password string) error
	// MaxProcesses caps the git processes serving at once (default 8).
	// A request beyond waits up to QueueWait (default 5s) for one to end,
	// then gets 503 with Retry-After.
	MaxProcesses int
	QueueWait    time.Duration
	// BodyTimeout bounds reading a request's body (default 30s), which is
	// read whole before git starts; IdleTimeout bounds each write of the
	// response (default 30s: a client that stops reading loses its git
	// process); TotalTimeout bounds a request from start to end (default
	// 10m). Headers are bounded by the HTTP server (ReadHeaderTimeout).
	BodyTimeout, IdleTimeout, TotalTimeout time.Duration
}

func (o GitServer) withDefaults() GitServer {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	if o.MaxProcesses <= 0 {
		o.MaxProcesses = 8
	}
	def(&o.QueueWait, 5*time.Second)
	def(&o.BodyTimeout, 30*time.Second)
	def(&o.IdleTimeout, 30*time.Second)
	def(&o.TotalTimeout, 10*time.Minute)
	return o
}

// GitServer serves the cache read-only over git's smart HTTP protocol, at
// /git/<project> (a trailing .git is accepted), for build pods to fetch the
// states they were given: `git fetch <url>/git/<project> <sha>` or a clone
// and a fetch of refs/gated/*. It serves upload-pack only, advertising
// branch heads and refs/gated/*; pushes, the dumb protocol, other refs and
// paths outside the cache are refused. The system git does the serving,
// started only for a request that is authorized, has sent its whole body,
// and got one of the MaxProcesses slots.
func (m *Merger) GitServer(o GitServer) http.Handler {
	s := &gitServer{m: m, o: o.withDefaults()}
	s.slots = make(chan struct{}, s.o.MaxProcesses)
	return s
}

type gitServer struct {
	m     *Merger
	o     GitServer
	slots chan struct{}
	// running and peak count git processes, for the load test.
	running, peak atomic.Int64
}

func (s *gitServer) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	ctx, cancel := context.WithTimeout(req.Context(), s.o.TotalTimeout)
	defer cancel()
	req = req.WithContext(ctx)
	// Every write, to the last flush after the handler returns, is bounded
	// by IdleTimeout: a client that does not read cannot hold a connection.
	rc := http.NewResponseController(w)
	rc.SetWriteDeadline(time.Now().Add(s.o.IdleTimeout))
	defer func() { rc.SetWriteDeadline(time.Now().Add(s.o.IdleTimeout)) }()
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
	if checkProject(project) != nil {
		http.NotFound(w, req)
		return
	}
	if !s.authorized(w, req, project) {
		return
	}
	dir := projectDir(s.m.dir, project)
	if !isRepository(dir) {
		http.NotFound(w, req)
		return
	}
	if advertise {
		s.advertise(w, req, project, dir)
	} else {
		s.uploadPack(w, req, project, dir)
	}
}

// authorized answers 401 to a request Authorize refuses.
func (s *gitServer) authorized(w http.ResponseWriter, req *http.Request, project string) bool {
	if s.o.Authorize == nil {
		return true
	}
	user, password, ok := req.BasicAuth()
	err := errors.New("no credential")
	if ok {
		err = s.o.Authorize(project, user, password)
	}
	if err == nil {
		return true
	}
	s.m.log.InfoContext(req.Context(), "git request refused: no valid build credential; it gets 401",
		"project", project, "remote", req.RemoteAddr, "user", user, "err", err)
	w.Header().Set("WWW-Authenticate", `Basic realm="gated builds", charset="UTF-8"`)
	http.Error(w, "a build credential is required", http.StatusUnauthorized)
	return false
}

// acquire waits up to QueueWait for a git slot; without one the client
// gets 503 and is told when to come back.
func (s *gitServer) acquire(w http.ResponseWriter, req *http.Request, project string) (release func(), ok bool) {
	timer := time.NewTimer(s.o.QueueWait)
	defer timer.Stop()
	select {
	case s.slots <- struct{}{}:
		n := s.running.Add(1)
		for p := s.peak.Load(); n > p && !s.peak.CompareAndSwap(p, n); p = s.peak.Load() {
		}
		return func() { s.running.Add(-1); <-s.slots }, true
	case <-timer.C:
	case <-req.Context().Done():
		return nil, false
	}
	s.m.log.WarnContext(req.Context(), "git request turned away: every git process slot is busy; the client gets 503 and retries",
		"project", project, "remote", req.RemoteAddr, "slots", s.o.MaxProcesses)
	w.Header().Set("Retry-After", "1")
	http.Error(w, "busy, retry", http.StatusServiceUnavailable)
	return nil, false
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

func (s *gitServer) advertise(w http.ResponseWriter, req *http.Request, project, dir string) {
	release, ok := s.acquire(w, req, project)
	if !ok {
		return
	}
	out, err := uploadPackCommand(req.Context(), dir, "--advertise-refs").Output()
	release()
	if err != nil {
		s.m.log.ErrorContext(req.Context(), "cannot advertise refs to a git client; it gets an error",
			"project", project, "err", err)
		http.Error(w, "cannot list refs", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/x-git-upload-pack-advertisement")
	w.Header().Set("Cache-Control", "no-cache")
	header := "# service=git-upload-pack\n"
	iw := s.idle(w)
	fmt.Fprintf(iw, "%04x%s0000", len(header)+4, header)
	iw.Write(out)
}

func (s *gitServer) uploadPack(w http.ResponseWriter, req *http.Request, project, dir string) {
	body, err := s.readBody(w, req)
	if err != nil {
		s.m.log.InfoContext(req.Context(), "git request body not read in time or too large; the client gets an error and the connection is closed",
			"project", project, "remote", req.RemoteAddr, "err", err)
		w.Header().Set("Connection", "close")
		http.Error(w, "reading the request: "+err.Error(), http.StatusBadRequest)
		return
	}
	release, ok := s.acquire(w, req, project)
	if !ok {
		return
	}
	defer release()
	w.Header().Set("Content-Type", "application/x-git-upload-pack-result")
	w.Header().Set("Cache-Control", "no-cache")
	cmd := uploadPackCommand(req.Context(), dir)
	cmd.Stdin, cmd.Stdout = bytes.NewReader(body), s.idle(w)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil && req.Context().Err() == nil {
		// The status line is gone with the first byte of the pack; git
		// tells the client itself what went wrong.
		s.m.log.WarnContext(req.Context(), "git upload-pack failed for a client",
			"project", project, "err", err, "stderr", strings.TrimSpace(stderr.String()))
	}
}

// readBody reads an upload-pack request whole (gunzipped), within
// BodyTimeout and maxRequestBody. The read deadline stays: the server sets
// its own for the connection's next request, and a client whose body is
// late must not hold the connection while the server drains it.
func (s *gitServer) readBody(w http.ResponseWriter, req *http.Request) ([]byte, error) {
	http.NewResponseController(w).SetReadDeadline(time.Now().Add(s.o.BodyTimeout))
	var body io.Reader = http.MaxBytesReader(w, req.Body, maxRequestBody)
	if req.Header.Get("Content-Encoding") == "gzip" {
		gz, err := gzip.NewReader(body)
		if err != nil {
			return nil, fmt.Errorf("bad gzip body: %w", err)
		}
		defer gz.Close()
		body = io.LimitReader(gz, maxRequestBody+1)
	}
	data, err := io.ReadAll(body)
	if err == nil && len(data) > maxRequestBody {
		err = fmt.Errorf("the request is larger than %d bytes", maxRequestBody)
	}
	return data, err
}

// idle bounds each write to the client by IdleTimeout: a client that
// stops reading makes the write, and with it git, fail.
func (s *gitServer) idle(w http.ResponseWriter) io.Writer {
	return idleWriter{w: w, rc: http.NewResponseController(w), timeout: s.o.IdleTimeout}
}

type idleWriter struct {
	w       io.Writer
	rc      *http.ResponseController
	timeout time.Duration
}

func (iw idleWriter) Write(p []byte) (int, error) {
	iw.rc.SetWriteDeadline(time.Now().Add(iw.timeout))
	return iw.w.Write(p)
}
