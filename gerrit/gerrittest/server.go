package gerrittest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/ssh"
)

// Options configure a Server.
type Options struct {
	// Addr is the HTTP listen address (REST, git, web); default
	// 127.0.0.1:0, a free port.
	Addr string
	// SSHAddr is the SSH listen address (stream-events); default
	// 127.0.0.1:0. NoSSH disables the SSH server.
	SSHAddr string
	NoSSH   bool
	// SSHHostKey is the SSH server's host key; default a new ed25519 key,
	// so give one to keep known_hosts valid across restarts.
	SSHHostKey ssh.Signer
	// URL is the canonical web URL, when clients reach the server through
	// a proxy; default http://<the HTTP address>/.
	URL string
	// Dir holds the git repositories; default a temporary directory that
	// Close removes.
	Dir string
	// Accounts are the users; default DefaultAccounts().
	Accounts []Account
	// Logger receives the server's logs; default a logger that discards.
	Logger *slog.Logger
	// Now is the clock of timestamps; default time.Now.
	Now func() time.Time
	// UseGitattributesForMerge is gerrit.config's
	// core.useGitattributesForMerge (Gerrit 3.12 and later; default
	// false, and always false before): merges follow the .gitattributes
	// of JGit's "ours" side (binary, -merge, merge=binary, merge=union).
	UseGitattributesForMerge bool
	// SubmitWholeTopic is Gerrit's change.submitWholeTopic: submitting a
	// change submits every open change of its topic (SetSubmitWholeTopic
	// changes it later).
	SubmitWholeTopic bool
}

// Server is a running Gerrit simulator. Its methods are safe for
// concurrent use.
type Server struct {
	log *slog.Logger
	now func() time.Time
	// gitattributes: merges follow .gitattributes (see Options).
	gitattributes bool
	dir           string
	ownDir        bool
	url           *url.URL
	httpLn        net.Listener
	http          *http.Server
	ssh           *sshServer
	accounts      *accounts
	hub           *hub
	faults        faults
	closing       chan struct{}
	wg            sync.WaitGroup
	close         sync.Once

	// mu guards the state below and serializes every change to the git
	// repositories.
	mu         sync.Mutex
	projects   map[string]*project
	changes    map[int]*change
	revs       map[string]refLocation
	nextChange int
	merged     []int
	webhook    *webhookSender
	seq        int
	// submitWholeTopic is change.submitWholeTopic.
	submitWholeTopic bool
}

// New starts a server listening on opts' addresses. Close stops it.
func New(opts Options) (*Server, error) {
	s := &Server{
		log:           opts.Logger,
		now:           opts.Now,
		gitattributes: opts.UseGitattributesForMerge,
		hub:           newHub(),
		closing:       make(chan struct{}),
		projects:      map[string]*project{},
		changes:       map[int]*change{},
		revs:          map[string]refLocation{},
		nextChange:    1,

		submitWholeTopic: opts.SubmitWholeTopic,
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.now == nil {
		s.now = time.Now
	}
	given := opts.Accounts
	if given == nil {
		given = DefaultAccounts()
	}
	var err error
	if s.accounts, err = newAccounts(given); err != nil {
		return nil, err
	}
	s.dir = opts.Dir
	if s.dir == "" {
		if s.dir, err = os.MkdirTemp("", "gerrittest-"); err != nil {
			return nil, err
		}
		s.ownDir = true
	}
	if err := os.MkdirAll(filepath.Join(s.dir, "home"), 0o755); err != nil {
		return nil, s.fail(err)
	}
	addr := opts.Addr
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	if s.httpLn, err = net.Listen("tcp", addr); err != nil {
		return nil, s.fail(fmt.Errorf("listen %s: %w", addr, err))
	}
	canonical := opts.URL
	if canonical == "" {
		canonical = "http://" + s.httpLn.Addr().String() + "/"
	}
	if s.url, err = url.Parse(canonical); err != nil {
		return nil, s.fail(fmt.Errorf("url %q: %w", canonical, err))
	}
	if !strings.HasSuffix(s.url.Path, "/") {
		s.url.Path += "/"
	}
	if !opts.NoSSH {
		sshAddr := opts.SSHAddr
		if sshAddr == "" {
			sshAddr = "127.0.0.1:0"
		}
		if s.ssh, err = newSSHServer(s, sshAddr, opts.SSHHostKey); err != nil {
			return nil, s.fail(err)
		}
	}
	s.http = &http.Server{Handler: s, ReadHeaderTimeout: 30 * time.Second}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		if err := s.http.Serve(s.httpLn); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.log.Error("gerrit simulator: http server stopped", "err", err)
		}
	}()
	s.log.Info("gerrit simulator started", "url", s.url.String(), "ssh", s.SSHAddr())
	return s, nil
}

// fail releases what New acquired before an error.
func (s *Server) fail(err error) error {
	if s.httpLn != nil {
		s.httpLn.Close()
	}
	if s.ssh != nil {
		s.ssh.close()
	}
	if s.ownDir {
		os.RemoveAll(s.dir)
	}
	return err
}

// Close stops the server: it closes the listeners and connections, ends
// event subscriptions and webhook deliveries, waits for its goroutines and
// removes its temporary directory.
func (s *Server) Close() error {
	var err error
	s.close.Do(func() {
		close(s.closing)
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if e := s.http.Shutdown(ctx); e != nil {
			s.http.Close()
		}
		if s.ssh != nil {
			s.ssh.close()
		}
		s.mu.Lock()
		s.stopWebhookLocked()
		var errs []error
		for _, p := range s.projects {
			// the work trees of attribute files, when merges read them
			errs = append(errs, p.repo.merges.Close())
		}
		s.mu.Unlock()
		s.hub.close()
		s.wg.Wait()
		if s.ownDir {
			errs = append(errs, os.RemoveAll(s.dir))
		}
		err = errors.Join(errs...)
	})
	return err
}

// URL is the server's web URL, with a trailing slash: REST under URL and
// URL/a/, git under URL/<project> and URL/a/<project>.
func (s *Server) URL() string { return s.url.String() }

// SSHAddr is the address of the SSH server, or "" without one.
func (s *Server) SSHAddr() string {
	if s.ssh == nil {
		return ""
	}
	return s.ssh.ln.Addr().String()
}

// GitURL is the anonymous clone URL of a project.
func (s *Server) GitURL(project string) string { return s.URL() + project }

// AuthGitURL is the clone URL of a project with an account's credentials,
// under /a/, for fetch and push.
func (s *Server) AuthGitURL(username, project string) string {
	u := *s.url
	if acc := s.accounts.byName(username); acc != nil {
		u.User = url.UserPassword(acc.Username, acc.Password)
	}
	return u.String() + "a/" + project
}

// Password is the HTTP password of an account, or "" if there is none.
func (s *Server) Password(username string) string {
	if acc := s.accounts.byName(username); acc != nil {
		return acc.Password
	}
	return ""
}

// Accounts lists the accounts (copies), e.g. to print their credentials.
func (s *Server) Accounts() []Account {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Account, 0, len(s.accounts.list))
	for _, a := range s.accounts.list {
		cp := *a
		cp.SSHKeys = append([]ssh.PublicKey(nil), a.SSHKeys...)
		out = append(out, cp)
	}
	return out
}

// changeURL is the web URL of a change, as Gerrit writes it in events and
// REST answers.
func (s *Server) changeURL(c *change) string {
	return fmt.Sprintf("%sc/%s/+/%d", s.URL(), c.project.name, c.number)
}

// ServeHTTP serves the REST API, git smart HTTP and the web pages, under /
// (anonymous) and /a/ (basic auth), after any injected fault.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.log.Debug("gerrit simulator request", "method", r.Method, "path", r.URL.Path)
	if s.faults.apply(w, r, s.closing) {
		return
	}
	path := r.URL.EscapedPath()
	var acc *Account
	if rest, ok := strings.CutPrefix(path, "/a/"); ok {
		if acc = s.accounts.authenticate(r); acc == nil {
			unauthorized(w)
			return
		}
		path = "/" + rest
	}
	if project, service, ok := gitRequest(path); ok {
		// Git clients send credentials only when asked (401), and to the
		// URL they were given: Gerrit accepts them on /<project> too.
		if _, _, basic := r.BasicAuth(); basic && acc == nil {
			if acc = s.accounts.authenticate(r); acc == nil {
				unauthorized(w)
				return
			}
		}
		s.serveGit(w, r, project, service, acc)
		return
	}
	segs, err := segments(path)
	if err != nil {
		writeError(w, errorf(http.StatusBadRequest, "%v", err))
		return
	}
	switch segs[0] {
	case "changes", "config", "projects", "accounts":
		s.serveREST(w, r, segs, acc)
	case "tools":
		if len(segs) == 3 && segs[1] == "hooks" && segs[2] == "commit-msg" {
			w.Header().Set("Content-Type", "application/octet-stream")
			w.Write([]byte(commitMsgHook))
			return
		}
		writeError(w, errorf(http.StatusNotFound, "Not Found"))
	case "c", "":
		s.serveWeb(w, r, segs)
	default:
		if n, err := strconv.Atoi(segs[0]); err == nil && len(segs) <= 2 {
			s.redirectToChange(w, r, n)
			return
		}
		writeError(w, errorf(http.StatusNotFound, "Not Found"))
	}
}

func unauthorized(w http.ResponseWriter) {
	w.Header().Set("WWW-Authenticate", `Basic realm="Gerrit Code Review"`)
	writeError(w, errorf(http.StatusUnauthorized, "Unauthorized"))
}

// segments splits an escaped path into unescaped segments, so that a
// project name written org%2Fproject stays one segment.
func segments(escaped string) ([]string, error) {
	parts := strings.Split(strings.TrimPrefix(escaped, "/"), "/")
	for i, p := range parts {
		u, err := url.PathUnescape(p)
		if err != nil {
			return nil, fmt.Errorf("bad path %q: %w", escaped, err)
		}
		parts[i] = u
	}
	return parts, nil
}

// gitRequest recognizes a git smart HTTP path and returns its project and
// service (info/refs, git-upload-pack, git-receive-pack).
func gitRequest(escaped string) (project, service string, ok bool) {
	path, err := url.PathUnescape(escaped)
	if err != nil {
		return "", "", false
	}
	for _, svc := range []string{"/info/refs", "/git-upload-pack", "/git-receive-pack"} {
		if p, found := strings.CutSuffix(path, svc); found && len(p) > 1 {
			p = strings.TrimSuffix(strings.TrimPrefix(p, "/"), ".git")
			return p, svc[1:], true
		}
	}
	return "", "", false
}
